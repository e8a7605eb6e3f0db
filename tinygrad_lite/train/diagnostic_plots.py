"""The figures of ``diagnostics``: confusion matrix with per-class accuracy, gradient norm per
layer over training, activation statistics per layer.

Each draws from one dict of numbers and stores that dict in the PNG (``plots.read_png_data``
reads it back), with each panel's place and limits, so the file says exactly what it shows.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np  # host-side figure data

from .diagnostics import ActivationStats, per_class_accuracy
from .plots import axes_geometry, new_figure, save_png

BAR_COLOR = "#1f77b4"  # one flat colour per bar series, so bars can be found again in the pixels
START_COLOR, END_COLOR = "#ff7f0e", "#1f77b4"
MAX_ANNOTATED_CLASSES = 20  # counts are written in the cells up to this many classes


def _finish(fig, path, data: dict, axes: dict) -> Path:
    fig.tight_layout()
    data["axes"] = axes_geometry(fig, axes)
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
