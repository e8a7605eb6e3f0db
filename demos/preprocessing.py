"""Data preprocessing: the lecture's three panels and what zero-centering and normalization do to training.

    x -= np.mean(X, axis=0)   # zero-centering        (tinygrad_lite.data.ZeroCenter)
    x /= np.std(X, axis=0)    # normalization         (tinygrad_lite.data.Standardize)

1. The three panels (original, zero-centered, normalized) for a synthetic 2-D cloud like the
   lecture's (offset, correlated, features on different scales) and for two raw digit pixels.
2. Training speed on the data set (a 64-unit ReLU network, SGD, mini-batches of 32) with raw,
   zero-centered and normalized inputs. The input scale changes the effective learning rate,
   so each preprocessing gets the best learning rate of a sweep; the table shows the training
   loss after each run and the epochs to a target validation accuracy at that rate.
3. Normalization "provides balance among parameters": logistic regression on the 2-D cloud,
   whose two features differ in scale about 10x; full-batch gradient descent, best learning
   rate of a sweep for each preprocessing, steps to a target loss.

    python demos/preprocessing.py [--quick] [--dataset fashion-mnist --data-dir DIR] [--device cuda]
"""
from __future__ import annotations

import math

import numpy as np
import scaffold

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import Standardize, ZeroCenter

PREPS = ("raw", "zero-centered", "normalized")
BALANCE_LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
BALANCE_TARGET = 0.35  # the noise-free rule reaches about 0.29 with 5% flipped labels


def build_parser():
    p = scaffold.parser("preprocessing", __doc__.split("\n")[0])
    p.add_argument("--train-size", type=int, default=None,
                   help="use the first N training examples (None: all; 2000 with --quick)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per training run (None: 10; 3 with --quick)")
    p.add_argument("--target-acc", type=float, default=0.9, help="validation accuracy target")
    return p


def preprocess(x_train: np.ndarray, *others: np.ndarray) -> dict:
    """Each preprocessing fitted on x_train and applied to every array: name -> arrays."""
    out = {"raw": (x_train, *others)}
    for name, t in (("zero-centered", ZeroCenter()), ("normalized", Standardize())):
        t.fit(x_train)
        out[name] = tuple(t.transform(a) for a in (x_train, *others))
    return out


# ---------------------------------------------------------------- the 2-D cloud
def cloud(rng: np.random.Generator, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """A correlated cloud centered at (6, 3) with stds of about 3 and 0.3, labelled by a rule
    that weighs both features equally in standardized units (with 5% label noise)."""
    z = rng.standard_normal((n, 2))
    x = z @ np.array([[3.0, 0.15], [0.0, 0.26]]) + np.array([6.0, 3.0])
    s = (x - x.mean(axis=0)) / x.std(axis=0)
    y = (s[:, 0] - s[:, 1] > 0).astype(np.float32)
    flip = rng.random(n) < 0.05
    y[flip] = 1 - y[flip]
    return x.astype(np.float32), y


def two_pixels(x_raw: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The two most correlated pixels among those with a clear spread (std > half the largest)."""
    std = x_raw.std(axis=0)
    cols = np.nonzero(std > 0.5 * std.max())[0]
    c = np.abs(np.corrcoef(x_raw[:, cols].T)) - np.eye(len(cols))
    i, j = np.unravel_index(np.argmax(c), c.shape)
    return x_raw[:, [cols[i], cols[j]]], (int(cols[i]), int(cols[j]))


def logistic_steps(x: np.ndarray, y: np.ndarray, lr: float, steps: int, target: float, device: str):
    """Full-batch GD on a logistic unit; (steps to loss < target or None, final loss)."""
    scaffold.seed_all(0)
    unit = nn.Linear(2, 1).to(device)
    nn.init.zeros_(unit.weight)
    nn.init.zeros_(unit.bias)
    opt = optim.SGD(unit.parameters(), lr=lr)
    xt, yt = tl.Tensor(x, device=device), tl.Tensor(y[:, None], device=device)
    reached, value = None, math.nan
    for k in range(steps):
        opt.zero_grad()
        loss = nn.BCEWithLogitsLoss()(unit(xt), yt)
        value = float(loss.item())
        if not math.isfinite(value):
            return None, value
        if reached is None and value < target:
            reached = k
        loss.backward()
        opt.step()
    return reached, value


def balance(args, steps: int) -> list[dict]:
    x, y = cloud(scaffold.seed_all(args.seed))
    rows = []
    for name, (xp,) in preprocess(x).items():
        best = None
        for lr in BALANCE_LRS:
            reached, final = logistic_steps(xp, y, lr, steps, BALANCE_TARGET, args.device)
            # a run counts when it reached the target and is still below it at the end
            ok = reached is not None and final < BALANCE_TARGET
            key = (not ok, reached if ok else 0, final if math.isfinite(final) else math.inf)
            if best is None or key < best[0]:
                best = (key, lr, reached, final)
        _, lr, reached, final = best
        rows.append({"inputs": name, "best lr": lr, f"steps to loss < {BALANCE_TARGET}": reached if reached is not None
                     else f"> {steps}", f"loss after {steps} steps": final})
    return rows


# ---------------------------------------------------------------- training speed on the data
def train_speed(args, split, lrs, epochs: int) -> dict:
    """runs[prep][lr] = History, or None where the loss diverged."""
    data = preprocess(split.x_train, split.x_val)
    runs = {}
    for name, (xt, xv) in data.items():
        runs[name] = {}
        for lr in lrs:
            scaffold.seed_all(args.seed)
            model = scaffold.mlp([split.num_features, 64, split.num_classes], "relu", device=args.device)
            # the largest rates overflow on purpose: they are reported as diverged
            h, error = scaffold.fit_or_diverge(
                model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), (xt, split.y_train),
                epochs=epochs, batch_size=32, val=(xv, split.y_val), quiet=True, seed=args.seed)
            runs[name][lr] = h if error is None else None
    return runs


def speed_rows(runs: dict, target: float) -> tuple[list[dict], dict]:
    rows, best = [], {}
    for name, by_lr in runs.items():
        finished = {lr: h for lr, h in by_lr.items() if h is not None}
        lr = min(finished, key=lambda r: finished[r].train_loss[-1])
        h = finished[lr]
        hit = [e for e, a in zip(h.epoch, h.val_acc) if a >= target]
        best[name] = {"lr": lr, "final_train_loss": h.train_loss[-1], "val_acc": h.val_acc[-1],
                      "epochs_to_target": hit[0] if hit else None, "history": h}
        rows.append({"inputs": name, "best lr": lr, "train loss after epoch 1": h.train_loss[0],
                     f"after epoch {h.epochs}": h.train_loss[-1], "val acc": h.val_acc[-1],
                     f"epochs to val acc {target:g}": hit[0] if hit else f"> {h.epochs}",
                     "diverged at lr": ", ".join(f"{r:g}" for r, v in by_lr.items() if v is None) or "-"})
    return rows, best


# ---------------------------------------------------------------- figures
def plot_panels(clouds: list[tuple[str, np.ndarray]], path):
    fig, axes = scaffold.figure(len(clouds), 3, size=(3.2, 3.0))
    for row, (label, x) in enumerate(clouds):
        for ax, (name, (xp,)) in zip(axes[row], preprocess(x).items()):
            ax.scatter(xp[:, 0], xp[:, 1], s=4, alpha=0.5)
            lim = 1.1 * np.abs(np.concatenate([preprocess(x)[p][0] for p in PREPS])).max()
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=f"{name} ({label})")
            ax.axhline(0, color="0.7", lw=0.6)
            ax.axvline(0, color="0.7", lw=0.6)
    return scaffold.savefig(fig, path)


def plot_speed(best: dict, path):
    fig, axes = scaffold.figure(1, 2, size=(4.5, 3.2))
    for name, b in best.items():
        h = b["history"]
        axes[0][0].plot(h.epoch, h.train_loss, marker=".", label=f"{name} (lr {b['lr']:g})")
        axes[0][1].plot(h.epoch, h.val_acc, marker=".", label=name)
    axes[0][0].set(yscale="log", xlabel="epoch", ylabel="training loss", title="each at its best lr")
    axes[0][1].set(xlabel="epoch", ylabel="validation accuracy")
    axes[0][0].legend(fontsize=8)
    return scaffold.savefig(fig, path)


def main(argv=None) -> dict:
    args = build_parser().parse_args(argv)
    out, elapsed = scaffold.output_dir(args), scaffold.timer()
    keep = args.train_size or (2000 if args.quick else None)
    split = scaffold.load_data(args, max_train=keep, standardize=False)
    x_pair, (pi, pj) = two_pixels(split.x_train)
    h, w = split.image_shape[:2]
    files = [plot_panels([("2-D cloud", cloud(scaffold.seed_all(args.seed))[0]),
                          (f"pixels {divmod(pi, w)}, {divmod(pj, w)}", x_pair)],
                         out / "preprocessing_panels.png")]

    balance_rows = balance(args, 200 if args.quick else 300)
    scaffold.table(balance_rows, "logistic unit on the 2-D cloud (feature stds ~3 and ~0.3), full-batch GD, "
                                 f"best lr of {list(BALANCE_LRS)}")
    epochs = args.epochs or (3 if args.quick else 10)
    lrs = (0.01, 0.03, 0.1, 0.3) if args.quick else (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    runs = train_speed(args, split, lrs, epochs)
    rows, best = speed_rows(runs, args.target_acc)
    scaffold.table(rows, f"training speed ({split.name}, {h}x{w} pixels, 64 ReLU units, SGD, batch 32), "
                         f"best lr of {list(lrs)}")
    files.append(plot_speed(best, out / "preprocessing_speed.png"))
    results = {"dataset": split.name, "pixels": [pi, pj], "balance": balance_rows,
               "speed": {n: {k: v for k, v in b.items() if k != "history"} for n, b in best.items()},
               "files": [str(f) for f in files], "time_s": elapsed()}
    return scaffold.finish(out, results)


if __name__ == "__main__":
    main()
