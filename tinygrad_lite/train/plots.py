"""PNG figures of a training run: the curves the lecture says to watch, and first-layer weights.

matplotlib is imported on first use (it is an optional dependency: ``pip install
'tinygrad-lite[plots]'``) and drawn with its Agg canvas, so no display and no global
pyplot state are involved.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np  # host-side figure data

from ..checks import check_int
from ..factory import to_numpy
from ..files import atomic_write, decode_float, to_json
from .history import History


def new_figure(width: float, height: float):
    """A matplotlib Figure of ``width`` x ``height`` inches on its own Agg canvas (no pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise RuntimeError("plots need matplotlib: pip install 'tinygrad-lite[plots]'") from e
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


PNG_DATA_KEY = "tinygrad_lite"  # the PNG text chunk holding a figure's plotted numbers


def save_png(fig, path: str | os.PathLike, data: dict | None = None) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically, creating the parent directory; returns the path.

    ``data`` (JSON-able) is stored in the PNG as the text chunk ``PNG_DATA_KEY``: the numbers
    the figure plots, so that they can be read back from the file (``read_png_data``)."""
    metadata = None if data is None else {PNG_DATA_KEY: json.dumps(to_json(data), allow_nan=False)}
    with atomic_write(path) as f:
        fig.savefig(f, format="png", metadata=metadata)
    return Path(path)


def read_png_data(path: str | os.PathLike) -> dict:
    """The numbers a figure of this library stored in its PNG (see ``save_png``); the strings
    "nan", "inf" and "-inf" that strict JSON needs are read back as floats."""
    from PIL import Image  # matplotlib depends on Pillow

    with Image.open(path) as im:
        text = im.text.get(PNG_DATA_KEY)
    if text is None:
        raise ValueError(f"{os.fspath(path)!r} holds no {PNG_DATA_KEY!r} data: it was not written by "
                         "a diagnostic plot of this library")
    return _decoded(json.loads(text))


def _decoded(obj):
    if isinstance(obj, dict):
        return {k: _decoded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decoded(v) for v in obj]
    return decode_float(obj, other_strings=True) if isinstance(obj, str) else obj


def axes_geometry(fig, axes: dict) -> dict:
    """Where each of ``axes`` (name -> Axes) is and what it shows, for reading values back from
    the pixels: its box as fractions of the figure (x0, y0, x1, y1 from the bottom left; the PNG
    is the whole figure, so pixel = fraction x image size), its limits and its scales.

    The figure is drawn first: colour bars and fixed aspect ratios get their final place only
    then. Call it after the layout."""
    fig.canvas.draw()
    out = {}
    for name, ax in axes.items():
        box = ax.get_position()
        out[name] = {"box": [box.x0, box.y0, box.x1, box.y1], "xlim": list(ax.get_xlim()),
                     "ylim": list(ax.get_ylim()), "xscale": ax.get_xscale(), "yscale": ax.get_yscale()}
    return out


def moving_average(values, window: int) -> np.ndarray:
    """Trailing mean of the last ``window`` values: ``s_i = mean(v[i-window+1 .. i])``
    (fewer at the start). Non-finite values propagate."""
    v = np.asarray(values, dtype=np.float64)
    check_int("moving_average", "window", window)
    c = np.concatenate([[0.0], np.cumsum(v)])
    i = np.arange(1, v.size + 1)
    lo = np.maximum(i - window, 0)
    return (c[i] - c[lo]) / (i - lo)


def plot_history(history: History, path: str | os.PathLike, smooth: int | None = None) -> Path:
    """Write one PNG with three panels, x in epochs as the lecture plots them:
    the data loss per iteration (raw and smoothed over ``smooth`` iterations, default a
    fiftieth of the run; the regularization loss too when there is one), train/validation
    accuracy per epoch, and the learning rate over time."""
    if history.iterations == 0:
        raise ValueError("plot_history: the history holds no iterations")
    x = np.asarray(history.iter_epoch)
    loss = _finite_or_nan(history.iter_loss)
    fig = new_figure(15, 4)
    ax_loss, ax_acc, ax_lr = fig.subplots(1, 3)
    ax_loss.plot(x, loss, lw=0.6, alpha=0.35, color="C0", label="data loss")
    smooth = smooth or max(1, history.iterations // 50)
    ax_loss.plot(x, moving_average(loss, smooth), lw=1.8, color="C0", label=f"smoothed ({smooth} it.)")
    if any(history.iter_reg):
        ax_loss.plot(x, _finite_or_nan(history.iter_reg), lw=1.2, color="C3", label="regularization loss")
    _label(ax_loss, "loss per iteration", "loss")
    epochs = np.asarray(history.epoch)
    marks = ("o-", "s-") if history.epochs <= 30 else ("-", "-")
    if history.epochs:
        ax_acc.plot(epochs, _finite_or_nan(history.train_acc), marks[0], label="train")
        if any(v is not None for v in history.val_acc):
            ax_acc.plot(epochs, _finite_or_nan(history.val_acc), marks[1], label="validation")
    _label(ax_acc, "accuracy per epoch", "accuracy")
    lrs = np.asarray(history.iter_lr, dtype=np.float64)
    ax_lr.plot(x, lrs, color="C2")
    if lrs.min() > 0 and lrs.max() / lrs.min() > 10:
        ax_lr.set_yscale("log")
    title, constant = "learning rate", bool(np.all(lrs == lrs[0]))
    if constant:
        # matplotlib would zoom into a constant line until float noise looks like a trend
        ax_lr.set_ylim(0, 2 * lrs[0] if lrs[0] > 0 else 1)
        title = f"learning rate (constant, {lrs[0]:.3g})"
    _label(ax_lr, title, "lr", legend=False)
    fig.tight_layout()
    data = {"kind": "history", "lr_constant": constant, "lr_title": title,
            "axes": axes_geometry(fig, {"loss": ax_loss, "accuracy": ax_acc, "lr": ax_lr})}
    return save_png(fig, path, data)


def _finite_or_nan(values) -> np.ndarray:
    a = np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)
    a[~np.isfinite(a)] = np.nan  # matplotlib leaves a gap at NaN; inf would wreck the axis limits
    return a


def _label(ax, title: str, ylabel: str, legend: bool = True) -> None:
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend()


def first_layer_weights(model_or_weight) -> np.ndarray:
    """The first layer's weights as a host array of shape (units, inputs): one row per tile.

    Accepts a module (its first parameter of 2 or 4 dimensions), a Tensor or an array: an
    ``nn.Linear`` weight (out_features, in_features) as it is, an ``nn.Conv2d`` weight
    (out_channels, in_channels, kh, kw) as one kh*kw filter per output and input channel.
    """
    w = model_or_weight
    if hasattr(w, "parameters"):
        w = next((p for p in w.parameters() if p.ndim in (2, 4)), None)
        if w is None:
            raise ValueError(f"{type(model_or_weight).__name__} has no 2-D or 4-D weight parameter")
    w = to_numpy(w)
    if w.ndim == 4:
        return w.reshape(w.shape[0] * w.shape[1], w.shape[2] * w.shape[3])
    if w.ndim != 2:
        raise ValueError(f"first-layer weights must be 2-D (hidden, inputs) or 4-D (out, in, kh, kw), "
                         f"got shape {w.shape}")
    return w


def weight_grid(w: np.ndarray, image_shape: tuple[int, int], pad: int = 1) -> np.ndarray:
    """Tile the rows of ``w`` (one per hidden unit) as ``image_shape`` images on a near-square
    grid; each tile is min-max scaled to [0, 1] on its own, padding is 1 (white)."""
    h, wd = image_shape
    if h * wd != w.shape[1]:
        raise ValueError(f"image_shape {image_shape} has {h * wd} pixels, the weights have {w.shape[1]} inputs")
    n = w.shape[0]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.ones((rows * (h + pad) + pad, cols * (wd + pad) + pad))
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    tiles = (w - lo) / np.where(hi > lo, hi - lo, 1.0)
    for k in range(n):
        r, c = divmod(k, cols)
        y0, x0 = pad + r * (h + pad), pad + c * (wd + pad)
        grid[y0:y0 + h, x0:x0 + wd] = tiles[k].reshape(h, wd)
    return grid


def plot_first_layer_weights(model_or_weight, path: str | os.PathLike,
                             image_shape: tuple[int, int] | None = None, max_units: int | None = None) -> Path:
    """Write a PNG of the first layer's weights as images, one tile per hidden unit
    (8x8 for the digits, 28x28 for MNIST) or per conv filter (3x3, ...); ``image_shape``
    defaults to a square of the input size. ``max_units`` limits the tiles to the first units."""
    w = first_layer_weights(model_or_weight)
    if image_shape is None:
        side = math.isqrt(w.shape[1])
        if side * side != w.shape[1]:
            raise ValueError(f"{w.shape[1]} inputs are not a square image: pass image_shape")
        image_shape = (side, side)
    if max_units is not None:
        w = w[:max_units]
    grid = weight_grid(w, tuple(image_shape))
    scale = max(4.0, min(12.0, grid.shape[1] / 20))
    fig = new_figure(scale + 1.0, scale * grid.shape[0] / grid.shape[1] + 1.1)
    ax = fig.add_subplot(1, 1, 1)
    shown = ax.imshow(grid, cmap="gray", interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    small = "medium" if grid.shape[1] > 60 else "small"
    ax.set_title(f"first-layer weights: {w.shape[0]} units as {image_shape[0]}x{image_shape[1]} images",
                 fontsize=small)
    bar = fig.colorbar(shown, ax=ax, fraction=0.04, pad=0.02, ticks=[0, 0.5, 1])
    bar.ax.set_yticklabels(["tile min", "mid", "tile max"], fontsize="x-small")
    caption = (f"Each tile: one unit's {image_shape[0] * image_shape[1]} incoming weights, scaled on its own\n"
               "(black = its smallest weight, white = its largest; the white frame is padding)")
    fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize="x-small")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    data = {"kind": "first_layer_weights", "units": int(w.shape[0]), "image_shape": list(image_shape),
            "caption": caption, "colorbar": [t.get_text() for t in bar.ax.get_yticklabels()],
            "axes": axes_geometry(fig, {"tiles": ax, "colorbar": bar.ax})}
    return save_png(fig, path, data)
