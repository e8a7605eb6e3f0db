"""The autograd engine: Function, the backward pass and no_grad.

A Function is one differentiable primitive. Its ``forward`` works on raw backend
arrays and may save what ``backward`` needs on ``self``; ``backward`` takes the
gradient of the output and returns one gradient per input (None where
``self.needs_input_grad`` says none is needed). Broadcast gradients may come back
in the broadcast shape: the engine reduces them to the input's shape
(``sum_to``) and casts them to its dtype, here and nowhere else.
"""
from __future__ import annotations

import functools

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
        self.needs_input_grad = tuple(t.requires_grad for t in tensors)
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
                raise ValueError(
                    f"{cls.__name__}: inputs are on different devices, {device!r} and "
                    f"{t.device!r}; move them with .to(device)"
                )
        ctx = cls(tensors)
        out = ctx.forward(*[t.data for t in tensors], **kwargs)
        wrap = tensors[0]._wrap
        return wrap(out, device, ctx if _grad_enabled and any(ctx.needs_input_grad) else None)


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


def _topological_order(root):
    """Nodes that need a gradient, root first, each after every node that uses it.

    Raises before any gradient is touched if part of the graph was freed."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is _FREED:
            raise RuntimeError(_FREED_MESSAGE)
        if ctx is not None:
            stack.extend((p, False) for p in ctx.parents if p.requires_grad and id(p) not in seen)
    order.reverse()
    return order


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) * grad into the ``.grad`` of every leaf that requires grad."""
    grads = {id(root): grad}
    for node in _topological_order(root):
        g = grads.pop(id(node), None)
        ctx = node._ctx
        if ctx is None:  # a leaf
            if g is not None:
                node._accumulate_grad(g)
            continue
        if not retain_graph:
            node._ctx = _FREED
        if g is None:
            continue
        gxs = ctx.backward(g)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        for p, gx, needed in zip(ctx.parents, gxs, ctx.needs_input_grad):
            if gx is None or not needed:
                continue
            if gx.shape != p.data.shape:
                gx = sum_to(gx, p.data.shape)
                assert gx.shape == p.data.shape, f"{type(ctx).__name__}: gradient of shape {gx.shape}"
            if gx.dtype != p.data.dtype:
                gx = gx.astype(p.data.dtype)
            key = id(p)
            grads[key] = grads[key] + gx if key in grads else gx
