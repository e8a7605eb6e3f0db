"""What every lecture demo shares: flags, output folder, timer, data, models, training that
may diverge, tables, results.json and figures.

Each demo is ``python demos/<name>.py [--quick] [--dataset digits|fashion-mnist|mnist]
[--data-dir DIR] [--device cpu|cuda|strict] [--seed N] [--out DIR]`` and has
``main(argv=None) -> dict`` returning the numbers it printed, so tests can check its claim.
The demos find ``tinygrad_lite`` through its install (``pip install -e .``); Python puts the
script's folder, demos/, on ``sys.path``, which is how ``import scaffold`` resolves.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.data import Split, Standardize, load_dataset
from tinygrad_lite.files import atomic_write, write_json
from tinygrad_lite.train import History, NonFiniteLossError, diagnose, evaluate, fit
from tinygrad_lite.train.plots import new_figure, save_png

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU, "arctan": nn.Arctan, "prelu": nn.PReLU, "binary_step": nn.BinaryStep,
}
DPI = 90  # the figures' resolution (the PNGs in demos/figures were made at it)


# ---------------------------------------------------------------- flags, folder, timer
def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The flags every demo takes; a demo adds its own to the returned parser. ``--help``
    shows every default; a default of None means the demo picks the value, which the flag's
    help spells out (it depends on ``--quick`` or ``--dataset``)."""
    p = argparse.ArgumentParser(prog=f"demos/{name}.py", description=description,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a small, fast run (used by the tests)")
    p.add_argument("--dataset", default="digits", choices=["digits", "fashion-mnist", "mnist"],
                   help="digits is embedded in the package; the others are read from IDX files")
    p.add_argument("--data-dir", default=None,
                   help="directory holding the IDX files (None: search the usual places, then download)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "strict"],
                   help="strict: the CPU, refusing host arrays where device arrays belong, as CuPy does")
    p.add_argument("--seed", type=int, default=0, help="seeds the library's and the host's generators")
    p.add_argument("--out", default=f"runs/{name}", help="directory for figures and results")
    return p


def output_dir(args) -> Path:
    """``--out``, created if needed (default ``runs/<name>`` under the working directory)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def timer() -> Callable[[], float]:
    """``elapsed = timer()``; ``elapsed()`` is the wall-clock seconds since (a demo's ``time_s``)."""
    start = time.perf_counter()
    return lambda: time.perf_counter() - start


def seed_all(seed: int) -> np.random.Generator:
    """Seed the library's generators; returns a host generator for data-side randomness."""
    tl.manual_seed(seed)
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- data, models, training
def load_data(args, max_train: int | None = None, standardize: bool = True) -> Split:
    """The chosen data set (``args.dataset``, ``args.data_dir``); zero-centered and normalized
    with training statistics (the lecture's preprocessing) unless ``standardize`` is False.
    ``max_train`` keeps a stratification-free prefix of the (already shuffled) training part,
    for quick runs."""
    split = load_dataset(args.dataset, args.data_dir)
    if max_train is not None:
        split = replace(split, x_train=split.x_train[:max_train], y_train=split.y_train[:max_train])
    if standardize:
        prep = Standardize().fit(split.x_train)
        split = replace(split, x_train=prep.transform(split.x_train), x_val=prep.transform(split.x_val),
                        x_test=prep.transform(split.x_test))
    return split


def mlp(sizes: list[int], activation: str = "relu", batchnorm: bool = False, dropout: float = 0.0,
        device: str = "cpu") -> nn.Sequential:
    """Linear layers of ``sizes`` (input, hidden..., classes) with ``activation`` (and
    batch norm before it, dropout after it) between them; no activation on the scores."""
    layers: list = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers).to(device)


def overflow_ignored() -> np.errstate:
    """NumPy's overflow, invalid-value and divide-by-zero warnings off, for code that runs
    (or evaluates) a network that diverged on purpose: the demo reports it instead."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def fit_or_diverge(model, loss_fn, optimizer, train,
                   **fit_kwargs) -> tuple[History, NonFiniteLossError | None]:
    """``fit``, but a run whose loss (or a gradient) becomes NaN/inf is a result, not a crash:
    returns (history, None), or (the history up to the bad step, the error) when it diverged;
    the model then keeps its last good weights. Several demos diverge on purpose (too large
    a learning rate is their point), so NumPy's overflow warnings on the way are silenced."""
    with overflow_ignored():
        try:
            return fit(model, loss_fn, optimizer, train, **fit_kwargs), None
        except NonFiniteLossError as e:
            return e.history, e


# ---------------------------------------------------------------- tables and results
def table(rows: list[dict], title: str | None = None) -> str:
    """Print ``rows`` (dicts with the same keys) as an aligned text table and return it."""
    if not rows:
        return ""
    cols = list(rows[0])
    cells = [[_fmt(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(cols, width)),
             "-+-".join("-" * w for w in width)]
    lines += [" | ".join(v.ljust(w) for v, w in zip(row, width)) for row in cells]
    text = (f"{title}\n" if title else "") + "\n".join(lines)
    print(text)
    return text


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def save_results(out: Path, results: dict, name: str = "results.json") -> Path:
    """Write the demo's numbers as strict JSON, atomically (the library's one writer: NumPy
    values and paths converted, non-finite floats as "nan"/"inf"/"-inf")."""
    return write_json(out / name, results)


def test_and_diagnose(model, loss_fn, split: Split, history: History, device: str) -> dict:
    """Step [4/4] of the training demos: test loss and accuracy, and the diagnosis of the
    training history, printed; returns them and the last epoch's numbers as results fields."""
    test_loss, test_acc = evaluate(model, loss_fn, (split.x_test, split.y_test), device=device)
    print(f"[4/4] test accuracy {test_acc:.2%} (loss {test_loss:.4f})")
    findings = diagnose(history)
    for f in findings:
        print(f"      diagnosis [{f.code}]: {f.message}")
    n = history.epochs
    return {"test_acc": test_acc, "test_loss": test_loss, "epochs": n,
            "train_acc": history.train_acc[-1] if n else None, "val_acc": history.val_acc[-1] if n else None,
            "epoch_time_s": history.time[-1] / n if n else None, "findings": [f.code for f in findings]}


def write_results(out: Path, results: dict, files: dict, root: bool = True) -> dict:
    """On rank 0 (``root``), save results.json beside ``files`` (name -> path, recorded in the
    results) and say what was written; every rank returns ``results``."""
    results["files"] = {k: str(v) for k, v in files.items()}
    if root:
        files["results"] = save_results(out, results)
        print(f"wrote {', '.join(str(p) for p in files.values())} ({results['time_s']:.1f}s)")
    return results


def finish(out: Path, results: dict) -> dict:
    """Save the demo's results (with its ``time_s``), say how long it took, return them."""
    save_results(out, results)
    print(f"done in {results['time_s']:.1f}s")
    return results


# ---------------------------------------------------------------- figures
def figure(rows: int = 1, cols: int = 1, size: tuple[float, float] = (6.0, 4.0)):
    """A figure of ``rows`` x ``cols`` panels of ``size`` inches each and its axes as a 2-D
    array (``axes[row][col]``), on the toolkit's Agg canvas: no display, no pyplot state."""
    fig = new_figure(size[0] * cols, size[1] * rows)
    return fig, fig.subplots(rows, cols, squeeze=False)


def savefig(fig, path: Path) -> Path:
    """Lay ``fig`` out (tight, unless it has its own layout engine) and write it as PNG."""
    import matplotlib  # optional dependency, imported late like the toolkit does; figure() checked it

    if fig.get_layout_engine() is None:
        fig.tight_layout()
    with matplotlib.rc_context({"savefig.dpi": DPI}):  # save_png saves at the rc resolution
        save_png(fig, path)
    print(f"wrote {path}")
    return path


def save_gif(fig, draw: Callable[[int], list], frames: int, path: Path, fps: int, dpi: int) -> Path:
    """An animated GIF of ``fig`` after ``draw(k)`` for k = 0 .. frames-1, written atomically.

    matplotlib's Pillow writer needs a file name ending in .gif (Pillow picks the format from
    it), so the frames go to a scratch file first and its bytes through the library's writer."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / path.name
        FuncAnimation(fig, draw, frames=frames, blit=True).save(staged, writer=PillowWriter(fps=fps), dpi=dpi)
        with atomic_write(path) as f:
            f.write(staged.read_bytes())
    print(f"wrote {path}")
    return path


# ---------------------------------------------------------------- data-parallel runs
def add_distributed_flags(p: argparse.ArgumentParser) -> None:
    """``--distributed`` and ``--sync-batchnorm``, for the demos that train over MPI."""
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of `mpiexec -n N python demos/<name>.py --distributed` "
                        "(--batch-size is per rank); rank 0 alone prints and writes files")
    p.add_argument("--sync-batchnorm", action="store_true",
                   help="with --distributed: BatchNorm statistics over all ranks' batches together")


def data_parallel(args):
    """With ``--distributed``, join the MPI job and return its ``DataParallel`` (None without).
    Ranks other than 0 print nothing: their lines would repeat rank 0's."""
    if not args.distributed:
        return None
    from tinygrad_lite.distributed import DataParallel

    dp = DataParallel(sync_batchnorm=args.sync_batchnorm)
    if args.device == "cuda":
        dp.comm.select_gpu()  # ranks on one host on different GPUs (untested: no GPU where it was written)
    if not dp.is_root:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (for the life of the process)
    return dp


if __name__ == "__main__":
    # the demos' shared code, not a demo: run as a script it would do nothing and look like success
    raise SystemExit("demos/scaffold.py is the code the demos share, not a demo: run one of the demos, "
                     "e.g. python demos/train_mlp.py (the list is in demos/README.md)")
