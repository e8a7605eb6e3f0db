"""Weight initialisation, in place, drawing from the device's seeded generator (in the
weight's dtype; float16 weights get float32 draws, cast, as NumPy draws no float16).

For a weight of shape (out_features, in_features, *k): fan_in = in_features * prod(k),
fan_out = out_features * prod(k).

- ``small_normal_``: the lecture's "small random weights", N(0, 0.01^2).
- Xavier/Glorot (keeps the variance of activations and gradients for tanh-like units):
  uniform bound = gain sqrt(6 / (fan_in + fan_out)), normal std = gain sqrt(2 / (fan_in + fan_out)).
- Kaiming/He (for ReLU-like units): std = gain / sqrt(fan), uniform bound = gain sqrt(3 / fan),
  gain = sqrt(2 / (1 + a^2)) for leaky_relu with slope a (sqrt(2) for relu).
"""
from __future__ import annotations

import math

from tinygrad_lite import backend
from tinygrad_lite.autograd import no_grad
from tinygrad_lite.checks import check_choice
from tinygrad_lite.tensor import Tensor

_GAINS = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activation variance for ``nonlinearity`` (PyTorch's values)."""
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; "
                         f"expected one of {sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[nonlinearity]


def fans(t: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    if t.ndim < 2:
        raise ValueError(f"fan_in/fan_out need a weight of at least 2 dimensions, got shape {t.shape}")
    receptive = math.prod(t.shape[2:])
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t: Tensor, values) -> Tensor:
    # in place, so a Parameter keeps its identity; copy_ also tells a graph that saved the old
    # values (its backward would refuse them) and casts to t's dtype
    with no_grad():
        return t.copy_(values)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of U(a, b)."""
    u = backend.random(t.device, t.shape, t.dtype)
    return _fill(t, a + (b - a) * u)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill ``t`` with samples of N(mean, std^2)."""
    return _fill(t, mean + std * backend.randn(t.device, t.shape, t.dtype))


def small_normal_(t: Tensor, std: float = 0.01) -> Tensor:
    """The lecture's small random init: W ~ N(0, 0.01^2)."""
    return normal_(t, 0.0, std)


def zeros_(t: Tensor) -> Tensor:
    """Fill ``t`` with 0 in place (no graph); returns ``t``."""
    return _fill(t, 0)


def ones_(t: Tensor) -> Tensor:
    """Fill ``t`` with 1 in place (no graph); returns ``t``."""
    return _fill(t, 1)


def constant_(t: Tensor, value: float) -> Tensor:
    """Fill ``t`` with ``value`` in place (no graph); returns ``t``."""
    return _fill(t, value)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: U(-b, b), b = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def pytorch_default_(weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """PyTorch's default init of Linear and Conv2d: W ~ U(-b, b) with b = 1 / sqrt(fan_in)
    (``kaiming_uniform_(W, a=sqrt(5))``), and the bias from the same interval."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(fans(weight)[0])
        uniform_(bias, -bound, bound)
    return weight


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    check_choice("kaiming init", "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He: U(-b, b), b = sqrt(3) gain / sqrt(fan); gain from ``nonlinearity`` (slope ``a``)."""
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He: N(0, std^2), std = gain / sqrt(fan) (sqrt(2 / fan_in) for relu)."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


__all__ = [
    "calculate_gain",
    "constant_",
    "fans",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "pytorch_default_",
    "small_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]
