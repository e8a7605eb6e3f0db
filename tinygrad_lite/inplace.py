"""Changing a tensor's values in place: ``add_`` and friends, ``+=``, ``.data`` and ``set_``.

PyTorch's rules, so that its idioms do what they say:

- ``with tl.no_grad(): p -= lr * p.grad`` updates ``p``'s array (Python rebinds ``p``
  to the same tensor). Outside ``no_grad`` an in-place change of a leaf that requires
  grad is refused: the graph could not see it.
- In-place writes are not recorded in the graph: with gradients on, they are refused on
  tensors that require grad or with an operand that does (write ``x = x + y`` there).
- Every write is reported to the engine (``autograd.mark_written``), so that a backward
  pass through a graph that saved the old values raises instead of mixing old and new.
- ``t.data = array`` swaps in another array of the same shape, dtype and device (a
  tensor's array is taken from it: ``p.data = p.data - lr * p.grad`` works);
  ``t.set_(array)`` is the one way to change shape, dtype or device.
"""
from __future__ import annotations

import operator

import numpy as np

from . import autograd, backend


def is_float(dtype) -> bool:
    """True for floating-point dtypes (the ones that can require grad)."""
    return np.dtype(dtype).kind == "f"


class InPlace:
    """The in-place half of Tensor (a mixin: Tensor holds the ``_data`` slot)."""

    __slots__ = ()

    # ------------------------------------------------------------ the array
    def _set_data(self, value):
        array = value._data if isinstance(value, InPlace) else value
        if isinstance(array, np.generic) and self.device == "cpu":
            array = np.asarray(array)  # arithmetic on 0-d NumPy arrays gives scalars
        device = None if isinstance(array, np.generic) else backend.device_of(array)
        if device != self.device or array.shape != self.shape or array.dtype != self.dtype:
            got = (f"a {device!r} array of shape {array.shape} and dtype {array.dtype}" if device
                   else f"a {type(value).__name__}")
            raise TypeError(
                f"Tensor.data: got {got}; assign an array on {self.device!r} of shape {self.shape} and "
                f"dtype {self.dtype} (e.g. `p.data = p.data - lr * p.grad.data`), update in place with "
                "`with tl.no_grad(): p -= lr * p.grad`, or use `t.set_(array)` to change shape, dtype or device"
            )
        self._data = array

    data = property(operator.attrgetter("_data"), _set_data,
                    doc="The backend array (NumPy or CuPy) holding the values; see ``set_``.")

    def set_(self, array):
        """Replace the array (a backend array or a tensor's), shape, dtype and device included."""
        array = array._data if isinstance(array, InPlace) else array
        device = backend.device_of(array)
        if device is None or isinstance(array, np.generic):
            raise TypeError(f"set_: expected a NumPy or CuPy array or a tensor, got {type(array).__name__}")
        if self.requires_grad and not is_float(array.dtype):
            raise TypeError(f"set_: a tensor that requires grad needs a float array, got dtype {array.dtype}")
        self._data, self.device = array, device
        return self

    # ------------------------------------------------------------ writes
    def _check_inplace(self, name, other=None):
        if not autograd.is_grad_enabled():
            return
        if self.requires_grad and self._ctx is None:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place while gradients "
                "are recorded; update it under `with tl.no_grad():`, as in PyTorch")
        if self.requires_grad or getattr(other, "requires_grad", False):
            raise RuntimeError(
                f"{name}: in-place operations are not recorded in the graph; write it out of place "
                "(`x = x + y`), or update under `with tl.no_grad():`")

    def _write(self, name, value, other=None):
        """Write ``value`` (a tensor, array or number that broadcasts to this shape) into the array."""
        self._check_inplace(name, other)
        src = self._lift(value)
        src = src.to(self.device)._data  # copy_ from another device, as in PyTorch
        if src.dtype != self.dtype and not np.can_cast(src.dtype, self.dtype, "same_kind"):
            raise TypeError(f"{name}: a result of dtype {src.dtype} cannot be written into a tensor of "
                            f"dtype {self.dtype} in place (PyTorch refuses it too); write it out of place")
        try:
            self._data[...] = src
        except ValueError as e:  # a shape that does not broadcast, or a read-only (broadcast) view
            raise ValueError(f"{name}: cannot write a value of shape {src.shape} into a tensor of shape "
                             f"{self.shape} in place: {e}") from None
        autograd.mark_written(self._data)
        return self

    def _update(self, name, op, other):
        self._check_inplace(name, other)  # before computing anything
        with autograd.no_grad():
            return self._write(name, op(self, other))

    def add_(self, other, alpha=1):
        """self += alpha * other, in place."""
        return self._update("add_", operator.add, other if alpha == 1 else alpha * other)

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place."""
        return self._update("sub_", operator.sub, other if alpha == 1 else alpha * other)

    def mul_(self, other):
        """self *= other, in place."""
        return self._update("mul_", operator.mul, other)

    def div_(self, other):
        """self /= other, in place."""
        return self._update("div_", operator.truediv, other)

    def __iadd__(self, other): return self._update("+=", operator.add, other)
    def __isub__(self, other): return self._update("-=", operator.sub, other)
    def __imul__(self, other): return self._update("*=", operator.mul, other)
    def __itruediv__(self, other): return self._update("/=", operator.truediv, other)

    def zero_(self):
        """Set every element to 0, in place."""
        return self._write("zero_", 0)

    def fill_(self, value):
        """Set every element to ``value``, in place."""
        return self._write("fill_", value)

    def copy_(self, src):
        """Copy ``src``'s values (broadcast to this shape, cast to this dtype) into this tensor."""
        return self._write("copy_", src, src)

    def clamp_(self, lo=None, hi=None):
        """Limit the values to [lo, hi] in place."""
        return self._update("clamp_", lambda t, _: t.clip(lo, hi), None)

    clip_ = clamp_


__all__ = ["InPlace", "is_float"]
