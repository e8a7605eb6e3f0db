"""The Tensor: an array on a device plus the graph that produced it.

Primitives live in ``ops``; everything here that is not a primitive is composed
from them and has no backward of its own.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np  # dtypes and Python-scalar checks only; arrays come from the backend

from . import autograd, backend, ops
from .backend import xp_of
from .checks import axes_arg, axis_arg, pytorch_kwargs, varargs
from .inplace import InPlace, is_float
from .interop import Interop
from .math_methods import MathMethods
from .shape_methods import ShapeMethods
from .torch_names import TorchNames


class Tensor(InPlace, Interop, MathMethods, ShapeMethods, TorchNames):
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
    """

    __slots__ = ("__weakref__", "_ctx", "_data", "device", "grad", "requires_grad")

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        if isinstance(data, Tensor):  # a tensor keeps its device, even "cpu" under another default
            device, data = device or data.device, data._data
        src = backend.device_of(data)
        device = device or (src if src not in (None, "cpu") else backend.get_default_device())
        if dtype is None and src is None:
            probe = np.asarray(data)
            dtype = backend.DEFAULT_FLOAT if probe.dtype.kind == "f" else probe.dtype
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

    # ------------------------------------------------------------ attributes
    # attrgetter: read in C, these are the most used attributes of all
    shape = property(operator.attrgetter("_data.shape"), doc="The shape, a tuple of ints.")
    ndim = property(operator.attrgetter("_data.ndim"), doc="The number of axes.")
    dtype = property(operator.attrgetter("_data.dtype"), doc="The NumPy dtype of the elements.")
    is_leaf = property(lambda self: self._ctx is None, doc="True unless made by an op that records a graph.")
    T = property(lambda self: self.transpose(), doc="The axes reversed, as NumPy's ``a.T``.")

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

    # ------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        """Mark this tensor (a leaf) as one whose gradient ``backward()`` computes; float only."""
        if requires_grad and not is_float(self.dtype):
            raise TypeError(f"only float tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._wrap(self._data, self.device)

    def to(self, device):
        """A copy on ``device`` (self if already there). The copy is a new leaf."""
        if device == self.device:
            return self
        return Tensor(self._data, requires_grad=self.requires_grad, device=device)

    def backward(self, grad=None, retain_graph=False):
        """Accumulate the gradient of this tensor into ``.grad`` of every leaf that requires grad.

        ``grad`` (d(loss)/d(self)) may be omitted only for a one-element tensor.
        The graph is freed afterwards unless ``retain_graph``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph)")
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward() without grad needs a one-element output, got shape {self.shape}")
            grad = xp_of(self._data).ones(self.shape, dtype=self.dtype)
        else:
            grad = backend.to_device(grad._data if isinstance(grad, Tensor) else grad, self.device)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad of shape {grad.shape} for output of shape {self.shape}")
            # a copy: leaves' gradients may be views of it, and the caller may reuse its array
            grad = grad.astype(self.dtype, copy=True)
        autograd.backward(self, grad, retain_graph)

    def zero_grad(self):
        """Drop the gradient (``grad = None``)."""
        self.grad = None

    # ------------------------------------------------------------ operators
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
    def __pow__(self, other): return self._binary(ops.Pow, other)
    def __rpow__(self, other): return self._binary(ops.Pow, other, True)
    def __neg__(self): return ops.Neg.apply(self)
    def __matmul__(self, other): return self.matmul(other)
    def __rmatmul__(self, other): return self._lift(other).matmul(self)

    def _compare(self, other, op):
        other = self._lift(other)
        if other.device != self.device:  # not a Function, so apply's device check does not run
            raise backend.device_error(op.__name__, self.device, other.device)
        return Tensor._wrap(op(self._data, other._data), self.device)

    def __eq__(self, other): return self._compare(other, operator.eq)
    def __ne__(self, other): return self._compare(other, operator.ne)
    def __lt__(self, other): return self._compare(other, operator.lt)
    def __le__(self, other): return self._compare(other, operator.le)
    def __gt__(self, other): return self._compare(other, operator.gt)
    def __ge__(self, other): return self._compare(other, operator.ge)

    def matmul(self, other):
        """``self @ other`` with NumPy's rules (1-D operands, broadcast batch axes)."""
        x, y = self._pair(other)
        if x.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: 0-d operands are not allowed (shapes {x.shape} and {y.shape})")
        k_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if x.shape[-1] != k_y:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not align ({x.shape[-1]} != {k_y})")
        return ops.Matmul.apply(x, y)

    # ------------------------------------------------------------ elementwise
    def maximum(self, other):
        """Elementwise maximum (broadcast); ties share the gradient equally."""
        return self._binary(ops.Maximum, other)

    def minimum(self, other):
        """Elementwise minimum, -maximum(-x, -y); ties share the gradient equally."""
        return -(-self).maximum(-self._lift(other))

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

    # ------------------------------------------------------------ reductions
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
    def var(self, axis=None, keepdims=False, ddof=0):
        """sum((x - mean)^2) / (n - ddof): biased (ddof=0) by default, as NumPy's."""
        axes = axes_arg(axis, self.ndim)
        d = self - self.mean(axes, keepdims=True)
        return self._divide_by_count((d * d).sum(axes, keepdims=keepdims), axes, ddof)

    @pytorch_kwargs
    def max(self, axis=None, keepdims=False):
        """Maximum (values only; PyTorch's max(dim) adds indices: argmax); ties share the gradient."""
        if self._data.size == 0:
            raise ValueError(f"max of an empty tensor of shape {self.shape}")
        return ops.Max.apply(self, axis=axes_arg(axis, self.ndim), keepdims=keepdims)

    @pytorch_kwargs
    def min(self, axis=None, keepdims=False):
        """Minimum, -max(-x); tied elements share the gradient equally."""
        return -(-self).max(axis, keepdims)

    @pytorch_kwargs
    def logsumexp(self, axis=None, keepdims=False):
        """log(sum(exp(x))) = m + log(sum(exp(x - m))) with m = max(x), so it never overflows."""
        axes, xp = axes_arg(axis, self.ndim), xp_of(self._data)
        m = self._data.max(axis=axes, keepdims=True)
        m = Tensor._wrap(xp.where(xp.isfinite(m), m, 0), self.device)  # all -inf: avoid inf - inf
        out = (self - m).exp().sum(axes, keepdims=True).log() + m
        return out if keepdims else out.reshape(ops._reduced_shape(self.shape, axes))

    @pytorch_kwargs
    def softmax(self, axis=-1):
        return (self - self.logsumexp(axis, keepdims=True)).exp()

    @pytorch_kwargs
    def log_softmax(self, axis=-1):
        return self - self.logsumexp(axis, keepdims=True)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        """The same elements in ``shape`` (ints or a tuple; one may be -1)."""
        return ops.Reshape.apply(self, shape=varargs(shape))

    def permute(self, *axes):
        """The axes reordered: output axis i is input axis ``axes[i]``."""
        axes = varargs(axes)
        if len(axes) != self.ndim or any(not -self.ndim <= a < self.ndim for a in axes) \
                or len({a % self.ndim for a in axes}) != self.ndim:
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes "
                             f"of a tensor of shape {self.shape}")
        return ops.Permute.apply(self, axes=tuple(a % self.ndim for a in axes))

    def transpose(self, *axes):
        """Reverse the axes, or permute them as given: NumPy's meaning (PyTorch's swaps two: swapaxes)."""
        return self.permute(*axes) if axes else self.permute(tuple(reversed(range(self.ndim))))

    @pytorch_kwargs
    def squeeze(self, axis=None):
        axes = axes_arg(axis, self.ndim)
        if axes is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} has size {self.shape[a]}, not 1")
        return self.reshape(ops._reduced_shape(self.shape, axes))

    @pytorch_kwargs
    def unsqueeze(self, axis):
        """Insert an axis of size 1 at ``axis`` (-ndim-1 <= axis <= ndim), as ``numpy.expand_dims``."""
        axis = axis_arg(axis, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

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


def where(cond, x, y):
    """Elementwise ``x`` where ``cond`` else ``y`` (broadcast); no gradient flows to ``cond``."""
    cond_device = cond.device if isinstance(cond, Tensor) else None
    ref = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else Tensor(x, device=cond_device)
    if cond_device is not None and cond_device != ref.device:
        raise backend.device_error("where", cond_device, ref.device)
    cond = cond._data if isinstance(cond, Tensor) else backend.to_device(cond, ref.device)
    x, y = ref._lift(x), ref._lift(y)
    return ops.Where.apply(x, y, cond=cond)


def maximum(x, y):
    """Elementwise maximum; ties share the gradient equally."""
    return x.maximum(y) if isinstance(x, Tensor) else y._lift(x).maximum(y)


def minimum(x, y):
    """Elementwise minimum; ties share the gradient equally."""
    return x.minimum(y) if isinstance(x, Tensor) else y._lift(x).minimum(y)


@pytorch_kwargs
def concatenate(tensors, axis=0):
    """Join tensors along an existing ``axis`` (``numpy.concatenate``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    return ops.Concatenate.apply(*tensors, axis=axis_arg(axis, tensors[0].ndim))


@pytorch_kwargs
def stack(tensors, axis=0):
    """Join same-shaped tensors along a new ``axis`` (``numpy.stack``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)
