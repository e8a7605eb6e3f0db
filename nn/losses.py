"""Loss modules: ``loss = criterion(output, target)`` (see ``nn.functional`` for the equations)."""
from __future__ import annotations

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


class CrossEntropyLoss(_Loss):
    """Softmax loss from (N, C) scores s and integer labels y (N,), as PyTorch's CrossEntropyLoss:

        L_i = -log(e^{s_{i, y_i}} / sum_j e^{s_ij}) = logsumexp(s_i) - s_{i, y_i}

    reduced by ``reduction`` over i. Fused and log-sum-exp stable; equal scores give
    ln(C) (2.302 for 10 classes).
    """

    def forward(self, logits: Tensor, labels) -> Tensor:
        return F.cross_entropy(logits, labels, self.reduction)


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
