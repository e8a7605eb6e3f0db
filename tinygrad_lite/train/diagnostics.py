"""What to look at besides the loss curve: the confusion matrix and per-class accuracy, each
layer's gradient norm over training (Nielsen's "speed of learning"), and each activation
layer's statistics (saturated sigmoid/tanh units, dead ReLUs, histograms).

Each is a function of a trained (or untrained) model. Its figure is in ``plots``
(``plot_confusion_matrix``, ...), and its ``Callback`` for ``fit``, which records it while
training and, given a ``path``, redraws the figure after every epoch, is in ``callbacks``:

    cm = confusion_matrix(model, (x_val, y_val)); plot_confusion_matrix(cm, "cm.png")
    grads = GradientNormMonitor(path="grads.png")
    acts = ActivationMonitor(x_val[:256], path="acts.png")
    fit(model, loss_fn, opt, train, val=val, callbacks=[grads, acts])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np  # host-side statistics

from .. import nn
from ..autograd import no_grad
from ..checks import check_int
from ..factory import to_numpy
from ..graph import trace_modules
from ..nn.module import eval_mode
from ..tensor import Tensor
from .evaluation import EVAL_BATCH_SIZE, as_loader, model_device

# a unit is saturated where its derivative is below this fraction of the derivative's maximum:
# sigmoid s (1 - s) < 0.1 / 4, i.e. s < 0.026 or s > 0.974; tanh 1 - t^2 < 0.1, i.e. |t| > 0.949
SATURATION = 0.1
ACTIVATIONS = (nn.Sigmoid, nn.Tanh, nn.Arctan, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.BinaryStep)
HISTOGRAM_BINS = 40


# ---------------------------------------------------------------- confusion matrix
def confusion_matrix(model, data, num_classes: int | None = None, batch_size: int = EVAL_BATCH_SIZE,
                     device: str | None = None) -> np.ndarray:
    """``C[i, j]``: the number of examples of class i that ``model`` predicts as class j
    (argmax of its scores), on ``data`` ((x, y) or a loader), in eval mode without a graph.
    ``num_classes`` defaults to the width of the scores."""
    loader = as_loader(data, batch_size, False, None, device or model_device(model))
    counts = None
    with eval_mode(model), no_grad():
        for xb, yb in loader:
            scores = model(xb)
            if counts is None:
                counts = np.zeros((num_classes or scores.shape[1],) * 2, dtype=np.int64)
            pred, true = to_numpy(scores.argmax(axis=1)), to_numpy(yb).astype(np.int64)
            if true.size and (true.min() < 0 or max(true.max(), pred.max()) >= len(counts)):
                raise ValueError(f"confusion_matrix: labels run from {true.min()} to {true.max()} but "
                                 f"num_classes is {len(counts)}; pass num_classes")
            np.add.at(counts, (true, pred), 1)
    if counts is None:
        raise ValueError("confusion_matrix: the data holds no examples")
    return counts


def per_class_accuracy(cm) -> np.ndarray:
    """``C[i, i] / sum_j C[i, j]``: the fraction of each class predicted right (nan for a
    class with no examples)."""
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"per_class_accuracy: cm must be a square matrix, got shape {cm.shape}")
    rows = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, np.diag(cm) / rows, np.nan)


# ---------------------------------------------------------------- gradient norms per layer
def gradient_norms(model, which: str = "weight") -> dict[str, float]:
    """``||dL/dp||`` (the L2 norm over all elements) of each parameter whose dotted name ends
    in ``which`` ("weight", "bias"; "" for every parameter), from the ``.grad`` the last
    backward pass left; a parameter without a gradient is skipped."""
    if not isinstance(which, str):
        raise TypeError(f"gradient_norms: which must be a string (a name suffix), got {which!r}")
    out = {}
    for name, p in model.named_parameters():
        if name.endswith(which) and p.grad is not None:
            g = to_numpy(p.grad.data).astype(np.float64)
            out[name] = float(np.sqrt((g * g).sum()))
    return out


# ---------------------------------------------------------------- activation statistics
@dataclass
class ActivationStats:
    """One activation layer's outputs on a batch: ``layer`` (its path and class), ``mean`` and
    ``std`` of all outputs, ``saturated`` (sigmoid, tanh, arctan: the fraction of outputs where
    the derivative is below ``SATURATION`` times its maximum, else None), ``dead`` (ReLU: the
    fraction of units, i.e. features or channels, that output 0 for every example and position,
    else None), and a ``histogram`` (``counts`` over ``edges``)."""

    layer: str
    mean: float
    std: float
    saturated: float | None
    dead: float | None
    counts: list
    edges: list


def activation_statistics(model, x, layers=None, bins: int = HISTOGRAM_BINS) -> dict[str, ActivationStats]:
    """Statistics of the output of each activation layer of ``model`` (or of the modules
    whose dotted paths are in ``layers``) on the batch ``x``, in eval mode without a graph.
    Keyed by path in the order the layers ran."""
    check_int("activation_statistics", "bins", bins)
    x = x if isinstance(x, Tensor) else Tensor(to_numpy(x), device=model_device(model))
    known = dict(model.named_modules())
    if layers is not None:
        missing = [p for p in layers if p not in known]
        if missing:
            raise ValueError(f"activation_statistics: the model has no modules {missing}; its paths "
                             f"are {[p for p in known if p]}")
    with eval_mode(model), no_grad(), trace_modules(model) as trace:
        model(x)
    out = {}
    for call in trace.calls:
        chosen = call.path in layers if layers is not None else isinstance(call.module, ACTIVATIONS)
        if chosen and isinstance(call.output, Tensor) and call.path not in out:
            out[call.path] = _stats(call.path, call.module, to_numpy(call.output.data), bins)
    if not out:
        raise ValueError("activation_statistics: no activation layer (nn.Sigmoid, nn.Tanh, nn.ReLU, ...) ran; "
                         "pass layers=[paths] to choose the modules whose outputs to examine")
    return out


def _stats(path: str, module, a: np.ndarray, bins: int) -> ActivationStats:
    a = a.astype(np.float64)
    saturated = dead = None
    if isinstance(module, nn.Sigmoid):
        saturated = float(np.mean(a * (1 - a) < SATURATION * 0.25))
    elif isinstance(module, nn.Tanh):
        saturated = float(np.mean(1 - a * a < SATURATION))
    elif isinstance(module, nn.Arctan):
        saturated = float(np.mean(np.cos(a) ** 2 < SATURATION))  # d/dz arctan z = 1 / (1 + z^2) = cos^2 a
    elif isinstance(module, nn.ReLU) and a.ndim >= 2:
        per_unit = np.moveaxis(a, 1, 0).reshape(a.shape[1], -1)  # axis 1: features or channels
        dead = float(np.mean((per_unit <= 0).all(axis=1)))
    finite = a[np.isfinite(a)]
    counts, edges = np.histogram(finite, bins=bins) if finite.size else (np.zeros(bins), np.linspace(0, 1, bins + 1))
    return ActivationStats(f"{path}: {type(module).__name__}", float(a.mean()), float(a.std()), saturated, dead,
                           counts.astype(np.int64).tolist(), edges.tolist())
