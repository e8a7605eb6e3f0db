"""Dropout: the train/validation accuracy gap of an overfitting network, with and without it.

"big gap = overfitting -> increase regularization strength". A network far bigger than
its data (two hidden layers of 256 units, 200 training images) reaches 100% training
accuracy; the gap to validation accuracy is its overfitting. Trained four ways from the
same initialization and batches: no regularization, dropout (p = 0.5 after each hidden
layer; "randomly set some neurons to zero"), L2 (lambda R(W) added to the loss), and
dropout + L2 ("it is also common to apply dropout in addition to L2"). Accuracies are
measured in eval mode (dropout off) after every epoch; the gap is averaged over seeds.
``--quick``: one seed, and only the first two models.

    python demos/dropout.py [--quick] [--train-size 200] [--p 0.5] [--reg 1e-3] [--device cuda]
"""
from __future__ import annotations

import numpy as np
import scaffold

from tinygrad_lite import nn, optim
from tinygrad_lite.data import DataLoader
from tinygrad_lite.train import evaluate, fit


def configs(args) -> dict:
    """name -> (dropout probability, L2 strength). ``--quick`` (the tests' run, on every
    device) trains only the two that the claim compares, which halves its time."""
    every = {"none": (0.0, 0.0), "dropout": (args.p, 0.0), "L2": (0.0, args.reg),
             "dropout + L2": (args.p, args.reg)}
    return {k: every[k] for k in ("none", "dropout")} if args.quick else every


def train_one(args, split, p: float, reg: float, seed: int, epochs: int) -> dict:
    """SGD+momentum on the small training set; per epoch, eval-mode loss and accuracy on
    the training and validation sets."""
    scaffold.seed_all(seed)
    sizes = [split.num_features, args.hidden, args.hidden, split.num_classes]
    model = scaffold.mlp(sizes, dropout=p, device=args.device)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(split.x_train, split.y_train, 32, shuffle=True, seed=seed, device=args.device)
    curves = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
    for _ in range(epochs):
        fit(model, loss_fn, opt, loader, epochs=1, reg=(nn.l2_penalty, reg) if reg else None,
            device=args.device, quiet=True)
        for part, data in (("train", (split.x_train, split.y_train)), ("val", (split.x_val, split.y_val))):
            loss, acc = evaluate(model, loss_fn, data, device=args.device)
            curves[f"{part}_loss"].append(loss)
            curves[f"{part}_acc"].append(acc)
    return curves


def summarize(runs: list) -> dict:
    """Means over seeds of the last epoch, and each seed's gap."""
    last = {k: float(np.mean([r[k][-1] for r in runs])) for k in runs[0]}
    gaps = [r["train_acc"][-1] - r["val_acc"][-1] for r in runs]
    return {**last, "gap": float(np.mean(gaps)), "gap_per_seed": gaps,
            "mean_curves": {k: np.mean([r[k] for r in runs], axis=0).tolist() for k in runs[0]}}


def plot(summary: dict, out):
    fig, axes = scaffold.figure(1, 3, size=(4.3, 3.5))
    for i, name in enumerate(("none", "dropout")):
        c = summary[name]["mean_curves"]
        epochs = np.arange(1, len(c["train_acc"]) + 1)
        axes[0][0].plot(epochs, c["train_acc"], "-", color=f"C{i}", label=f"{name}: train")
        axes[0][0].plot(epochs, c["val_acc"], "--", color=f"C{i}", label=f"{name}: validation")
        axes[0][0].fill_between(epochs, c["val_acc"], c["train_acc"], color=f"C{i}", alpha=0.12)
        axes[0][1].plot(epochs, c["train_loss"], "-", color=f"C{i}", label=f"{name}: train")
        axes[0][1].plot(epochs, c["val_loss"], "--", color=f"C{i}", label=f"{name}: validation")
    axes[0][0].set(xlabel="epoch", ylabel="accuracy (eval mode)", ylim=(0.5, 1.01),
                   title="the gap = overfitting")
    axes[0][0].legend(fontsize=7, loc="lower right")
    axes[0][1].set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
    axes[0][1].legend(fontsize=7)
    names = list(summary)
    ax = axes[0][2]
    ax.bar(range(len(names)), [summary[n]["gap"] for n in names], color=[f"C{i}" for i in range(len(names))],
           alpha=0.7)
    for i, n in enumerate(names):
        seeds = summary[n]["gap_per_seed"]
        ax.plot([i] * len(seeds), seeds, "k.", ms=6)
    ax.set(xticks=range(len(names)), xticklabels=names, ylabel="train acc - val acc",
           title="final gap (bars: mean, dots: seeds)")
    return scaffold.savefig(fig, out / "dropout.png")


def build_parser():
    p = scaffold.parser("dropout", __doc__.split("\n")[0])
    p.add_argument("--train-size", type=int, default=200, help="training examples kept (few: overfits)")
    p.add_argument("--hidden", type=int, default=256, help="units in each of the two hidden layers")
    p.add_argument("--p", type=float, default=0.5, help="dropout probability")
    p.add_argument("--reg", type=float, default=1e-3, help="L2 strength lambda")
    p.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (momentum 0.9)")
    p.add_argument("--epochs", type=int, default=100, help="epochs per run")
    p.add_argument("--seeds", type=int, default=None, help="seeds averaged (None: 3; 1 with --quick)")
    return p


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    split = scaffold.load_data(args, max_train=args.train_size)
    epochs, seeds = args.epochs, args.seeds or (1 if args.quick else 3)
    summary = {name: summarize([train_one(args, split, p, reg, args.seed + s, epochs) for s in range(seeds)])
               for name, (p, reg) in configs(args).items()}
    scaffold.table([{"model": n, "dropout p": configs(args)[n][0], "L2 lambda": configs(args)[n][1],
                     "train acc": s["train_acc"], "val acc": s["val_acc"], "gap": s["gap"],
                     "gap per seed": " ".join(f"{g:.3f}" for g in s["gap_per_seed"]),
                     "train loss": s["train_loss"], "val loss": s["val_loss"]} for n, s in summary.items()],
                   f"{len(split.x_train)} training examples, {args.hidden}x2 hidden units, {epochs} epochs, "
                   f"mean over {seeds} seed(s); accuracies in eval mode")
    plot(summary, out)
    results = {"configs": configs(args), "epochs": epochs, "seeds": seeds, "time_s": elapsed(),
               **{n: {k: v for k, v in s.items() if k != "mean_curves"} for n, s in summary.items()}}
    scaffold.save_results(out, {**results, "curves": {n: s["mean_curves"] for n, s in summary.items()}})
    return results


if __name__ == "__main__":
    main()
