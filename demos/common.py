"""What every lecture demo shares: flags, data, model building, tables and figures.

Each demo is ``python demos/<name>.py [--quick] [--dataset digits|fashion-mnist|mnist]
[--data-dir DIR] [--device cpu|cuda] [--seed N] [--out DIR]`` and has
``main(argv=None) -> dict`` returning the numbers it printed, so tests can check its claim.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

# The demos run as scripts from any directory: make the repository's packages importable.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tinygrad_lite import nn
import tinygrad_lite as tl
from tinygrad_lite.data import Split, Standardize, load_dataset

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU, "arctan": nn.Arctan, "prelu": nn.PReLU, "binary_step": nn.BinaryStep,
}


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The flags every demo takes; a demo adds its own to the returned parser."""
    p = argparse.ArgumentParser(prog=f"demos/{name}.py", description=description)
    p.add_argument("--quick", action="store_true", help="a small, fast run (used by the tests)")
    p.add_argument("--dataset", default="digits", choices=["digits", "fashion-mnist", "mnist"])
    p.add_argument("--data-dir", default=None, help="directory holding the IDX files (MNIST-like)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "strict"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=f"runs/{name}", help="directory for figures and results")
    return p


def output_dir(args) -> Path:
    """``--out``, created if needed (default ``runs/<name>`` under the working directory)."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_data(args, max_train: int | None = None, standardize: bool = True) -> Split:
    """The chosen data set; zero-centered and normalized with training statistics
    (the lecture's preprocessing) unless ``standardize`` is False. ``max_train`` keeps a
    stratification-free prefix of the (already shuffled) training part, for quick runs."""
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
    """Write the demo's numbers as JSON (NumPy scalars and arrays converted)."""
    path = out / name
    path.write_text(json.dumps(results, indent=2, default=_jsonable))
    return path


def finish(out: Path, results: dict) -> dict:
    """Save the demo's results (with its ``time_s``), say how long it took, return them."""
    save_results(out, results)
    print(f"done in {results['time_s']:.1f}s")
    return results


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def figure(*subplots: int, size: tuple[float, float] = (6.0, 4.0)):
    """A matplotlib figure (Agg, no display needed) and its axes: ``figure(1, 2)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = subplots or (1, 1)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    return fig, axes


def savefig(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")
    return path


def seed_all(seed: int) -> np.random.Generator:
    """Seed the library's generators; returns a host generator for data-side randomness."""
    tl.manual_seed(seed)
    return np.random.default_rng(seed)
