"""Activation modules: the lecture's table (BinaryStep, Sigmoid, Tanh, Arctan, ReLU, LeakyReLU,
PReLU, ELU, Softmax, LogSoftmax) and PyTorch's others (Softplus, GELU, SiLU, Mish, Hardtanh,
ReLU6, Softsign, CELU, SELU, Hardswish).

Each calls its functional form (``nn.functional``; for PyTorch's others that is the Tensor
method of its name), with PyTorch's arguments and defaults, checked here when the module is
made. All are finite, with finite gradients and no overflow warnings, for inputs as large as
+-1e3.
"""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_choice, check_int, check_real, pytorch_kwargs
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .module import Module, Parameter


# ---------------------------------------------------------------- the lecture's table
class BinaryStep(Module):
    """f(x) = 1 for x >= 0 else 0; zero gradient everywhere (nothing below it learns)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.binary_step(x)


class Sigmoid(Module):
    """f(x) = 1 / (1 + e^-x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """f(x) = tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Arctan(Module):
    """f(x) = tan^-1(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.arctan(x)


class ReLU(Module):
    """f(x) = max(0, x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """f(x) = max(a x, x) for 0 <= a < 1; a = ``negative_slope`` (default 0.01, lecture's example 0.1)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Parametric ReLU: f(x) = x for x > 0 else alpha x, alpha learned.

    alpha is the parameter ``weight`` (PyTorch's name, so state dicts travel).
    ``num_parameters`` = 1 shares one alpha; = C learns one per feature (axis 1).
    alpha starts at ``init`` (0.25, as PyTorch) and is not regularized by default.
    """

    _non_weights = frozenset({"weight"})

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: str | None = None,
                 dtype=None) -> None:
        super().__init__()
        check_int("PReLU", "num_parameters", num_parameters)
        self.num_parameters = num_parameters
        self.weight = Parameter(factory.full((num_parameters,), init, dtype=dtype, device=device))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """f(x) = x for x > 0 else alpha (e^x - 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(Module):
    """p_j = e^{x_j} / sum_k e^{x_k} along ``axis`` (PyTorch's ``dim=`` too)."""

    @pytorch_kwargs
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log p_j = x_j - logsumexp(x) along ``axis``."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)


# ---------------------------------------------------------------- PyTorch's others
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
