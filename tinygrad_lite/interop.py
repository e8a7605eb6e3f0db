"""How a Tensor meets Python numbers and NumPy.

- ``float(t)``, ``int(t)``, ``round(t)`` and ``f"{t:.4f}"`` work on one-element tensors.
- NumPy functions and ufuncs that have a Tensor counterpart (``np.exp(t)``,
  ``np.mean(t, axis=0)``, ``arr + t``, ``np.concatenate([t, u])``) run it: the result
  is a Tensor, in the graph. ``arr -= t`` writes into ``arr``.
- Any other NumPy function sees the values through ``__array__``, as with a PyTorch
  tensor: allowed for a "cpu" tensor that does not require grad, a TypeError otherwise
  (the gradient would be lost silently, or the data is on a device NumPy cannot read).
  So NumPy never builds object arrays of Tensors.
"""
from __future__ import annotations

import contextlib

from . import autograd, backend

# NumPy ufunc name -> Tensor method (operands lifted to tensors first)
_UFUNCS = {
    "add": "__add__", "subtract": "__sub__", "multiply": "__mul__", "divide": "__truediv__",
    "power": "__pow__", "matmul": "matmul", "maximum": "maximum", "minimum": "minimum",
    "negative": "__neg__", "absolute": "abs", "exp": "exp", "log": "log", "sqrt": "sqrt",
    "tanh": "tanh", "arctan": "arctan", "equal": "__eq__", "not_equal": "__ne__",
    "less": "__lt__", "less_equal": "__le__", "greater": "__gt__", "greater_equal": "__ge__",
    "sin": "sin", "cos": "cos", "tan": "tan", "log1p": "log1p", "expm1": "expm1", "log2": "log2",
    "exp2": "exp2", "square": "square", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "round",
    "sign": "sign",
}
# NumPy function name -> Tensor method taking the same arguments
_METHODS = {"sum": "sum", "mean": "mean", "var": "var", "max": "max", "amax": "max", "min": "min",
            "amin": "min", "argmax": "argmax", "argmin": "argmin", "reshape": "reshape",
            "transpose": "transpose", "squeeze": "squeeze", "expand_dims": "unsqueeze", "clip": "clip",
            "cumsum": "cumsum", "prod": "prod", "std": "std", "flip": "flip", "pad": "pad", "round": "round",
            "take_along_axis": "take_along_axis", "tile": "tile", "tril": "tril", "triu": "triu",
            "swapaxes": "swapaxes", "argsort": "argsort"}


def _values(a):
    """``a`` with every tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(a, Interop):
        return a.__array__()
    if isinstance(a, (list, tuple)):
        return type(a)(_values(x) for x in a)
    if isinstance(a, dict):
        return {k: _values(v) for k, v in a.items()}
    return a


class Interop:
    """The Python-number and NumPy protocols of Tensor (a mixin)."""

    __slots__ = ()

    def _scalar(self, what):
        if self._data.size != 1:
            raise ValueError(f"{what} needs a tensor of one element, got shape {self.shape}")
        return self._data.item()

    def __float__(self): return float(self._scalar("float()"))
    def __int__(self): return int(self._scalar("int()"))
    def __round__(self, ndigits=None): return round(self._scalar("round()"), ndigits)

    def __format__(self, spec):
        return format(self._scalar(f"format spec {spec!r}"), spec) if spec else str(self)

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(
                f"a tensor of shape {self.shape} that requires grad was passed to NumPy, which would drop "
                "its gradient: use Tensor operations (tl.stack(ts).mean(), t.exp(), ...), or "
                "t.detach().numpy() for the values")
        if self.device != "cpu":
            raise TypeError(f"NumPy cannot read a tensor on {self.device!r} implicitly (as CuPy refuses "
                            "it): call t.numpy() for a host copy")
        out = self._data if dtype is None else self._data.astype(dtype, copy=False)
        return out.copy() if copy else out

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        name = _UFUNCS.get(ufunc.__name__)
        if method != "__call__" or name is None or kwargs:
            return getattr(ufunc, method)(*_values(inputs), out=out, **kwargs) if out else \
                getattr(ufunc, method)(*_values(inputs), **kwargs)
        ref = next(t for t in inputs if isinstance(t, Interop))
        with autograd.no_grad() if out else contextlib.nullcontext():
            operands = [ref._lift(t) for t in inputs]
            result = getattr(operands[0], name)(*operands[1:])
        if out is None:
            return result
        if len(out) != 1 or isinstance(out[0], Interop):
            raise TypeError(f"numpy.{ufunc.__name__}: out= must be one array, not a tensor; write "
                            "into a tensor with its in-place methods (t.add_(...), t.copy_(...))")
        target = out[0]
        backend.xp_of(target).copyto(target, result.to(backend.device_of(target))._data, casting="same_kind")
        autograd.mark_written(target)
        return target

    def __array_function__(self, func, types, args, kwargs):
        from . import tensor  # the module-level functions; tensor imports this module

        name = func.__name__
        if name in ("concatenate", "stack", "where"):
            return getattr(tensor, name)(*args, **kwargs)
        if name in _METHODS and isinstance(args[0], Interop):
            return getattr(args[0], _METHODS[name])(*args[1:], **kwargs)
        return func(*_values(args), **_values(kwargs))

__all__ = ["Interop"]
