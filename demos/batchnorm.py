"""Batch normalization: higher learning rates, less dependence on initialization, and its test-time mode.

The lecture: BN layers after the fully connected layers, before the nonlinearities,
"improve gradient flow, allow higher learning rates, reduce the strong dependence on
initialization"; at test time the mean/std are not computed from the batch but fixed
running averages gathered during training are used.

1. A grid: the same ReLU network (three hidden layers of 64) with and without batch norm,
   weights drawn from N(0, std^2) for several stds (0.01 is the lecture's "small random
   numbers", 0.1 is about He's sqrt(2/64) = 0.18, 1.0 is large), biases 0, trained with SGD
   at several learning rates. Validation accuracy (eval mode) after training; a run whose
   loss became NaN/inf is marked and scored with its last finite weights. The spread across
   init stds at each learning rate measures the dependence on initialization.
2. Train vs eval mode of a trained BN network: validation accuracy with the running
   statistics (eval) and with the statistics of mini-batches (train mode); each example's
   scores alone vs inside a batch (eval: identical; train: they depend on the batch); the
   running mean/variance against the statistics of the whole training set.

    python demos/batchnorm.py [--quick] [--dataset fashion-mnist --data-dir DIR] [--device cuda]
"""
from __future__ import annotations

import numpy as np
import scaffold

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.train import evaluate

HIDDEN = [64, 64, 64]
STDS = (0.01, 0.1, 1.0)
LRS = (0.01, 0.1, 0.5, 2.0)


def build_parser():
    p = scaffold.parser("batchnorm", __doc__.split("\n")[0])
    p.add_argument("--train-size", type=int, default=None,
                   help="use the first N training examples (None: all; 500 with --quick)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per run (None: 8; 3 with --quick)")
    p.add_argument("--batch-size", type=int, default=32, help="examples per SGD update")
    return p


def make_net(split, batchnorm: bool, std: float, device: str):
    model = scaffold.mlp([split.num_features, *HIDDEN, split.num_classes], "relu", batchnorm=batchnorm)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            nn.init.zeros_(m.bias)
    return model.to(device)


def run(args, split, batchnorm: bool, std: float, lr: float, epochs: int) -> dict:
    """One cell of the grid: final validation accuracy (eval mode) and whether it diverged."""
    scaffold.seed_all(args.seed)
    model = make_net(split, batchnorm, std, args.device)
    loss_fn = nn.CrossEntropyLoss()
    val = (split.x_val, split.y_val)
    # large rates overflow on purpose (that is the point): the table reports it
    h, error = scaffold.fit_or_diverge(model, loss_fn, optim.SGD(model.parameters(), lr=lr),
                                       (split.x_train, split.y_train), epochs=epochs,
                                       batch_size=args.batch_size, val=val, quiet=True, seed=args.seed)
    if error is None:
        return {"val_acc": h.val_acc[-1], "diverged": False, "model": model, "history": h}
    with scaffold.overflow_ignored():  # the last good weights may still be huge
        acc = evaluate(model, loss_fn, val, device=args.device)[1]
    return {"val_acc": acc, "diverged": True, "model": model, "history": h}


def grid(args, split, epochs: int) -> dict:
    return {(bn, std, lr): run(args, split, bn, std, lr, epochs)
            for bn in (False, True) for std in STDS for lr in LRS}


def grid_rows(cells: dict) -> tuple[list[dict], list[dict]]:
    rows = []
    for bn in (False, True):
        for std in STDS:
            row = {"batch norm": "yes" if bn else "no", "init std": std}
            for lr in LRS:
                c = cells[(bn, std, lr)]
                row[f"lr {lr:g}"] = f"{c['val_acc']:.3f}" + (" (NaN)" if c["diverged"] else "")
            rows.append(row)
    spread = []
    for bn in (False, True):
        accs = {lr: [cells[(bn, s, lr)]["val_acc"] for s in STDS] for lr in LRS}
        spread.append({"batch norm": "yes" if bn else "no",
                       **{f"worst @ lr {lr:g}": min(a) for lr, a in accs.items()},
                       **{f"spread @ lr {lr:g}": max(a) - min(a) for lr, a in accs.items()},
                       "cells >= 0.9": sum(c["val_acc"] >= 0.9 for k, c in cells.items() if k[0] == bn),
                       "diverged": sum(c["diverged"] for k, c in cells.items() if k[0] == bn)})
    return rows, spread


# ---------------------------------------------------------------- train vs eval mode
def bn_inputs(model, x: tl.Tensor) -> list[np.ndarray]:
    """What each BatchNorm1d layer receives for input x (eval mode, no graph)."""
    seen = []
    with tl.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm1d):
                seen.append(x.numpy())
            x = m(x)
    return seen


def modes(model, split, device: str, batch: int = 8, n: int = 512) -> dict:
    """Eval (running statistics) against train mode (batch statistics) on (up to n) validation examples."""
    n = min(n, len(split.y_val)) // batch * batch  # whole batches only: train mode needs 2+ examples
    x, y = tl.Tensor(split.x_val[:n], device=device), split.y_val[:n]
    out = {"val acc, eval mode (running stats)": evaluate(model, nn.CrossEntropyLoss(), (split.x_val, split.y_val))[1]}
    state = model.state_dict()  # train-mode forwards update the running statistics: restore them after
    model.train()
    with tl.no_grad():
        small = np.concatenate([model(x[i:i + batch]).numpy() for i in range(0, n, batch)])
        whole = model(x).numpy()
        try:
            model(x[:1])
            single = "ran"
        except ValueError:
            single = "ValueError (no batch statistics)"
    scale = np.abs(whole).max()
    out[f"val acc, train mode (batches of {batch})"] = float((small.argmax(1) == y).mean())
    out[f"train mode: max |scores in batches of {batch} - in one batch| / max |score|"] = float(
        np.abs(small - whole).max() / scale)
    out["train mode, batch of 1"] = single
    model.load_state_dict(state)
    model.eval()
    with tl.no_grad():
        alone = np.concatenate([model(x[i:i + 1]).numpy() for i in range(n)])
        together = model(x).numpy()
    out["eval mode: max |scores alone - in one batch| / max |score|"] = float(
        np.abs(alone - together).max() / np.abs(together).max())
    out.update(running_stats_error(model, split, device))
    model.train()
    return out


def running_stats_error(model, split, device: str) -> dict:
    """Mean gap between each BN layer's running mean/var and the training set's statistics,
    relative to the typical std/var (worst layer)."""
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    inputs = bn_inputs(model, tl.Tensor(split.x_train, device=device))
    mean_err = var_err = 0.0
    for bn, z in zip(layers, inputs):
        mean, var = z.mean(axis=0), z.var(axis=0)
        mean_err = max(mean_err, float(np.abs(bn.running_mean.numpy() - mean).mean() / np.sqrt(var).mean()))
        var_err = max(var_err, float(np.abs(bn.running_var.numpy() - var).mean() / var.mean()))
    return {"running mean vs training-set mean (mean gap / mean std)": mean_err,
            "running var vs training-set var (mean gap / mean var)": var_err}


def plot_grid(cells: dict, path):
    fig, axes = scaffold.figure(1, 2, size=(4.0, 3.2))
    for ax, bn in zip(axes[0], (False, True)):
        acc = np.array([[cells[(bn, s, lr)]["val_acc"] for lr in LRS] for s in STDS])
        im = ax.imshow(acc, vmin=0, vmax=1, cmap="viridis")
        for i, s in enumerate(STDS):
            for j, lr in enumerate(LRS):
                c = cells[(bn, s, lr)]
                ax.text(j, i, f"{c['val_acc']:.2f}" + ("\nNaN" if c["diverged"] else ""), ha="center",
                        va="center", color="w" if c["val_acc"] < 0.6 else "k", fontsize=8)
        ax.set_xticks(range(len(LRS)), [f"{lr:g}" for lr in LRS])
        ax.set_yticks(range(len(STDS)), [f"{s:g}" for s in STDS])
        ax.set(xlabel="learning rate", title=f"{'with' if bn else 'without'} batch norm")
    axes[0][0].set_ylabel("init std")
    fig.colorbar(im, ax=axes[0].tolist(), label="validation accuracy", shrink=0.8)
    fig.set_layout_engine("constrained")  # tight_layout and a colorbar shared by two panels clash
    return scaffold.savefig(fig, path)


def plot_curves(cells: dict, path):
    """Training loss per iteration at the largest learning rate, every init std."""
    fig, axes = scaffold.figure(1, 2, size=(4.2, 3.0))
    for ax, bn in zip(axes[0], (False, True)):
        for s in STDS:
            h = cells[(bn, s, LRS[-1])]["history"]
            loss = np.clip(np.nan_to_num(np.array(h.iter_loss), nan=1e3, posinf=1e3), None, 1e3)
            ax.plot(h.iter_epoch, loss, lw=0.8, label=f"std {s:g}")
        ax.set(yscale="log", xlabel="epoch", ylabel="training loss",
               title=f"lr {LRS[-1]:g}, {'with' if bn else 'without'} BN")
        ax.legend(fontsize=8)
    return scaffold.savefig(fig, path)


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    split = scaffold.load_data(args, max_train=args.train_size or (500 if args.quick else None))
    epochs = args.epochs or (3 if args.quick else 8)
    cells = grid(args, split, epochs)
    rows, spread = grid_rows(cells)
    scaffold.table(rows, f"validation accuracy after {epochs} epochs ({split.name}, ReLU {HIDDEN}, SGD, "
                         f"batch {args.batch_size}; NaN: the loss overflowed)")
    scaffold.table(spread, "dependence on init: worst and max - min validation accuracy over the init stds, "
                           "per lr")
    ref = cells[(True, 0.1, 0.1)]
    mode_rows = modes(ref["model"], split, args.device)
    scaffold.table([{"BN network (std 0.1, lr 0.1)": k, "value": v} for k, v in mode_rows.items()],
                   "train vs eval mode")
    files = [plot_grid(cells, out / "batchnorm_grid.png"), plot_curves(cells, out / "batchnorm_curves.png")]
    results = {"dataset": split.name, "epochs": epochs,
               "val_acc": {f"bn={bn} std={s:g} lr={lr:g}": c["val_acc"] for (bn, s, lr), c in cells.items()},
               "diverged": {f"bn={bn} std={s:g} lr={lr:g}": c["diverged"] for (bn, s, lr), c in cells.items()},
               "spread": spread, "modes": mode_rows, "files": [str(f) for f in files],
               "time_s": elapsed()}
    return scaffold.finish(out, results)


if __name__ == "__main__":
    main()
