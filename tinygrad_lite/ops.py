"""Built-in primitives: one small Function each, forward and backward side by side.

Sections, in the order of the Tensor methods in ``tensor``: arithmetic, elementwise math,
activations, reductions, movement and shape, indexing and sorting, matmul, conversion.

Arrays come in and go out; ``xp`` is the array module of the inputs (NumPy, CuPy
or the strict test namespace), found with ``xp_of``. Gradients of broadcast inputs
may be returned in the output's shape: the engine reduces them.

Non-smooth points follow one rule: a tie (``max``/``min`` reductions,
``maximum``/``minimum``) shares the gradient equally between the tied inputs;
at 0, ``abs`` (and the activations ``relu``, ``leaky_relu``, ``elu``) take the
gradient of the negative side (0 for relu and abs); ``clip`` passes the gradient
where ``lo <= x <= hi``. The rounding family (floor, ceil, round, trunc, sign) is
piecewise constant: its gradient is 0 everywhere, at the jumps too (as in PyTorch),
so nothing before it learns through it.

Stability: the activations' exponentials only ever see arguments <= 0 (through ``_sigmoid``,
``log1p(exp(-|x|))`` and ``exp(-x^2 / 2)``), so their forward and backward passes stay finite,
without overflow warnings, for inputs as large as +-1e3 and beyond.

Indices arrive as backend arrays on the data's device, checked by the Tensor methods; a
"grid" is the full integer-array index that picks ``index`` along one axis and every
position along the others.

Every forward and backward here also runs on Tensors, for gradients of gradients
(``create_graph=True``, see ``autograd``): arrays come from ``xp = xp_of(x)``, which is NumPy's
names over Tensor operations for a Tensor, and the few in-place writes that save memory or time
on arrays have a differentiable form on Tensors (``out = xp.multiply(a, b, out=a)``: in place on
an array, a new Tensor otherwise; ``index_add`` for writes at an index).
"""
from __future__ import annotations

import math

import numpy as np  # errstate only: arrays come from the backend

from .autograd import Function
from .backend import device_of, is_array, scatter_add, xp_of


# ---------------------------------------------------------------- arithmetic
class Add(Function):
    """x + y; the gradient passes to both."""

    saves = False

    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """x - y; d/dx = 1, d/dy = -1."""

    saves = False

    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        return grad, -grad if self.needs_input_grad[1] else None


class Mul(Function):
    """x * y; d/dx = y, d/dy = x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        gx = grad * self.y if self.needs_input_grad[0] else None
        gy = grad * self.x if self.needs_input_grad[1] else None
        return gx, gy


class Div(Function):
    """x / y; d/dx = 1 / y, d/dy = -x / y^2."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, grad):
        gx = grad / self.y if self.needs_input_grad[0] else None
        gy = -grad * self.x / (self.y * self.y) if self.needs_input_grad[1] else None
        return gx, gy


class Remainder(Function):
    """x - floor(x / y) y, with the sign of y (Python's and NumPy's ``%``, PyTorch's ``remainder``);
    d/dx = 1, d/dy = -floor(x / y), the quotient rounded down as the forward pass rounds it."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return xp_of(x).remainder(x, y)

    def backward(self, grad):
        gy = -grad * xp_of(grad).floor_divide(self.x, self.y) if self.needs_input_grad[1] else None
        return grad, gy


class Fmod(Function):
    """x - trunc(x / y) y, with the sign of x (C's ``fmod``, PyTorch's ``fmod``); d/dx = 1,
    d/dy = -trunc(x / y)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return xp_of(x).fmod(x, y)

    def backward(self, grad):
        gy = -grad * xp_of(grad).trunc(self.x / self.y) if self.needs_input_grad[1] else None
        return grad, gy


class Pow(Function):
    """x ** y; d/dx = y x^(y-1), d/dy = x^y ln x. At x = 0 the formulas give 0 * inf:
    d/dx is 0 where y = 0 (x^0 is constant) and d/dy is 0 where x^y = 0, as in PyTorch. Only
    the points x = y = 0 are masked, so that d/dx stays y x^(y-1) as a function of y (its
    derivative at y = 0 is 1 / x)."""

    def forward(self, x, y):
        self.x, self.y = x, y
        self.out = x**y
        return self.out

    def backward(self, grad):
        xp, x, y = xp_of(self.x), self.x, self.y
        # the masked points get base 1 (1^(y-1) = 1, ln 1 = 0): no 0 * inf and no warnings
        gx = grad * y * xp.where((y == 0) & (x == 0), 1, x) ** (y - 1) if self.needs_input_grad[0] else None
        with np.errstate(divide="ignore"):  # 0^0 = 1: d/dy = 1 * ln 0 = -inf, as PyTorch, quietly
            gy = grad * self.out * xp.log(xp.where(self.out == 0, 1, x)) if self.needs_input_grad[1] else None
        return gx, gy


def _int_power(x, n: int):
    """x ** n for an integer n != 0 by repeated multiplication (squaring), 1 / x ** -n for n < 0."""
    m, result, base = abs(n), None, x
    while m:
        if m & 1:
            result = base if result is None else result * base
        m >>= 1
        if m:
            base = base * base
    return 1 / result if n < 0 else result


class IntPow(Function):
    """x ** n for a Python integer n (``x ** 3.0`` too): by multiplication, which is far faster
    than ``pow``; d/dx = n x^(n-1), likewise by multiplication (0 for n = 0)."""

    def forward(self, x, n):
        self.x, self.n = x, n
        return xp_of(x).ones_like(x) if n == 0 else _int_power(x, n)

    def backward(self, grad):
        n = self.n
        if n == 0:
            return xp_of(grad).zeros_like(grad)
        return grad * n if n == 1 else grad * (n * _int_power(self.x, n - 1))


class Neg(Function):
    """-x."""

    saves = False

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


# ---------------------------------------------------------------- elementwise math
class Exp(Function):
    """e^x; d/dx = e^x (the output, saved)."""

    def forward(self, x):
        self.out = xp_of(x).exp(x)
        return self.out

    def backward(self, grad):
        return grad * self.out


class Log(Function):
    """ln x; d/dx = 1 / x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).log(x)

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    """sqrt(x); d/dx = 1 / (2 sqrt(x))."""

    def forward(self, x):
        self.out = xp_of(x).sqrt(x)
        return self.out

    def backward(self, grad):
        return grad / (2 * self.out)


class Abs(Function):
    """|x|; d/dx = sign(x) (0 at 0)."""

    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, grad):
        return grad * xp_of(grad).sign(self.x)


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


class Sinh(Function):
    """sinh x = (e^x - e^-x) / 2; d/dx = cosh x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).sinh(x)

    def backward(self, grad):
        return grad * xp_of(grad).cosh(self.x)


class Cosh(Function):
    """cosh x = (e^x + e^-x) / 2; d/dx = sinh x."""

    def forward(self, x):
        self.x = x
        return xp_of(x).cosh(x)

    def backward(self, grad):
        return grad * xp_of(grad).sinh(self.x)


class Asinh(Function):
    """asinh x = ln(x + sqrt(x^2 + 1)); d/dx = 1 / sqrt(x^2 + 1), as 1 / hypot(x, 1) (no overflow)."""

    def forward(self, x):
        self.x = x
        return xp_of(x).arcsinh(x)

    def backward(self, grad):
        return grad / xp_of(grad).hypot(self.x, 1)


class Acosh(Function):
    """acosh x = ln(x + sqrt(x^2 - 1)) for x >= 1; d/dx = 1 / sqrt((x - 1)(x + 1))."""

    def forward(self, x):
        self.x = x
        return xp_of(x).arccosh(x)

    def backward(self, grad):
        x = self.x
        return grad / xp_of(grad).sqrt((x - 1) * (x + 1))  # (x - 1)(x + 1): exact near 1, unlike x^2 - 1


class Atanh(Function):
    """atanh x = ln((1 + x) / (1 - x)) / 2 for |x| < 1; d/dx = 1 / ((1 - x)(1 + x))."""

    def forward(self, x):
        self.x = x
        return xp_of(x).arctanh(x)

    def backward(self, grad):
        x = self.x
        return grad / ((1 - x) * (1 + x))


class Maximum(Function):
    """Elementwise max(x, y); a tie gives each input half the gradient."""

    def forward(self, x, y):
        self.x, self.y = x, y  # the weights are built in backward: no work when no graph is kept
        return xp_of(x).maximum(x, y)

    def backward(self, grad):
        x, y = self.x, self.y
        wx = ((x > y) + 0.5 * (x == y)).astype(grad.dtype)  # 1 where x wins, 0 where y wins, 1/2 on ties
        gx = grad * wx if self.needs_input_grad[0] else None
        gy = grad * (1 - wx) if self.needs_input_grad[1] else None
        return gx, gy


class Minimum(Function):
    """Elementwise min(x, y); a tie gives each input half the gradient. Its own op, not
    -maximum(-x, -y): negation is undefined for bools and wraps around for unsigned integers."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return xp_of(x).minimum(x, y)

    def backward(self, grad):
        x, y = self.x, self.y
        wx = ((x < y) + 0.5 * (x == y)).astype(grad.dtype)  # 1 where x wins, 0 where y wins, 1/2 on ties
        gx = grad * wx if self.needs_input_grad[0] else None
        gy = grad * (1 - wx) if self.needs_input_grad[1] else None
        return gx, gy


class Clip(Function):
    """x limited to [lo, hi] (numbers or None); the gradient passes where lo <= x <= hi."""

    def forward(self, x, lo, hi):
        self.x, self.lo, self.hi = x, lo, hi
        out = xp_of(x).clip(x, lo, hi)
        # NumPy 2 promotes float32 clipped by a NumPy float64 bound to float64: cast back
        return out if out.dtype == x.dtype else out.astype(x.dtype)

    def backward(self, grad):
        x, lo, hi = self.x, self.lo, self.hi
        if lo is not None:
            grad = grad * (x >= lo)
        return grad * (x <= hi) if hi is not None else grad


class Where(Function):
    """where(cond, x, y); cond is a raw bool array given as a keyword."""

    def forward(self, x, y, cond):
        self.cond = cond
        return xp_of(x).where(cond, x, y)

    def backward(self, grad):
        xp = xp_of(grad)
        zero = xp.zeros((), dtype=grad.dtype)
        gx = xp.where(self.cond, grad, zero) if self.needs_input_grad[0] else None
        gy = xp.where(self.cond, zero, grad) if self.needs_input_grad[1] else None
        return gx, gy


class Rounding(Function):
    """``fn`` (floor, ceil, trunc, sign; round to ``decimals``, half to even as NumPy and
    PyTorch): piecewise constant, so the gradient is 0 everywhere."""

    saves = False

    def forward(self, x, fn, decimals=0):
        xp = xp_of(x)
        return xp.round(x, decimals) if fn == "round" else getattr(xp, fn)(x)

    def backward(self, grad):
        return xp_of(grad).zeros_like(grad)


# ---------------------------------------------------------------- activations
def _sigmoid(xp, x):
    """1 / (1 + e^-x) from e = e^-|x| <= 1, as ``Sigmoid``: never overflows. -|x| is written
    where(x >= 0, -x, x), so that on Tensors its derivative at 0 is the sigmoid's (abs's is 0)."""
    pos = x >= 0
    e = xp.exp(xp.where(pos, -x, x))
    return xp.where(pos, 1, e) / (1 + e)


def _softplus(xp, x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows."""
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-abs(x)))


class Sigmoid(Function):
    """1 / (1 + e^-x), computed from e = e^-|x| <= 1 as 1 / (1 + e) for x >= 0 and
    e / (1 + e) for x < 0: never overflows and keeps full relative precision for x << 0."""

    def forward(self, x):
        self.out = _sigmoid(xp_of(x), x)
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


# Numerical Recipes' erfc (Press et al., 2nd ed., section 6.2, a Chebyshev fit): erfc(z) =
# t exp(-z^2 + q(t)), t = 1 / (1 + z / 2), relative error < 1.2e-7 for every z >= 0, about one
# float32 ulp; q's coefficients, highest power first.
_ERFC_NR = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
            0.37409196, 1.00002368, -1.26551223)


def _ndtr(xp, a):
    """Phi(a) = P(N(0, 1) <= a), with full relative precision in the lower tail: 0.5 erfc(|a| /
    sqrt 2) there, not 1 - (something near 1). NumPy has no erf, so it is computed here.

    float32 arrays take one rational fit with no branches, written in place (about 30 passes
    over the data: a GPT's GELU spent half its training step in the branches below); other
    dtypes take Cephes' branches (relative error ~1e-15 in float64, which gradchecks need), and
    so do Tensors (a ``create_graph=True`` pass), whose graph needs no writes in place."""
    if a.dtype == xp.float32 and is_array(a):
        return _ndtr_float32(xp, a)
    return _ndtr_cephes(xp, a)


_BLOCK = 16384  # float32 values per block (64 KB): the fit's ~25 passes then run in the CPU's cache


def _ndtr_float32(xp, a):
    """Phi(a) for float32 ``a`` by the erfc fit. On the CPU, block by block, where an array of
    activations is larger than the cache and each whole-array pass would be bound by memory
    (a GPU sweeps the whole array in each kernel). The result has ``a``'s memory order:
    elementwise ops that mix orders (a Linear's outputs are F-ordered) run up to 5x slower."""
    if device_of(a) == "cuda":
        return _ndtr_block(xp, a, xp.empty_like(a))
    perm = sorted(range(a.ndim), key=lambda i: -abs(a.strides[i]))  # axes in memory order
    b = a.transpose(perm)
    flat = xp.ascontiguousarray(b).reshape(-1)  # no copy when a is dense in some order, the usual case
    out = xp.empty_like(flat)
    for i in range(0, flat.size, _BLOCK):
        _ndtr_block(xp, flat[i:i + _BLOCK], out[i:i + _BLOCK])
    return out.reshape(b.shape).transpose(sorted(range(a.ndim), key=perm.__getitem__))


def _ndtr_block(xp, x, out):
    """``out`` = Phi(x), written in place: no array per Horner step."""
    z, t, q = xp.abs(x), xp.empty_like(x), xp.empty_like(x)
    z *= _SQRT_HALF
    xp.multiply(z, 0.5, out=t)
    t += 1.0
    xp.reciprocal(t, out=t)
    xp.multiply(t, _ERFC_NR[0], out=q)
    for c in _ERFC_NR[1:-1]:
        q += c
        q *= t
    q += _ERFC_NR[-1]
    z *= z
    q -= z
    xp.exp(q, out=q)
    q *= t
    q *= 0.5  # P(N(0, 1) > |x|)
    # q where x < 0, else 1 - q, as q + [x >= 0] (1 - 2q): exact in the lower tail, and several
    # times faster than a where() on the mixed signs of activations (branch mispredictions)
    xp.multiply(q, -2.0, out=t)
    t += 1.0
    xp.multiply(x >= 0, t, out=out)
    out += q
    return out


def _ndtr_cephes(xp, a):
    """Every branch is evaluated on inputs clipped to its own range, so none warns."""
    x = a * _SQRT_HALF
    z = abs(x)
    s = xp.clip(x, -1.0, 1.0)  # erf(s) = s T(s^2) / U(s^2) for |s| <= 1, odd: smooth through 0
    erf = s * _poly(_ERF_T, s * s) / _poly(_ERF_U, s * s, monic=True)
    c = xp.clip(z, 1.0, 27.0)  # erfc(c) = e^(-c^2) P(c) / Q(c) (c < 8) or R(c) / S(c); 0 beyond 27
    ratio = xp.where(c < 8, _poly(_ERFC_P, c) / _poly(_ERFC_Q, c, monic=True),
                     _poly(_ERFC_R, c) / _poly(_ERFC_S, c, monic=True))
    tail = 0.5 * xp.where(z < 1, 1 - abs(erf), xp.exp(-c * c) * ratio)  # P(N(0, 1) > |a|)
    return xp.where(z < _SQRT_HALF, 0.5 + 0.5 * erf, xp.where(x > 0, 1 - tail, tail))


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
        self.s = _sigmoid(xp, 2 * _GELU_C * (self.xc + 0.044715 * (self.xc * self.xc * self.xc)))  # not ** 3: slow
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


def _shifted(x, axis):
    """x - max(x) over ``axis``, a new array: every value <= 0, so exp cannot overflow. The
    shift is clipped to the finite floats: a row of -inf is shifted by the lowest, not by -inf
    (inf - inf would be nan), and its softmax is then 0 / 0 = nan, as in PyTorch."""
    big = float(np.finfo(x.dtype).max)
    return x - xp_of(x).clip(xp_of(x).amax(x, axis=axis, keepdims=True), -big, big)


class Softmax(Function):
    """y = e^(x - max) / sum(e^(x - max)) over ``axis``; d/dx = y (g - sum(g y)). One node in
    place of the max-shift, exp, sum and division, and no array kept but y."""

    def forward(self, x, axis):
        y = _shifted(x, axis)
        xp = xp_of(y)
        y = xp.exp(y, out=y)  # in place on an array; on Tensors (create_graph=True) a new one
        with np.errstate(invalid="ignore", divide="ignore"):  # a row of -inf: nan, quietly
            y = xp.divide(y, y.sum(axis=axis, keepdims=True), out=y)
        self.out, self.axis = y, axis
        return y

    def backward(self, grad):
        gy = grad * self.out
        return gy - self.out * gy.sum(axis=self.axis, keepdims=True)


class LogSoftmax(Function):
    """y = x - max - log(sum(e^(x - max))) over ``axis``; d/dx = g - e^y sum(g)."""

    def forward(self, x, axis):
        y = _shifted(x, axis)
        xp = xp_of(y)
        with np.errstate(invalid="ignore", divide="ignore"):  # a row of -inf: nan, quietly
            y = xp.subtract(y, xp.log(xp.exp(y).sum(axis=axis, keepdims=True)), out=y)
        self.out, self.axis = y, axis
        return y

    def backward(self, grad):
        return grad - xp_of(grad).exp(self.out) * grad.sum(axis=self.axis, keepdims=True)


# ---------------------------------------------------------------- reductions
def _reduced_shape(shape, axes):
    """``shape`` without ``axes`` (all of them when axes is None)."""
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


def _keepdims(grad, shape, axis, keepdims):
    """A reduction's gradient with the reduced axes put back as size 1 (it then broadcasts)."""
    if not keepdims and axis is not None:
        grad = grad.reshape([1 if i in axis else n for i, n in enumerate(shape)])
    return grad


_VIEW_FROM = 1 << 14  # NumPy's broadcast_to costs ~2.5 us of Python: a copy is cheaper below ~16k elements


class Sum(Function):
    """Sum over ``axis``; the gradient is the output's, repeated over the summed axes."""

    saves = False

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        grad, xp = _keepdims(grad, self.shape, self.axis, self.keepdims), xp_of(grad)
        if math.prod(self.shape) >= _VIEW_FROM or not is_array(grad):
            return xp.broadcast_to(grad, self.shape)  # a read-only view: no memory
        out = xp.empty(self.shape, dtype=grad.dtype)
        out[...] = grad
        return out


class Max(Function):
    """Maximum over ``axis``; tied maxima share the gradient equally."""

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = xp_of(x).amax(x, axis=axis, keepdims=True)
        return self.out if keepdims else self.out.reshape(_reduced_shape(x.shape, axis))

    def backward(self, grad):
        mask = (self.x == self.out).astype(grad.dtype)
        share = mask / mask.sum(axis=self.axis, keepdims=True)  # ties share the gradient
        return share * _keepdims(grad, self.x.shape, self.axis, self.keepdims)


class Prod(Function):
    """Product over ``axis`` (sorted tuple; None: all). d/dx_i is the product of the other
    elements, from running products from both sides: exact where elements are 0, where
    ``prod / x_i`` would give 0/0."""

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        xp, x = xp_of(grad), self.x
        axes = tuple(range(x.ndim)) if self.axis is None else self.axis
        rest = [a for a in range(x.ndim) if a not in axes]
        n = math.prod(x.shape[a] for a in axes)
        if n == 0:  # an empty product is 1 whatever the (no) elements
            return xp.zeros(x.shape, dtype=grad.dtype)
        moved = xp.transpose(x, rest + list(axes))  # reduced axes last, then as one
        flat = moved.reshape(moved.shape[:len(rest)] + (n,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = xp.transpose((before * after).reshape(moved.shape),
                              sorted(range(x.ndim), key=(rest + list(axes)).__getitem__))
        return others * _keepdims(grad, x.shape, self.axis, self.keepdims)


class Norm2(Function):
    """sqrt(sum x^2) over ``axis``; d/dx = x / norm, taken as 0 where the norm is 0 (the
    smallest subgradient there, as in PyTorch)."""

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = xp_of(x).sqrt((x * x).sum(axis=axis, keepdims=True))
        return self.out if keepdims else self.out.reshape(_reduced_shape(x.shape, axis))

    def backward(self, grad):
        safe = xp_of(grad).where(self.out == 0, 1, self.out)  # x is 0 wherever its norm is
        return self.x / safe * _keepdims(grad, self.x.shape, self.axis, self.keepdims)


class Cumsum(Function):
    """Running sum along ``axis`` (an int); the gradient is the running sum of the gradient
    taken from the other end."""

    saves = False

    def forward(self, x, axis):
        self.axis = axis
        return xp_of(x).cumsum(x, axis=axis)

    def backward(self, grad):
        xp, a = xp_of(grad), self.axis
        return xp.flip(xp.cumsum(xp.flip(grad, a), axis=a), a)


# ---------------------------------------------------------------- movement and shape
class Reshape(Function):
    """A new shape for the same elements; the gradient is reshaped back."""

    saves = False

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    """Axes reordered by ``axes``; the gradient goes through the inverse permutation."""

    saves = False

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return xp_of(grad).transpose(grad, tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__)))


class Expand(Function):
    """Broadcast to ``shape`` (a view); the engine sums the gradient back."""

    saves = False

    def forward(self, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad  # the engine sums it back to the input's shape


class Flip(Function):
    """The elements in reverse order along ``axis`` (tuple; None: all); its own gradient."""

    saves = False

    def forward(self, x, axis):
        self.axis = axis
        return xp_of(x).flip(x, axis)

    def backward(self, grad):
        return xp_of(grad).flip(grad, self.axis)


class Roll(Function):
    """The elements shifted cyclically by ``shifts`` along ``axis`` (tuples of one length; axis
    None: the flattened tensor, shape kept); the gradient is rolled back."""

    saves = False

    def forward(self, x, shifts, axis):
        self.shifts, self.axis = shifts, axis
        return xp_of(x).roll(x, shifts, axis)

    def backward(self, grad):
        back = -self.shifts if self.axis is None else tuple(-s for s in self.shifts)
        return xp_of(grad).roll(grad, back, self.axis)


class Pad(Function):
    """Constant padding by ``widths``, one (before, after) pair per axis; the gradient is the
    middle part."""

    saves = False

    def forward(self, x, widths, value):
        self.middle = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        return xp_of(x).pad(x, widths, constant_values=value)

    def backward(self, grad):
        return grad[self.middle]


class Concatenate(Function):
    """Tensors joined along ``axis``; each gets its slice of the gradient."""

    saves = False

    def forward(self, *xs, axis):
        self.axis = axis
        self.bounds = [0]
        for x in xs:
            self.bounds.append(self.bounds[-1] + x.shape[axis])
        return xp_of(xs[0]).concatenate(xs, axis=axis)

    def backward(self, grad):
        sl = [slice(None)] * grad.ndim
        out = []
        for lo, hi, need in zip(self.bounds, self.bounds[1:], self.needs_input_grad):
            sl[self.axis] = slice(lo, hi)
            out.append(grad[tuple(sl)] if need else None)
        return tuple(out)


# ---------------------------------------------------------------- indexing and sorting
class Index(Function):
    """NumPy indexing; the gradient is scattered back (repeated indices accumulate)."""

    saves = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        return index_add(xp_of(grad).zeros(self.shape, dtype=grad.dtype), self.index, grad)  # repeats accumulate


class Slice(Function):
    """``x[index]`` for a tuple of slices: no element is picked twice, so the gradient is
    written into zeros (``Index`` accumulates, which is slower)."""

    saves = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        gx = xp_of(grad).zeros(self.shape, dtype=grad.dtype)
        if not is_array(gx):
            return index_add(gx, self.index, grad)
        gx[self.index] = grad
        return gx


class Gather(Function):
    """``x[grid]``, the values at the grid's index along one axis (NumPy's take_along_axis);
    the gradient is scattered back, repeated indices accumulating."""

    saves = False

    def forward(self, x, grid):
        self.shape, self.grid = x.shape, grid
        return x[grid]

    def backward(self, grad):
        return index_add(xp_of(grad).zeros(self.shape, dtype=grad.dtype), self.grid, grad)


class ScatterAdd(Function):
    """``x`` with ``src`` (the grid's shape) added at the grid (PyTorch's scatter_add; repeated
    indices accumulate). d/dx = grad; d/dsrc = grad at the grid."""

    saves = False

    def forward(self, x, src, grid):
        self.grid = grid
        out = x.copy()
        scatter_add(out, grid, src)
        return out

    def backward(self, grad):
        return grad, grad[self.grid] if self.needs_input_grad[1] else None


def index_add(x, index, values, unique=False):
    """``x`` with ``values`` added at ``index`` (NumPy indexing; repeated indices accumulate): in
    place on a backend array, which is returned, and as a new Tensor by ``ScatterAdd`` on a Tensor
    (a backward run with ``create_graph=True``), differentiable in both ``x`` and ``values``.
    ``unique``: the index picks no element twice, so a plain ``+=`` does on arrays (faster)."""
    if is_array(x):
        if unique:
            x[index] += values
        else:
            scatter_add(x, index, values)
        return x
    target = x.detach()[index].shape
    values = x._lift(values)
    return ScatterAdd.apply(x, values if values.shape == target else values.expand(target), grid=index)


# ---------------------------------------------------------------- matmul
class Matmul(Function):
    """x @ y with NumPy's rules: a 1-D operand is promoted to a matrix and the
    added axis removed from the result; batch axes broadcast."""

    def forward(self, x, y):
        self.x_vec, self.y_vec = x.ndim == 1, y.ndim == 1
        self.x2 = x.reshape(1, -1) if self.x_vec else x
        self.y2 = y.reshape(-1, 1) if self.y_vec else y
        out = self.x2 @ self.y2
        self.shape2 = out.shape
        if self.x_vec:
            out = out[..., 0, :]
        if self.y_vec:
            out = out[..., 0]
        return out

    def backward(self, grad):
        grad = grad.reshape(self.shape2)
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = grad @ self.y2.swapaxes(-1, -2)
            gx = gx[..., 0, :] if self.x_vec else gx
        if self.needs_input_grad[1]:
            gy = self.x2.swapaxes(-1, -2) @ grad
            gy = gy[..., 0] if self.y_vec else gy
        return gx, gy  # the engine sums broadcast batch axes away


class Einsum(Function):
    """``einsum`` of ``inputs`` (one subscript string per operand, no ellipsis: the Tensor function
    spells it out) into ``output``. The gradient of an operand is again an einsum: of the output's
    gradient with the other operands, into the operand's subscripts. Where a subscript repeats in
    the operand (a diagonal, "ii"), the copies get fresh letters tied by identity matrices; a letter
    of that operand alone (summed over, "ij->i") comes from a vector of ones."""

    def forward(self, *xs, inputs, output):
        self.xs, self.inputs, self.output = xs, inputs, output
        return xp_of(xs[0]).einsum(",".join(inputs) + "->" + output, *xs, optimize=len(xs) > 1)

    def backward(self, grad):
        xp, grads = xp_of(grad), []
        used = set("".join(self.inputs)) | set(self.output)
        fresh = (c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
        for i, (x, sub) in enumerate(zip(self.xs, self.inputs)):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            subs = [self.output] + [s for j, s in enumerate(self.inputs) if j != i]
            arrays = [grad] + [y for j, y in enumerate(self.xs) if j != i]
            target, seen = "", set()
            for c, n in zip(sub, x.shape):
                if c in seen:  # a repeated subscript: a fresh letter, equal to the first by an identity
                    f = next(fresh)
                    subs.append(c + f)
                    arrays.append(xp.eye(n, dtype=grad.dtype))
                    c = f
                elif c not in "".join(subs):  # summed over in this operand only: broadcast by ones
                    subs.append(c)
                    arrays.append(xp.ones(n, dtype=grad.dtype))
                seen.add(c)
                target += c
            g = xp.einsum(",".join(subs) + "->" + target, *arrays, optimize=len(arrays) > 1)
            # an axis of size 1 in the others broadcast against this operand's: the same gradient
            # all along it (an axis of size 1 here and larger in the others, the engine sums)
            grads.append(xp.broadcast_to(g, tuple(n if m == 1 else m for m, n in zip(g.shape, x.shape))))
        return tuple(grads)


# ---------------------------------------------------------------- conversion
class Cast(Function):
    """A cast between float dtypes; the engine casts the gradient back."""

    saves = False

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad  # the engine casts it back to the input's dtype
