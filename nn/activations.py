"""PyTorch's activation modules beyond the lecture's table (which is in ``nn.layers``): Softplus,
GELU, SiLU, Mish, Hardtanh, ReLU6, Softsign, CELU, SELU and Hardswish.

Each calls the Tensor method of its name (the functional forms, ``F.gelu`` and so on, are
those methods), with PyTorch's arguments and defaults, checked here when the module is made.
All are finite, with finite gradients and no overflow warnings, for inputs as large as +-1e3.
"""
from __future__ import annotations

from tinygrad_lite.checks import check_choice, check_real
from tinygrad_lite.tensor import Tensor

from .module import Module


class Softplus(Module):
    """f(x) = (1/beta) log(1 + e^(beta x)), and x where beta x > ``threshold``; beta > 0."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = check_real("Softplus", "beta", beta, 0.0, low_open=True)
        self.threshold = check_real("Softplus", "threshold", threshold)

    def forward(self, x: Tensor) -> Tensor:
        return x.softplus(self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GELU(Module):
    """f(x) = x Phi(x), Phi the standard normal CDF; ``approximate="tanh"``: PyTorch's tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = check_choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, x: Tensor) -> Tensor:
        return x.gelu(self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """f(x) = x sigmoid(x) (swish)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.silu()


class Mish(Module):
    """f(x) = x tanh(softplus(x))."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mish()


class Hardtanh(Module):
    """f(x) = x limited to [min_val, max_val] (default [-1, 1])."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0) -> None:
        super().__init__()
        self.min_val = check_real("Hardtanh", "min_val", min_val)
        self.max_val = check_real("Hardtanh", "max_val", max_val)
        if self.min_val > self.max_val:
            raise ValueError(f"Hardtanh: min_val must be <= max_val, got min_val={min_val!r}, "
                             f"max_val={max_val!r}")

    def forward(self, x: Tensor) -> Tensor:
        return x.hardtanh(self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Module):
    """f(x) = min(max(0, x), 6)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.relu6()


class Softsign(Module):
    """f(x) = x / (1 + |x|)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.softsign()


class CELU(Module):
    """f(x) = x for x > 0, else alpha (e^(x / alpha) - 1); alpha > 0."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = check_real("CELU", "alpha", alpha, 0.0, low_open=True)

    def forward(self, x: Tensor) -> Tensor:
        return x.celu(self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class SELU(Module):
    """f(x) = scale elu(x, alpha), alpha = 1.6733, scale = 1.0507 (self-normalizing networks)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.selu()


class Hardswish(Module):
    """f(x) = x min(max(0, x + 3), 6) / 6."""

    def forward(self, x: Tensor) -> Tensor:
        return x.hardswish()


__all__ = ["CELU", "GELU", "SELU", "Hardswish", "Hardtanh", "Mish", "ReLU6", "SiLU", "Softplus", "Softsign"]
