"""Derivatives of whole functions, PyTorch's ``torch.autograd.functional``: ``vjp``, ``jvp``,
``jacobian``, ``hessian``, ``hvp`` and ``vhp``, with its signatures and return structures.

``func`` takes the Tensors of ``inputs`` (one Tensor or a tuple) and returns a Tensor (or a
tuple); a result mirrors them: one Tensor for one input, a tuple for a tuple. All of them come
from ``engine.grad``:

    vjp(f, x, v)   = v^T J                          one backward pass
    jvp(f, x, v)   = J v = d(u^T J v)/du            the double-vjp trick: two backward passes
                                                    (the first, u -> u^T J, is linear in u)
    jacobian(f, x) = J, one vjp per output element  (rows e_i^T J), shape out.shape + x.shape
    hvp(f, x, v)   = H v = d((df/dx) . v)/dx        two backward passes, never forming H
    hessian(f, x)  = the jacobian of df/dx          shape x.shape + x.shape

With ``create_graph=False`` the inputs are taken as fresh leaves and the results have no graph;
with ``create_graph=True`` the results can be differentiated again, also with respect to the
inputs' own graph. ``strict=True`` raises where an output does not depend on an input (PyTorch's
check), instead of giving zeros.
"""
from __future__ import annotations

from .. import backend
from .engine import enable_grad, grad


def _as_tuple(x):
    """(tuple, was_tuple)."""
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _prepare(inputs, create_graph):
    """The inputs as tensors to differentiate against: fresh leaves, or with ``create_graph``
    aliases that keep an input's own graph (so that the result depends on it)."""
    out = []
    for k, x in enumerate(inputs):
        if not hasattr(x, "requires_grad"):
            raise TypeError(f"autograd.functional: input {k} must be a Tensor, got {type(x).__name__}")
        out.append(x.reshape(x.shape) if create_graph and x.requires_grad else x.detach().requires_grad_())
    return tuple(out)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, what):
    """``grad`` with a zero Tensor (a constant) for each input that the outputs do not use."""
    used = [o for o in outputs if o.requires_grad]
    seeds = [g for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    gs = grad(used, inputs, seeds, retain_graph=True, create_graph=create_graph, allow_unused=True) \
        if used else (None,) * len(inputs)
    if strict and any(g is None for g in gs):
        k = next(k for k, g in enumerate(gs) if g is None)
        raise RuntimeError(f"autograd.functional.{what}: the output does not depend on input {k} (strict=True)")
    return tuple(x.__array_namespace__().zeros(x.shape, x.dtype) if g is None else g for x, g in zip(inputs, gs))


def _finish(ts, create_graph):
    """The results, cut from the graph unless ``create_graph``."""
    return tuple(t if create_graph else t.detach() for t in ts)


def _vectors(v, like, what):
    """``v`` (None for one-element ``like``) as a tuple of arrays or Tensors matching ``like``."""
    if v is None:
        if any(t.numel() != 1 for t in like):
            raise RuntimeError(f"autograd.functional.{what}: v is needed unless every tensor it multiplies "
                               "has a single element")
        return tuple(backend.xp_of(t._data).ones(t.shape, dtype=t.dtype) for t in like)
    vs, _ = _as_tuple(v)
    if len(vs) != len(like) or any(tuple(a.shape) != tuple(t.shape) for a, t in zip(vs, like)):
        raise ValueError(f"autograd.functional.{what}: v of shapes {[tuple(a.shape) for a in vs]} for tensors "
                         f"of shapes {[tuple(t.shape) for t in like]}")
    return vs


def _call(func, inputs, what):
    with enable_grad():
        outputs, was_tuple = _as_tuple(func(*inputs))
    if not all(hasattr(o, "requires_grad") for o in outputs):
        raise TypeError(f"autograd.functional.{what}: func must return a Tensor or a tuple of Tensors")
    return outputs, was_tuple


def _shaped(result, was_tuple):
    return result if was_tuple else result[0]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, J = d func / d inputs."""
    xs, in_tuple = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    outputs, out_tuple = _call(func, xs, "vjp")
    with enable_grad():
        gs = _grads(outputs, xs, _vectors(v, outputs, "vjp"), create_graph, strict, "vjp")
    return _shaped(_finish(outputs, create_graph), out_tuple), _shaped(_finish(gs, create_graph), in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product by the double-vjp trick (module docstring)."""
    xs, _ = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    outputs, out_tuple = _call(func, xs, "jvp")
    vs = _vectors(v, xs, "jvp")
    with enable_grad():
        # u^T J with u a dummy leaf: linear in u, so d(u^T J v)/du = J v whatever u's value
        us = tuple(o.__array_namespace__().zeros(o.shape, o.dtype).requires_grad_() for o in outputs)
        gs = _grads(outputs, xs, us, True, strict, "jvp")
        flat = [g for g in gs if g.requires_grad]
        jv = grad(flat, us, [vk for g, vk in zip(gs, vs) if g.requires_grad], retain_graph=True,
                  create_graph=create_graph, allow_unused=True) if flat else (None,) * len(us)
    jv = tuple(u.__array_namespace__().zeros(u.shape, u.dtype) if g is None else g for u, g in zip(us, jv))
    return _shaped(_finish(outputs, create_graph), out_tuple), _shaped(_finish(jv, create_graph), out_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """d func / d inputs: for one output and one input a Tensor of shape out.shape + in.shape
    (J[i..., j...] = d out[i...] / d x[j...]), a tuple over the inputs for a tuple of inputs,
    a tuple over the outputs (of those) for a tuple of outputs. One vjp per output element
    (``vectorize`` is accepted for PyTorch's signature and changes nothing)."""
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: strategy={strategy!r}: only 'reverse-mode' is implemented")
    xs, in_tuple = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    outputs, out_tuple = _call(func, xs, "jacobian")
    rows_per_output = []
    with enable_grad():
        for m, out in enumerate(outputs):
            rows = []  # rows[i][k]: d out.flat[i] / d xs[k]
            for i in range(out.numel()):
                seeds = [backend.xp_of(o._data).zeros(o.shape, dtype=o.dtype) for o in outputs]
                seeds[m].reshape(-1)[i] = 1
                rows.append(_grads(outputs, xs, seeds, create_graph, strict, "jacobian"))
            blocks = []
            for k, x in enumerate(xs):
                ns = x.__array_namespace__()
                stacked = ns.stack([r[k] for r in rows]) if rows else ns.zeros((0,) + tuple(x.shape), x.dtype)
                blocks.append(stacked.reshape(tuple(out.shape) + tuple(x.shape)))
            rows_per_output.append(_shaped(_finish(blocks, create_graph), in_tuple))
    return _shaped(tuple(rows_per_output), out_tuple)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The second derivatives of a one-element ``func``: for one input a Tensor of shape
    x.shape + x.shape, for a tuple of inputs a tuple of tuples (H[i][j] = d^2 f / dx_i dx_j)."""
    xs, in_tuple = _as_tuple(inputs)

    def gradient(*ys):
        out, _ = _call(func, ys, "hessian")
        if len(out) != 1 or out[0].numel() != 1:
            raise RuntimeError("hessian: func must return a single one-element Tensor")
        return _grads(out, ys, [None], True, strict, "hessian")

    h = jacobian(gradient, xs, create_graph=create_graph, strict=strict, strategy=outer_jacobian_strategy)
    return h if in_tuple else h[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a one-element ``func``, by two backward passes."""
    xs, in_tuple = _as_tuple(inputs)
    xs = _prepare(xs, create_graph)
    outputs, _ = _call(func, xs, "vhp")
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError("vhp: func must return a single one-element Tensor")
    vs = _vectors(v, xs, "vhp")
    with enable_grad():
        gs = _grads(outputs, xs, [None], True, strict, "vhp")
        used = [g for g in gs if g.requires_grad]
        hv = _grads(used, xs, [vk for g, vk in zip(gs, vs) if g.requires_grad], create_graph, strict, "vhp") \
            if used else _grads([], xs, [], create_graph, strict, "vhp")
    return outputs[0] if create_graph else outputs[0].detach(), _shaped(_finish(hv, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a one-element ``func``: the Hessian-vector product, without forming
    H. The Hessian of a twice continuously differentiable function is symmetric, so H v = v^T H
    (``vhp``): two backward passes, the second through the graph of the first."""
    return vhp(func, inputs, v, create_graph=create_graph, strict=strict)


__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
