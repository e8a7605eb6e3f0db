"""Dropout: inverted dropout of units (Dropout) and of whole channels (Dropout2d)."""
from __future__ import annotations

from tinygrad_lite.checks import check_probability
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout: out = x * m / (1 - p), m_i ~ Bernoulli(1 - p), in training; identity in eval.

    ``p`` is the probability of dropping a unit (the lecture's 0.5 is common); see
    ``nn.functional.dropout``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability(type(self).__name__, "p", p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout (``nn.functional.dropout2d``): whole feature maps are zeroed with
    probability ``p`` in training, the rest scaled by 1 / (1 - p); identity in eval."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)
