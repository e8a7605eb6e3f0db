"""Loss modules: ``loss = criterion(output, target)`` (see ``nn.functional`` for the equations)."""
from __future__ import annotations

from tinygrad_lite import backend
from tinygrad_lite.checks import check_int, check_probability, check_real
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """A loss with an optional ``weight``, kept as a buffer (saved, moved by ``to``), as PyTorch's.

    PyTorch's order puts ``weight`` first; a string there is the reduction (this library's
    earlier signature: ``CrossEntropyLoss("sum")``).
    """

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        name = type(self).__name__
        if isinstance(weight, str):
            if reduction != "mean":
                raise TypeError(f"{name}: got two reductions, {weight!r} (in weight's place) and {reduction!r}")
            weight, reduction = None, weight
        super().__init__(reduction)
        if weight is not None and not isinstance(weight, Tensor):
            if backend.device_of(weight) is None and not isinstance(weight, (list, tuple)):
                raise TypeError(f"{name}: weight must be a Tensor, an array or a list, got {type(weight).__name__}")
            weight = Tensor(weight)
        self.register_buffer("weight", weight)

    def extra_repr(self) -> str:
        w = "" if self.weight is None else f"weight=<{self.weight.shape}>, "
        return w + super().extra_repr()


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy, PyTorch's ``CrossEntropyLoss`` (see ``nn.functional.cross_entropy``):

        L_i = -w_{y_i} log(e^{s_{i, y_i}} / sum_j e^{s_ij}) = w_{y_i} (logsumexp(s_i) - s_{i, y_i})

    for scores s (N, C) and integer labels y (N,); also (C,) with a scalar label, (N, C, d1,
    ...) with labels (N, d1, ...), and class probabilities of the scores' shape as targets.
    ``weight`` (C,) weighs the classes; labels equal to ``ignore_index`` count for nothing;
    "mean" divides by sum_i w_{y_i} over the samples kept. ``label_smoothing`` eps mixes in
    eps / C of every class. Without weight, ignored labels or smoothing it runs one fused,
    log-sum-exp stable node; equal scores give ln(C) (2.302 for 10 classes).
    """

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = check_int("CrossEntropyLoss", "ignore_index", ignore_index, low=None)
        self.label_smoothing = check_probability("CrossEntropyLoss", "label_smoothing", label_smoothing)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"CrossEntropyLoss: weight must have shape (C,), one per class, got {self.weight.shape}")

    def forward(self, logits: Tensor, labels) -> Tensor:
        return F.cross_entropy(logits, labels, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        extra = "" if self.ignore_index == -100 else f", ignore_index={self.ignore_index}"
        extra += f", label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return super().extra_repr() + extra


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of log-probabilities, PyTorch's ``NLLLoss``: L_i = -w_{y_i} x_{i, y_i}
    for x (N, C) (e.g. ``LogSoftmax(axis=1)`` output) and integer labels y (N,); (C,) and
    (N, C, d1, ...) as in CrossEntropyLoss. ``weight``, ``ignore_index`` and the mean's
    denominator sum_i w_{y_i} as there; ``NLLLoss()(log_softmax(s), y) == CrossEntropyLoss()(s, y)``.
    """

    def __init__(self, weight=None, *, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = check_int("NLLLoss", "ignore_index", ignore_index, low=None)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"NLLLoss: weight must have shape (C,), one per class, got {self.weight.shape}")

    def forward(self, log_probs: Tensor, labels) -> Tensor:
        return F.nll_loss(log_probs, labels, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class HingeLoss(_Loss):
    """The lecture's multiclass SVM loss: L_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + margin).

    "mean" averages over samples only (not over classes, unlike PyTorch's
    MultiMarginLoss); equal scores give C - 1.
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, scores: Tensor, labels) -> Tensor:
        return F.hinge_loss(scores, labels, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"


class MSELoss(_Loss):
    """L = mean_i (x_i - target_i)^2 over all elements (``reduction="mean"``), as PyTorch's MSELoss."""

    def forward(self, x: Tensor, target) -> Tensor:
        return F.mse_loss(x, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on sigmoid(logits): L = max(x, 0) - x t + log(1 + e^-|x|)."""

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities, PyTorch's ``BCELoss``:
    L = -w [t log x + (1 - t) log(1 - x)], with x and t in [0, 1] and each log clamped at
    -100. ``weight`` broadcasts to the input (a rescaling per element). On logits prefer
    BCEWithLogitsLoss (stable, and one sigmoid fewer)."""

    def forward(self, x: Tensor, target) -> Tensor:
        return F.binary_cross_entropy(x, target, self.weight, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, PyTorch's ``L1Loss``: L = mean |x - target| (or sum / elementwise)."""

    def forward(self, x: Tensor, target) -> Tensor:
        return F.l1_loss(x, target, self.reduction)


class SmoothL1Loss(_Loss):
    """PyTorch's ``SmoothL1Loss``: with d = x - target, 0.5 d^2 / beta where |d| < beta, else
    |d| - 0.5 beta (quadratic near 0, linear beyond ``beta``; beta = 0 is L1)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = check_real("SmoothL1Loss", "beta", beta, 0.0)

    def forward(self, x: Tensor, target) -> Tensor:
        return F.smooth_l1_loss(x, target, self.reduction, self.beta)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, beta={self.beta}"


class HuberLoss(_Loss):
    """PyTorch's ``HuberLoss``: with d = x - target, 0.5 d^2 where |d| < delta, else
    delta (|d| - 0.5 delta); ``delta`` > 0. Equals delta * SmoothL1Loss(beta=delta)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = check_real("HuberLoss", "delta", delta, 0.0, low_open=True)

    def forward(self, x: Tensor, target) -> Tensor:
        return F.huber_loss(x, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, delta={self.delta}"
