"""Reductions, shape changes, sorting and indexing along an axis beyond the core ones: the
``ShapeMethods`` mixin of Tensor. Each method is one primitive of ``ops_shape`` (or ``ops``)
or a composite of existing ops.

Where NumPy and PyTorch mean different things by one name, NumPy's meaning is kept and the
docstring says so: ``repeat`` repeats elements (PyTorch's ``repeat`` tiles: ``tile`` here),
``std`` divides by n (PyTorch's by n - 1 by default), ``cumsum()`` without an axis runs over
the flattened tensor. Names only PyTorch has (``gather``, ``scatter_add``, ``split``, ``chunk``,
``narrow``, ``topk``, ``sort`` returning values and indices) keep PyTorch's meaning.
"""
from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, NamedTuple

import numpy as np  # host-side argument checks only; arrays come from the backend

from . import backend, ops, ops_shape
from .backend import xp_of
from .checks import axes_arg, axis_arg, check_choice, check_int, check_real, pytorch_kwargs, varargs


class SortResult(NamedTuple):
    """``(values, indices)`` of ``sort`` and ``topk``, as PyTorch's: unpack it or use the fields.
    The values are in the graph; the indices (int64) are not."""

    values: Any
    indices: Any


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


class ShapeMethods:
    """Reductions, shape changes, sorting and indexing along an axis (a mixin of Tensor)."""

    __slots__ = ()

    # ------------------------------------------------------------ reductions
    @pytorch_kwargs
    def cumsum(self, axis=None):
        """Running sum along ``axis``; without one, of the flattened tensor (NumPy's default;
        PyTorch requires ``dim``)."""
        if axis is None:
            return self.reshape(-1).cumsum(0)
        return ops_shape.Cumsum.apply(self, axis=axis_arg(axis, self.ndim))

    @pytorch_kwargs
    def prod(self, axis=None, keepdims=False):
        """Product over ``axis`` (int, tuple or None for all); its gradient is exact where
        elements are 0."""
        return ops_shape.Prod.apply(self, axis=axes_arg(axis, self.ndim), keepdims=keepdims)

    @pytorch_kwargs(correction="ddof")
    def std(self, axis=None, keepdims=False, ddof=0):
        """sqrt(var(x)): by default divided by n, as NumPy's (PyTorch's default is n - 1:
        ``std(ddof=1)`` or ``correction=1``). Its gradient is infinite where it is 0."""
        return self.var(axis, keepdims=keepdims, ddof=ddof).sqrt()

    @pytorch_kwargs
    def norm(self, p=2, axis=None, keepdims=False):
        """The vector p-norm of the elements over ``axis`` (all by default): p = 2 (or "fro"),
        1, inf (max |x|) or -inf (min |x|). Over several axes it is the norm of their elements
        together (PyTorch's ``vector_norm``), not NumPy's matrix norm. At 0 the gradient is 0."""
        axes = axes_arg(axis, self.ndim)
        if isinstance(p, bool) or p not in (2, "fro", 1, math.inf, -math.inf):
            raise ValueError(f"norm: p must be 1, 2, inf, -inf or 'fro', got {p!r}")
        if p in (2, "fro"):
            return ops_shape.Norm2.apply(self, axis=axes, keepdims=keepdims)
        if p == 1:
            return self.abs().sum(axes, keepdims=keepdims)
        return self.abs().max(axes, keepdims) if p > 0 else self.abs().min(axes, keepdims)

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

    # ------------------------------------------------------------ shape
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

    def swapaxes(self, axis1, axis2):
        """Exchange two axes (NumPy's swapaxes; PyTorch's ``transpose(dim0, dim1)``)."""
        a, b = axis_arg(axis1, self.ndim), axis_arg(axis2, self.ndim)
        axes = list(range(self.ndim))
        axes[a], axes[b] = b, a
        return self.permute(axes)

    @pytorch_kwargs(dims="axis")
    def flip(self, axis=None):
        """The elements in reverse order along ``axis`` (int or tuple; None: every axis)."""
        return ops_shape.Flip.apply(self, axis=axes_arg(axis, self.ndim))

    def pad(self, pad_width, mode="constant", constant_values=0):
        """NumPy's ``pad`` with a constant: ``pad_width`` is an int, a (before, after) pair, one pair
        per axis, or a dict {axis: (before, after)} for some axes. (PyTorch's ``F.pad`` lists
        pairs from the last axis backwards, flattened.)"""
        check_choice("pad", "mode", mode, ("constant",))
        check_real("pad", "constant_values", constant_values, finite=False)
        return ops_shape.Pad.apply(self, widths=_pad_widths(pad_width, self.shape), value=constant_values)

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

    # ------------------------------------------------------------ pieces and repeats
    @pytorch_kwargs
    def narrow(self, axis, start, length):
        """``length`` elements from ``start`` along ``axis`` (PyTorch's narrow; a basic slice)."""
        axis = axis_arg(axis, self.ndim)
        n = self.shape[axis]
        start = check_int("narrow", "start", start, low=-n, high=n)
        start += n if start < 0 else 0
        length = check_int("narrow", "length", length, low=0, high=n - start)
        return ops_shape.Slice.apply(self, index=(slice(None),) * axis + (slice(start, start + length),))

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
        PyTorch's chunk: ``split(ceil(n / chunks))``."""
        chunks = check_int("chunk", "chunks", chunks)
        return self.split(max(1, -(-self.shape[axis_arg(axis, self.ndim)] // chunks)), axis)

    @pytorch_kwargs
    def repeat(self, repeats, *clash, axis=None):
        """Each element repeated ``repeats`` times (an int, or one count per element) along
        ``axis``, or in the flattened tensor: NumPy's ``repeat``, PyTorch's ``repeat_interleave``.
        PyTorch's ``t.repeat(2, 3)`` tiles: ``t.tile(2, 3)`` here; so the axis is keyword-only,
        and a second positional argument is a TypeError that says this."""
        if clash:
            raise TypeError(f"repeat: got {(repeats, *clash)}: this is NumPy's repeat (each element "
                            "repeated; give the axis as axis=); PyTorch's t.repeat(2, 3) tiles, "
                            "t.tile(2, 3) here")
        if axis is None:
            return self.reshape(-1).repeat(repeats, axis=0)
        axis = axis_arg(axis, self.ndim)
        counts = repeats.tolist() if isinstance(repeats, ShapeMethods) else repeats
        counts = [counts] if isinstance(counts, numbers.Integral) else list(counts)
        counts = [check_int("repeat", "repeats", k, low=0) for k in counts]
        n, shape = self.shape[axis], self.shape
        if len(counts) == 1:  # the same count for all: broadcast a new axis, no gather
            wide = self.unsqueeze(axis + 1).expand(shape[:axis + 1] + (counts[0],) + shape[axis + 1:])
            return wide.reshape(shape[:axis] + (n * counts[0],) + shape[axis + 1:])
        if len(counts) != n:
            raise ValueError(f"repeat: {len(counts)} counts for the {n} elements along axis {axis} of "
                             f"shape {shape}")
        return self[(slice(None),) * axis + (np.repeat(np.arange(n), counts),)]

    @pytorch_kwargs
    def repeat_interleave(self, repeats, axis=None):
        """PyTorch's name for NumPy's ``repeat``: each element repeated along ``axis``."""
        return self.repeat(repeats, axis=axis)

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

    # ------------------------------------------------------------ along an axis, by index
    def _index(self, op, index, axis):
        """``index`` (tensor, array or list) as an integer array on this tensor's device with as
        many axes, its values in [-n, n) for the n elements along ``axis``, made >= 0."""
        idx = backend.to_device(index._data if isinstance(index, ShapeMethods) else index, self.device)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must hold integers, got dtype {idx.dtype}")
        if idx.ndim != self.ndim:
            raise ValueError(f"{op}: index of shape {idx.shape} for a tensor of shape {self.shape}: they "
                             "need the same number of axes")
        n = self.shape[axis]
        if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
            bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
            raise IndexError(f"{op}: index {bad} is out of range for axis {axis} of size {n} "
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
        return ops_shape.Gather.apply(self, grid=_grid(xp, xp.broadcast_to(idx, shape), axis, self.shape))

    @pytorch_kwargs
    def gather(self, axis, index):
        """PyTorch's gather: out[i][j] = x[index[i][j]][j] for axis 0 (likewise for others); ``index``
        has as many axes as the tensor and no side larger than it outside ``axis`` (no broadcasting)."""
        axis = axis_arg(axis, self.ndim)
        idx = self._index("gather", index, axis)
        self._check_fits("gather", "index", idx.shape, self.shape, axis)
        return ops_shape.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, idx.shape))

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
            src = ops_shape.Slice.apply(src, index=tuple(slice(0, m) for m in idx.shape))
        return ops_shape.ScatterAdd.apply(self, src, grid=_grid(xp_of(idx), idx, axis, idx.shape))

    @staticmethod
    def _check_fits(op, name, shape, outer, axis):
        if any(m > n for a, (m, n) in enumerate(zip(shape, outer)) if a != axis):
            raise ValueError(f"{op}: {name} of shape {shape} does not fit inside shape {outer}"
                             + ("" if axis is None else f" outside axis {axis}"))

    # ------------------------------------------------------------ sorting
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
        values = ops_shape.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, self.shape))
        return SortResult(values, self._wrap(idx, self.device))

    @pytorch_kwargs
    def topk(self, k, axis=-1, largest=True, sorted=True):  # `sorted`: PyTorch's name
        """``SortResult(values, indices)`` of the ``k`` largest (or smallest) elements along ``axis``,
        always in sorted order (``sorted`` is accepted for PyTorch); equal elements come in their
        order. The values are differentiable, the indices are not."""
        axis = axis_arg(axis, self.ndim)
        k = check_int("topk", "k", k, low=0, high=self.shape[axis])
        idx = self._argsort(axis, largest)[(slice(None),) * axis + (slice(0, k),)]
        values = ops_shape.Gather.apply(self, grid=_grid(xp_of(idx), idx, axis, self.shape))
        return SortResult(values, self._wrap(idx, self.device))


__all__ = ["ShapeMethods", "SortResult"]
