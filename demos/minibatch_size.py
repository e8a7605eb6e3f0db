"""Mini-batch size: smaller batches cost more time per example but converge in fewer epochs.

The lecture: "Smaller mini-batches are less efficient than larger ones in gradient
calculation. But they can make up for it with faster model convergence speeds, which may
necessitate fewer epochs total." The same network, initialization and learning rate are
trained with vanilla mini-batch SGD for each batch size 4, 8, ..., 256; after every epoch
the full training loss is measured (outside the timed part). A batch of B examples makes
ceil(N / B) updates per epoch, so small batches make many more (cheap, noisy) updates per
pass over the data, and each of them pays the fixed cost of a Python-level step.

    python demos/minibatch_size.py [--quick] [--lr 0.05] [--epochs 20] [--device cuda]
"""
from __future__ import annotations

import math

import numpy as np
import scaffold

from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader
from tinygrad_lite.train import evaluate, fit

BATCH_SIZES = (4, 8, 16, 32, 64, 128, 256)


def train_one(args, split, batch_size: int, epochs: int) -> dict:
    """Vanilla SGD with ``batch_size``; per epoch: wall time of the updates, updates made
    and the training loss over the whole training set afterwards."""
    scaffold.seed_all(args.seed)
    model = scaffold.mlp([split.num_features, 100, split.num_classes], device=args.device)
    opt = optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    # One loader for all epochs, so that each epoch gets a new order from the same seed.
    loader = DataLoader(split.x_train, split.y_train, batch_size, shuffle=True, seed=args.seed,
                        device=args.device)
    times, losses, updates = [], [], 0
    for _ in range(epochs):
        h = fit(model, loss_fn, opt, loader, epochs=1, device=args.device, quiet=True)
        times.append(h.time[-1])  # no validation data: only the epoch's updates are timed
        updates += h.iterations
        losses.append(evaluate(model, loss_fn, (split.x_train, split.y_train), device=args.device)[0])
    _val_loss, val_acc = evaluate(model, loss_fn, (split.x_val, split.y_val), device=args.device)
    return {"batch_size": batch_size, "epoch_time": times, "loss": losses, "updates": updates,
            "val_acc": val_acc}


def first_below(values: list, target: float) -> int | None:
    """1-based index of the first value <= target, or None."""
    hit = np.flatnonzero(np.asarray(values) <= target)
    return int(hit[0]) + 1 if hit.size else None


def rows_of(runs: list, n_train: int, target: float) -> list[dict]:
    rows = []
    for r in runs:
        t = float(np.median(r["epoch_time"]))
        reach = first_below(r["loss"], target)
        rows.append({
            "batch": r["batch_size"], "updates/epoch": math.ceil(n_train / r["batch_size"]),
            "s/epoch": t, "us/example": 1e6 * t / n_train, "loss@1": r["loss"][0],
            f"loss@{len(r['loss'])}": r["loss"][-1], f"epochs to {target:g}": reach,
            f"s to {target:g}": None if reach is None else float(np.sum(r["epoch_time"][:reach])),
            "val acc": r["val_acc"],
        })
    return rows


def plot(runs: list, n_train: int, out):
    fig, axes = scaffold.figure(1, 3, size=(4.3, 3.5))
    for i, r in enumerate(runs):
        c = f"C{i}"
        epochs = np.arange(1, len(r["loss"]) + 1)
        axes[0][0].plot(epochs, r["loss"], "o-", ms=3, color=c, label=f"B={r['batch_size']}")
        axes[0][1].plot(np.cumsum(r["epoch_time"]), r["loss"], "o-", ms=3, color=c)
    axes[0][0].set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss per epoch")
    axes[0][0].legend(fontsize=7)
    axes[0][1].set(xlabel="training time (s)", ylabel="training loss", yscale="log", title="loss per second")
    b = [r["batch_size"] for r in runs]
    t = [float(np.median(r["epoch_time"])) for r in runs]
    ax = axes[0][2]
    ax.bar(range(len(b)), t, color=[f"C{i}" for i in range(len(b))])
    ax.set(xticks=range(len(b)), xticklabels=[str(x) for x in b], xlabel="batch size", ylabel="s / epoch",
           title="time per epoch (median)")
    per_example = ax.twinx()
    per_example.plot(range(len(b)), [1e6 * x / n_train for x in t], "k.--")
    per_example.set(ylabel="us / example (dashed)")
    return scaffold.savefig(fig, out / "minibatch_size.png")


def build_parser():
    p = scaffold.parser("minibatch_size", __doc__.split("\n")[0])
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate, the same for every batch size")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per batch size (None: 20 on digits, 3 on the MNIST-sized sets; "
                        "2 with --quick)")
    p.add_argument("--train-size", type=int, default=None,
                   help="training examples kept (None: all on digits, 10000 on the MNIST-sized sets; "
                        "400 with --quick)")
    p.add_argument("--target", type=float, default=0.3, help="training loss to reach, for the table")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES),
                   help="one run per batch size, each from the same initialization")
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    small = args.dataset == "digits"
    keep = args.train_size or (400 if args.quick else None if small else 10000)
    split = scaffold.load_data(args, max_train=keep)
    epochs = args.epochs or (2 if args.quick else 20 if small else 3)
    runs = [train_one(args, split, b, epochs) for b in args.batch_sizes]
    n_train = len(split.x_train)
    rows = rows_of(runs, n_train, args.target)
    scaffold.table(rows, f"vanilla SGD, lr {args.lr}, {n_train} training examples, {epochs} epochs "
                         "(time: median over epochs)")
    plot(runs, n_train, out)
    results = {"n_train": n_train, "epochs": epochs, "lr": args.lr, "runs": runs, "table": rows,
               "time_s": elapsed()}
    scaffold.save_results(out, results)
    return results


if __name__ == "__main__":
    main()
