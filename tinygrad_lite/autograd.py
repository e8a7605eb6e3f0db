"""The autograd engine: Function, the backward pass and no_grad.

A Function is one differentiable primitive. Its ``forward`` works on raw backend
arrays and may save what ``backward`` needs on ``self``; ``backward`` takes the
gradient of the output and returns one gradient per input (None where
``self.needs_input_grad`` says none is needed). Broadcast gradients may come back
in the broadcast shape: the engine reduces them to the input's shape
(``sum_to``) and casts them to its dtype, here and nowhere else.

Gradients are read-only: ``backward`` must not write into ``grad`` or into an
array it returns after returning it, because one array may be handed to several
inputs (``Add`` returns ``grad`` twice) and may become a leaf's ``.grad`` as is.
Arrays a ``backward`` creates itself may be changed in place before returning.
"""
from __future__ import annotations

import functools

from . import backend

_grad_enabled = True
_FREED = object()  # marks a node whose graph was released by backward()


def is_grad_enabled() -> bool:
    return _grad_enabled


class no_grad:
    """Context manager and decorator: operations inside build no graph."""

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        return wrapper


class Function:
    """Base class of every differentiable op. Subclass it and call ``MyOp.apply(*tensors)``."""

    def __init__(self, tensors):
        self.needs_input_grad = tuple([t.requires_grad for t in tensors])  # list: faster than a genexpr
        self.parents = tensors

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__}.backward")

    @classmethod
    def apply(cls, *tensors, **kwargs):
        """Run ``forward`` on the tensors' arrays and record the op for backward."""
        device = tensors[0].device
        for t in tensors:
            if t.device != device:
                raise backend.device_error(cls.__name__, device, t.device)
        ctx = cls(tensors)
        out = ctx.forward(*[t.data for t in tensors], **kwargs)
        # no graph node without a gradient to send back: ctx (and what it saved) is dropped
        record = _grad_enabled and True in ctx.needs_input_grad
        return tensors[0]._wrap(out, device, ctx if record else None)


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
    """(ops, leaves): the nodes of root's graph that need a gradient, ops (nodes made by
    a Function) in topological order, each after every node it uses (root last), and the
    leaves. Leaves use nothing, so they can all come after every op: only ops are sorted.

    Raises before any gradient is touched if part of the graph was freed."""
    if root._ctx is None:
        return [], [root]
    ops, leaves, seen, stack = [], [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            ops.append(node)
            continue
        if id(node) in seen:  # marked when expanded, not when pushed: that keeps the order right
            continue
        seen.add(id(node))
        ctx = node._ctx
        if ctx is _FREED:
            raise RuntimeError(_FREED_MESSAGE)
        stack.append((node, True))
        for p in ctx.parents:
            if not p.requires_grad or id(p) in seen:
                continue
            if p._ctx is None:
                seen.add(id(p))
                leaves.append(p)
            else:
                stack.append((p, False))
    return ops, leaves


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
        gxs = ctx.backward(g)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for p, gx, needed in zip(ctx.parents, gxs, ctx.needs_input_grad):
            if gx is None or not needed:
                continue
            data = p.data
            if gx.shape != data.shape:
                gx = sum_to(gx, data.shape)
                assert gx.shape == data.shape, f"{type(ctx).__name__}: gradient of shape {gx.shape}"
            if gx.dtype != data.dtype:
                gx = gx.astype(data.dtype)
            key = id(p)
            prev = grads.get(key)
            grads[key] = gx if prev is None else prev + gx  # never in place: gradients are shared
    for leaf in leaves:
        g = grads.pop(id(leaf), None)
        if g is not None:
            _accumulate(leaf, g)


def _accumulate(leaf, g):
    """Store or add ``g``, an array made during this backward pass, as ``leaf``'s gradient.

    ``g`` may be a view (a transposed or sliced gradient) or be shared with other
    leaves (Add gives one array to both inputs): that is safe because the engine
    and every Function's backward only read gradients, and a user's ``grad`` is
    copied by ``Tensor.backward()``, so nothing writes to that memory later. Copying
    every non-contiguous view would cost a full pass over e.g. a weight gradient. Only
    a broadcast view (stride 0: one element standing for many, read-only in NumPy)
    is copied, so that the leaf's gradient is an ordinary array.
    """
    if leaf.grad is None:
        g = backend.get_xp(leaf.device).asarray(g)  # NumPy reductions may give a scalar
        if 0 in g.strides and g.size > 1:
            g = g.copy()
        leaf.grad = leaf._wrap(g, leaf.device)
    else:
        leaf.grad = leaf._wrap(leaf.grad.data + g, leaf.device)
