"""A ConvNet on images, babysat the lecture's way: LeNet-style conv -> pool -> conv -> pool -> fc -> fc.

The network: conv 3x3 (padding 1) [-> BatchNorm2d] -> ReLU -> max pool 2 -> conv 3x3 (padding 1) [-> BN] -> ReLU ->
max pool 2 -> flatten -> linear to a hidden layer -> ReLU -> linear to 10 scores, softmax
loss, SGD with momentum. Images are
(N, 1, H, W); the per-channel mean of the training images is subtracted (VGGNet's
preprocessing, one channel here) and the result divided by the training standard deviation.
Then, as for the MLP (demos/train_mlp.py):

1. check the initial loss (regularization off): ln(10) = 2.302;
2. overfit 20 examples: 100% training accuracy expected;
3. train with a progress bar, validation accuracy per epoch;
4. test accuracy and a diagnosis of the curves,

and, as the lecture says for ConvNets, look at the first-layer filters: before training
(noise) and after (edge and blob detectors). Everything goes to ``--out``.

    python demos/train_convnet.py                   # embedded digits (1x8x8), seconds
    python demos/train_convnet.py --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist
    mpiexec -n 2 python demos/train_convnet.py --distributed --sync-batchnorm   # data-parallel, 2 ranks
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import scaffold

from tinygrad_lite import nn, optim, train
from tinygrad_lite.data import PerChannelMean

DEFAULT_EPOCHS = {"digits": 30, "fashion-mnist": 5, "mnist": 5}
DEFAULT_CHANNELS = {"digits": [8, 16], "fashion-mnist": [16, 32], "mnist": [16, 32]}
DEFAULT_LR = {"digits": 0.01, "fashion-mnist": 0.05, "mnist": 0.05}
DEFAULT_BATCHNORM = {"digits": False, "fashion-mnist": True, "mnist": True}
DEFAULT_HIDDEN = {"digits": 0, "fashion-mnist": 128, "mnist": 128}  # 0: scores straight from the pool
QUICK_EPOCHS, QUICK_TRAIN = 8, 400


def build_parser():
    p = scaffold.parser("train_convnet", __doc__.split("\n")[0])
    p.add_argument("--channels", type=int, nargs=2, default=None,
                   help=f"channels of the two conv layers (None: by data set, {DEFAULT_CHANNELS})")
    p.add_argument("--hidden", type=int, default=None,
                   help=f"units of the hidden fully-connected layer, 0 for none (None: by data set, {DEFAULT_HIDDEN})")
    p.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None,
                   help=f"BatchNorm2d after each conv (None: by data set, {DEFAULT_BATCHNORM})")
    p.add_argument("--lr", type=float, default=None, help=f"learning rate (None: by data set, {DEFAULT_LR})")
    p.add_argument("--schedule", default="cosine", choices=("none", "cosine"),
                   help="lr decay per epoch: cosine from --lr down to 0 over the run")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum rho (0: plain SGD)")
    p.add_argument("--reg", type=float, default=1e-4, help="L2 regularization strength lambda")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"epochs (None: by data set, {DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    p.add_argument("--batch-size", type=int, default=64, help="examples per update")
    p.add_argument("--train-size", type=int, default=None,
                   help=f"train on the first N training examples (None: all; {QUICK_TRAIN} with --quick)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars; the per-epoch lines stay (bars are also off when stderr is not a terminal)")
    scaffold.add_distributed_flags(p)
    return p


def as_images(split):
    """The split's images as (N, 1, H, W), the per-channel training mean subtracted and divided
    by the training standard deviation (statistics of the training part only)."""
    h, w = split.image_shape[:2]
    shape = lambda x: x.reshape(len(x), 1, h, w)
    prep = PerChannelMean(layout="NCHW").fit(shape(split.x_train))
    std = float(prep.transform(shape(split.x_train)).std())
    parts = {k: prep.transform(shape(getattr(split, k))) / std for k in ("x_train", "x_val", "x_test")}
    return replace(split, **parts)


def lenet(channels: list[int], hidden: int, batchnorm: bool, image_shape: tuple, device: str) -> nn.Sequential:
    """[conv 3x3 (-> BatchNorm2d) -> ReLU -> max pool 2] for each of the two channel counts, then
    fc(hidden) -> ReLU -> fc(10), or fc(10) alone when ``hidden`` is 0."""
    layers, c_in = [], 1
    for c in channels:
        layers += [nn.Conv2d(c_in, c, 3, padding=1), *([nn.BatchNorm2d(c)] if batchnorm else []),
                   nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c
    features = c_in * (image_shape[0] // 4) * (image_shape[1] // 4)  # two 2x2 poolings (floor)
    head = [nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, 10)] if hidden else [nn.Linear(features, 10)]
    return nn.Sequential(*layers, nn.Flatten(), *head).to(device)


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    dist = scaffold.data_parallel(args)  # first: every rank runs all of main, rank 0 writes
    root = dist is None or dist.is_root
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    split = scaffold.load_data(args, max_train=args.train_size or (QUICK_TRAIN if args.quick else None),
                               standardize=False)
    split = as_images(split)
    channels = args.channels or DEFAULT_CHANNELS[split.name]
    hidden = DEFAULT_HIDDEN[split.name] if args.hidden is None else args.hidden
    batchnorm = DEFAULT_BATCHNORM[split.name] if args.batchnorm is None else args.batchnorm
    lr = DEFAULT_LR[split.name] if args.lr is None else args.lr
    epochs = args.epochs or (QUICK_EPOCHS if args.quick else DEFAULT_EPOCHS[split.name])
    print(f"data: {split} (as {split.x_train.shape[1:]} images, per-channel mean subtracted)")
    loss_fn = nn.CrossEntropyLoss()
    new_model = lambda: lenet(channels, hidden, batchnorm, split.image_shape, args.device)
    new_optimizer = lambda m: optim.SGD(m.parameters(), lr=lr, momentum=args.momentum)

    scaffold.seed_all(args.seed)
    init = train.check_initial_loss(new_model(), loss_fn, split.x_train, split.y_train)
    print(f"[1/4] {init.message}")
    model = new_model()
    over = train.overfit_small_subset(model, loss_fn, new_optimizer(model), split.x_train, split.y_train,
                                num_examples=20, max_iters=200 if args.quick else 500, seed=args.seed)
    print(f"[2/4] {over.message}")

    scaffold.seed_all(args.seed)
    model = new_model()
    files = {"filters_before": train.plot_first_layer_weights(model, out / "filters_before.png")} if root else {}
    optimizer = new_optimizer(model)
    print(f"[3/4] training {epochs} epochs: {model}\n      {optimizer}, L2 lambda={args.reg}, "
          f"batch size {args.batch_size}, schedule {args.schedule}")
    if dist is not None:
        print(f"      data-parallel on {dist.size} rank(s): batch {args.batch_size} per rank, "
              f"{args.batch_size * dist.size} per step; {'synchronized' if args.sync_batchnorm else 'per-rank'} "
              "BatchNorm statistics")
    history, error = scaffold.fit_or_diverge(
        model, loss_fn, optimizer, (split.x_train, split.y_train), epochs=epochs,
        batch_size=args.batch_size, val=(split.x_val, split.y_val), device=args.device,
        scheduler=optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if args.schedule == "cosine" else None,
        reg=(nn.l2_penalty, args.reg) if args.reg > 0 else None, progress=False if args.quiet else None, seed=args.seed,
        distributed=dist)
    if error is not None:
        print(f"      stopped: {error}")
    summary = scaffold.test_and_diagnose(model, loss_fn, split, history, args.device)
    if root:
        files.update(filters_after=train.plot_first_layer_weights(model, out / "filters_after.png"),
                     history=history.save(out / "history.json"),
                     curves=train.plot_history(history, out / "history.png"))
    results = {"dataset": split.name, "channels": channels, "hidden": hidden, "batchnorm": batchnorm,
               "initial_loss": init.measured, "expected_initial_loss": init.expected,
               "overfit_reached": over.reached, "overfit_iterations": over.iterations, **summary,
               "error": None if error is None else str(error), "time_s": elapsed(),
               "ranks": 1 if dist is None else dist.size}
    return scaffold.write_results(out, results, files, root)

if __name__ == "__main__":
    main()
