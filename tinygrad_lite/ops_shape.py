"""Reduction, shape and indexing primitives beyond ``ops``: running sums, products, the 2-norm,
flips, constant padding, slices, and gathering and scattering along an axis. One small
Function each, forward and backward side by side, as in ``ops``.

Indices arrive as backend arrays on the data's device, checked by the Tensor methods
(``shape_methods``); a "grid" is the full integer-array index that picks ``index`` along one
axis and every position along the others.
"""
from __future__ import annotations

import math

from .autograd import Function
from .backend import scatter_add, xp_of
from .ops import _keepdims, _reduced_shape


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
        moved = x.transpose(rest + list(axes))  # reduced axes last, then as one
        flat = moved.reshape(moved.shape[:len(rest)] + (n,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=flat.dtype)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (before * after).reshape(moved.shape).transpose(
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


class Flip(Function):
    """The elements in reverse order along ``axis`` (tuple; None: all); its own gradient."""

    saves = False

    def forward(self, x, axis):
        self.axis = axis
        return xp_of(x).flip(x, axis)

    def backward(self, grad):
        return xp_of(grad).flip(grad, self.axis)


class Pad(Function):
    """Constant padding by ``widths``, one (before, after) pair per axis; the gradient is the
    middle part."""

    saves = False

    def forward(self, x, widths, value):
        self.middle = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        return xp_of(x).pad(x, widths, constant_values=value)

    def backward(self, grad):
        return grad[self.middle]


class Slice(Function):
    """``x[index]`` for a tuple of slices: no element is picked twice, so the gradient is
    written into zeros (``ops.Index`` accumulates, which is slower)."""

    saves = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        gx = xp_of(grad).zeros(self.shape, dtype=grad.dtype)
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
        gx = xp_of(grad).zeros(self.shape, dtype=grad.dtype)
        scatter_add(gx, self.grid, grad)
        return gx


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
