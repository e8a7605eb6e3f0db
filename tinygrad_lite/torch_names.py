"""PyTorch's names for what Tensor already does: the ``TorchNames`` mixin of Tensor.

``view``, ``view_as``, ``expand_as``, ``add``, ``sub``, ``mul``, ``div``, ``pow``, ``eq``,
``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``clamp``, ``numel``, ``size()`` and ``dim()`` mean
what they mean in PyTorch; ``tl.cat`` is ``tl.concatenate``. Every method that takes an axis
also takes PyTorch's ``dim=``/``keepdim=`` (``checks.pytorch_kwargs``).

Where the two libraries give one name different meanings, NumPy's is kept and the docstring
says so: ``transpose(*axes)`` permutes (PyTorch's ``transpose(0, 1)`` is ``swapaxes(0, 1)``),
``repeat`` repeats elements (PyTorch's ``repeat`` is ``tile``), ``std``/``var`` divide by n,
``max(axis)``/``min(axis)`` give the values only (the indices: ``argmax``/``argmin``).

``size`` is PyTorch's method: ``t.size()`` is the shape and ``t.size(dim)`` one side of it;
the element count, NumPy's ``a.size``, is ``t.numel()``. ``t.size`` used as a number is a
TypeError that says so (it cannot be both a number and a method without a callable int).
"""
from __future__ import annotations

from .checks import axis_arg, check_choice, pytorch_kwargs

_SIZE_IS_A_METHOD = ("Tensor.size is PyTorch's method: t.size() is the shape, t.size(dim) one side of it; "
                     "the element count (NumPy's a.size) is t.numel()")


class _Size:
    """What ``t.size`` gives: PyTorch's method, which refuses to act as NumPy's element count."""

    __slots__ = ("_shape",)

    def __init__(self, tensor):
        self._shape = tensor.shape

    @pytorch_kwargs
    def __call__(self, axis=None):
        return self._shape if axis is None else self._shape[axis_arg(axis, len(self._shape))]

    def __repr__(self):
        return f"<method Tensor.size of a tensor of shape {self._shape}: {_SIZE_IS_A_METHOD}>"

    def _refuse(self, *args):
        raise TypeError(_SIZE_IS_A_METHOD)

    # every use of a number: comparisons, truth, conversions, arithmetic, formatting
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __int__ = __float__ = __index__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = __format__ = _refuse
    __hash__ = None


class TorchNames:
    """PyTorch's method names for what Tensor already does (a mixin of Tensor)."""

    __slots__ = ()

    size = property(_Size, doc="PyTorch's method: ``t.size()`` is the shape (a tuple), ``t.size(dim)`` "
                               "one side. The element count (NumPy's ``a.size``) is ``t.numel()``.")

    def numel(self):
        """The number of elements (NumPy's ``a.size``)."""
        return self._data.size

    def dim(self):
        """The number of axes (``ndim``)."""
        return self._data.ndim

    def view(self, *shape):
        """``reshape`` (PyTorch's name; here it never fails for memory layout: it may copy)."""
        return self.reshape(*shape)

    def view_as(self, other):
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def expand_as(self, other):
        """``expand(other.shape)``."""
        return self.expand(other.shape)

    def add(self, other, alpha=1):
        """self + alpha * other."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        """self - alpha * other."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        """self * other."""
        return self * other

    def div(self, other, rounding_mode=None):
        """self / other (true division); ``rounding_mode`` "trunc" or "floor" rounds the quotient
        (which keeps the division's float dtype; its gradient is 0)."""
        check_choice("div", "rounding_mode", rounding_mode, (None, "trunc", "floor"))
        q = self / other
        return q if rounding_mode is None else getattr(q, rounding_mode)()

    def pow(self, exponent):
        """self ** exponent."""
        return self ** exponent

    def eq(self, other):
        """self == other (a bool tensor)."""
        return self == other

    def ne(self, other):
        """self != other (a bool tensor)."""
        return self != other

    def lt(self, other):
        """self < other (a bool tensor)."""
        return self < other

    def le(self, other):
        """self <= other (a bool tensor)."""
        return self <= other

    def gt(self, other):
        """self > other (a bool tensor)."""
        return self > other

    def ge(self, other):
        """self >= other (a bool tensor)."""
        return self >= other

    def clamp(self, min=None, max=None):  # PyTorch's names, shadowing the builtins here only
        """``clip(min, max)``: values limited to [min, max], either may be None."""
        return self.clip(min, max)


__all__ = ["TorchNames"]
