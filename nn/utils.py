"""Gradient clipping, PyTorch's ``nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

    loss.backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # before opt.step()
    opt.step()

Both change the ``.grad`` of the given parameters (those without one are skipped) and are
not recorded in any graph.
"""
from __future__ import annotations

import math

from tinygrad_lite import backend
from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_real
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor


def _grads(op: str, parameters) -> list:
    """The gradient arrays of ``parameters`` (a Tensor or an iterable of Tensors) that have one."""
    params = [parameters] if isinstance(parameters, Tensor) else parameters
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors, "
                        f"got {type(parameters).__name__}") from None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, got a {type(p).__name__}")
    return [p for p in params if p.grad is not None]


def _norm_type(op: str, norm_type) -> float:
    """A p > 0, or inf (also spelled "inf", as PyTorch accepts it)."""
    if isinstance(norm_type, str) and norm_type.strip().lower() in ("inf", "+inf"):
        return math.inf
    return check_real(op, "norm_type", norm_type, 0.0, low_open=True, finite=False)


def _vector_norm(g, p: float):
    """||g||_p of a gradient array as a 0-d array, in at least float32 (a float16 sum of
    squares overflows at 256)."""
    xp = xp_of(g)
    a = g.ravel() if g.dtype.itemsize >= 4 else g.ravel().astype("float32")
    if p == math.inf:
        return abs(a).max() if a.size else xp.zeros((), a.dtype)
    if p == 2:
        return xp.sqrt(xp.vdot(a, a))
    if p == 1:
        return abs(a).sum()
    return (abs(a) ** p).sum() ** (1.0 / p)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients so that their total norm is at most ``max_norm``; returns the total
    norm before clipping (a 0-d Tensor), as PyTorch's:

        total = ||(||g_1||_p, ..., ||g_k||_p)||_p     (the p-norm of all gradients as one vector)
        g <- g * min(1, max_norm / (total + 1e-6))

    ``norm_type`` p is any p > 0 or inf (max |g|). A non-finite total (a nan or inf gradient)
    raises RuntimeError when ``error_if_nonfinite``; otherwise the gradients are scaled by it
    (becoming nan), as PyTorch does. No gradients: returns 0 and changes nothing.
    """
    op = "clip_grad_norm_"
    max_norm = check_real(op, "max_norm", max_norm, 0.0)
    p = _norm_type(op, norm_type)
    params = _grads(op, parameters)
    if not params:
        return as_tensor(0.0)
    first = params[0].grad
    xp, device = xp_of(first.data), first.device
    norms = xp.stack([backend.to_device(_vector_norm(q.grad.data, p), device) for q in params])
    total = norms.max() if p == math.inf else _vector_norm(norms, p)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"{op}: the total norm of order {norm_type} of the gradients is non-finite "
                           f"({float(total)}), so they cannot be clipped; pass error_if_nonfinite=False "
                           "to scale them by it anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for q in params:
        g = q.grad
        c = backend.to_device(coef, g.device).astype(g.dtype)
        # out of place: the gradient array may be shared (a user's own assignment)
        g.data = (g.data * c).astype(g.dtype, copy=False)
    return as_tensor(total, device=device)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value], as PyTorch's; ``clip_value``
    is a finite number >= 0."""
    op = "clip_grad_value_"
    v = check_real(op, "clip_value", clip_value, 0.0)
    for q in _grads(op, parameters):
        g = q.grad
        g.data = xp_of(g.data).clip(g.data, -v, v).astype(g.dtype, copy=False)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
