"""The autograd engine: Function, the backward pass and the gradient modes (no_grad,
enable_grad, inference_mode).

A Function is one differentiable primitive. Its ``forward`` works on raw backend
arrays and may save what ``backward`` needs on ``self``; ``backward`` takes the
gradient of the output and returns one gradient per input (None where
``self.needs_input_grad`` says none is needed). Broadcast gradients may come back
in the broadcast shape: the engine reduces them to the input's shape
(``sum_to``) and casts them to its dtype, here and nowhere else.

Gradients are read-only: ``backward`` must not write into ``grad`` or into an
array it returns after returning it, because one array may be handed to several
inputs (``Add`` returns ``grad`` twice). Arrays a ``backward`` creates itself may
be changed in place before returning. A leaf's ``.grad`` is always its own array.

In-place writes (``Tensor.add_`` and the like, optimizers' steps) call
``mark_written``. A Function that keeps arrays for its backward (``saves``) checks,
before its backward runs, that none of its inputs' or its output's memory was
written after its forward: otherwise the gradient would silently mix old and new
values, so it raises PyTorch's "modified by an inplace operation" error instead.
"""
from __future__ import annotations

import functools
import operator
import weakref

from . import backend

_grad_enabled = True


class _Freed:
    """The mark of a node whose graph was released by backward() (what its ``grad_fn`` shows)."""

    def __repr__(self):
        return "<graph freed by backward(); pass retain_graph=True to keep it>"


_FREED = _Freed()
# A clock that ticks at every recorded op and every in-place write. A graph node's stamp is
# the time it was made: an op is made after the ops whose outputs it uses, so stamps order
# a graph, and a write with a later time than a node happened after the node's forward.
_time = 0
_last_write = 0  # the time of the latest in-place write
_written: dict = {}  # id(memory owner) -> time of its last in-place write


def _owner(array):
    """The array that owns ``array``'s memory (views of one array share it)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def mark_written(*arrays) -> None:
    """Record that the memory of ``arrays`` was just changed in place."""
    global _time, _last_write
    _time += 1
    _last_write = _time
    for a in arrays:
        owner = a if a.base is None else _owner(a)
        key = id(owner)
        if key not in _written:
            try:  # forget the entry with the array; a reused id is harmless (see _check_unwritten)
                weakref.finalize(owner, _written.pop, key, None)
            except TypeError:
                pass
        _written[key] = _time


def _check_unwritten(ctx, node):
    """Raise if memory that ``ctx`` may have saved was written after ``ctx`` was made.

    An id reused by a newer array cannot give a false alarm: that array was made
    after the write, so any graph node using it has a later stamp."""
    for t in (node, *ctx.parents):
        if _written.get(id(_owner(t._data)), -1) > ctx.stamp:
            raise RuntimeError(
                f"{type(ctx).__name__}.backward: one of the tensors it saved for the gradient (shape "
                f"{t.shape}, dtype {t.dtype}) was modified by an inplace operation after the forward "
                "pass (e.g. an optimizer step or `p -= ...`); run the forward pass again after the "
                "update, or write `x = x + y` instead of `x += y` where the old value is still needed"
            )


def is_grad_enabled() -> bool:
    """False inside ``no_grad``: operations then record no graph."""
    return _grad_enabled


class _GradMode:
    """A context manager and decorator that sets whether operations record a graph (``_enabled``)
    inside it and restores the previous setting after. As a decorator it is written ``@no_grad()``
    or, as PyTorch allows too, ``@no_grad``."""

    _enabled: bool | None = None  # None: leave the setting as it is

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # used as a decorator without parentheses
        return super().__new__(cls)

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        if self._enabled is not None:
            _grad_enabled = self._enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper

    def _fresh(self):
        """A new manager of the same setting (one per call, so that calls may nest or recurse)."""
        fresh = object.__new__(type(self))
        fresh.__dict__.update(self.__dict__)
        return fresh


class no_grad(_GradMode):
    """Context manager and decorator: operations inside build no graph."""

    _enabled = False


class enable_grad(_GradMode):
    """Context manager and decorator: operations inside record a graph again, also inside
    ``no_grad`` (PyTorch's ``torch.enable_grad``)."""

    _enabled = True


class inference_mode(no_grad):
    """``no_grad`` under PyTorch's name for inference (``with tl.inference_mode():``, ``@tl.inference_mode()``);
    ``inference_mode(False)`` leaves the gradient setting as it is. Tensors made inside are ordinary
    tensors (PyTorch's inference tensors have restrictions these do not)."""

    def __init__(self, mode: bool = True):
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
        self._enabled = False if mode else None


class Function:
    """Base class of every differentiable op. Subclass it and call ``MyOp.apply(*tensors)``."""

    saves = True  # False where backward needs no input or output values (no in-place check)

    def __init__(self, tensors):
        self.needs_input_grad = tuple([t.requires_grad for t in tensors])  # list: faster than a genexpr
        self.parents = tensors

    def __repr__(self):  # as a tensor's grad_fn shows it; PyTorch's would read <MulBackward0>
        return f"<{type(self).__name__}Backward>"

    def forward(self, *arrays, **kwargs):
        """The op on the inputs' arrays (keywords from ``apply``); returns the output array
        and saves on ``self`` what ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        """d(loss)/d(input) for each input from ``grad`` = d(loss)/d(output): one array per
        input (a tuple for several), None where ``needs_input_grad`` says none is needed."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *tensors, **kwargs):
        """Run ``forward`` on the tensors' arrays and record the op for backward."""
        global _time
        device = tensors[0].device
        for t in tensors:
            if t.device != device:
                raise backend.device_error(cls.__name__, device, t.device)
        ctx = cls(tensors)
        out = ctx.forward(*[t._data for t in tensors], **kwargs)
        # no graph node without a gradient to send back: ctx (and what it saved) is dropped
        if _grad_enabled and True in ctx.needs_input_grad:
            _time += 1
            ctx.stamp = _time
            return tensors[0]._wrap(out, device, ctx)
        return tensors[0]._wrap(out, device)


def sum_to(grad, shape):
    """Sum a broadcast gradient back down to ``shape`` (the inverse of broadcasting)."""
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    return out.reshape(shape)


_FREED_MESSAGE = (
    "backward through a graph that was already freed: pass retain_graph=True "
    "to the first backward() to run backward twice through the same graph"
)


def _graph(root):
    """(ops, leaves): the nodes of root's graph that need a gradient, ops (nodes made by a
    Function) oldest first, so that each comes before every op that used it (root last),
    and the leaves. Leaves use nothing, so they can all come after every op.

    Raises before any gradient is touched if part of the graph was freed."""
    if root._ctx is None:
        return [], [root]
    ops, leaves, seen, stack = [], [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        ctx = node._ctx
        if ctx is _FREED:
            raise RuntimeError(_FREED_MESSAGE)
        ops.append(node)
        for p in ctx.parents:
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                (leaves if p._ctx is None else stack).append(p)
    ops.sort(key=_stamp)  # creation order is a topological order: no graph search needed
    return ops, leaves


_stamp = operator.attrgetter("_ctx.stamp")


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) * grad into the ``.grad`` of every leaf that requires grad."""
    ops, leaves = _graph(root)
    grads = {id(root): grad}
    while ops:
        # popped, not iterated: a node (and its forward output) can be freed once handled
        node = ops.pop()
        ctx = node._ctx
        if not retain_graph:
            node._ctx = _FREED
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if ctx.stamp < _last_write and ctx.saves:
            _check_unwritten(ctx, node)
        gxs = ctx.backward(g)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(ctx.parents):
            raise RuntimeError(f"{type(ctx).__name__}.backward returned {len(gxs)} gradient(s) for "
                               f"{len(ctx.parents)} input(s): return one per input, None where none is needed")
        for p, gx, needed in zip(ctx.parents, gxs, ctx.needs_input_grad):
            if gx is None or not needed:
                continue
            data = p._data
            if gx.shape != data.shape:
                gx = _reduce_to(ctx, p, gx, data.shape)
            if gx.dtype != data.dtype:
                gx = gx.astype(data.dtype)
            key = id(p)
            prev = grads.get(key)
            grads[key] = gx if prev is None else prev + gx  # never in place: gradients are shared
    handed: set = set()
    for leaf in leaves:
        g = grads.pop(id(leaf), None)
        if g is not None:
            _accumulate(leaf, g, handed)


def _reduce_to(ctx, p, gx, shape):
    """``gx`` summed down to the ``shape`` of input ``p``, or an error naming the Function."""
    tail = gx.shape[gx.ndim - len(shape):] if gx.ndim >= len(shape) else None
    if tail is None or any(n not in (1, m) for n, m in zip(shape, tail)):
        i = next(i for i, q in enumerate(ctx.parents) if q is p)
        raise ValueError(f"{type(ctx).__name__}.backward returned a gradient of shape {gx.shape} for "
                         f"input {i} of shape {shape}: it must have the input's shape or broadcast to it")
    return sum_to(gx, shape)


def _accumulate(leaf, g, handed):
    """Store or add ``g``, an array made during this backward pass, as ``leaf``'s gradient.

    The stored array is the leaf's own and writable (``p.grad.data *= c`` is a common
    idiom): ``g`` is copied when its memory was already given to another leaf (Add gives
    one array to both inputs; a transpose gives a view) or is a read-only broadcast view.
    Other views (a transposed weight gradient) are kept: copying them would cost a pass.
    """
    if leaf.grad is None:
        if type(g) is not type(leaf._data):  # NumPy reductions may give a scalar
            g = backend.get_xp(leaf.device).asarray(g)
        owner = g if g.base is None else _owner(g)  # fresh arrays (the common case) skip the rest
        if id(owner) in handed or owner is not g and (
                not getattr(g.flags, "writeable", True) or (0 in g.strides and g.size > 1)):
            g = owner = g.copy()
        handed.add(id(owner))
        leaf.grad = leaf._wrap(g, leaf.device)
    else:
        leaf.grad = leaf._wrap(leaf.grad._data + g, leaf.device)
