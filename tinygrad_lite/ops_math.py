"""Elementwise primitives beyond ``ops``: trigonometry, log1p and expm1, the rounding family
and the smooth activations (softplus, GELU, SiLU, Mish). One small Function each, forward and
backward side by side, as in ``ops``.

Stability: the activations' exponentials only ever see arguments <= 0 (through ``_sigmoid``,
``log1p(exp(-|x|))`` and ``exp(-x^2 / 2)``), so their forward and backward passes stay finite,
without overflow warnings, for inputs as large as +-1e3 and beyond. The rounding family (floor, ceil, round, trunc, sign) is
piecewise constant: its gradient is 0 everywhere, at the jumps too (as in PyTorch), so nothing
before it learns through it.
"""
from __future__ import annotations

import math

from .autograd import Function
from .backend import xp_of


# ---------------------------------------------------------------- trigonometry, logs and exps
class Sin(Function):
    """sin x; d/dx = cos x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).sin(x)

    def backward(self, grad):
        return grad * xp_of(grad).cos(self.x)


class Cos(Function):
    """cos x; d/dx = -sin x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).cos(x)

    def backward(self, grad):
        return -grad * xp_of(grad).sin(self.x)


class Tan(Function):
    """tan x; d/dx = 1 + tan^2 x, from the output."""

    def forward(self, x):
        self.out = xp_of(x).tan(x)
        return self.out

    def backward(self, grad):
        return grad * (1 + self.out * self.out)


class Log1p(Function):
    """log(1 + x), accurate for tiny x where ``(1 + x).log()`` rounds 1 + x first."""

    def forward(self, x):
        self.x = x
        return xp_of(x).log1p(x)

    def backward(self, grad):
        return grad / (1 + self.x)


class Expm1(Function):
    """e^x - 1, accurate for tiny x; d/dx = e^x = out + 1."""

    def forward(self, x):
        self.out = xp_of(x).expm1(x)
        return self.out

    def backward(self, grad):
        return grad * (self.out + 1)


class Rounding(Function):
    """``fn`` (floor, ceil, trunc, sign; round to ``decimals``, half to even as NumPy and
    PyTorch): piecewise constant, so the gradient is 0 everywhere."""

    saves = False

    def forward(self, x, fn, decimals=0):
        xp = xp_of(x)
        return xp.round(x, decimals) if fn == "round" else getattr(xp, fn)(x)

    def backward(self, grad):
        return xp_of(grad).zeros_like(grad)


# ---------------------------------------------------------------- the lecture's activations (the core ones)
class Sigmoid(Function):
    """1 / (1 + e^-x), computed from e = e^-|x| <= 1 as 1 / (1 + e) for x >= 0 and
    e / (1 + e) for x < 0: never overflows and keeps full relative precision for x << 0."""

    def forward(self, x):
        xp = xp_of(x)
        e = xp.exp(-abs(x))
        self.out = xp.where(x >= 0, 1, e) / (1 + e)
        return self.out

    def backward(self, grad):
        return grad * self.out * (1 - self.out)


class Tanh(Function):
    """tanh x; d/dx = 1 - tanh^2 x (the output, saved)."""

    def forward(self, x):
        self.out = xp_of(x).tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


class Arctan(Function):
    """arctan x; d/dx = 1 / (1 + x^2)."""

    def forward(self, x):
        self.x = x
        return xp_of(x).arctan(x)

    def backward(self, grad):
        return grad / (1 + self.x * self.x)


class ReLU(Function):
    """max(x, 0); d/dx = 1 for x > 0, else 0 (0 at 0)."""

    def forward(self, x):
        self.mask = x > 0
        return xp_of(x).maximum(x, 0)  # not x * mask: -inf * 0 would give nan

    def backward(self, grad):
        return grad * self.mask


class LeakyReLU(Function):
    """x for x > 0, else slope * x; the negative side's gradient at 0."""

    def forward(self, x, slope):
        self.mask = x > 0
        self.slope = slope
        return xp_of(x).where(self.mask, x, x * slope)

    def backward(self, grad):
        return xp_of(grad).where(self.mask, grad, grad * self.slope)


class ELU(Function):
    """x for x > 0, alpha (e^x - 1) otherwise; e^x only sees x <= 0, so it cannot overflow."""

    def forward(self, x, alpha):
        xp = xp_of(x)
        self.mask = x > 0
        self.neg = alpha * xp.expm1(xp.minimum(x, 0))
        self.alpha = alpha
        return xp.where(self.mask, x, self.neg)

    def backward(self, grad):
        return xp_of(grad).where(self.mask, grad, grad * (self.neg + self.alpha))


class BinaryStep(Function):
    """1 for x >= 0 else 0. Its gradient is 0 everywhere (undefined at 0; 0 is used)."""

    def forward(self, x):
        return (x >= 0).astype(x.dtype)

    def backward(self, grad):
        return xp_of(grad).zeros_like(grad)


# ---------------------------------------------------------------- activations
def _sigmoid(xp, x):
    """1 / (1 + e^-x) from e^-|x| <= 1, as ``Sigmoid``: never overflows."""
    e = xp.exp(-abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def _softplus(xp, x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-abs(x)))


class Softplus(Function):
    """(1/beta) log(1 + e^(beta x)), and x itself where beta x > ``threshold`` (PyTorch's linear
    region); d/dx = sigmoid(beta x), 1 in the linear region."""

    def forward(self, x, beta, threshold):
        xp = xp_of(x)
        self.z = x * beta
        self.linear = self.z > threshold
        return xp.where(self.linear, x, _softplus(xp, self.z) / beta)

    def backward(self, grad):
        xp = xp_of(grad)
        return xp.where(self.linear, grad, grad * _sigmoid(xp, self.z))


# Cephes' rational approximations of erf and erfc (S. L. Moshier's ndtr, as SciPy's), highest
# power first; the "monic" ones have a leading coefficient 1 that is not listed.
_ERF_T = (9.60497373987051638749e0, 9.00260197203842689217e1, 2.23200534594684319226e3,
          7.00332514112805075473e3, 5.55923013010394962768e4)
_ERF_U = (3.35617141647503099647e1, 5.21357949780152679795e2, 4.59432382970980127987e3,
          2.26290000613890934246e4, 4.92673942608635921086e4)  # monic
_ERFC_P = (2.46196981473530512524e-10, 5.64189564831068821977e-1, 7.46321056442269912687e0,
           4.86371970985681366614e1, 1.96520832956077098242e2, 5.26445194995477358631e2,
           9.34528527171957607540e2, 1.02755188689515710272e3, 5.57535335369399327526e2)
_ERFC_Q = (1.32281951154744992508e1, 8.67072140885989742329e1, 3.54937778887819891062e2,
           9.75708501743205489753e2, 1.82390916687909736289e3, 2.24633760818710981792e3,
           1.65666309194161350182e3, 5.57535340817727675546e2)  # monic
_ERFC_R = (5.64189583547755073984e-1, 1.27536670759978104416e0, 5.01905042251180477414e0,
           6.16021097993053585195e0, 7.40974269950448939160e0, 2.97886665372100240670e0)
_ERFC_S = (2.26052863220117276590e0, 9.39603524938001434673e0, 1.20489539808096656605e1,
           1.70814450747565897222e1, 9.60896809063285878198e0, 3.36907645100081516050e0)  # monic
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _poly(coefs, x, monic=False):
    """Horner's rule; Python-float coefficients keep x's dtype."""
    out = x + coefs[0] if monic else coefs[0]
    for c in coefs[1:]:
        out = out * x + c
    return out


def _ndtr(xp, a):
    """Phi(a) = P(N(0, 1) <= a), with full relative precision in the lower tail: 0.5 erfc(|a| /
    sqrt 2) there, not 1 - (something near 1). NumPy has no erf, so it is computed here
    (relative error ~1e-15 in float64). Every branch is evaluated on inputs clipped to its
    own range, so none warns."""
    x = a * _SQRT_HALF
    z = abs(x)
    s = xp.minimum(z, 1.0)  # erf(s) = s T(s^2) / U(s^2) for s <= 1
    erf = s * _poly(_ERF_T, s * s) / _poly(_ERF_U, s * s, monic=True)
    c = xp.clip(z, 1.0, 27.0)  # erfc(c) = e^(-c^2) P(c) / Q(c) (c < 8) or R(c) / S(c); 0 beyond 27
    ratio = xp.where(c < 8, _poly(_ERFC_P, c) / _poly(_ERFC_Q, c, monic=True),
                     _poly(_ERFC_R, c) / _poly(_ERFC_S, c, monic=True))
    tail = 0.5 * xp.where(z < 1, 1 - erf, xp.exp(-c * c) * ratio)  # P(N(0, 1) > |a|)
    return xp.where(z < _SQRT_HALF, 0.5 + 0.5 * xp.sign(x) * erf, xp.where(x > 0, 1 - tail, tail))


class GELU(Function):
    """x Phi(x), Phi the standard normal CDF; d/dx = Phi(x) + x phi(x), phi its density."""

    def forward(self, x):
        self.x, self.cdf = x, _ndtr(xp_of(x), x)
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        return grad * (self.cdf + x * xp_of(x).exp(-0.5 * x * x) * _INV_SQRT_2PI)


_GELU_C = math.sqrt(2 / math.pi)


class GELUTanh(Function):
    """PyTorch's approximate="tanh" GELU, 0.5 x (1 + tanh u) with u = sqrt(2/pi) (x + 0.044715 x^3),
    computed as x sigmoid(2u) (the same, without 1 + tanh cancelling for x << 0). Inside u, x
    is clipped to +-1e4, where the sigmoid has long saturated, so x^3 cannot overflow."""

    def forward(self, x):
        xp = xp_of(x)
        self.x, self.xc = x, xp.clip(x, -1e4, 1e4)
        self.s = _sigmoid(xp, 2 * _GELU_C * (self.xc + 0.044715 * self.xc ** 3))
        return x * self.s

    def backward(self, grad):
        s = self.s
        du = 2 * _GELU_C * (1 + 3 * 0.044715 * self.xc * self.xc)
        return grad * (s + self.x * s * (1 - s) * du)


class SiLU(Function):
    """x sigmoid(x) (swish); d/dx = s (1 + x (1 - s)), s = sigmoid(x)."""

    def forward(self, x):
        self.x, self.s = x, _sigmoid(xp_of(x), x)
        return x * self.s

    def backward(self, grad):
        s = self.s
        return grad * s * (1 + self.x * (1 - s))


class Mish(Function):
    """x tanh(softplus(x)); d/dx = t + x (1 - t^2) sigmoid(x), t = tanh(softplus(x))."""

    def forward(self, x):
        xp = xp_of(x)
        self.x, self.t = x, xp.tanh(_softplus(xp, x))
        return x * self.t

    def backward(self, grad):
        t = self.t
        return grad * (t + self.x * (1 - t * t) * _sigmoid(xp_of(grad), self.x))
