"""The lecture's main job: train a network while babysitting the learning process.

The lecture's setup by default: input -> hidden layer (100 units) with ReLU -> 10 scores,
softmax loss, L2 regularization, batch size 64, SGD with learning rate 0.01; inputs
zero-centered and normalized with training statistics. Then, in the lecture's order:

1. check the initial loss (regularization off, small random weights): ln(10) = 2.302;
2. overfit 20 examples (regularization off): 100% training accuracy expected;
3. train with a progress bar, validation accuracy per epoch;
4. test accuracy, and a diagnosis of the curves (gap = overfitting, no gap = capacity,
   flat loss = lr too low, exploding/NaN loss = lr too high).

Plots, history JSON and checkpoints go to ``--out`` (default runs/train_mlp).

    python demos/train_mlp.py                                      # embedded digits, CPU
    python demos/train_mlp.py --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist
    python demos/train_mlp.py --lr 10                              # watch the loss explode
    mpiexec -n 2 python demos/train_mlp.py --distributed           # data-parallel on 2 ranks

Plain SGD at lr 0.01 needs about 100 passes over the 1,257 digit images (20 updates
per epoch) to pass 95% test accuracy: that is the default number of epochs on digits.
The MNIST-sized sets (780 updates per epoch) get 5 epochs, and there plain SGD at lr 0.01
ends right at 85% test accuracy on Fashion-MNIST (84.99% to 85.23% over seeds), so they
default to the lecture's SGD + momentum (rho = 0.9) at the same lr; ``--momentum 0`` gives
plain SGD back.
"""
from __future__ import annotations

import math
import time

import scaffold

from tinygrad_lite import nn, optim
from tinygrad_lite.train import (
    check_initial_loss,
    overfit_small_subset,
    plot_first_layer_weights,
    plot_history,
)

DEFAULT_EPOCHS = {"digits": 100, "fashion-mnist": 5, "mnist": 5}
DEFAULT_MOMENTUM = {"digits": 0.0, "fashion-mnist": 0.9, "mnist": 0.9}
QUICK_EPOCHS = 2
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam")
SCHEDULES = ("none", "step", "exp", "inv", "cosine", "plateau")
PENALTIES = {"l2": nn.l2_penalty, "l1": nn.l1_penalty}


def build_parser():
    p = scaffold.parser("train_mlp", __doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, nargs="+", default=[100], help="hidden layer sizes")
    p.add_argument("--activation", default="relu", choices=sorted(scaffold.ACTIVATIONS),
                   help="nonlinearity after each hidden layer")
    p.add_argument("--batchnorm", action="store_true", help="batch norm before each activation")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout probability after each activation")
    p.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS, help="the update rule")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate (the first, with --schedule)")
    p.add_argument("--momentum", type=float, default=None,
                   help=f"SGD momentum rho, 0 = plain SGD (None: by data set, {DEFAULT_MOMENTUM})")
    p.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD, needs --momentum)")
    p.add_argument("--schedule", default="none", choices=SCHEDULES,
                   help="lr decay per epoch: step (halve every quarter of the run), exp (k=0.05), "
                        "inv (1/t, k=0.1), cosine, plateau (halve when val accuracy stalls 3 epochs)")
    p.add_argument("--reg", type=float, default=1e-4, help="regularization strength lambda")
    p.add_argument("--penalty", default="l2", choices=sorted(PENALTIES), help="the regularization R(W)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs (None: by data set, {DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    p.add_argument("--batch-size", type=int, default=64, help="examples per update")
    p.add_argument("--patience", type=int, default=None,
                   help="stop after this many epochs without a better validation accuracy and restore "
                        "the best weights (None: train every epoch)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars; the per-epoch lines stay (bars are also off when stderr is not a terminal)")
    scaffold.add_distributed_flags(p)
    return p


def make_optimizer(args, params):
    if args.optimizer == "sgd":
        return optim.SGD(params, lr=args.lr, momentum=args.momentum, nesterov=args.nesterov)
    cls = {"adagrad": optim.Adagrad, "rmsprop": optim.RMSprop, "adam": optim.Adam}[args.optimizer]
    return cls(params, lr=args.lr)


def make_scheduler(args, optimizer, epochs: int):
    s = optim.lr_scheduler
    makers = {
        "none": lambda: None,
        "step": lambda: s.StepLR(optimizer, step_size=max(1, epochs // 4), gamma=0.5),
        "exp": lambda: s.ExponentialLR(optimizer, gamma=math.exp(-0.05)),  # the lecture's lr0 e^(-kt), k = 0.05
        "inv": lambda: s.InverseTimeLR(optimizer, k=0.1),
        "cosine": lambda: s.CosineAnnealingLR(optimizer, T_max=epochs),
        "plateau": lambda: s.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=3),
    }
    return makers[args.schedule]()


def new_model(args, split):
    sizes = [split.num_features, *args.hidden, split.num_classes]
    return scaffold.mlp(sizes, args.activation, args.batchnorm, args.dropout, args.device)


def babysit_checks(args, split, loss_fn) -> dict:
    """Steps 1 and 2 on fresh models, so that training starts from its own seeded init."""
    scaffold.seed_all(args.seed)
    init = check_initial_loss(new_model(args, split), loss_fn, split.x_train, split.y_train)
    print(f"[1/4] {init.message}")
    model = new_model(args, split)
    over = overfit_small_subset(model, loss_fn, make_optimizer(args, model.parameters()),
                                split.x_train, split.y_train, num_examples=20,
                                max_iters=200 if args.quick else 1000, seed=args.seed)
    print(f"[2/4] {over.message}")
    return {"initial_loss": init.measured, "expected_initial_loss": init.expected,
            "initial_loss_ok": init.ok, "overfit_reached": over.reached,
            "overfit_iterations": over.iterations, "overfit_train_acc": over.train_acc}


def train(args, split, loss_fn, out, dist=None) -> tuple:
    """Step 3: the training run; returns (model, history, error message or None)."""
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS[split.name])
    scaffold.seed_all(args.seed)
    model = new_model(args, split)
    optimizer = make_optimizer(args, model.parameters())
    print(f"[3/4] training {epochs} epochs: {model}\n      {optimizer}, reg {args.penalty} "
          f"lambda={args.reg}, batch size {args.batch_size}, schedule {args.schedule}")
    if dist is not None:
        print(f"      data-parallel on {dist.size} rank(s): batch {args.batch_size} per rank, "
              f"{args.batch_size * dist.size} per step; {'synchronized' if args.sync_batchnorm else 'per-rank'} "
              "BatchNorm statistics")
    reg = (PENALTIES[args.penalty], args.reg) if args.reg > 0 else None
    history, error = scaffold.fit_or_diverge(
        model, loss_fn, optimizer, (split.x_train, split.y_train), epochs=epochs,
        batch_size=args.batch_size, val=(split.x_val, split.y_val),
        scheduler=make_scheduler(args, optimizer, epochs), reg=reg, device=args.device,
        patience=args.patience, best_path=out / "best.npz", checkpoint_path=out / "checkpoint.npz",
        restore_best=args.patience is not None, progress=False if args.quiet else None, seed=args.seed,
        distributed=dist)
    if error is not None:
        print(f"      stopped: {error}")
    return model, history, None if error is None else str(error)


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    dist = scaffold.data_parallel(args)  # first: every rank runs all of main, rank 0 writes
    root = dist is None or dist.is_root
    if args.momentum is None:
        args.momentum = DEFAULT_MOMENTUM[args.dataset]
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    split = scaffold.load_data(args)
    print(f"data: {split} (zero-centered and normalized with training statistics)")
    loss_fn = nn.CrossEntropyLoss()
    results = {"dataset": split.name, **babysit_checks(args, split, loss_fn)}
    cpu = time.process_time()
    model, history, error = train(args, split, loss_fn, out, dist)
    cpu = time.process_time() - cpu
    results.update(scaffold.test_and_diagnose(model, loss_fn, split, history, args.device))
    files = {"history": history.save(out / "history.json"),
             "curves": plot_history(history, out / "history.png"),
             "weights": plot_first_layer_weights(model, out / "first_layer_weights.png",
                                                 image_shape=split.image_shape[:2]),
             "checkpoint": out / "checkpoint.npz", "best": out / "best.npz"} if root else {}
    results.update(error=error, stop_reason=history.meta.get("stop_reason"), time_s=elapsed(),
                   ranks=1 if dist is None else dist.size, train_cpu_s=cpu)
    return scaffold.write_results(out, results, files, root)

if __name__ == "__main__":
    main()
