"""PNG figures of a training run: the curves the lecture says to watch, the first-layer weights,
and the diagnostics (confusion matrix, gradient norm per layer, activation statistics).

matplotlib is imported on first use (it is an optional dependency: ``pip install
'tinygrad-lite[plots]'``) and drawn with its Agg canvas, so no display and no global
pyplot state are involved. Each figure stores the numbers it draws in its PNG
(``read_png_data`` reads them back), with each panel's place and limits, so the file says
exactly what it shows.

Sections, in order: the figure machinery; the training curves; the first-layer weights; the
confusion matrix; the gradient norms; the activation statistics.
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
from .diagnostics import ActivationStats, per_class_accuracy
from .history import History

BAR_COLOR = "#1f77b4"  # one flat colour per bar series, so bars can be found again in the pixels
START_COLOR, END_COLOR = "#ff7f0e", "#1f77b4"
MAX_ANNOTATED_CLASSES = 20  # counts are written in the cells up to this many classes


# ---------------------------------------------------------------- figure machinery
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


def _finish(fig, path, data: dict, axes: dict) -> Path:
    fig.tight_layout()
    data["axes"] = axes_geometry(fig, axes)
    return save_png(fig, path, data)


# ---------------------------------------------------------------- training curves
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


# ---------------------------------------------------------------- first-layer weights
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


PADDING_GRAY = 0.5  # the frame between weight tiles: mid grey, so neither extreme vanishes into it


def weight_grid(w: np.ndarray, image_shape: tuple[int, int], pad: int = 1,
                fill: float = PADDING_GRAY) -> np.ndarray:
    """Tile the rows of ``w`` (one per hidden unit) as ``image_shape`` images on a near-square
    grid; each tile is min-max scaled to [0, 1] on its own. The padding between tiles (and the
    empty slots) is ``fill``, mid grey by default: a tile's white (its largest weight) and black
    (its smallest) both stand out against it."""
    h, wd = image_shape
    if h * wd != w.shape[1]:
        raise ValueError(f"image_shape {image_shape} has {h * wd} pixels, the weights have {w.shape[1]} inputs")
    n = w.shape[0]
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (wd + pad) + pad), float(fill))
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
               "(black = its smallest weight, white = its largest; the grey frame is padding)")
    fig.text(0.5, 0.01, caption, ha="center", va="bottom", fontsize="x-small")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    data = {"kind": "first_layer_weights", "units": int(w.shape[0]), "image_shape": list(image_shape),
            "caption": caption, "colorbar": [t.get_text() for t in bar.ax.get_yticklabels()],
            "padding_gray": PADDING_GRAY,
            "axes": axes_geometry(fig, {"tiles": ax, "colorbar": bar.ax})}
    return save_png(fig, path, data)


# ---------------------------------------------------------------- confusion matrix
def plot_confusion_matrix(source, path: str | os.PathLike, class_names: list | None = None,
                          title: str | None = None) -> Path:
    """Write a PNG: the confusion matrix (rows: true class, each row divided by its count, the
    counts written in the cells) and the per-class accuracy as bars, with the overall accuracy.

    ``source`` is a matrix of counts (``confusion_matrix``) or a ``ConfusionMatrixMonitor``
    (its latest matrix). Stored data: "counts", "normalized", "per_class_accuracy", "accuracy"."""
    epoch = None
    if hasattr(source, "matrices"):
        if not source.matrices:
            raise ValueError("plot_confusion_matrix: the monitor holds no matrix yet (it records at epoch ends)")
        source, epoch = source.matrices[-1], source.epochs[-1]
    counts = np.asarray(source)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"plot_confusion_matrix: source must be a square matrix of counts, got shape {counts.shape}")
    n = counts.shape[0]
    names = [str(c) for c in (class_names if class_names is not None else range(n))]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix: class_names has {len(names)} names for {n} classes")
    rows = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    acc = per_class_accuracy(counts)
    overall = float(np.trace(counts) / counts.sum()) if counts.sum() else math.nan
    data = {"kind": "confusion_matrix", "counts": counts.tolist(), "normalized": normalized.tolist(),
            "per_class_accuracy": acc.tolist(), "accuracy": overall, "class_names": names, "epoch": epoch}

    fig = new_figure(5.2 + 0.25 * n + 4.5, max(4.2, 2.0 + 0.3 * n))
    ax_m, ax_a = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    image = ax_m.imshow(np.asarray(data["normalized"]), cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    if n <= MAX_ANNOTATED_CLASSES:
        for (i, j), c in np.ndenumerate(counts):
            if c:
                ax_m.text(j, i, str(c), ha="center", va="center", fontsize="x-small",
                          color="white" if normalized[i, j] > 0.5 else "black")
    ax_m.set(xticks=range(n), yticks=range(n), xlabel="predicted class", ylabel="true class")
    ax_m.set_xticklabels(names, fontsize="x-small", rotation=90 if max(map(len, names)) > 2 else 0)
    ax_m.set_yticklabels(names, fontsize="x-small")
    when = f" after epoch {epoch}" if epoch is not None else ""
    ax_m.set_title(title or f"confusion matrix{when}\n(colour: share of the true class; numbers: counts)",
                   fontsize="medium")
    fig.colorbar(image, ax=ax_m, fraction=0.046, pad=0.04).set_label("fraction of the row")
    ax_a.set_axisbelow(True)  # grid lines behind the bars
    ax_a.bar(range(n), np.nan_to_num(np.asarray(data["per_class_accuracy"])), color=BAR_COLOR, width=0.7)
    if not math.isnan(overall):
        ax_a.axhline(overall, color="0.3", ls="--", lw=1, label=f"overall {overall:.1%}")
        ax_a.legend(loc="lower right", fontsize="small")
    ax_a.set(xticks=range(n), ylim=(0, 1.0), xlabel="true class", ylabel="accuracy (diagonal / row count)",
             title="per-class accuracy")
    ax_a.set_xticklabels(names, fontsize="x-small", rotation=90 if max(map(len, names)) > 2 else 0)
    ax_a.grid(axis="y", alpha=0.3)
    return _finish(fig, path, data, {"matrix": ax_m, "accuracy": ax_a})


# ---------------------------------------------------------------- gradient norms
def plot_gradient_norms(source, path: str | os.PathLike, window: float = 0.1) -> Path:
    """Write a PNG: each layer's gradient norm over training (log scale, x in epochs) and, as
    bars, its mean over the first and the last ``window`` (fraction) of the recorded steps,
    the way Nielsen compares how fast each layer learns.

    ``source`` is a ``GradientNormMonitor``. Stored data: "positions", "norms" (layer -> list),
    "start" and "end" (layer -> mean), "layers" (the bars' order)."""
    if not getattr(source, "positions", None):
        raise ValueError("plot_gradient_norms: the monitor holds no step yet; pass it to fit(callbacks=[...]) "
                         "or call its after_backward(model, position) after each backward pass")
    if not 0 < window <= 1:
        raise ValueError(f"plot_gradient_norms: window must be in (0, 1], got {window!r}")
    layers = list(source.norms)
    steps = len(source.positions)
    k = max(1, math.ceil(window * steps))
    norms = {name: np.asarray(v, dtype=np.float64) for name, v in source.norms.items()}
    data = {"kind": "gradient_norms", "positions": list(source.positions), "layers": layers,
            "norms": {name: v.tolist() for name, v in norms.items()},
            "start": {name: float(np.nanmean(v[:k])) if np.isfinite(v[:k]).any() else math.nan
                      for name, v in norms.items()},
            "end": {name: float(np.nanmean(v[-k:])) if np.isfinite(v[-k:]).any() else math.nan
                    for name, v in norms.items()},
            "window_steps": k}

    fig = new_figure(12, 4.2)
    ax_l, ax_b = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    for i, name in enumerate(layers):
        ax_l.plot(data["positions"], data["norms"][name], lw=0.9, color=f"C{i % 10}", label=name)
    ax_l.set(yscale="log", xlabel="epoch", ylabel="||dL/dW|| (L2 norm)",
             title="gradient norm per layer over training")
    ax_l.grid(alpha=0.3)
    ax_l.legend(fontsize="x-small", ncol=2 if len(layers) > 6 else 1)
    x = np.arange(len(layers))
    ax_b.set_axisbelow(True)
    for values, color, shift, label in ((data["start"], START_COLOR, -0.2, f"first {k} steps"),
                                        (data["end"], END_COLOR, 0.2, f"last {k} steps")):
        ax_b.bar(x + shift, [values[name] for name in layers], width=0.4, color=color, label=label)
    ax_b.set(yscale="log", xticks=x, ylabel="mean ||dL/dW||",
             title="how fast each layer learns\n(earlier layers far lower: vanishing gradients)")
    ax_b.set_xticklabels(layers, rotation=45, ha="right", fontsize="x-small")
    ax_b.legend(fontsize="small")
    ax_b.grid(axis="y", alpha=0.3)
    return _finish(fig, path, data, {"lines": ax_l, "bars": ax_b})


# ---------------------------------------------------------------- activation statistics
def plot_activation_statistics(source, path: str | os.PathLike) -> Path:
    """Write a PNG: a histogram of each activation layer's outputs, and bars of each layer's
    saturated fraction (sigmoid, tanh: derivative below 10% of its maximum) or dead fraction
    (ReLU: units that output 0 for the whole batch); for a monitor with several epochs also
    those fractions over the epochs.

    ``source`` is the dict of ``activation_statistics`` or an ``ActivationMonitor`` (its
    latest epoch). Stored data: "layers" (path -> the ``ActivationStats`` fields), "problem"
    (path -> the barred fraction), "kind" of each bar ("saturated" or "dead")."""
    series, epochs = None, None
    if hasattr(source, "history"):
        if not source.history:
            raise ValueError("plot_activation_statistics: the monitor holds no statistics yet (it records "
                             "at epoch ends)")
        series, epochs, source = source.history, source.epochs, source.history[-1]
    if not source or not all(isinstance(s, ActivationStats) for s in source.values()):
        raise TypeError("plot_activation_statistics: source must be activation_statistics(...) or an ActivationMonitor")
    layers = list(source)
    problem = {p: _problem(s) for p, s in source.items()}
    data = {"kind": "activation_statistics", "layers": {p: vars(s) for p, s in source.items()},
            "problem": {p: v for p, (v, _) in problem.items()},
            "problem_kind": {p: k for p, (_, k) in problem.items()}, "epoch": epochs[-1] if epochs else None}
    over_time = series is not None and len(series) > 1
    if over_time:
        data["over_epochs"] = {"epochs": list(epochs),
                               "problem": {p: [_problem(e[p])[0] if p in e else math.nan for e in series]
                                           for p in layers}}
    panels = len(layers) + 1 + over_time
    fig = new_figure(min(3.2 * panels, 26), 3.8)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    named = {}
    for ax, p in zip(axes, layers):
        s = source[p]
        ax.stairs(s.counts, s.edges, fill=True, color="0.55")
        extra = "" if problem[p][1] is None else f", {problem[p][1]} {problem[p][0]:.0%}"
        ax.set_title(f"{s.layer}\nmean {s.mean:.3g}, std {s.std:.3g}{extra}", fontsize="small")
        ax.set_xlabel("output value")
        named[f"hist {p}"] = ax
    axes[0].set_ylabel("count")
    ax_b = axes[len(layers)]
    heights = [0.0 if v is None else v for v, _ in problem.values()]
    ax_b.set_axisbelow(True)
    ax_b.bar(range(len(layers)), heights, color=BAR_COLOR, width=0.6)
    ax_b.set(xticks=range(len(layers)), ylim=(0, 1), ylabel="fraction",
             title="saturated (sigmoid/tanh) or\ndead (ReLU) per layer")
    ax_b.set_xticklabels([f"{p}\n{k or 'n/a'}" for p, (_, k) in problem.items()], fontsize="x-small")
    ax_b.grid(axis="y", alpha=0.3)
    named["bars"] = ax_b
    if over_time:
        ax_t = axes[-1]
        for p, values in data["over_epochs"]["problem"].items():
            if problem[p][1] is not None:
                ax_t.plot(epochs, values, "o-", ms=3, label=f"{p} {problem[p][1]}")
        ax_t.set(ylim=(0, 1), xlabel="epoch", ylabel="fraction", title="over training")
        ax_t.legend(fontsize="x-small")
        named["over_epochs"] = ax_t
    if epochs:
        fig.suptitle(f"activations after epoch {epochs[-1]}", fontsize="medium")
    return _finish(fig, path, data, named)


def _problem(s: ActivationStats) -> tuple:
    """(fraction, "saturated" or "dead") for the layer's kind, (None, None) for the others."""
    if s.saturated is not None:
        return s.saturated, "saturated"
    if s.dead is not None:
        return s.dead, "dead"
    return None, None
