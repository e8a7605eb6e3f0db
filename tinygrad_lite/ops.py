"""Built-in primitives: one small Function each, forward and backward side by side.

Arrays come in and go out; ``xp`` is the array module of the inputs (NumPy, CuPy
or the strict test namespace), found with ``xp_of``. Gradients of broadcast inputs
may be returned in the output's shape: the engine reduces them.

Non-smooth points follow one rule: a tie (``max``/``min`` reductions,
``maximum``/``minimum``) shares the gradient equally between the tied inputs;
at 0, ``abs`` (and the activations of ``ops_math``: ``relu``, ``leaky_relu``,
``elu``) take the gradient of the negative side (0 for relu and abs); ``clip``
passes the gradient where ``lo <= x <= hi``.
"""
from __future__ import annotations

import math

from .autograd import Function
from .backend import scatter_add, xp_of


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
    """-x."""

    saves = False

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


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
    """A cast between float dtypes; the engine casts the gradient back."""

    saves = False

    def forward(self, x, dtype):
        return x.astype(dtype)

    def backward(self, grad):
        return grad  # the engine casts it back to the input's dtype


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


class Clip(Function):
    """x limited to [lo, hi] (numbers or None); the gradient passes where lo <= x <= hi."""

    def forward(self, x, lo, hi):
        self.x, self.lo, self.hi = x, lo, hi
        # astype: NumPy 2 promotes float32 clipped by a NumPy float64 bound to float64
        return xp_of(x).clip(x, lo, hi).astype(x.dtype, copy=False)

    def backward(self, grad):
        x, lo, hi = self.x, self.lo, self.hi
        if lo is not None:
            grad = grad * (x >= lo)
        return grad * (x <= hi) if hi is not None else grad


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
        if math.prod(self.shape) >= _VIEW_FROM:
            return xp.broadcast_to(grad, self.shape)  # a read-only view: no memory
        out = xp.empty(self.shape, dtype=grad.dtype)
        out[...] = grad
        return out


class Max(Function):
    """Maximum over ``axis``; tied maxima share the gradient equally."""

    def forward(self, x, axis, keepdims):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = x.max(axis=axis, keepdims=True)
        return self.out if keepdims else self.out.reshape(_reduced_shape(x.shape, axis))

    def backward(self, grad):
        mask = (self.x == self.out).astype(grad.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)  # ties share the gradient
        mask *= _keepdims(grad, self.x.shape, self.axis, self.keepdims)
        return mask


# ---------------------------------------------------------------- shape and indexing
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
        return grad.transpose(tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__)))


class Expand(Function):
    """Broadcast to ``shape`` (a view); the engine sums the gradient back."""

    saves = False

    def forward(self, x, shape):
        return xp_of(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad  # the engine sums it back to the input's shape


class Index(Function):
    """NumPy indexing; the gradient is scattered back (repeated indices accumulate)."""

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
