"""Built-in primitives: one small Function each, forward and backward side by side.

Arrays come in and go out; ``xp`` is the array module of the inputs (NumPy, CuPy
or the strict test namespace), found with ``xp_of``. Gradients of broadcast inputs
may be returned in the output's shape: the engine reduces them.

Non-smooth points follow one rule: a tie (``max``/``min`` reductions,
``maximum``/``minimum``) shares the gradient equally between the tied inputs;
at 0, ``relu``, ``leaky_relu``, ``elu`` and ``abs`` take the gradient of the
negative side (0 for relu and abs); ``clip`` passes the gradient where
``lo <= x <= hi``.
"""
from __future__ import annotations

from .autograd import Function
from .backend import scatter_add, xp_of


# ---------------------------------------------------------------- arithmetic
class Add(Function):
    saves = False

    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    saves = False

    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        return grad, -grad if self.needs_input_grad[1] else None


class Mul(Function):
    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        gx = grad * self.y if self.needs_input_grad[0] else None
        gy = grad * self.x if self.needs_input_grad[1] else None
        return gx, gy


class Div(Function):
    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, grad):
        gx = grad / self.y if self.needs_input_grad[0] else None
        gy = -grad * self.x / (self.y * self.y) if self.needs_input_grad[1] else None
        return gx, gy


class Pow(Function):
    """x ** y; d/dx = y x^(y-1), d/dy = x^y ln x. At x = 0 the formulas give 0 * inf:
    d/dx is 0 where y = 0 (x^0 is constant) and d/dy is 0 where x^y = 0, as in PyTorch."""

    def forward(self, x, y):
        self.x, self.y = x, y
        self.out = x**y
        return self.out

    def backward(self, grad):
        xp, x, y = xp_of(self.x), self.x, self.y
        # the masked points get base 1 (1^(y-1) = 1, ln 1 = 0): no 0 * inf and no warnings
        gx = grad * y * xp.where(y == 0, 1, x) ** (y - 1) if self.needs_input_grad[0] else None
        gy = grad * self.out * xp.log(xp.where(self.out == 0, 1, x)) if self.needs_input_grad[1] else None
        return gx, gy


class Neg(Function):
    saves = False

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Maximum(Function):
    def forward(self, x, y):
        self.x, self.y = x, y  # the weights are built in backward: no work when no graph is kept
        return xp_of(x).maximum(x, y)

    def backward(self, grad):
        x, y = self.x, self.y
        wx = ((x > y) + 0.5 * (x == y)).astype(grad.dtype)  # 1 where x wins, 0 where y wins, 1/2 on ties
        gx = grad * wx if self.needs_input_grad[0] else None
        gy = grad * (1 - wx) if self.needs_input_grad[1] else None
        return gx, gy


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


class Cast(Function):
    saves = False

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad  # the engine casts it back to the input's dtype


# ---------------------------------------------------------------- elementwise math
class Exp(Function):
    def forward(self, x):
        self.out = xp_of(x).exp(x)
        return self.out

    def backward(self, grad):
        return grad * self.out


class Log(Function):
    def forward(self, x):
        self.x = x
        return xp_of(x).log(x)

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    def forward(self, x):
        self.out = xp_of(x).sqrt(x)
        return self.out

    def backward(self, grad):
        return grad / (2 * self.out)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, grad):
        return grad * xp_of(grad).sign(self.x)


class Clip(Function):
    def forward(self, x, lo, hi):
        self.x, self.lo, self.hi = x, lo, hi
        # astype: NumPy 2 promotes float32 clipped by a NumPy float64 bound to float64
        return xp_of(x).clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, grad):
        x, lo, hi = self.x, self.lo, self.hi
        if lo is not None:
            grad = grad * (x >= lo)
        return grad * (x <= hi) if hi is not None else grad


# ---------------------------------------------------------------- activations
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
    def forward(self, x):
        self.out = xp_of(x).tanh(x)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out * self.out)


class Arctan(Function):
    def forward(self, x):
        self.x = x
        return xp_of(x).arctan(x)

    def backward(self, grad):
        return grad / (1 + self.x * self.x)


class ReLU(Function):
    def forward(self, x):
        self.mask = x > 0
        return xp_of(x).maximum(x, 0)  # not x * mask: -inf * 0 would give nan

    def backward(self, grad):
        return grad * self.mask


class LeakyReLU(Function):
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


# ---------------------------------------------------------------- reductions
def _reduced_shape(shape, axes):
    """``shape`` without ``axes`` (all of them when axes is None)."""
    return tuple(n for i, n in enumerate(shape) if axes is not None and i not in axes)


def _expand_back(grad, shape, axis, keepdims):
    if not keepdims and axis is not None:
        grad = grad.reshape([1 if i in axis else n for i, n in enumerate(shape)])
    return xp_of(grad).broadcast_to(grad, shape)


class Sum(Function):
    saves = False

    def forward(self, x, axis, keepdims):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        return _expand_back(grad, self.shape, self.axis, self.keepdims)


class Max(Function):
    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = x.max(axis=axis, keepdims=True)
        return self.out if keepdims else self.out.reshape(_reduced_shape(x.shape, axis))

    def backward(self, grad):
        mask = (self.x == self.out).astype(grad.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)  # ties share the gradient
        return mask * _expand_back(grad, self.x.shape, self.axis, self.keepdims)


# ---------------------------------------------------------------- shape and indexing
class Reshape(Function):
    saves = False

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    saves = False

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return grad.transpose(tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__)))


class Expand(Function):
    saves = False

    def forward(self, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad  # the engine sums it back to the input's shape


class Index(Function):
    saves = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        xp = xp_of(grad)
        gx = xp.zeros(self.shape, dtype=grad.dtype)
        scatter_add(gx, self.index, grad)  # repeated indices accumulate
        return gx


class Concatenate(Function):
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


# ---------------------------------------------------------------- linear algebra
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
