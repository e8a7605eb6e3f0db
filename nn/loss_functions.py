"""Functional losses with PyTorch's options and semantics; ``nn.functional`` re-exports them.

- ``cross_entropy``: class weights, ``ignore_index``, label smoothing, probability ("soft")
  targets, (N, C), (C,) and (N, C, d1, ...) inputs;
- ``nll_loss`` on log-probabilities; ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``;
- ``binary_cross_entropy`` on probabilities (``binary_cross_entropy_with_logits`` is the stable
  form on logits).

The plain cross-entropy (integer labels of (N, C) scores, no weight, nothing ignored, no
smoothing) runs the fused ``SoftmaxCrossEntropy``; every other case is a composite of Tensor
ops (log_softmax, indexing, sums), so its gradient is the ops' own.

Weight and ignore_index change the mean's denominator, as in PyTorch: with class weights w
and labels y, "mean" is sum_i w_{y_i} l_i / sum_i w_{y_i} over the samples not ignored (a
plain count without weights); when every sample is ignored the mean is nan and the gradient 0.
"""
from __future__ import annotations

import numpy as np  # errstate only: arrays come from the backend

from tinygrad_lite import backend
from tinygrad_lite.autograd import Function
from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_choice, check_int, check_probability, check_real
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor, where

from . import fused

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _weight_and_reduction(op: str, weight, reduction: str):
    """PyTorch puts ``weight`` third (``cross_entropy(x, y, w)``, ``CrossEntropyLoss(w)``); this
    library's first signature put ``reduction`` there, so a string in that place is a reduction."""
    if isinstance(weight, str):
        if reduction != "mean":
            raise TypeError(f"{op}: got two reductions, {weight!r} (in weight's place) and {reduction!r}")
        weight, reduction = None, weight
    check_choice(op, "reduction", reduction, REDUCTIONS)
    return weight, reduction


def _checked_input(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the input must be a Tensor, got {type(x).__name__}")
    return x


def _target(op: str, x: Tensor, target) -> Tensor:
    """``target`` as a tensor of ``x``'s shape (arrays and lists take x's dtype and device)."""
    t = target if isinstance(target, Tensor) else Tensor(target, dtype=x.dtype, device=x.device)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target shape {t.shape} differs from input shape {x.shape}")
    return t


# ---------------------------------------------------------------- class-index targets
def _class_targets(op: str, x: Tensor, y, soft_ok: bool):
    """(x as (M, C) rows, y as (M,), C, the per-element loss shape) for (N, C), (C,) or
    (N, C, d1, ...) input ``x`` and an integer label array ``y`` of shape (N,), () or (N, d1, ...)."""
    if x.ndim == 0 or x.numel() == 0:
        raise ValueError(f"{op}: expected input of shape (N, C), (C,) or (N, C, d1, ...) with no empty "
                         f"axis, got {x.shape}")
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    shape = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    if y.dtype.kind not in "iu":
        probs = f", or class probabilities of the input's shape {x.shape}" if soft_ok else ""
        raise TypeError(f"{op}: labels must be integer class indices{probs}; got dtype {y.dtype} "
                        f"and shape {y.shape}")
    if y.shape != shape:
        what = "unbatched input of shape" if x.ndim == 1 else "input of shape"
        raise ValueError(f"{op}: expected labels of shape {shape} for {what} {x.shape} (labels (N,) for "
                         f"(N, C), (N, d1, ...) for (N, C, d1, ...)), got labels of shape {y.shape}")
    if x.ndim == 2:
        return x, y, c, shape
    if x.ndim == 1:
        return x.reshape(1, c), y.reshape(1), c, shape
    # the class axis moved last: one row of C scores per element (n, d1, ...)
    rows = x.permute((0, *range(2, x.ndim), 1)).reshape(-1, c)
    return rows, y.reshape(-1), c, shape


def _kept(op: str, y, c: int, ignore_index: int):
    """The mask of labels not equal to ``ignore_index``, or None when none is ignored; a
    label out of [0, C) that is not ``ignore_index`` raises ValueError naming it."""
    lo, hi = int(y.min()), int(y.max())
    if lo >= 0 and hi < c:  # the common case: all labels valid, decided by two reductions
        if not 0 <= ignore_index < c:
            return None
        keep = y != ignore_index
        return None if bool(keep.all()) else keep
    keep = y != ignore_index
    bad = keep & ((y < 0) | (y >= c))
    if bool(bad.any()):
        raise ValueError(f"{op}: label {int(y[bad][0])} is out of range for {c} classes "
                         f"(valid: 0..{c - 1}, or ignore_index={ignore_index})")
    return keep


def _class_weight(op: str, weight, x: Tensor, c: int):
    """``weight`` as a raw (C,) array of x's dtype on x's device: a constant, as in PyTorch,
    where no gradient reaches the class weights."""
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else weight
    if backend.device_of(w) is None and not isinstance(w, (list, tuple)):
        raise TypeError(f"{op}: weight must be a Tensor, an array or a list of {c} class weights, "
                        f"got {type(weight).__name__}")
    w = backend.to_device(w, x.device)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: weight must be numbers, got dtype {w.dtype}")
    if w.shape != (c,):
        raise ValueError(f"{op}: expected weight of shape ({c},) (one per class) for input of shape "
                         f"{x.shape}, got {w.shape}")
    return w.astype(x.dtype, copy=False)


def _labels_array(labels, x: Tensor):
    y = labels.data if isinstance(labels, Tensor) else labels
    return backend.to_device(y, x.device)


def _nll_rows(logp: Tensor, y, keep, w, reduction: str, eps: float, shape) -> Tensor:
    """PyTorch's nll_loss on (M, C) log-probabilities, plus cross_entropy's label smoothing:

        l_i = (1 - eps) w_{y_i} (-logp_{i, y_i}) + eps / C sum_c w_c (-logp_ic),  0 where ignored,

    "mean" dividing by sum_i w_{y_i} over the kept i (their count without weights)."""
    xp = xp_of(y)
    m, c = logp.shape
    if keep is not None:
        y = xp.where(keep, y, 0)  # ignored rows pick class 0, then weigh 0
    scale = None  # w_{y_i}, 0 where ignored; None for all ones
    if w is not None:
        scale = w[y] if keep is None else w[y] * keep
    elif keep is not None:
        scale = keep.astype(logp.dtype)
    picked = logp[xp.arange(m), y]
    loss = -picked if scale is None else -(picked * as_tensor(scale))
    if eps:
        smooth = -(logp.sum(axis=1) if w is None else (logp * as_tensor(w)).sum(axis=1))
        if keep is not None:
            smooth = smooth * as_tensor(keep.astype(logp.dtype))
        loss = loss * (1.0 - eps) + smooth * (eps / c)
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    den = m if scale is None else float(scale.sum())
    if den == 0:  # everything ignored (or weighted 0): PyTorch's nan, with a zero gradient
        return total * 0.0 + float("nan")
    return total * (1.0 / den)


def _soft_cross_entropy(op: str, x: Tensor, target, w, reduction: str, eps: float,
                        ignore_index: int) -> Tensor:
    """l = -sum_c w_c t_c log softmax(x)_c per element, t smoothed to (1 - eps) t + eps / C;
    "mean" divides by the number of elements (N d1 ...), whatever the weights."""
    if ignore_index >= 0:
        raise ValueError(f"{op}: ignore_index is not supported for probability targets, "
                         f"got ignore_index={ignore_index}")
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    t = (target if isinstance(target, Tensor) else as_tensor(target)).astype(x.dtype)
    if eps:
        t = t * (1.0 - eps) + eps / c
    prod = x.log_softmax(axis) * t
    if w is not None:
        prod = prod * as_tensor(w.reshape((c,) + (1,) * (x.ndim - axis - 1)))
    return _reduce(-prod.sum(axis=axis), reduction)


def cross_entropy(logits: Tensor, labels, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, PyTorch's ``F.cross_entropy``: scores ``logits`` (N, C), (C,) or
    (N, C, d1, ...) against ``labels``, either integer class indices of shape (N,), () or
    (N, d1, ...), or class probabilities of the logits' shape.

    Class indices: l_i = -w_{y_i} log p_{i, y_i} with p_i = softmax over the class axis
    (axis 1; axis 0 for (C,)); labels equal to ``ignore_index`` give 0 and leave the mean;
    "mean" is sum_i l_i / sum_i w_{y_i} over the kept i. ``label_smoothing`` eps gives
    (1 - eps) l_i + eps / C sum_c w_c (-log p_ic), over the same denominator. Equal logits
    give ln(C) (2.302 for 10 classes).

    Probabilities t: l = -sum_c w_c t_c log p_c with t smoothed to (1 - eps) t + eps / C;
    "mean" divides by the number of elements, not by the weights.

    ``weight`` (C,) is a constant per class. A string in its place is the reduction (this
    library's earlier signature: ``cross_entropy(x, y, "sum")``).
    """
    weight, reduction = _weight_and_reduction("cross_entropy", weight, reduction)
    # the defaults skip the full checks (2 us of the plain path, which is benchmarked)
    eps = 0.0 if label_smoothing == 0.0 and type(label_smoothing) is float else \
        check_probability("cross_entropy", "label_smoothing", label_smoothing)
    if type(ignore_index) is not int:
        ignore_index = check_int("cross_entropy", "ignore_index", ignore_index, low=None)
    _checked_input("cross_entropy", logits)
    y = _labels_array(labels, logits)
    if y.dtype.kind == "f" and y.shape == logits.shape and logits.ndim:
        c = logits.shape[0 if logits.ndim == 1 else 1]
        w = _class_weight("cross_entropy", weight, logits, c)
        return _soft_cross_entropy("cross_entropy", logits, labels if isinstance(labels, Tensor) else y,
                                   w, reduction, eps, ignore_index)
    rows, y, c, shape = _class_targets("cross_entropy", logits, y, soft_ok=True)
    keep = _kept("cross_entropy", y, c, ignore_index)
    if weight is None and keep is None and not eps:  # the plain case: one fused node
        loss = fused.SoftmaxCrossEntropy.apply(rows, y=y, reduction=reduction)
        return loss if reduction != "none" or logits.ndim == 2 else loss.reshape(shape)
    w = _class_weight("cross_entropy", weight, logits, c)
    return _nll_rows(rows.log_softmax(1), y, keep, w, reduction, eps, shape)


def nll_loss(log_probs: Tensor, labels, weight=None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood, PyTorch's ``F.nll_loss``: l_i = -w_{y_i} log_probs_{i, y_i} for
    ``log_probs`` (N, C), (C,) or (N, C, d1, ...) (e.g. ``log_softmax(x, 1)``) and integer
    ``labels`` (N,), () or (N, d1, ...). Labels equal to ``ignore_index`` give 0 and leave the
    mean; "mean" is sum_i l_i / sum_i w_{y_i} over the kept i. ``nll_loss(log_softmax(x, 1), y)``
    equals ``cross_entropy(x, y)``. A string in ``weight``'s place is the reduction.
    """
    weight, reduction = _weight_and_reduction("nll_loss", weight, reduction)
    ignore_index = check_int("nll_loss", "ignore_index", ignore_index, low=None)
    _checked_input("nll_loss", log_probs)
    rows, y, c, shape = _class_targets("nll_loss", log_probs, _labels_array(labels, log_probs), soft_ok=False)
    keep = _kept("nll_loss", y, c, ignore_index)
    w = _class_weight("nll_loss", weight, log_probs, c)
    return _nll_rows(rows, y, keep, w, reduction, 0.0, shape)


# ---------------------------------------------------------------- regression losses
def l1_loss(x: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: l = |x - target| elementwise, then mean, sum or none. The gradient
    at x = target is 0 (sign(0)), as PyTorch's."""
    check_choice("l1_loss", "reduction", reduction, REDUCTIONS)
    x = _checked_input("l1_loss", x)
    return _reduce((x - _target("l1_loss", x, target)).abs(), reduction)


def smooth_l1_loss(x: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """PyTorch's SmoothL1Loss: with d = x - target, l = 0.5 d^2 / beta where |d| < beta, else
    |d| - 0.5 beta. ``beta`` >= 0; beta = 0 is the L1 loss."""
    check_choice("smooth_l1_loss", "reduction", reduction, REDUCTIONS)
    beta = check_real("smooth_l1_loss", "beta", beta, 0.0)
    x = _checked_input("smooth_l1_loss", x)
    d = x - _target("smooth_l1_loss", x, target)
    ad = d.abs()
    if beta == 0.0:
        return _reduce(ad, reduction)
    return _reduce(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(x: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """PyTorch's HuberLoss: with d = x - target, l = 0.5 d^2 where |d| < delta, else
    delta (|d| - 0.5 delta); ``delta`` > 0. Equals delta * smooth_l1_loss(beta=delta)."""
    check_choice("huber_loss", "reduction", reduction, REDUCTIONS)
    delta = check_real("huber_loss", "delta", delta, 0.0, low_open=True)
    x = _checked_input("huber_loss", x)
    d = x - _target("huber_loss", x, target)
    ad = d.abs()
    return _reduce(where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta), reduction)


# ---------------------------------------------------------------- binary cross-entropy
class BinaryCrossEntropy(Function):
    """PyTorch's binary cross-entropy on probabilities x in [0, 1], logs clamped at -100 so
    that x = 0 or 1 gives a finite loss:

        l = -[t max(log x, -100) + (1 - t) max(log(1 - x), -100)]
        dl/dx = (x - t) / max(x (1 - x), 1e-12),   dl/dt = max(log(1 - x), -100) - max(log x, -100)
    """

    def forward(self, x, t):
        """l elementwise from probabilities ``x`` and targets ``t`` (raw arrays)."""
        xp = xp_of(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            self.log_x = xp.maximum(xp.log(x), -100)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100)
        self.x, self.t = x, t
        return (t - 1) * self.log_1mx - t * self.log_x

    def backward(self, grad):
        """(dl/dx, dl/dt) times the incoming gradient, each only where needed."""
        xp, need = xp_of(grad), self.needs_input_grad
        gx = grad * (self.x - self.t) / xp.maximum((1 - self.x) * self.x, 1e-12) if need[0] else None
        gt = grad * (self.log_1mx - self.log_x) if need[1] else None
        return gx, gt


def _in_unit_interval(op: str, name: str, t: Tensor) -> None:
    a = t.data
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        hint = " (apply sigmoid first, or use binary_cross_entropy_with_logits)" if name == "input" else ""
        raise ValueError(f"{op}: {name} values must be probabilities in [0, 1]{hint}; got values from "
                         f"{float(a.min())} to {float(a.max())}")


def binary_cross_entropy(x: Tensor, target, weight=None, *, reduction: str = "mean") -> Tensor:
    """PyTorch's ``F.binary_cross_entropy``: l = -w [t log x + (1 - t) log(1 - x)] for
    probabilities ``x`` and ``target`` in [0, 1] (ValueError otherwise), each log clamped at
    -100. ``weight`` broadcasts to x's shape (a constant rescaling per element, e.g. per sample).
    Logits are better served, and more stably, by ``binary_cross_entropy_with_logits``. A
    string in ``weight``'s place is the reduction.
    """
    weight, reduction = _weight_and_reduction("binary_cross_entropy", weight, reduction)
    x = _checked_input("binary_cross_entropy", x)
    t = _target("binary_cross_entropy", x, target)
    _in_unit_interval("binary_cross_entropy", "input", x)
    _in_unit_interval("binary_cross_entropy", "target", t)
    loss = BinaryCrossEntropy.apply(x, t.astype(x.dtype))
    if weight is not None:
        # a constant on x's device, as the class weights of cross_entropy (PyTorch: no gradient)
        w = as_tensor(backend.to_device(weight.data if isinstance(weight, Tensor) else weight, x.device),
                      dtype=x.dtype)
        try:
            fits = np.broadcast_shapes(w.shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"binary_cross_entropy: weight of shape {w.shape} does not broadcast to "
                             f"the input's shape {x.shape}")
        loss = loss * w
    return _reduce(loss, reduction)


__all__ = ["BinaryCrossEntropy", "binary_cross_entropy", "cross_entropy", "huber_loss", "l1_loss",
           "nll_loss", "smooth_l1_loss"]
