"""Elementwise math and activations beyond the core ones: the ``MathMethods`` mixin of Tensor.
Each method is one primitive of ``ops_math`` or a composite of existing ops.

The activations take PyTorch's arguments and defaults (``nn.functional.gelu(x, approximate=...)``
is ``x.gelu(approximate=...)``) and are finite, with finite gradients and no overflow warnings,
for inputs as large as +-1e3 (float32). Kinks take the gradient of the side ``clip`` gives
(``hardtanh``, ``relu6`` at 6, ``hardswish`` at +-3: the inner side) or of the negative side
at 0 (``relu6``, ``selu``), as ``relu`` and ``elu`` do.
"""
from __future__ import annotations

import math

from . import ops, ops_math
from .checks import check_choice, check_real
from .inplace import is_float

_LN2 = math.log(2)
# SELU's constants (Klambauer et al. 2017), to PyTorch's precision
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class MathMethods:
    """Elementwise math and activations (a mixin of Tensor)."""

    __slots__ = ()

    # ------------------------------------------------------------ the core elementwise ops
    def exp(self):
        """e^x; d/dx = e^x."""
        return ops.Exp.apply(self)

    def log(self):
        """ln x; d/dx = 1 / x."""
        return ops.Log.apply(self)

    def sqrt(self):
        """sqrt(x); d/dx = 1 / (2 sqrt(x))."""
        return ops.Sqrt.apply(self)

    def abs(self):
        """|x|; the gradient is sign(x), 0 at 0."""
        return ops.Abs.apply(self)

    __abs__ = abs

    # ------------------------------------------------------------ the lecture's activations
    def sigmoid(self):
        """1 / (1 + e^-x), computed so that it never overflows."""
        return ops_math.Sigmoid.apply(self)

    def tanh(self):
        """tanh x; d/dx = 1 - tanh^2 x."""
        return ops_math.Tanh.apply(self)

    def arctan(self):
        """arctan x; d/dx = 1 / (1 + x^2)."""
        return ops_math.Arctan.apply(self)

    def relu(self):
        """max(x, 0); the gradient at 0 is 0."""
        return ops_math.ReLU.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        """x for x > 0, else ``negative_slope`` x."""
        # float(): a NumPy float64 slope would otherwise promote a float32 tensor
        return ops_math.LeakyReLU.apply(self, slope=float(negative_slope))

    def elu(self, alpha=1.0):
        """x for x > 0, else alpha (e^x - 1)."""
        return ops_math.ELU.apply(self, alpha=float(alpha))

    def binary_step(self):
        """1 for x >= 0, else 0; its gradient is 0 everywhere."""
        return ops_math.BinaryStep.apply(self)

    # ------------------------------------------------------------ trigonometry, logs and powers
    def sin(self):
        """sin x; d/dx = cos x."""
        return ops_math.Sin.apply(self)

    def cos(self):
        """cos x; d/dx = -sin x."""
        return ops_math.Cos.apply(self)

    def tan(self):
        """tan x; d/dx = 1 + tan^2 x."""
        return ops_math.Tan.apply(self)

    def log1p(self):
        """log(1 + x), accurate for tiny x."""
        return ops_math.Log1p.apply(self)

    def expm1(self):
        """e^x - 1, accurate for tiny x."""
        return ops_math.Expm1.apply(self)

    def log2(self):
        """log2 x = ln x / ln 2."""
        return self.log() * (1 / _LN2)

    def exp2(self):
        """2^x = e^(x ln 2)."""
        return (self * _LN2).exp()

    def rsqrt(self):
        """1 / sqrt(x)."""
        return self ** -0.5

    def square(self):
        """x * x."""
        return self * self

    # ------------------------------------------------------------ rounding: zero gradient
    def floor(self):
        """The largest integer <= x, same dtype (an integer tensor is returned as it is). Gradient 0."""
        return self._rounding("floor")

    def ceil(self):
        """The smallest integer >= x, same dtype (an integer tensor is returned as it is). Gradient 0."""
        return self._rounding("ceil")

    def trunc(self):
        """x rounded towards 0, same dtype (an integer tensor is returned as it is). Gradient 0."""
        return self._rounding("trunc")

    def round(self, decimals=0):
        """x rounded to ``decimals`` digits, halves to even (as NumPy and PyTorch: 0.5 -> 0, 1.5 -> 2).
        Gradient 0 everywhere. (Python's ``round(t)`` gives a number, for one-element tensors.)"""
        return self._rounding("round", decimals)

    def sign(self):
        """-1, 0 or 1 as x is negative, 0 or positive (same dtype). Gradient 0 everywhere."""
        return ops_math.Rounding.apply(self, fn="sign")

    def _rounding(self, fn, decimals=0):
        if not is_float(self.dtype) and decimals >= 0:  # whole numbers already, as PyTorch keeps them
            return self
        return ops_math.Rounding.apply(self, fn=fn, decimals=decimals)

    # ------------------------------------------------------------ activations
    def softplus(self, beta=1.0, threshold=20.0):
        """(1/beta) log(1 + e^(beta x)), a smooth relu, and x itself where beta x > ``threshold``
        (PyTorch's defaults); d/dx = sigmoid(beta x). ``beta`` > 0."""
        beta = check_real("softplus", "beta", beta, 0.0, low_open=True)
        threshold = check_real("softplus", "threshold", threshold)
        return ops_math.Softplus.apply(self, beta=beta, threshold=threshold)

    def gelu(self, approximate="none"):
        """x Phi(x), Phi the standard normal CDF (Hendrycks and Gimpel); ``approximate="tanh"``:
        0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch's."""
        check_choice("gelu", "approximate", approximate, ("none", "tanh"))
        return (ops_math.GELU if approximate == "none" else ops_math.GELUTanh).apply(self)

    def silu(self):
        """x sigmoid(x), also called swish."""
        return ops_math.SiLU.apply(self)

    swish = silu

    def mish(self):
        """x tanh(softplus(x)) (Misra 2019)."""
        return ops_math.Mish.apply(self)

    def hardtanh(self, min_val=-1.0, max_val=1.0):
        """x limited to [min_val, max_val] (``clip``, whose gradient passes where min_val <= x <= max_val)."""
        lo, hi = check_real("hardtanh", "min_val", min_val), check_real("hardtanh", "max_val", max_val)
        if lo > hi:
            raise ValueError(f"hardtanh: min_val must be <= max_val, got min_val={min_val!r}, "
                             f"max_val={max_val!r}")
        return self.clip(lo, hi)

    def relu6(self):
        """min(max(0, x), 6); gradient 0 at 0 (as relu) and 1 at 6 (as clip)."""
        return self.relu().clip(None, 6.0)

    def softsign(self):
        """x / (1 + |x|)."""
        return self / (1 + self.abs())

    def celu(self, alpha=1.0):
        """x for x > 0, else alpha (e^(x / alpha) - 1), i.e. alpha elu(x / alpha); ``alpha`` > 0.
        Continuously differentiable (slope 1 on both sides of 0)."""
        alpha = check_real("celu", "alpha", alpha, 0.0, low_open=True)
        return self.elu() if alpha == 1.0 else (self * (1 / alpha)).elu() * alpha

    def selu(self):
        """scale elu(x, alpha) with PyTorch's alpha = 1.6733 and scale = 1.0507 (self-normalizing)."""
        return self.elu(_SELU_ALPHA) * _SELU_SCALE

    def hardswish(self):
        """x min(max(0, x + 3), 6) / 6 (MobileNetV3's); d/dx = 0 below -3, x/3 + 1/2 in [-3, 3], 1 above."""
        return self * ((self + 3).clip(0.0, 6.0) * (1 / 6))


__all__ = ["MathMethods"]
