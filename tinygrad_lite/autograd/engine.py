"""The autograd engine: Function, the backward pass, ``grad`` and the gradient modes (no_grad,
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

Gradients of gradients (``create_graph=True``). The first-order pass runs every ``backward`` on
arrays, so a gradient is a constant. With ``create_graph`` the same ``backward`` code runs on
Tensors instead: the gradient is a Tensor, and a Function that ``saves`` first runs its
``forward`` again on its input Tensors, so that everything it saves (its inputs, its output,
``x_hat``-like intermediates) is a Tensor that depends on the inputs. ``xp_of`` of a Tensor is
a namespace of NumPy's names over Tensor operations, so code written with ``xp = xp_of(x)``
records a graph, and the gradient can be differentiated again, to any order. Bool and integer
arrays a forward saves (masks, argmax indices) come out of comparisons and are constants, as they
should be. A Function whose forward or backward cannot run on Tensors (or that sets
``once_differentiable = True``) raises an error naming it when differentiated twice; it never
gives a silently wrong second derivative.
"""
from __future__ import annotations

import copy
import functools
import operator
import weakref

from .. import backend

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
    """Base class of every differentiable op. Subclass it and call ``MyOp.apply(*tensors)``.

    It is twice differentiable (``create_graph=True``) when its ``forward`` and ``backward`` are
    written with ``xp = xp_of(array)`` and operations a Tensor has (module docstring); set
    ``once_differentiable = True`` where they are not, for a clear error instead of a failed run."""

    saves = True  # False where backward needs no input or output values (no in-place check)
    once_differentiable = False  # True: differentiating its backward raises (PyTorch's @once_differentiable)

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
            ctx.stamp, ctx.kwargs = _time, kwargs  # kwargs: to run forward again for create_graph
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


def _graph(roots):
    """(ops, leaves): the nodes of the graph of ``roots`` that need a gradient, ops (nodes made by
    a Function) oldest first, so that each comes before every op that used it, and the leaves.
    Leaves use nothing, so they can all come after every op.

    Raises before any gradient is touched if part of the graph was freed."""
    ops, leaves, seen, stack = [], [], set(), []
    for root in roots:
        if id(root) not in seen:
            seen.add(id(root))
            (leaves if root._ctx is None else stack).append(root)
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


_retaining: dict = {}  # id(tensor) -> weak reference, for the non-leaves that retain_grad() was called on


def retain_grad(t) -> None:
    """Have ``backward`` store the gradient of ``t``, a tensor made by an op, in ``t.grad`` as it
    does for leaves (``Tensor.retain_grad``). The entry goes when ``t`` is collected, so that a
    new tensor given the same id is not taken for it."""
    key = id(t)
    _retaining[key] = weakref.ref(t, lambda _, key=key: _retaining.pop(key, None))


def retains_grad(t) -> bool:
    """True when ``retain_grad`` was called on ``t`` (and ``t`` is not a leaf)."""
    ref = _retaining.get(id(t))
    return ref is not None and ref() is t


def backward(root, grad, retain_graph=False, create_graph=False):
    """Accumulate d(root)/d(leaf) * grad into the ``.grad`` of every leaf that requires grad,
    and of every node that ``retain_grad`` was called on.

    ``grad`` is an array, or with ``create_graph`` a Tensor: the leaves' gradients are then
    Tensors with a graph of their own (the graph is kept, whatever ``retain_graph`` says)."""
    retained: list = []
    leaves, grads = _propagate([root], [grad], retain_graph or create_graph, create_graph, (), retained)
    handed: set = set()
    for leaf in leaves:
        g = grads.pop(id(leaf), None)
        if g is None:
            continue
        if create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        else:
            _accumulate(leaf, g, handed)
    for node, g in retained:
        if create_graph:
            node.grad = g if node.grad is None else node.grad + g
        else:  # its own array (NumPy gives 0-d results as scalars): g went on to the node's inputs
            g = backend.get_xp(node.device).array(g) if node.grad is None else node.grad._data + g
            node.grad = node._wrap(g, node.device)


def _propagate(roots, root_grads, retain_graph, create_graph, keep, retained=None):
    """(leaves, grads): the gradients of the leaves of the roots' graph and of the nodes whose
    ids are in ``keep``, by id, from the roots' gradients; arrays, or Tensors with ``create_graph``.
    With a list ``retained``, (node, gradient) of each node that ``retain_grad`` was called on
    are appended to it."""
    ops, leaves = _graph(roots)
    grads: dict = {}
    for root, g in zip(roots, root_grads):
        grads[id(root)] = g if id(root) not in grads else grads[id(root)] + g
    while ops:
        # popped, not iterated: a node (and its forward output) can be freed once handled
        node = ops.pop()
        ctx = node._ctx
        if not retain_graph:
            node._ctx = _FREED
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if keep and id(node) in keep:  # asked for (``grad``'s inputs): every contribution is in
            grads[id(node)] = g
        if _retaining and retained is not None and retains_grad(node):
            retained.append((node, g))
        if ctx.stamp < _last_write and ctx.saves:
            _check_unwritten(ctx, node)
        gxs = _differentiable_backward(ctx, g) if create_graph else ctx.backward(g)
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
    return leaves, grads


def _differentiable_backward(ctx, grad):
    """``ctx.backward`` run on Tensors (``grad`` is one): after its ``forward`` has run again on
    the input Tensors, if it saves, so that what it saved depends on them. Every gradient it
    returns must be a Tensor: an array would be a constant, a silently wrong second derivative."""
    name = type(ctx).__name__
    if ctx.once_differentiable:
        raise RuntimeError(f"{name} is differentiable only once (once_differentiable = True): its backward "
                           "cannot be differentiated, so create_graph=True cannot go through it")
    with enable_grad():
        try:
            if ctx.saves:
                ctx = copy.copy(ctx)  # the recorded node keeps its arrays
                ctx.forward(*ctx.parents, **ctx.kwargs)
            gxs = ctx.backward(grad)
        except Exception as e:
            raise RuntimeError(
                f"{name} is differentiable only once: its forward and backward could not run on Tensors "
                f"for create_graph=True ({type(e).__name__}: {e}). Write them with xp = xp_of(x) and "
                "operations a Tensor has (docs/extending.md)") from e
    for gx in gxs if isinstance(gxs, tuple) else (gxs,):
        if gx is not None and type(gx) is not type(grad):
            raise RuntimeError(f"{name}.backward returned a {type(gx).__name__}, not a Tensor, in a "
                               "create_graph=True pass: that gradient would be a constant; build it from "
                               "xp = xp_of(grad) and the saved values")
    return gxs


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """PyTorch's ``torch.autograd.grad``: the gradients of ``outputs`` (a Tensor or a sequence)
    with respect to ``inputs`` (likewise), sum_k d(outputs[k])/d(input) * grad_outputs[k], as a
    tuple with one Tensor per input; ``.grad`` attributes are left alone.

    ``grad_outputs`` may be omitted (or None) for one-element outputs. With ``create_graph`` the
    gradients have a graph of their own and can be differentiated again (Hessian-vector products:
    ``grad(g @ v, x)`` with ``g = grad(f, x, create_graph=True)[0]``). The graph is freed unless
    ``retain_graph`` (default: ``create_graph``). An input that the outputs do not depend on is
    an error unless ``allow_unused``; its gradient is then None.
    """
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    inputs = [inputs] if not isinstance(inputs, (tuple, list)) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (tuple, list)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for k, t in enumerate(inputs):
        if not getattr(t, "requires_grad", False):
            raise RuntimeError(f"grad: input {k} does not require grad: it cannot be differentiated against")
    roots, seeds = [], []
    for k, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {k} does not require grad (it has no graph)")
        seeds.append(_seed(out, g, k, create_graph))
        roots.append(out)
    retain = create_graph if retain_graph is None else retain_graph
    _, grads = _propagate(roots, seeds, retain, create_graph, {id(t) for t in inputs})
    result = []
    for k, t in enumerate(inputs):
        g = grads.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {k} (shape {t.shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
        result.append(g if g is None or create_graph else t._wrap(backend.xp_of(t._data).array(g), t.device))
    return tuple(result)


def _seed(out, g, k, create_graph):
    """The gradient that starts the backward pass at output ``out``: an array, or a Tensor with
    ``create_graph`` (ones for a one-element output when ``g`` is None)."""
    xp = backend.xp_of(out._data)
    if g is None:
        if out._data.size != 1:
            raise RuntimeError(f"grad: grad_outputs[{k}] is needed for output {k} of shape {out.shape} "
                               "(it may be omitted only for one-element outputs)")
        g = xp.ones(out.shape, dtype=out.dtype)
    elif hasattr(g, "_data"):  # a Tensor
        if g.shape != out.shape:
            raise ValueError(f"grad: grad_outputs[{k}] of shape {g.shape} for output {k} of shape {out.shape}")
        if create_graph:  # kept as it is: the result may be differentiated with respect to it too
            return g if g.dtype == out.dtype else g.astype(out.dtype)
        g = g._data
    g = backend.to_device(g, out.device)
    if g.shape != out.shape:
        raise ValueError(f"grad: grad_outputs[{k}] of shape {g.shape} for output {k} of shape {out.shape}")
    g = g.astype(out.dtype, copy=True)
    return out._wrap(g, out.device) if create_graph else g


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
