"""The Tensor: an array on a device plus the graph that produced it.

Primitives live in ``ops``; everything here that is not a primitive is composed
from them and has no backward of its own. The class's methods come in sections, in the
order of ``ops``: construction and properties, arithmetic, elementwise math, activations,
reductions, movement and shape, indexing and sorting, matmul, conversion; then in-place
writes, and the Python and NumPy protocols. The module-level functions (``where``,
``tril``, ``triu``, ``maximum``, ``minimum``, ``concatenate``, ``stack``, ``einsum``) come last. (The package's
name ``tl.tensor`` is PyTorch's factory, ``factory.tensor``; this module is imported by its full
name, ``from tinygrad_lite.tensor import Tensor``.)

NumPy's names and PyTorch's. Every method that takes an axis also takes PyTorch's
``dim=``/``keepdim=`` (``checks.pytorch_kwargs``). ``view``, ``view_as``, ``expand_as``,
``add``, ``sub``, ``mul``, ``div``, ``pow``, ``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``,
``clamp``, ``numel``, ``size()`` and ``dim()`` mean what they mean in PyTorch; ``tl.cat`` is
``tl.concatenate``. Where NumPy and PyTorch give a name different meanings, PyTorch's meaning
wins, because code is ported from PyTorch and a silent difference is the worst bug:
``transpose(dim0, dim1)`` exchanges two dims, ``repeat(*sizes)`` tiles, ``std``/``var`` divide
by n - 1 by default (``unbiased=``, ``correction=``), ``max(dim)``/``min(dim)`` give
``(values, indices)``, ``squeeze(dim)`` leaves a dim of another size than 1 as it is, and
``to`` takes a dtype as well as a device. NumPy's meanings stay under names that do not
collide: ``permute(*axes)`` and ``T`` (NumPy's ``transpose``), ``swapaxes``,
``repeat_interleave`` (NumPy's ``repeat``), ``var(correction=0)`` (NumPy's ``ddof=`` is
taken too), ``amax``/``amin`` (NumPy's ``max(axis)``/``min(axis)``); ``np.max(t)``,
``np.var(t)``, ``np.repeat(t, 2)``, ``np.transpose(t)`` through the NumPy protocol keep
NumPy's meaning. ``cumsum()`` without an axis runs over the flattened tensor (PyTorch requires
a dim). Names only PyTorch has (``gather``, ``scatter_add``, ``split``, ``chunk``, ``narrow``,
``topk``, ``sort`` returning values and indices) have PyTorch's meaning.

``size`` is PyTorch's method: ``t.size()`` is the shape and ``t.size(dim)`` one side of it;
the element count, NumPy's ``a.size``, is ``t.numel()``. ``t.size`` used as a number is a
TypeError that says so (it cannot be both a number and a method without a callable int).

The activations take PyTorch's arguments and defaults (``nn.functional.gelu(x, approximate=...)``
is ``x.gelu(approximate=...)``) and are finite, with finite gradients and no overflow warnings,
for inputs as large as +-1e3 (float32). Kinks take the gradient of the side ``clip`` gives
(``hardtanh``, ``relu6`` at 6, ``hardswish`` at +-3: the inner side) or of the negative side
at 0 (``relu6``, ``selu``), as ``relu`` and ``elu`` do.

In-place writes (``add_`` and friends, ``+=``, ``.data`` and ``set_``) follow PyTorch's rules,
so that its idioms do what they say:

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

How a Tensor meets Python numbers and NumPy:

- ``float(t)``, ``int(t)``, ``round(t)`` and ``f"{t:.4f}"`` work on one-element tensors.
- NumPy functions and ufuncs that have a Tensor counterpart (``np.exp(t)``,
  ``np.mean(t, axis=0)``, ``arr + t``, ``np.concatenate([t, u])``) run it: the result
  is a Tensor, in the graph. ``arr -= t`` writes into ``arr``. ``NUMPY_UFUNCS`` and
  ``NUMPY_FUNCTIONS`` are the table they go through.
- Any other NumPy function sees the values through ``__array__``, as with a PyTorch
  tensor: allowed for a "cpu" tensor that does not require grad, a TypeError otherwise
  (the gradient would be lost silently, or the data is on a device NumPy cannot read).
  So NumPy never builds object arrays of Tensors.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import operator
from typing import NamedTuple

import numpy as np  # dtypes and host-side argument checks only; arrays come from the backend

from . import autograd, backend, ops
from .backend import is_float, xp_of
from .checks import (
    IndexBoundsError,
    ShapeError,
    axes_arg,
    axis_arg,
    check_bool,
    check_choice,
    check_int,
    check_real,
    pytorch_kwargs,
    varargs,
)

# The NumPy-protocol table (``__array_ufunc__``, ``__array_function__``): a Tensor method that
# has a NumPy function's name is listed here, so that ``np.name(t)`` runs it.
# NumPy ufunc name -> Tensor method (operands lifted to tensors first)
NUMPY_UFUNCS = {
    "add": "__add__", "subtract": "__sub__", "multiply": "__mul__", "divide": "__truediv__",
    "power": "__pow__", "matmul": "matmul", "maximum": "maximum", "minimum": "minimum",
    "negative": "__neg__", "absolute": "abs", "exp": "exp", "log": "log", "sqrt": "sqrt",
    "tanh": "tanh", "arctan": "arctan", "equal": "__eq__", "not_equal": "__ne__",
    "less": "__lt__", "less_equal": "__le__", "greater": "__gt__", "greater_equal": "__ge__",
    "sin": "sin", "cos": "cos", "tan": "tan", "sinh": "sinh", "cosh": "cosh", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "log1p": "log1p", "expm1": "expm1", "log2": "log2",
    "exp2": "exp2", "square": "square", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "round",
    "sign": "sign", "remainder": "remainder", "fmod": "fmod", "floor_divide": "floor_divide",
    "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor",
    "logical_not": "logical_not", "bitwise_and": "__and__", "bitwise_or": "__or__", "bitwise_xor": "__xor__",
    "invert": "__invert__",
}
# NumPy function name -> Tensor method taking the same arguments (NumPy's meaning where a Tensor
# method of that name has PyTorch's: numpy.max is amax, numpy.repeat repeat_interleave)
NUMPY_FUNCTIONS = {
    "sum": "sum", "mean": "mean", "var": "var", "max": "amax", "amax": "amax", "min": "amin",
    "amin": "amin", "argmax": "argmax", "argmin": "argmin", "reshape": "reshape",
    "transpose": "_numpy_transpose", "squeeze": "squeeze", "expand_dims": "unsqueeze", "clip": "clip",
    "cumsum": "cumsum", "prod": "prod", "std": "std", "flip": "flip", "pad": "pad", "round": "round",
    "take_along_axis": "take_along_axis", "tile": "tile", "tril": "tril", "triu": "triu",
    "swapaxes": "swapaxes", "argsort": "argsort", "repeat": "repeat_interleave",
    "all": "all", "any": "any", "roll": "roll",
}

_LN2 = math.log(2)
# SELU's constants (Klambauer et al. 2017), to PyTorch's precision
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
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


class SortResult(NamedTuple):
    """``(values, indices)`` of ``sort`` and ``topk``, as PyTorch's: unpack it or use the fields.
    The values are in the graph; the indices (int64) are not."""

    # object, not typing.Any: pdoc evaluates the annotations of NamedTuple's generated __new__
    # without this module's names (tl.tensor puts this module's page in the API reference)
    values: object
    indices: object


class MaxResult(NamedTuple):
    """``(values, indices)`` of ``max(dim)`` and ``min(dim)``, as PyTorch's: unpack it or use the
    fields. The values are in the graph; the indices (int64) are not."""

    values: object
    indices: object


def _grid(xp, index, axis, shape):
    """The integer-array index that picks ``index`` along ``axis`` of an array of ``shape``:
    along every other axis its positions (all 0 where ``shape`` has 1 there, broadcasting)."""
    grid = []
    for a, n in enumerate(index.shape):
        if a == axis:
            grid.append(index)
        else:
            pos = xp.arange(n) if shape[a] == n else xp.zeros(n, dtype=index.dtype)
            grid.append(pos.reshape((1,) * a + (n,) + (1,) * (index.ndim - a - 1)))
    return tuple(grid)


def _pad_widths(pad_width, shape):
    """``pad_width`` as one (before, after) pair of ints >= 0 per axis, from NumPy's forms (an
    int, one pair, one pair per axis) or a dict {axis: pair} naming only the padded axes."""
    if isinstance(pad_width, dict):
        pairs = [(0, 0)] * len(shape)
        for a, pair in pad_width.items():
            pairs[axis_arg(a, len(shape))] = pair
        pad_width = pairs
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (len(shape), 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {shape}: give an int, "
                         "a (before, after) pair, one pair per axis or a dict {axis: pair}") from None
    if widths.dtype.kind not in "iu" or (widths < 0).any():
        raise ValueError(f"pad: pad_width must be integers >= 0, got {pad_width!r}")
    return tuple((int(b), int(a)) for b, a in widths)


def _values(a):
    """``a`` with every tensor (also inside lists and tuples) replaced by its array."""
    if isinstance(a, Tensor):
        return a.__array__()
    if isinstance(a, (list, tuple)):
        return type(a)(_values(x) for x in a)
    if isinstance(a, dict):
        return {k: _values(v) for k, v in a.items()}
    return a


def _check_numbers(owner, dtype):
    """``dtype`` itself if tensors can hold it (bool, integers, floats, complex); a TypeError naming
    it for strings, bytes, objects, dates and records, as PyTorch refuses them."""
    if dtype.kind not in "biufc":
        raise TypeError(f"{owner}: a tensor cannot hold dtype {dtype} (strings, bytes, objects or dates): tensors "
                        "hold bools and numbers; convert the data first (e.g. strings to indices)")
    return dtype


def _to_dtype(arg):
    """``Tensor.to``'s argument as a NumPy dtype; a ValueError naming both meanings otherwise."""
    try:
        if arg is None:  # np.dtype(None) would be float64
            raise TypeError
        dtype = np.dtype(arg)
    except (TypeError, ValueError):
        raise ValueError(f"to: {arg!r} is neither a device (one of {backend.DEVICES}) nor a dtype (a NumPy "
                         "dtype, its name such as 'float32', or tl.float32)") from None
    return _check_numbers("to", dtype)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None, device=None)``: ``data`` is a
    Python scalar or (nested) list, a NumPy or CuPy array, or a Tensor. Python
    floats become float32 (the default float dtype), ints int64, bools bool;
    arrays keep their dtype unless ``dtype`` is given. ``device`` is "cpu",
    "cuda" or "strict"; by default a device array's own device, and for host
    data (Python values, NumPy arrays) the default device (``set_default_device``).
    The data is always copied, as by ``torch.tensor``.

    Mixed dtypes follow PyTorch, not NumPy: an integer or bool tensor combined with a
    float tensor takes the float's dtype (NumPy would give float64 for float32 with
    int64), and ``/`` of two integer tensors gives the default float (float32).
    Two floats give the wider one, as in both.

    The methods come in sections: construction and properties, arithmetic, elementwise
    math, activations, reductions, movement and shape, indexing and sorting, matmul,
    conversion, in-place writes, Python and NumPy protocols.
    """

    # ---------------------------------------------------------------- construction and properties
    __slots__ = ("__weakref__", "_ctx", "_data", "device", "grad", "requires_grad")

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):  # a tensor keeps its device, even "cpu" under another default
            device, data = device or data.device, data._data
        src = backend.device_of(data)
        device = device or (src if src not in (None, "cpu") else backend.get_default_device())
        if src is None:  # Python numbers and lists
            data = np.asarray(data)
            dtype = backend.DEFAULT_FLOAT if dtype is None and data.dtype.kind == "f" else dtype
        _check_numbers("Tensor", data.dtype)  # never strings or objects, even when dtype= would convert them
        if dtype is not None:
            _check_numbers("Tensor", np.dtype(dtype))
        # a copy, as torch.tensor: in-place updates (optimizers) never reach the caller's array
        self._data = backend.to_device(data, device, dtype, copy=True)
        self.device, self.grad, self._ctx = device, None, None
        self.requires_grad_(requires_grad)

    @staticmethod
    def _wrap(data, device, ctx=None):
        """A tensor around a backend array, no checks or copies: the hot path of every op."""
        out = Tensor.__new__(Tensor)
        out._data, out.device, out.grad, out._ctx = data, device, None, ctx
        out.requires_grad = ctx is not None
        return out

    # attrgetter: read in C, these are the most used attributes of all
    shape = property(operator.attrgetter("_data.shape"), doc="The shape, a tuple of ints.")
    ndim = property(operator.attrgetter("_data.ndim"), doc="The number of axes.")
    dtype = property(operator.attrgetter("_data.dtype"), doc="The NumPy dtype of the elements.")
    is_leaf = property(lambda self: self._ctx is None, doc="True unless made by an op that records a graph.")

    size = property(_Size, doc="PyTorch's method: ``t.size()`` is the shape (a tuple), ``t.size(dim)`` "
                               "one side. The element count (NumPy's ``a.size``) is ``t.numel()``.")

    def numel(self):
        """The number of elements (NumPy's ``a.size``)."""
        return self._data.size

    def dim(self):
        """The number of axes (``ndim``)."""
        return self._data.ndim

    def __repr__(self):
        body = np.array2string(self.numpy(), separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, device='{self.device}', dtype={self.dtype}{grad})"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):  # without it, iterating a 0-d tensor would silently give nothing
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous")
        return bool(self.item())

    __hash__ = object.__hash__  # tensors are dict keys (optimizer state) despite __eq__

    def requires_grad_(self, requires_grad=True):
        """Mark this tensor (a leaf) as one whose gradient ``backward()`` computes; float only.
        Returns the tensor. As in PyTorch, a tensor made by an op in a graph cannot be taken out of
        it this way (``detach()`` gives one that is out)."""
        if requires_grad and not is_float(self.dtype):
            raise TypeError(f"only float tensors can require grad, got dtype {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False): only a leaf's flag can be changed; a tensor made by an "
                               "op in a graph leaves it with t.detach()")
        self.requires_grad = bool(requires_grad)
        return self

    grad_fn = property(lambda self: self._ctx, doc="The Function that made this tensor in a graph (its "
                       "``backward`` gives the inputs' gradients), None for a leaf; after ``backward()`` "
                       "without ``retain_graph`` a mark saying that the graph was freed.")

    def retain_grad(self):
        """Keep this tensor's gradient in ``.grad`` after ``backward()``, as a leaf's is, although
        an op made it (PyTorch's ``retain_grad``: e.g. to look at the gradient reaching each
        layer's activations). Gradients of several backward passes add up, as a leaf's do. On a
        leaf it does nothing; a tensor that does not require grad has no gradient to keep."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad: it has no gradient")
        if self._ctx is not None:
            autograd.retain_grad(self)

    retains_grad = property(lambda self: self._ctx is not None and autograd.retains_grad(self),
                            doc="True for a tensor made by an op whose ``retain_grad()`` was called.")

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._wrap(self._data, self.device)

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf that requires grad.

        ``grad`` (d(loss)/d(self)) may be omitted only for a one-element tensor.
        The graph is freed afterwards unless ``retain_graph`` (default: ``create_graph``).
        With ``create_graph`` the gradients are Tensors with a graph of their own, to be
        differentiated again (``tl.autograd.grad`` gives them without touching ``.grad``).
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph)")
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward() without grad needs a one-element output, got shape {self.shape}")
            grad = xp_of(self._data).ones(self.shape, dtype=self.dtype)
        elif create_graph and isinstance(grad, Tensor):
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad of shape {grad.shape} for output of shape {self.shape}")
        else:
            grad = backend.to_device(grad._data if isinstance(grad, Tensor) else grad, self.device)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad of shape {grad.shape} for output of shape {self.shape}")
            # a copy: leaves' gradients may be views of it, and the caller may reuse its array
            grad = grad.astype(self.dtype, copy=True)
        if create_graph and not isinstance(grad, Tensor):
            grad = Tensor._wrap(grad, self.device)
        autograd.backward(self, grad, bool(retain_graph), create_graph)

    def zero_grad(self):
        """Drop the gradient (``grad = None``)."""
        self.grad = None

    # ---------------------------------------------------------------- arithmetic
    def _lift(self, other):
        """``other`` as a tensor. A Python/NumPy scalar takes this tensor's dtype if that is a float
        (no float64 promotion) or of the scalar's kind; else float32 for floats, int64 for ints."""
        if isinstance(other, Tensor):
            return other
        if np.ndim(other) == 0 and not isinstance(other, np.ndarray):
            kind = np.asarray(other).dtype.kind
            if is_float(self.dtype) or kind in ("b", self.dtype.kind):
                dtype = self.dtype
            else:
                dtype = backend.DEFAULT_FLOAT if kind == "f" else None
            return Tensor._wrap(xp_of(self._data).asarray(other, dtype=dtype), self.device)
        return Tensor(other, device=self.device)

    def _pair(self, other, int_division=False):
        """(self, other) as tensors of one kind: an int or bool operand takes the float one's
        dtype (PyTorch's rule; NumPy would widen float32 to float64); with ``int_division``
        two non-float operands become the default float."""
        other = self._lift(other)
        a, b = self._data.dtype, other._data.dtype
        if a is b or a.kind == b.kind:  # the common case: one identity check
            return (self, other) if not int_division or is_float(a) else \
                (self.astype(backend.DEFAULT_FLOAT), other.astype(backend.DEFAULT_FLOAT))
        if is_float(a) or is_float(b):
            target = a if is_float(a) else b
            return self.astype(target), other.astype(target)
        if int_division:
            return self.astype(backend.DEFAULT_FLOAT), other.astype(backend.DEFAULT_FLOAT)
        return self, other

    def _binary(self, op, other, reflected=False, int_division=False):
        x, y = self._pair(other, int_division)
        return op.apply(y, x) if reflected else op.apply(x, y)

    def __add__(self, other): return self._binary(ops.Add, other)
    def __radd__(self, other): return self._binary(ops.Add, other, True)
    def __sub__(self, other): return self._binary(ops.Sub, other)
    def __rsub__(self, other): return self._binary(ops.Sub, other, True)
    def __mul__(self, other): return self._binary(ops.Mul, other)
    def __rmul__(self, other): return self._binary(ops.Mul, other, True)
    def __truediv__(self, other): return self._binary(ops.Div, other, int_division=True)
    def __rtruediv__(self, other): return self._binary(ops.Div, other, True, int_division=True)
    def __pow__(self, other):
        # a small integer-valued Python exponent (x ** 3.0 of tanh-GELU): by multiplication, ~100x faster
        if (isinstance(other, (int, float, np.integer, np.floating)) and not isinstance(other, bool)
                and is_float(self.dtype) and float(other).is_integer() and abs(other) <= 4):
            return ops.IntPow.apply(self, n=int(other))
        return self._binary(ops.Pow, other)

    def __rpow__(self, other): return self._binary(ops.Pow, other, True)
    def __mod__(self, other): return self._rounded_division(ops.Remainder, other)
    def __rmod__(self, other): return self._rounded_division(ops.Remainder, other, True)
    def __floordiv__(self, other): return self._rounded_division(None, other)
    def __rfloordiv__(self, other): return self._rounded_division(None, other, True)
    def __neg__(self): return ops.Neg.apply(self)

    def neg(self):
        """-x, the method form of ``-x`` (PyTorch's; ``negative`` is its alias). Refused for bools, as
        PyTorch: invert a mask with ``~`` or ``logical_not()``."""
        return ops.Neg.apply(self)

    negative = neg

    def _rounded_division(self, op, other, reflected=False):
        """``%`` (``op`` Remainder), ``fmod`` (Fmod) or ``//`` (None: out of the graph) with PyTorch's
        dtypes: integers stay integers, an integer or bool operand takes a float one's dtype. Two bools
        are refused, and an integer divisor 0 raises ZeroDivisionError, as PyTorch's do."""
        x, y = self._pair(other)
        if reflected:
            x, y = y, x
        name = "floor_divide" if op is None else op.__name__.lower()
        if x.dtype == np.bool_ and y.dtype == np.bool_:
            raise TypeError(f"{name}: not defined for two bool tensors (PyTorch refuses it too); "
                            "convert one first, e.g. t.long()")
        if not is_float(x.dtype) and bool((y._data == 0).any()):
            raise ZeroDivisionError(f"{name}: integer division by zero (PyTorch raises too)")
        if op is not None:
            return op.apply(x, y)
        if x.device != y.device:  # not a Function, so apply's device check does not run
            raise backend.device_error(name, x.device, y.device)
        return Tensor._wrap(xp_of(x._data).floor_divide(x._data, y._data), x.device)

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

    def remainder(self, other):
        """``self % other``, PyTorch's ``remainder``: x - floor(x / y) y, which has the sign of the
        divisor, as Python's and NumPy's ``%`` (C's, with the dividend's sign, is ``fmod``); d/dx = 1,
        d/dy = -floor(x / y)."""
        return self % other

    def fmod(self, other):
        """x - trunc(x / y) y, C's ``fmod``: the sign of the dividend (``remainder``, ``%``, has the
        divisor's); d/dx = 1, d/dy = -trunc(x / y)."""
        return self._rounded_division(ops.Fmod, other)

    def floor_divide(self, other):
        """``self // other``: the quotient rounded down, as Python's ``//`` (integers stay integers).
        No gradient, as PyTorch's (whose backward through it raises): the result is out of the graph,
        as a comparison's; ``div(other, rounding_mode="floor")`` is in the graph, with gradient 0."""
        return self // other

    def _compare(self, other, op, name=None):
        other = self._lift(other)
        if other.device != self.device:  # not a Function, so apply's device check does not run
            raise backend.device_error(name or op.__name__, self.device, other.device)
        return Tensor._wrap(op(self._data, other._data), self.device)

    def __eq__(self, other): return self._compare(other, operator.eq)
    def __ne__(self, other): return self._compare(other, operator.ne)
    def __lt__(self, other): return self._compare(other, operator.lt)
    def __le__(self, other): return self._compare(other, operator.le)
    def __gt__(self, other): return self._compare(other, operator.gt)
    def __ge__(self, other): return self._compare(other, operator.ge)

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

    # bitwise (bool and integer tensors) and logical (any dtype) ops: out of the graph, as comparisons
    def _bitwise(self, other, op, name):
        other = self._lift(other)
        for t in (self, other):
            if t.dtype.kind not in "biu":
                raise TypeError(f"{name} is only defined for bool and integer tensors, got dtype {t.dtype} (as "
                                "in PyTorch); for a mask compare first (t > 0), or use logical_and/or/xor/not")
        return self._compare(other, op, name)

    def __and__(self, other): return self._bitwise(other, operator.and_, "&")
    def __rand__(self, other): return self._bitwise(other, operator.and_, "&")
    def __or__(self, other): return self._bitwise(other, operator.or_, "|")
    def __ror__(self, other): return self._bitwise(other, operator.or_, "|")
    def __xor__(self, other): return self._bitwise(other, operator.xor, "^")
    def __rxor__(self, other): return self._bitwise(other, operator.xor, "^")

    def __invert__(self):
        if self.dtype.kind not in "biu":
            raise TypeError(f"~ (invert) is only defined for bool and integer tensors, got dtype {self.dtype} "
                            "(as in PyTorch); for a mask compare first (t > 0), or use logical_not()")
        return Tensor._wrap(~self._data, self.device)

    def _truth_op(self, other, name):
        return self._compare(other, lambda a, b: getattr(xp_of(a), name)(a, b), name)

    def logical_and(self, other):
        """Elementwise ``self and other`` of the truth values (nonzero is True) of any dtypes: a bool tensor."""
        return self._truth_op(other, "logical_and")

    def logical_or(self, other):
        """Elementwise ``self or other`` of the truth values (nonzero is True): a bool tensor."""
        return self._truth_op(other, "logical_or")

    def logical_xor(self, other):
        """True where exactly one of ``self`` and ``other`` is nonzero: a bool tensor."""
        return self._truth_op(other, "logical_xor")

    def logical_not(self):
        """True where ``self`` is 0 (False): a bool tensor."""
        return Tensor._wrap(xp_of(self._data).logical_not(self._data), self.device)

    # ---------------------------------------------------------------- elementwise math
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

    def sin(self):
        """sin x; d/dx = cos x."""
        return ops.Sin.apply(self)

    def cos(self):
        """cos x; d/dx = -sin x."""
        return ops.Cos.apply(self)

    def tan(self):
        """tan x; d/dx = 1 + tan^2 x."""
        return ops.Tan.apply(self)

    def log1p(self):
        """log(1 + x), accurate for tiny x."""
        return ops.Log1p.apply(self)

    def expm1(self):
        """e^x - 1, accurate for tiny x."""
        return ops.Expm1.apply(self)

    def sinh(self):
        """sinh x = (e^x - e^-x) / 2; d/dx = cosh x."""
        return ops.Sinh.apply(self)

    def cosh(self):
        """cosh x = (e^x + e^-x) / 2; d/dx = sinh x."""
        return ops.Cosh.apply(self)

    def asinh(self):
        """The inverse of sinh, ln(x + sqrt(x^2 + 1)); d/dx = 1 / sqrt(x^2 + 1)."""
        return ops.Asinh.apply(self)

    def acosh(self):
        """The inverse of cosh, ln(x + sqrt(x^2 - 1)): real for x >= 1 (NaN below, as PyTorch);
        d/dx = 1 / sqrt(x^2 - 1)."""
        return ops.Acosh.apply(self)

    def atanh(self):
        """The inverse of tanh, ln((1 + x) / (1 - x)) / 2: real for |x| <= 1 (+-inf at +-1, NaN
        outside, as PyTorch); d/dx = 1 / (1 - x^2)."""
        return ops.Atanh.apply(self)

    arcsinh, arccosh, arctanh = asinh, acosh, atanh  # PyTorch's aliases (NumPy's names)

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

    def maximum(self, other):
        """Elementwise maximum (broadcast); ties share the gradient equally. Bools give bools
        (logical or), as PyTorch's."""
        return self._binary(ops.Maximum, other)

    def minimum(self, other):
        """Elementwise minimum (broadcast); ties share the gradient equally. Bools give bools
        (logical and), as PyTorch's."""
        return self._binary(ops.Minimum, other)

    @pytorch_kwargs(min="lo", max="hi")
    def clip(self, lo=None, hi=None):
        """Values limited to [lo, hi] (either may be None). The gradient passes where
        lo <= x <= hi. Bounds may be numbers or tensors; a tensor bound broadcasts, and
        gets the gradient where it is the value taken (PyTorch's ``clamp``)."""
        numbers_only = True
        for name, b in (("lo", lo), ("hi", hi)):
            if isinstance(b, (bool, str, bytes)):
                raise TypeError(f"clip: {name} must be a number, a tensor, an array or None, got {b!r}")
            numbers_only &= b is None or isinstance(b, numbers.Real)
        if numbers_only:
            return ops.Clip.apply(self, lo=lo, hi=hi)
        out = self if lo is None else where(self < lo, lo, self)
        return out if hi is None else where(out > hi, hi, out)

    def clamp(self, min=None, max=None):  # PyTorch's names, shadowing the builtins here only
        """``clip(min, max)``: values limited to [min, max], either may be None."""
        return self.clip(min, max)

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
        return ops.Rounding.apply(self, fn="sign")

    def _rounding(self, fn, decimals=0):
        if not is_float(self.dtype) and decimals >= 0:  # whole numbers already, as PyTorch keeps them
            return self
        return ops.Rounding.apply(self, fn=fn, decimals=decimals)

    # ---------------------------------------------------------------- activations
    def sigmoid(self):
        """1 / (1 + e^-x), computed so that it never overflows."""
        return ops.Sigmoid.apply(self)

    def tanh(self):
        """tanh x; d/dx = 1 - tanh^2 x."""
        return ops.Tanh.apply(self)

    def arctan(self):
        """arctan x; d/dx = 1 / (1 + x^2)."""
        return ops.Arctan.apply(self)

    def relu(self):
        """max(x, 0); the gradient at 0 is 0."""
        return ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        """x for x > 0, else ``negative_slope`` x."""
        # float(): a NumPy float64 slope would otherwise promote a float32 tensor
        return ops.LeakyReLU.apply(self, slope=float(negative_slope))

    def elu(self, alpha=1.0):
        """x for x > 0, else alpha (e^x - 1)."""
        return ops.ELU.apply(self, alpha=float(alpha))

    def binary_step(self):
        """1 for x >= 0, else 0; its gradient is 0 everywhere."""
        return ops.BinaryStep.apply(self)

    def softplus(self, beta=1.0, threshold=20.0):
        """(1/beta) log(1 + e^(beta x)), a smooth relu, and x itself where beta x > ``threshold``
        (PyTorch's defaults); d/dx = sigmoid(beta x). ``beta`` > 0."""
        beta = check_real("softplus", "beta", beta, 0.0, low_open=True)
        threshold = check_real("softplus", "threshold", threshold)
        return ops.Softplus.apply(self, beta=beta, threshold=threshold)

    def gelu(self, approximate="none"):
        """x Phi(x), Phi the standard normal CDF (Hendrycks and Gimpel); ``approximate="tanh"``:
        0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as PyTorch's."""
        check_choice("gelu", "approximate", approximate, ("none", "tanh"))
        return (ops.GELU if approximate == "none" else ops.GELUTanh).apply(self)

    def silu(self):
        """x sigmoid(x), also called swish."""
        return ops.SiLU.apply(self)

    swish = silu

    def mish(self):
        """x tanh(softplus(x)) (Misra 2019)."""
        return ops.Mish.apply(self)

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

    @pytorch_kwargs
    def softmax(self, axis=-1):
        """e^x / sum(e^x) along ``axis``, stably; a 0-d tensor (axis 0 or -1, as PyTorch) gives 1."""
        return self._softmax_op(ops.Softmax, axis)

    @pytorch_kwargs
    def log_softmax(self, axis=-1):
        """x - logsumexp(x) along ``axis``; a 0-d tensor (axis 0 or -1, as PyTorch) gives 0."""
        return self._softmax_op(ops.LogSoftmax, axis)

    def _softmax_op(self, op, axis):
        if not is_float(self.dtype):  # as PyTorch: no softmax of integers
            name = "softmax" if op is ops.Softmax else "log_softmax"
            raise TypeError(f"{name}: the input must be floating point, got dtype {self.dtype}")
        if self.ndim == 0:  # PyTorch takes dims 0 and -1 of a 0-d tensor: one element, its own softmax
            axis_arg(axis, 1)
            return op.apply(self.reshape(1), axis=0).reshape(())
        return op.apply(self, axis=axes_arg(axis, self.ndim))

    # ---------------------------------------------------------------- reductions
    @pytorch_kwargs
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (int, tuple or None for all), NumPy's ``keepdims``."""
        return ops.Sum.apply(self, axis=axes_arg(axis, self.ndim), keepdims=keepdims)

    def _divide_by_count(self, total, axes, ddof=0):
        """``total / (n - ddof)``, n the number of elements reduced; nan (as NumPy) when n <= ddof."""
        n = self._data.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return total * (1.0 / (n - ddof) if n > ddof else float("nan"))

    @pytorch_kwargs
    def mean(self, axis=None, keepdims=False):
        """sum(x) / n over ``axis``; nan for an empty reduction, as NumPy and PyTorch."""
        axes = axes_arg(axis, self.ndim)
        return self._divide_by_count(ops.Sum.apply(self, axis=axes, keepdims=keepdims), axes)

    @pytorch_kwargs(correction="ddof")
    def var(self, axis=None, unbiased=None, keepdims=False, *, ddof=None):
        """sum((x - mean)^2) / (n - correction) over ``axis`` (int, tuple or None for all), PyTorch's
        meaning: correction 1 (n - 1, the unbiased estimate) by default. ``correction=0``, NumPy's
        ``ddof=0`` or PyTorch's older ``unbiased=False`` divide by n (NumPy's ``var``); give one of
        the three spellings. Positional arguments are PyTorch's ``var(dim, unbiased, keepdim)``, and
        a bool alone is ``unbiased`` (``t.var(False)``). nan where n <= correction, as both."""
        axis, ddof = self._var_args("var", axis, unbiased, ddof)
        axes = axes_arg(axis, self.ndim)
        d = self - self.mean(axes, keepdims=True)
        return self._divide_by_count((d * d).sum(axes, keepdims=keepdims), axes, ddof)

    @pytorch_kwargs(correction="ddof")
    def std(self, axis=None, unbiased=None, keepdims=False, *, ddof=None):
        """sqrt(var(x)), with ``var``'s arguments: divided by n - 1 by default (PyTorch's meaning;
        NumPy's ``std``, divided by n, is ``std(correction=0)``). Its gradient is infinite where
        it is 0."""
        axis, ddof = self._var_args("std", axis, unbiased, ddof)
        return self.var(axis, keepdims=keepdims, ddof=ddof).sqrt()

    def _var_args(self, op, axis, unbiased, ddof):
        """(axis, correction) of var/std from PyTorch's and NumPy's spellings."""
        if isinstance(axis, (bool, np.bool_)):  # t.var(False): PyTorch's var(unbiased)
            if unbiased is not None:
                raise TypeError(f"{op}: got unbiased twice ({axis!r} and {unbiased!r})")
            axis, unbiased = None, axis
        if unbiased is not None:
            unbiased = check_bool(op, "unbiased", unbiased)
            if ddof is not None:
                raise TypeError(f"{op}: got unbiased= and correction= (or NumPy's ddof=), two spellings of "
                                "one argument; pass one")
            ddof = int(unbiased)
        return axis, (1 if ddof is None else check_real(op, "correction", ddof))

    @pytorch_kwargs
    def max(self, axis=None, keepdims=False):
        """PyTorch's max. ``t.max()``: the largest element, a 0-d tensor (tied maxima share the
        gradient equally, as ``amax``). ``t.max(dim, keepdim=False)``: ``MaxResult(values,
        indices)`` along the one ``dim`` (unpack it or use the fields); on ties the index of the
        first maximum, which alone receives the value's gradient, as in PyTorch. ``t.max(other)``:
        the elementwise ``maximum``. NumPy's ``a.max(axis)``, the values over an int or a tuple of
        axes, is ``amax``."""
        return self._extreme("max", axis, keepdims)

    @pytorch_kwargs
    def min(self, axis=None, keepdims=False):
        """PyTorch's min: ``t.min()``, ``t.min(dim)`` giving ``MaxResult(values, indices)`` and
        ``t.min(other)``, as ``max``; NumPy's ``a.min(axis)`` is ``amin``."""
        return self._extreme("min", axis, keepdims)

    def _extreme(self, op, axis, keepdims):
        if isinstance(axis, Tensor):
            if keepdims:
                raise TypeError(f"{op}(other) is the elementwise {op}imum: it takes no keepdim")
            return self.maximum(axis) if op == "max" else self.minimum(axis)
        if axis is None:
            return self.amax(None, keepdims) if op == "max" else self.amin(None, keepdims)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{op}: dim must be one int, got {axis!r}: {op}(dim) gives (values, indices) along "
                            f"one dim, as PyTorch's; the values over several dims are a{op}(dims)")
        flat = self.reshape(1) if self.ndim == 0 else self  # a 0-d tensor has dims 0 and -1, as in PyTorch
        a = axis_arg(axis, flat.ndim)
        idx = flat._arg(f"arg{op}", a, True)._data
        values = ops.Gather.apply(flat, grid=_grid(xp_of(idx), idx, a, flat.shape))
        shape = () if self.ndim == 0 else idx.shape if keepdims else ops._reduced_shape(self.shape, (a,))
        if shape != idx.shape:
            values, idx = values.reshape(shape), idx.reshape(shape)
        return MaxResult(values, Tensor._wrap(idx, self.device))

    @pytorch_kwargs
    def amax(self, axis=None, keepdims=False):
        """The maximum over ``axis`` (int, tuple or None for all), the values only: NumPy's
        ``a.max(axis)``, PyTorch's ``amax``. Tied maxima share the gradient equally."""
        if self._data.size == 0:
            raise ValueError(f"max of an empty tensor of shape {self.shape}")
        return ops.Max.apply(self, axis=axes_arg(axis, self.ndim), keepdims=keepdims)

    @pytorch_kwargs
    def amin(self, axis=None, keepdims=False):
        """The minimum over ``axis``, -amax(-x): NumPy's ``a.min(axis)``, PyTorch's ``amin``. Tied
        minima share the gradient equally."""
        return -(-self).amax(axis, keepdims)

    @pytorch_kwargs
    def prod(self, axis=None, keepdims=False):
        """Product over ``axis`` (int, tuple or None for all); its gradient is exact where
        elements are 0."""
        return ops.Prod.apply(self, axis=axes_arg(axis, self.ndim), keepdims=keepdims)

    @pytorch_kwargs
    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) = m + log(sum(exp(x - m))) with m = max(x), so it never overflows."""
        axes, xp = axes_arg(axis, self.ndim), xp_of(self._data)
        m = self._data.max(axis=axes, keepdims=True)
        m = Tensor._wrap(xp.where(xp.isfinite(m), m, 0), self.device)  # all -inf: avoid inf - inf
        out = (self - m).exp().sum(axes, keepdims=True).log() + m
        return out if keepdims else out.reshape(ops._reduced_shape(self.shape, axes))

    @pytorch_kwargs
    def norm(self, p=2, axis=None, keepdims=False):
        """The vector p-norm of the elements over ``axis`` (all by default): p = 2 (or "fro"),
        1, inf (max |x|) or -inf (min |x|). Over several axes it is the norm of their elements
        together (PyTorch's ``vector_norm``), not NumPy's matrix norm. At 0 the gradient is 0."""
        axes = axes_arg(axis, self.ndim)
        if isinstance(p, bool) or p not in (2, "fro", 1, math.inf, -math.inf):
            raise ValueError(f"norm: p must be 1, 2, inf, -inf or 'fro', got {p!r}")
        if p in (2, "fro"):
            return ops.Norm2.apply(self, axis=axes, keepdims=keepdims)
        if p == 1:
            return self.abs().sum(axes, keepdims=keepdims)
        return self.abs().amax(axes, keepdims) if p > 0 else self.abs().amin(axes, keepdims)

    @pytorch_kwargs
    def cumsum(self, axis=None):
        """Running sum along ``axis``; without one, of the flattened tensor (NumPy's default;
        PyTorch requires ``dim``)."""
        if axis is None:
            return self.reshape(-1).cumsum(0)
        return ops.Cumsum.apply(self, axis=axis_arg(axis, self.ndim))

    @pytorch_kwargs
    def argmax(self, axis=None, keepdims=False):
        """Index (int64) of the maximum along ``axis``, or in the flattened tensor; the first
        one on ties. Not differentiable."""
        return self._arg("argmax", axis, keepdims)

    @pytorch_kwargs
    def argmin(self, axis=None, keepdims=False):
        """Index (int64) of the minimum along ``axis``, or in the flattened tensor; the first
        one on ties. Not differentiable."""
        return self._arg("argmin", axis, keepdims)

    def _arg(self, fn, axis, keepdims):
        if self._data.size == 0:
            raise ValueError(f"{fn} of an empty tensor of shape {self.shape}")
        axis = None if axis is None else axis_arg(axis, self.ndim)
        xp = xp_of(self._data)  # xp, and asarray: NumPy gives a scalar for axis=None
        return self._wrap(xp.asarray(getattr(xp, fn)(self._data, axis, keepdims=keepdims)), self.device)

    @pytorch_kwargs
    def all(self, axis=None, keepdims=False):
        """True where every element over ``axis`` (int, tuple or None for all) is nonzero; True for
        none. A bool tensor (uint8 for uint8 input, as PyTorch's). Not differentiable."""
        return self._logical("all", axis, keepdims)

    @pytorch_kwargs
    def any(self, axis=None, keepdims=False):
        """True where some element over ``axis`` (int, tuple or None for all) is nonzero; False for
        none. A bool tensor (uint8 for uint8 input, as PyTorch's). Not differentiable."""
        return self._logical("any", axis, keepdims)

    def _logical(self, fn, axis, keepdims):
        xp = xp_of(self._data)
        out = xp.asarray(getattr(xp, fn)(self._data, axis=axes_arg(axis, self.ndim), keepdims=keepdims))
        return self._wrap(out.astype(np.uint8) if self.dtype == np.uint8 else out, self.device)

    # ---------------------------------------------------------------- movement and shape
    def reshape(self, *shape):
        """The same elements in ``shape`` (ints or a tuple; one may be -1)."""
        return ops.Reshape.apply(self, shape=varargs(shape))

    def view(self, *shape):
        """``reshape`` (PyTorch's name; here it never fails for memory layout: it may copy)."""
        return self.reshape(*shape)

    def view_as(self, other):
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def permute(self, *axes):
        """The axes reordered: output axis i is input axis ``axes[i]``."""
        axes = varargs(axes)
        if len(axes) != self.ndim or any(not -self.ndim <= a < self.ndim for a in axes) \
                or len({a % self.ndim for a in axes}) != self.ndim:
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes "
                             f"of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=tuple(a % self.ndim for a in axes))

    def transpose(self, dim0=None, dim1=None, *more):
        """Exchange the two dims ``dim0`` and ``dim1``: PyTorch's meaning, ``swapaxes``. NumPy's
        ``a.transpose(*axes)`` is ``permute(*axes)`` here, and its ``a.transpose()`` (the axes
        reversed) ``t.T``; those calls are a TypeError that says so."""
        ints = all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in (dim0, dim1))
        if more or not ints:
            got = ", ".join(repr(d) for d in (dim0, dim1, *more) if d is not None)
            raise TypeError(f"transpose({got}): transpose(dim0, dim1) exchanges two dims, as PyTorch's; "
                            "NumPy's transpose(*axes) is t.permute(*axes), the axes reversed t.T")
        return self.swapaxes(dim0, dim1)

    T = property(lambda self: self.permute(tuple(reversed(range(self.ndim)))),
                 doc="The axes reversed, as NumPy's ``a.T`` and PyTorch's ``t.T``.")

    def swapaxes(self, axis1, axis2):
        """Exchange two axes (NumPy's swapaxes; PyTorch's ``transpose(dim0, dim1)``, also
        ``swapaxes``)."""
        a, b = axis_arg(axis1, self.ndim), axis_arg(axis2, self.ndim)
        axes = list(range(self.ndim))
        axes[a], axes[b] = b, a
        return self.permute(axes)

    @pytorch_kwargs
    def squeeze(self, axis=None):
        """The axes of size 1 removed: all of them, or those of ``axis`` (an int or a tuple) that
        have size 1. An axis of another size is left as it is, PyTorch's meaning (NumPy's squeeze
        raises there)."""
        axes = axes_arg(axis, max(self.ndim, 1))  # a 0-d tensor has dims 0 and -1, as in PyTorch
        axes = tuple(a for a in (range(self.ndim) if axes is None else axes) if a < self.ndim and self.shape[a] == 1)
        return self.reshape(ops._reduced_shape(self.shape, axes))

    @pytorch_kwargs
    def unsqueeze(self, axis):
        """Insert an axis of size 1 at ``axis`` (-ndim-1 <= axis <= ndim), as ``numpy.expand_dims``."""
        axis = axis_arg(axis, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    @pytorch_kwargs
    def flatten(self, start_axis=0, end_axis=-1):
        """Merge the axes from ``start_axis`` to ``end_axis`` (both included) into one; ``flatten(1)``
        keeps the batch axis. A 0-d tensor becomes 1-d."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = axis_arg(start_axis, self.ndim), axis_arg(end_axis, self.ndim)
        if start > end:
            raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for a "
                             f"tensor of shape {self.shape}")
        shape = self.shape
        return self.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    @pytorch_kwargs
    def unflatten(self, axis, sizes):
        """PyTorch's ``unflatten``: ``axis`` split into the axes of ``sizes`` (a tuple or list, their
        product its size; one of them may be -1, inferred), the inverse of ``flatten``:
        ``x.flatten(1).unflatten(1, x.shape[1:])`` is ``x``."""
        axis = axis_arg(axis, self.ndim)
        sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else None
        if not sizes or not all(not isinstance(n, bool) and isinstance(n, numbers.Integral) for n in sizes):
            raise TypeError(f"unflatten: sizes must be a non-empty tuple or list of ints, got {sizes!r}")
        n = self.shape[axis]
        known = math.prod(m for m in sizes if m != -1)
        if sizes.count(-1) > 1 or any(m < -1 for m in sizes):
            raise ShapeError(f"unflatten: sizes {sizes} may hold one -1 (inferred) and otherwise sizes >= 0")
        if -1 in sizes and known and n % known == 0:
            sizes = tuple(n // known if m == -1 else m for m in sizes)
        if -1 in sizes or math.prod(sizes) != n:
            raise ShapeError(f"unflatten: sizes {sizes} do not multiply up to {n}, the size of axis {axis} of "
                             f"shape {self.shape}")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1:])

    def expand(self, *shape):
        """Broadcast to ``shape`` (NumPy's rules: new axes in front; a side of 1 repeats); -1
        keeps a side, as in PyTorch. No copy; the gradient is summed back."""
        shape = varargs(shape)
        lead = len(shape) - self.ndim
        target = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        sizes_ok = all(not isinstance(n, bool) and isinstance(n, numbers.Integral) and n >= 0 for n in target)
        if lead < 0 or not sizes_ok or any(m not in (1, n) for m, n in zip(self.shape, target[lead:])):
            raise ValueError(f"expand: cannot broadcast a tensor of shape {self.shape} to {shape}: each side "
                             "must equal the tensor's or the tensor's must be 1 (-1 keeps it; new axes "
                             "go in front)")
        return ops.Expand.apply(self, shape=target)

    broadcast_to = expand

    def expand_as(self, other):
        """``expand(other.shape)``."""
        return self.expand(other.shape)

    @pytorch_kwargs(dims="axis")
    def flip(self, axis=None):
        """The elements in reverse order along ``axis`` (int or tuple; None: every axis)."""
        return ops.Flip.apply(self, axis=axes_arg(axis, self.ndim))

    @pytorch_kwargs(value="constant_values")
    def pad(self, pad_width, mode="constant", constant_values=0):
        """NumPy's ``pad`` with a constant: ``pad_width`` is an int, a (before, after) pair, one pair
        per axis, or a dict {axis: (before, after)} for some axes. (PyTorch's ``F.pad`` lists
        pairs from the last axis backwards, flattened.) The constant may be given as ``value=``,
        ``F.pad``'s name for it."""
        check_choice("pad", "mode", mode, ("constant",))
        check_real("pad", "constant_values", constant_values, finite=False)
        return ops.Pad.apply(self, widths=_pad_widths(pad_width, self.shape), value=constant_values)

    @pytorch_kwargs(diagonal="k")
    def tril(self, k=0):
        """The lower triangle of the last two axes: elements (i, j) with j <= i + k, 0 elsewhere."""
        return self._triangle("tril", k)

    @pytorch_kwargs(diagonal="k")
    def triu(self, k=0):
        """The upper triangle of the last two axes: elements (i, j) with j >= i + k, 0 elsewhere."""
        return self._triangle("triu", k)

    def _triangle(self, op, k):
        if self.ndim < 2:
            raise ValueError(f"{op}: needs a matrix or a batch of them (2 or more axes), got shape "
                             f"{self.shape}")
        k, xp, (rows, cols) = check_int(op, "k", k, low=None), xp_of(self._data), self.shape[-2:]
        keep = xp.tri(rows, cols, k, dtype=bool) if op == "tril" else ~xp.tri(rows, cols, k - 1, dtype=bool)
        return ops.Where.apply(self, self._lift(0), cond=keep)

    @pytorch_kwargs
    def narrow(self, axis, start, length):
        """``length`` elements from ``start`` along ``axis`` (PyTorch's narrow; a basic slice)."""
        axis = axis_arg(axis, self.ndim)
        n = self.shape[axis]
        start = check_int("narrow", "start", start, low=-n, high=n)
        start += n if start < 0 else 0
        length = check_int("narrow", "length", length, low=0, high=n - start)
        return ops.Slice.apply(self, index=(slice(None),) * axis + (slice(start, start + length),))

    @pytorch_kwargs
    def split(self, split_size_or_sections, axis=0):
        """Pieces along ``axis``, PyTorch's meaning: an int is the size of each piece (the last may
        be smaller), a list the sizes of the pieces. (``numpy.split``'s int is the number of
        pieces and its list the cut points.) Returns a tuple of tensors."""
        axis = axis_arg(axis, self.ndim)
        n, s = self.shape[axis], split_size_or_sections
        if isinstance(s, numbers.Integral):
            s = check_int("split", "split_size_or_sections", s)
            sizes = [min(s, n - i) for i in range(0, n, s)] or [0]
        else:
            sizes = [check_int("split", "split_size_or_sections", k, low=0) for k in s]
            if sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} add up to {sum(sizes)}, not to {n}, the size of axis "
                                 f"{axis} of shape {self.shape}")
        starts = itertools.accumulate([0] + sizes)
        return tuple(self.narrow(axis, start, k) for start, k in zip(starts, sizes))

    @pytorch_kwargs
    def chunk(self, chunks, axis=0):
        """At most ``chunks`` pieces of equal size along ``axis`` (the last may be smaller), as
        PyTorch's chunk: ``split(ceil(n / chunks))``; an axis of size 0 gives ``chunks`` empty pieces."""
        chunks = check_int("chunk", "chunks", chunks)
        axis = axis_arg(axis, self.ndim)
        if self.shape[axis] == 0:
            return self.split([0] * chunks, axis)
        return self.split(-(-self.shape[axis] // chunks), axis)

    def repeat(self, *sizes, **numpy_style):
        """The tensor tiled ``sizes[k]`` times along dim k, PyTorch's meaning: one size per dim,
        more sizes add leading dims (``tile``, which also takes fewer). NumPy's ``repeat``, each
        element repeated, is ``repeat_interleave(repeats, dim)``; a keyword (``axis=``) or fewer
        sizes than dims is an error that says so."""
        sizes = varargs(sizes)
        if numpy_style or len(sizes) < self.ndim:
            raise (TypeError if numpy_style else ValueError)(
                f"repeat: got sizes {sizes}{' and ' + str(numpy_style) if numpy_style else ''} for a tensor of "
                f"shape {self.shape}: repeat(*sizes) tiles, as PyTorch's, with one size per dim (tile takes "
                "fewer); NumPy's repeat, each element repeated, is t.repeat_interleave(repeats, dim)")
        return self.tile(*[check_int("repeat", "sizes", r, low=0) for r in sizes])

    @pytorch_kwargs
    def repeat_interleave(self, repeats, axis=None):
        """Each element repeated ``repeats`` times (an int, or one count per element, a list or a
        tensor) along ``axis``, or in the flattened tensor: PyTorch's ``repeat_interleave``,
        NumPy's ``repeat``."""
        if axis is None:
            return self.reshape(-1).repeat_interleave(repeats, 0)
        axis = axis_arg(axis, self.ndim)
        counts = repeats.tolist() if isinstance(repeats, Tensor) else repeats
        counts = [counts] if isinstance(counts, numbers.Integral) else list(counts)
        counts = [check_int("repeat_interleave", "repeats", k, low=0) for k in counts]
        n, shape = self.shape[axis], self.shape
        if len(counts) == 1:  # the same count for all: broadcast a new axis, no gather
            wide = self.unsqueeze(axis + 1).expand(shape[:axis + 1] + (counts[0],) + shape[axis + 1:])
            return wide.reshape(shape[:axis] + (n * counts[0],) + shape[axis + 1:])
        if len(counts) != n:
            raise ValueError(f"repeat_interleave: {len(counts)} counts for the {n} elements along axis {axis} "
                             f"of shape {shape}")
        return self[(slice(None),) * axis + (np.repeat(np.arange(n), counts),)]

    def tile(self, *reps):
        """The tensor repeated as a whole ``reps[k]`` times along axis k (``numpy.tile``, PyTorch's
        ``tile`` and ``repeat``); ``reps`` shorter than the shape is padded with 1s in front, longer
        adds axes in front."""
        reps = tuple(check_int("tile", "reps", r, low=0) for r in varargs(reps))
        d = max(len(reps), self.ndim)
        reps, x = (1,) * (d - len(reps)) + reps, self.reshape((1,) * (d - self.ndim) + self.shape)
        # (n0, n1) -> (1, n0, 1, n1) -> broadcast to (r0, n0, r1, n1) -> (r0 n0, r1 n1)
        spread = x.reshape(tuple(v for n in x.shape for v in (1, n)))
        spread = spread.expand(tuple(v for r, n in zip(reps, x.shape) for v in (r, n)))
        return spread.reshape(tuple(r * n for r, n in zip(reps, x.shape)))

    @pytorch_kwargs(dims="axis")
    def roll(self, shifts, axis=None):
        """The elements shifted cyclically by ``shifts`` along ``axis`` (PyTorch's ``dims``): ints,
        or tuples of one length (an axis may come twice: its shifts add up). Without an axis, the
        flattened tensor is rolled and the shape kept. As ``numpy.roll`` and ``torch.roll``."""
        if axis is None:
            if not isinstance(shifts, numbers.Integral):
                raise ValueError(f"roll: without dims, shifts must be one int, got {shifts!r}")
            return ops.Roll.apply(self, shifts=int(shifts), axis=None)
        shifts_t = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        if len(shifts_t) != len(axes) or not axes:
            raise ValueError(f"roll: shifts {shifts!r} and dims {axis!r} must have the same length, as in PyTorch")
        shifts_t = tuple(check_int("roll", "shifts", s, low=None) for s in shifts_t)
        return ops.Roll.apply(self, shifts=shifts_t, axis=tuple(axis_arg(a, self.ndim) for a in axes))

    def t(self):
        """The transpose of a matrix (axes 0 and 1 exchanged); a 0-d or 1-d tensor is returned as it
        is, as PyTorch's ``t()``, which refuses more than 2 dimensions."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got shape {self.shape}; "
                             "permute or swapaxes exchange axes of larger ones")
        return self.permute(1, 0) if self.ndim == 2 else self

    # ---------------------------------------------------------------- indexing and sorting
    def __getitem__(self, index):
        """NumPy indexing; integer-array indices may repeat (their gradients accumulate)."""
        items = index if isinstance(index, tuple) else (index,)
        items = tuple(self._index_array(i) for i in items)
        return ops.Index.apply(self, index=items if isinstance(index, tuple) else items[0])

    def _index_array(self, i):
        if isinstance(i, Tensor):  # index tensors follow the data, as host arrays do
            i = i._data
        if isinstance(i, list) or backend.device_of(i) not in (None, self.device):
            return backend.to_device(i, self.device)
        return i

    def _index(self, op, index, axis):
        """``index`` (tensor, array or list) as an integer array on this tensor's device with as
        many axes, its values in [-n, n) for the n elements along ``axis``, made >= 0."""
        idx = backend.to_device(index._data if isinstance(index, Tensor) else index, self.device)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim != self.ndim:  # PyTorch: a RuntimeError; ShapeError is also the ValueError it was
            raise ShapeError(f"{op}: index of shape {idx.shape} for a tensor of shape {self.shape}: they "
                             "need the same number of axes")
        n = self.shape[axis]
        if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
            bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
            raise IndexBoundsError(f"{op}: index {bad} is out of range for axis {axis} of size {n} "
                                   f"(shape {self.shape})")
        return idx % n if n else idx

    @pytorch_kwargs
    def take_along_axis(self, indices, axis):
        """``numpy.take_along_axis``: out[..., i, ...] = x[..., indices[..., i, ...], ...] along
        ``axis`` (None: of the flattened tensor); ``indices`` broadcasts against the tensor on the
        other axes. Repeated indices accumulate their gradients."""
        if axis is None:
            return self.reshape(-1).take_along_axis(indices, 0)
        axis = axis_arg(axis, self.ndim)
        idx = self._index("take_along_axis", indices, axis)
        pairs = [(m, n) for a, (m, n) in enumerate(zip(idx.shape, self.shape)) if a != axis]
        if any(m != n and 1 not in (m, n) for m, n in pairs):
            raise ValueError(f"take_along_axis: indices of shape {idx.shape} do not broadcast against shape "
                             f"{self.shape} outside axis {axis}")
        shape = tuple(m if a == axis or n == 1 else n for a, (m, n) in enumerate(zip(idx.shape, self.shape)))
        xp = xp_of(idx)
        return ops.Gather.apply(self, grid=_grid(xp, xp.broadcast_to(idx, shape), axis, self.shape))

    @pytorch_kwargs
    def gather(self, axis, index):
        """PyTorch's gather: out[i][j] = x[index[i][j]][j] for axis 0 (likewise for others); ``index``
        has as many axes as the tensor and no side larger than it outside ``axis`` (no broadcasting)."""
        axis = axis_arg(axis, self.ndim)
        idx = self._index("gather", index, axis)
        self._check_fits("gather", "index", idx.shape, self.shape, axis)
        return ops.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, idx.shape))

    @pytorch_kwargs
    def scatter_add(self, axis, index, src):
        """PyTorch's scatter_add: a copy of the tensor with out[index[i][j]][j] += src[i][j] for
        axis 0 (likewise for others), repeated indices accumulating. ``index`` fits inside ``src``
        and, outside ``axis``, inside the tensor; ``src`` has the tensor's dtype. Differentiable in
        both the tensor and ``src``."""
        axis = axis_arg(axis, self.ndim)
        idx = self._index("scatter_add", index, axis)
        src = self._lift(src)
        if src.dtype != self.dtype or src.ndim != self.ndim:
            raise TypeError(f"scatter_add: src of shape {src.shape} and dtype {src.dtype} for a tensor of "
                            f"shape {self.shape} and dtype {self.dtype}: it needs the same dtype and number "
                            "of axes")
        self._check_fits("scatter_add", "index", idx.shape, src.shape, None)
        self._check_fits("scatter_add", "index", idx.shape, self.shape, axis)
        if src.shape != idx.shape:
            src = ops.Slice.apply(src, index=tuple(slice(0, m) for m in idx.shape))
        return ops.ScatterAdd.apply(self, src, grid=_grid(xp_of(idx), idx, axis, idx.shape))

    @staticmethod
    def _check_fits(op, name, shape, outer, axis):
        if any(m > n for a, (m, n) in enumerate(zip(shape, outer)) if a != axis):
            raise ValueError(f"{op}: {name} of shape {shape} does not fit inside shape {outer}"
                             + ("" if axis is None else f" outside axis {axis}"))

    def _argsort(self, axis, descending):
        """Stable sorting indices along ``axis``; descending keeps equal elements in their order."""
        xp = xp_of(self._data)
        # CuPy's sort is always stable, and older CuPy takes no ``kind``
        kind = {} if self.device == "cuda" else {"kind": "stable"}
        if not descending:
            return xp.argsort(self._data, axis=axis, **kind)
        # a stable ascending sort of the reversed values, reversed: descending, ties in order
        flipped = xp.argsort(xp.flip(self._data, axis), axis=axis, **kind)
        return xp.flip(self.shape[axis] - 1 - flipped, axis)

    @pytorch_kwargs
    def argsort(self, axis=-1, descending=False):
        """Indices (int64) that sort the tensor along ``axis``; stable (equal elements keep their
        order). Not differentiable."""
        return self._wrap(self._argsort(axis_arg(axis, self.ndim), descending), self.device)

    @pytorch_kwargs
    def sort(self, axis=-1, descending=False, stable=True):
        """``SortResult(values, indices)`` along ``axis``, as PyTorch's sort (NumPy's ``ndarray.sort``
        sorts in place; ``t.sort().values`` is ``numpy.sort``). The sort is always stable (``stable``
        is accepted for PyTorch). The values are differentiable, the indices are not."""
        axis = axis_arg(axis, self.ndim)
        idx = self._argsort(axis, descending)
        values = ops.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, self.shape))
        return SortResult(values, self._wrap(idx, self.device))

    @pytorch_kwargs
    def topk(self, k, axis=-1, largest=True, sorted=True):  # `sorted`: PyTorch's name
        """``SortResult(values, indices)`` of the ``k`` largest (or smallest) elements along ``axis``,
        always in sorted order (``sorted`` is accepted for PyTorch); equal elements come in their
        order. The values are differentiable, the indices are not."""
        axis = axis_arg(axis, self.ndim)
        k = check_int("topk", "k", k, low=0, high=self.shape[axis])
        idx = self._argsort(axis, largest)[(slice(None),) * axis + (slice(0, k),)]
        values = ops.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, self.shape))
        return SortResult(values, self._wrap(idx, self.device))

    @pytorch_kwargs
    def index_select(self, axis, index):
        """The entries at ``index`` along ``axis``, as PyTorch's index_select: ``index`` is a 1-D (or
        0-d) integer tensor, array or list with values in [0, n) (no negative ones, as PyTorch);
        the axis keeps its place with len(index) entries. Repeated indices accumulate their gradients."""
        axis = axis_arg(axis, self.ndim)
        idx = backend.to_device(index._data if isinstance(index, Tensor) else index, self.device)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"index_select: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim > 1:
            raise ValueError(f"index_select: index must be a vector (1-d or 0-d), got shape {idx.shape}")
        n = self.shape[axis]
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
            bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
            raise IndexError(f"index_select: index {bad} is out of range for axis {axis} of size {n} "
                             f"(shape {self.shape}); it must be in [0, {n})")
        return ops.Index.apply(self, index=(slice(None),) * axis + (idx.reshape(-1),))

    def masked_fill(self, mask, value):
        """A copy with ``value`` where the bool ``mask`` (broadcast against the tensor) is True, as
        PyTorch's masked_fill (``scores.masked_fill(mask == 0, float("-inf"))``). ``value`` is a
        number or a 0-d tensor, cast to this tensor's dtype; the gradient flows to the tensor where
        the mask is False and, from a 0-d tensor value, to it where the mask is True."""
        if isinstance(mask, Tensor) and mask.device != self.device:
            raise backend.device_error("masked_fill", self.device, mask.device)
        cond = backend.to_device(mask._data if isinstance(mask, Tensor) else mask, self.device)
        if cond.dtype != np.bool_:
            raise TypeError(f"masked_fill: the mask must be a bool tensor, got dtype {cond.dtype} (PyTorch "
                            "refuses other masks too); compare to make one, e.g. mask == 0")
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(f"masked_fill: a tensor value must be 0-d, got shape {value.shape}")
            fill = value.astype(self.dtype)
        elif isinstance(value, (numbers.Number, np.generic)) and not isinstance(value, complex):
            fill = Tensor._wrap(xp_of(self._data).asarray(value, dtype=self.dtype), self.device)
        else:
            raise TypeError(f"masked_fill: value must be a number or a 0-d tensor, got {type(value).__name__}")
        return ops.Where.apply(fill, self, cond=cond)

    def multinomial(self, num_samples, replacement=False):
        """Category indices (int64) drawn from the weights in this tensor, as PyTorch's multinomial:
        a 1-D tensor of k non-negative weights (not necessarily summing to 1) gives ``num_samples``
        indices, a 2-D one ``num_samples`` per row, rows drawn independently. With ``replacement``
        every draw is independent; without, no index repeats in a row (``num_samples`` <= k), the
        draw order is that of drawing one by one among the categories left, and categories of weight
        0 come only after all others. The draws come from the device's generator, seeded by
        ``tl.manual_seed``. Not differentiable."""
        if self.ndim not in (1, 2):
            raise ValueError(f"multinomial: the weights must be 1-d or 2-d (one row per distribution), got "
                             f"shape {self.shape}")
        if not is_float(self.dtype):
            raise TypeError(f"multinomial: the weights must be floats, got dtype {self.dtype}")
        num_samples = check_int("multinomial", "num_samples", num_samples)
        replacement = check_bool("multinomial", "replacement", replacement)
        w = self._data.reshape(1, -1) if self.ndim == 1 else self._data
        xp = xp_of(w)
        if w.size and bool(xp.any(~xp.isfinite(w) | (w < 0))):
            raise ValueError("multinomial: the weights contain inf, nan or a number < 0")
        if bool(xp.any(w.astype(np.float64).sum(axis=1) <= 0)):
            raise ValueError("multinomial: a row of weights sums to 0: it is not a distribution")
        if not replacement and num_samples > w.shape[1]:
            raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                             f"{w.shape[1]} categories; pass replacement=True to draw with replacement")
        out = backend.multinomial(w, num_samples, replacement)
        return self._wrap(out if self.ndim == 2 else out[0], self.device)

    # ---------------------------------------------------------------- matmul
    def matmul(self, other):
        """``self @ other`` with NumPy's rules (1-D operands, broadcast batch axes)."""
        x, y = self._pair(other)
        if x.ndim == 0 or y.ndim == 0:
            raise ShapeError(f"matmul: 0-d operands are not allowed (shapes {x.shape} and {y.shape})")
        k_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != k_y:
            raise ShapeError(f"matmul: shapes {x.shape} and {y.shape} do not align ({x.shape[-1]} != {k_y})")
        return ops.Matmul.apply(x, y)

    def __matmul__(self, other): return self.matmul(other)
    def __rmatmul__(self, other): return self._lift(other).matmul(self)

    def mm(self, mat2):
        """The matrix product of two matrices, as PyTorch's ``mm``: both 2-D (no broadcasting and no
        vectors; ``matmul`` takes those), (n, m) @ (m, p)."""
        other = self._lift(mat2)
        if self.ndim != 2 or other.ndim != 2:
            raise ShapeError(f"mm: both operands must be matrices (2-d), got shapes {self.shape} and {other.shape}")
        if self.shape[1] != other.shape[0]:
            raise ShapeError(f"mm: shapes {self.shape} and {other.shape} cannot be multiplied "
                             f"({self.shape[1]} != {other.shape[0]})")
        return self.matmul(other)

    def bmm(self, mat2):
        """Batched matrix products, as PyTorch's ``bmm``: (b, n, m) @ (b, m, p) -> (b, n, p), both 3-D
        with the same batch size b (no broadcasting; ``matmul`` broadcasts)."""
        other = self._lift(mat2)
        if self.ndim != 3 or other.ndim != 3:
            raise ShapeError(f"bmm: both operands must be 3-d batches of matrices, got shapes {self.shape} "
                             f"and {other.shape}")
        if other.shape[:2] != (self.shape[0], self.shape[2]):
            raise ShapeError(f"bmm: shapes {self.shape} and {other.shape} do not fit: the second must be "
                             f"({self.shape[0]}, {self.shape[2]}, p)")
        return self.matmul(other)

    def dot(self, other):
        """The inner product of two 1-D tensors of one length, as PyTorch's ``dot`` (a 0-d tensor);
        other shapes are a ``ShapeError`` (``matmul`` takes those)."""
        other = self._lift(other)
        if self.ndim != 1 or other.ndim != 1 or self.shape != other.shape:
            raise ShapeError(f"dot: expects two 1-d tensors of one length, got shapes {self.shape} and {other.shape}")
        return self.matmul(other)

    # ---------------------------------------------------------------- conversion
    def to(self, *args, device=None, dtype=None, non_blocking=False):
        """PyTorch's ``to``: ``t.to(device)``, ``t.to(dtype)``, ``t.to(device, dtype)``, ``t.to(other)``
        (other's device and dtype), or the keywords ``device=``, ``dtype=``. A device is "cpu",
        "cuda" or "strict"; a dtype a NumPy dtype or type (``np.float64``), its name ("float64") or
        ``tl.float64``. The cast is ``astype`` (differentiable between floats); a move to another
        device is a copy, a new leaf. ``self`` when nothing changes. ``non_blocking`` is accepted
        for PyTorch's code and changes nothing."""
        if len(args) > 2 or (len(args) == 2 and isinstance(args[0], Tensor)):
            raise TypeError(f"to: takes (device), (dtype), (device, dtype) or (other tensor), got {args!r}")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, str) and arg in backend.DEVICES:
                device = arg
            else:
                dtype = _to_dtype(arg)
        out = self if dtype is None else self.astype(_to_dtype(dtype))
        if device is None or device == out.device:
            return out
        return Tensor(out._data, requires_grad=out.requires_grad, device=device)

    def astype(self, dtype):
        """A cast; between float dtypes it is differentiable (gradients are cast back to
        this tensor's dtype), to int or bool it is cut from the graph."""
        dtype = np.dtype(dtype)
        if dtype == self.dtype:
            return self
        if not is_float(dtype):
            return Tensor._wrap(self._data.astype(dtype), self.device)
        return ops.Cast.apply(self, dtype=dtype)

    def float(self):
        """``astype(float32)``."""
        return self.astype(np.float32)

    def double(self):
        """``astype(float64)``."""
        return self.astype(np.float64)

    def half(self):
        """``astype(float16)``."""
        return self.astype(np.float16)

    def long(self):
        """``astype(int64)`` (out of the graph; floats are truncated towards 0)."""
        return self.astype(np.int64)

    def int(self):
        """``astype(int32)`` (out of the graph; floats are truncated towards 0). Python's ``int(t)``
        is something else: the one element as a Python int."""
        return self.astype(np.int32)

    def bool(self):
        """``astype(bool)``: True where nonzero (out of the graph)."""
        return self.astype(np.bool_)

    def cpu(self):
        """``to("cpu")``: self if already there, else a copy on "cpu" (a new leaf)."""
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        """``to("cuda")``: self if already there, else a copy on the GPU (a new leaf). ``device`` may
        be None or 0, the one GPU the library uses; ``non_blocking`` changes nothing."""
        if device not in (None, 0, "cuda", "cuda:0"):
            raise ValueError(f"cuda: device {device!r}: the library uses one GPU, device 'cuda' (0)")
        return self.to("cuda")

    def clone(self):
        """A copy of the values with its own memory, in the graph (the gradient passes through to
        this tensor), as PyTorch's clone: a cast to its own dtype."""
        return ops.Cast.apply(self, dtype=self.dtype)

    def contiguous(self):
        """The tensor itself: PyTorch's memory-layout call, for which there is nothing to do here
        (``view`` never fails for layout, and every op accepts any strides)."""
        return self

    def item(self):
        """The one element as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor of one element, got shape {self.shape}")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The values as a host NumPy array (a copy for "cuda")."""
        return backend.to_numpy(self._data)

    def tolist(self):
        """The values as (nested) Python lists."""
        return self.numpy().tolist()

    # ---------------------------------------------------------------- in-place writes
    def _set_data(self, value):
        array = value._data if isinstance(value, Tensor) else value
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
        array = array._data if isinstance(array, Tensor) else array
        device = backend.device_of(array)
        if device is None or isinstance(array, np.generic):
            raise TypeError(f"set_: expected a NumPy or CuPy array or a tensor, got {type(array).__name__}")
        if self.requires_grad and not is_float(array.dtype):
            raise TypeError(f"set_: a tensor that requires grad needs a float array, got dtype {array.dtype}")
        self._data, self.device = array, device
        return self

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
    def __imod__(self, other): return self._update("%=", operator.mod, other)
    def __ifloordiv__(self, other): return self._update("//=", operator.floordiv, other)
    def __iand__(self, other): return self._update("&=", operator.and_, other)
    def __ior__(self, other): return self._update("|=", operator.or_, other)
    def __ixor__(self, other): return self._update("^=", operator.xor, other)

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

    def __setitem__(self, index, value):
        """``t[index] = value``: NumPy's indexing (slices, ints, ``...``, ``None``, integer and bool
        tensors or arrays), ``value`` (a number, tensor, array or list) broadcast and cast to this
        tensor's dtype, as PyTorch does (``long_t[0] = 2.7`` writes 2). An in-place write: on a
        tensor that does not require grad, or under ``tl.no_grad()`` (as the other in-place ops);
        a graph that saved the old values refuses to run backward after it."""
        self._check_inplace("__setitem__", value)
        items = index if isinstance(index, tuple) else (index,)
        items = tuple(self._index_array(i) for i in items)
        src = self._lift(value).to(self.device)._data  # from another device, as copy_
        try:
            self._data[items if isinstance(index, tuple) else items[0]] = src
        except ValueError as e:  # a shape that does not broadcast, or a read-only (broadcast) view
            raise ValueError(f"__setitem__: cannot write a value of shape {src.shape} into "
                             f"t[{index!r}] of a tensor of shape {self.shape}: {e}") from None
        autograd.mark_written(self._data)

    # ---------------------------------------------------------------- Python and NumPy protocols
    def _scalar(self, what):
        if self._data.size != 1:
            raise ValueError(f"{what} needs a tensor of one element, got shape {self.shape}")
        return self._data.item()

    def __float__(self): return float(self._scalar("float()"))
    def __int__(self): return int(self._scalar("int()"))

    def __index__(self):
        """The one element of an integer or bool tensor as a Python int, wherever Python needs an
        index (``range(t)``, ``xs[t]``, slices), as PyTorch's; a TypeError for floats and for more
        than one element."""
        if self.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an index, got "
                            f"shape {self.shape} and dtype {self.dtype}")
        return int(self._data.item())
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
        name = NUMPY_UFUNCS.get(ufunc.__name__)
        if method != "__call__" or name is None or kwargs:
            return getattr(ufunc, method)(*_values(inputs), out=out, **kwargs) if out else \
                getattr(ufunc, method)(*_values(inputs), **kwargs)
        ref = next(t for t in inputs if isinstance(t, Tensor))
        with autograd.no_grad() if out else contextlib.nullcontext():
            operands = [ref._lift(t) for t in inputs]
            result = getattr(operands[0], name)(*operands[1:])
        if out is None:
            return result
        if len(out) != 1 or isinstance(out[0], Tensor):
            raise TypeError(f"numpy.{ufunc.__name__}: out= must be one array, not a tensor; write "
                            "into a tensor with its in-place methods (t.add_(...), t.copy_(...))")
        target = out[0]
        backend.xp_of(target).copyto(target, result.to(backend.device_of(target))._data, casting="same_kind")
        autograd.mark_written(target)
        return target

    def __array_function__(self, func, types, args, kwargs):
        name = func.__name__
        if name in _NUMPY_MODULE_FUNCTIONS:
            return _NUMPY_MODULE_FUNCTIONS[name](*args, **kwargs)
        if name in NUMPY_FUNCTIONS and isinstance(args[0], Tensor):
            if name in ("var", "std") and "correction" not in kwargs:
                kwargs = {"ddof": 0, **kwargs}  # NumPy's default divides by n, the method's (PyTorch's) by n - 1
            return getattr(args[0], NUMPY_FUNCTIONS[name])(*args[1:], **kwargs)
        return func(*_values(args), **_values(kwargs))

    def _numpy_transpose(self, axes=None):
        """``numpy.transpose(t, axes)``: ``t.permute(axes)``, or ``t.T`` without axes."""
        return self.T if axes is None else self.permute(axes)

    def __array_namespace__(self, api_version=None):
        """``xp_of(t)``: NumPy's names over Tensor operations on this tensor's device (the array
        API's hook), so that a Function's backward runs on Tensors for ``create_graph=True``."""
        return _namespace(self.device)


def where(cond, x, y):
    """Elementwise ``x`` where ``cond`` else ``y`` (broadcast); no gradient flows to ``cond``."""
    cond_device = cond.device if isinstance(cond, Tensor) else None
    ref = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else Tensor(x, device=cond_device)
    if cond_device is not None and cond_device != ref.device:
        raise backend.device_error("where", cond_device, ref.device)
    cond = cond._data if isinstance(cond, Tensor) else backend.to_device(cond, ref.device)
    x, y = ref._lift(x), ref._lift(y)
    return ops.Where.apply(x, y, cond=cond)


def tril(input, diagonal=0):  # PyTorch's argument names
    """``torch.tril(input, diagonal=0)``: ``input.tril(diagonal)``, the lower triangle of the last
    two axes (``tl.tril(tl.ones(T, T))`` is a causal mask)."""
    return _tensor_arg(input, "tril").tril(diagonal)


def triu(input, diagonal=0):
    """``torch.triu(input, diagonal=0)``: ``input.triu(diagonal)``, the upper triangle of the last two axes."""
    return _tensor_arg(input, "triu").triu(diagonal)


def _tensor_arg(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: takes a Tensor, got {type(x).__name__} (wrap it: tl.tensor(x))")
    return x


def maximum(x, y):
    """Elementwise maximum; ties share the gradient equally."""
    return x.maximum(y) if isinstance(x, Tensor) else y._lift(x).maximum(y)


def minimum(x, y):
    """Elementwise minimum; ties share the gradient equally."""
    return x.minimum(y) if isinstance(x, Tensor) else y._lift(x).minimum(y)


@pytorch_kwargs
def concatenate(tensors, axis=0):
    """Join tensors along an existing ``axis`` (``numpy.concatenate``, PyTorch's ``cat``): a list,
    tuple or other iterable of tensors; mixed dtypes give PyTorch's result dtype (a float over
    integers, the widest float), not NumPy's (float64 for float32 with int64)."""
    tensors = _promoted(tensors, "concatenate")
    return ops.Concatenate.apply(*tensors, axis=axis_arg(axis, tensors[0].ndim))


@pytorch_kwargs
def stack(tensors, axis=0):
    """Join same-shaped tensors along a new ``axis`` (``numpy.stack``), dtypes as ``concatenate``."""
    tensors = _promoted(tensors, "stack")
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def _promoted(tensors, op):
    """``tensors`` (an iterable, not one tensor) as a list of tensors of one dtype, PyTorch's: the
    widest float if there is a float, else NumPy's result type of the integers and bools."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: takes a sequence of tensors, e.g. tl.{op}([a, b]), got one tensor")
    tensors = list(tensors)
    ref = next((t for t in tensors if isinstance(t, Tensor)), None)
    if ref is None:
        raise ValueError(f"{op} needs at least one tensor" if not tensors else f"{op}: takes tensors, got "
                         f"{', '.join(sorted({type(t).__name__ for t in tensors}))}")
    tensors = [ref._lift(t) for t in tensors]
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        floats = [d for d in dtypes if is_float(d)]
        target = max(floats, key=lambda d: d.itemsize) if floats else np.result_type(*dtypes)
        tensors = [t.astype(target) for t in tensors]
    return tensors


def einsum(equation, *operands):
    """Einstein summation, as ``torch.einsum`` and ``numpy.einsum``: ``einsum("ij,jk->ik", a, b)``
    is ``a @ b``, ``einsum("bhqd,bhkd->bhqk", q, k)`` attention scores, ``einsum("ii", a)`` the trace.
    Subscripts are letters, one per axis; ``...`` stands for the leading axes (broadcast between
    operands), and without ``->`` the output is ``...`` then the letters used once, in alphabetical
    order. Letters (and ``...`` axes) left out of the output are summed over. The operands may also
    come as one list. Differentiable in every operand; dtypes mix as in ``concatenate``."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string such as 'ij,jk->ik', got {equation!r}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = _promoted(operands, "einsum")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    subscripts = lhs.split(",")
    if len(subscripts) != len(tensors):
        raise ValueError(f"einsum: {equation!r} has subscripts for {len(subscripts)} operand(s), got "
                         f"{len(tensors)}")
    letters = [s.replace("...", "") for s in subscripts + [rhs]]
    if not all(c.isascii() and c.isalpha() for c in "".join(letters)):
        raise ValueError(f"einsum: {equation!r}: subscripts are letters a-z, A-Z and '...' (at most once each)")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in "".join(letters)]
    spans = []  # the number of axes each operand's '...' stands for
    for i, (s, named, t) in enumerate(zip(subscripts, letters, tensors)):
        if s.count("...") > 1 or (s.count("...") == 0 and len(named) != t.ndim) or len(named) > t.ndim:
            raise ValueError(f"einsum: operand {i} has shape {t.shape}, which subscripts {s!r} do not fit "
                             f"(one letter per axis, '...' for the others)")
        spans.append(t.ndim - len(named) if "..." in s else 0)
    ellipsis = "".join(free[:max(spans, default=0)])  # right-aligned: they broadcast as shapes do
    inputs = tuple(s.replace("...", ellipsis[len(ellipsis) - n:]) for s, n in zip(subscripts, spans))
    if arrow:
        if rhs.count("...") > 1 or len(set(letters[-1])) != len(letters[-1]) \
                or not set(letters[-1]) <= set("".join(letters[:-1])):
            raise ValueError(f"einsum: {equation!r}: each output letter must appear once, and in an operand")
        output = rhs.replace("...", ellipsis)
    else:
        once = [c for c in sorted(set("".join(letters[:-1]))) if "".join(letters[:-1]).count(c) == 1]
        output = ellipsis + "".join(once)
    return ops.Einsum.apply(*tensors, inputs=inputs, output=output)


# NumPy function name -> the function above that takes the same arguments (``__array_function__``)
_NUMPY_MODULE_FUNCTIONS = {"concatenate": concatenate, "stack": stack, "where": where, "einsum": einsum}


class TensorNamespace:
    """NumPy's names over Tensor operations, as ``xp_of(t)`` gives it for a Tensor ``t`` (its
    ``__array_namespace__``): a Function's ``forward`` and ``backward``, written with
    ``xp = xp_of(x)``, run on Tensors with it and record a graph, which ``create_graph=True`` needs.

    Functions come from the NumPy-protocol tables (``NUMPY_UFUNCS``, ``NUMPY_FUNCTIONS``: NumPy's
    meanings) and the few below. Constructors (``zeros``, ``ones``, ``eye``, ...) make constants
    on the namespace's device. ``out=`` is accepted and ignored: the result is a new Tensor, so
    code written ``out = xp.add(out, b, out=out)`` updates an array in place and a Tensor
    functionally. dtypes and constants (``xp.inf``, ``xp.float32``) are the backend's, and so is
    ``arange``'s result (an index).
    """

    def __init__(self, device):
        self.device, self._xp = device, backend.get_xp(device)

    def __getattr__(self, name):
        if name in NUMPY_UFUNCS:
            method = NUMPY_UFUNCS[name]

            def ufunc(*args, out=None):
                ref = next((a for a in args if isinstance(a, Tensor)), None)
                if ref is None:  # constants only: the backend's ufunc
                    return getattr(self._xp, name)(*args)
                operands = [ref._lift(a) for a in args]
                return getattr(operands[0], method)(*operands[1:])

            return ufunc
        if name in NUMPY_FUNCTIONS:
            method = NUMPY_FUNCTIONS[name]
            return lambda x, *args, out=None, **kwargs: getattr(x, method)(*args, **kwargs)
        if name in _NUMPY_MODULE_FUNCTIONS:
            return _NUMPY_MODULE_FUNCTIONS[name]
        attr = getattr(self._xp, name)
        if callable(attr) and not isinstance(attr, type) and not hasattr(attr, "dtype"):
            raise AttributeError(f"xp_of(tensor).{name}: NumPy's {name} has no Tensor counterpart, so it "
                                 "cannot run in a create_graph=True backward")
        return attr  # a dtype or a constant

    def _const(self, array):
        return Tensor._wrap(array, self.device)

    def zeros(self, shape, dtype=None):
        """A constant Tensor of zeros (float32 by default)."""
        return self._const(self._xp.zeros(shape, dtype=dtype or backend.DEFAULT_FLOAT))

    empty = zeros  # a Tensor is never written into: empty is zeros (and documented by it)

    def ones(self, shape, dtype=None):
        """A constant Tensor of ones (float32 by default)."""
        return self._const(self._xp.ones(shape, dtype=dtype or backend.DEFAULT_FLOAT))

    def full(self, shape, value, dtype=None):
        """A constant Tensor filled with ``value``."""
        return self._const(self._xp.full(shape, value, dtype=dtype or backend.DEFAULT_FLOAT))

    def eye(self, n, dtype=None):
        """The constant n x n identity."""
        return self._const(self._xp.eye(n, dtype=dtype or backend.DEFAULT_FLOAT))

    def arange(self, *args, **kwargs):
        """``numpy.arange`` as a backend array (an index, not data)."""
        return self._xp.arange(*args, **kwargs)

    def zeros_like(self, x, dtype=None):
        """Constant zeros of ``x``'s shape and dtype."""
        return self.zeros(x.shape, dtype or x.dtype)

    def ones_like(self, x, dtype=None):
        """Constant ones of ``x``'s shape and dtype."""
        return self.ones(x.shape, dtype or x.dtype)

    def asarray(self, x, dtype=None):
        """``x`` as a Tensor on this device (a Tensor of the dtype as it is)."""
        return x if isinstance(x, Tensor) and dtype in (None, x.dtype) else Tensor(x, dtype=dtype, device=self.device)

    def copy(self, x):
        """``x`` itself: Tensors in a graph are never written in place."""
        return x

    def broadcast_to(self, x, shape):
        """``x.expand(shape)``."""
        return x.expand(shape)

    def stack(self, xs, axis=0):
        """``tl.stack(xs, axis)``."""
        return stack(xs, axis)

    def einsum(self, subscripts, *operands, optimize=False):
        """``tl.einsum``; NumPy's ``optimize`` is ignored."""
        return einsum(subscripts, *operands)

    def hypot(self, x, y):
        """sqrt(x^2 + y^2)."""
        ref = x if isinstance(x, Tensor) else y
        x, y = ref._lift(x), ref._lift(y)
        return (x * x + y * y).sqrt()

    def cumprod(self, x, axis):
        """Running product along ``axis`` by multiplication, one slice at a time (exact with zeros)."""
        axis = axis % x.ndim
        pieces = [x.narrow(axis, 0, 1)]
        for i in range(1, x.shape[axis]):
            pieces.append(pieces[-1] * x.narrow(axis, i, 1))
        return concatenate(pieces, axis)


_NAMESPACES: dict = {}


def _namespace(device):
    """The one ``TensorNamespace`` of ``device``."""
    ns = _NAMESPACES.get(device)
    if ns is None:
        ns = _NAMESPACES[device] = TensorNamespace(device)
    return ns
