"""Check analytic gradients, and the gradients of gradients, against central finite
differences in float64."""
from __future__ import annotations

import numpy as np

from .autograd import enable_grad, grad, no_grad
from .tensor import Tensor, concatenate


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences.

    ``input`` is the index of the failing input, ``skipped`` the indices of the inputs
    that were not checked (they do not require grad, or are not Tensors).
    """


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare the gradients of ``fn(*inputs)`` with central differences.

    Every input that requires grad is copied to float64. The output ``out`` is
    reduced to a scalar ``sum(out * v)`` with a fixed random ``v`` (so a
    non-scalar output is checked in a random direction), then for each element
    ``x_i``: numeric = (L(x_i + eps) - L(x_i - eps)) / (2 eps), compared with
    the analytic ``dL/dx_i`` as ``|a - n| <= atol + rtol |n|``.

    Returns True, or raises GradcheckError naming the input, the element and the
    largest error.
    """
    checked = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError(f"gradcheck: none of the {len(inputs)} inputs requires grad, so it would check "
                         "nothing; pass the tensors to check with requires_grad=True")
    skipped = _skipped_note(inputs)
    # fresh C-contiguous float64 copies: perturbing them through a flat view must reach fn
    xs = [
        Tensor(t.data.astype(np.float64, order="C"), requires_grad=True, device=t.device)
        if isinstance(t, Tensor) and t.requires_grad else t
        for t in inputs
    ]
    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    rng = np.random.default_rng(seed)
    v = Tensor(rng.standard_normal(out.shape), dtype=out.dtype, device=out.device)

    @no_grad()
    def loss():
        return float((fn(*xs) * v).sum().item())

    if out.requires_grad:
        (out * v).sum().backward()
    for k, x in enumerate(xs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: perturb in place
        for i in range(flat.size):
            orig = flat[i].item()
            flat[i] = orig + eps
            plus = loss()
            flat[i] = orig - eps
            minus = loss()
            flat[i] = orig
            numeric.reshape(-1)[i] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            where = np.unravel_index(int(err.argmax()), err.shape)
            error = GradcheckError(
                f"gradcheck failed for input {k} (shape {x.shape}) at index {tuple(map(int, where))}: "
                f"analytic {analytic[where]:.8g} vs numeric {numeric[where]:.8g} "
                f"(largest error {np.abs(analytic - numeric).max():.3g}, atol={atol}, rtol={rtol})"
                + (f"; {skipped}" if skipped else "")
            )
            error.input, error.skipped = k, [j for j in range(len(inputs)) if j not in checked]
            raise error
    return True


def gradgradcheck(fn, *inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """``gradcheck`` of the gradient of ``fn``: the second derivatives against central differences
    of the first ones (PyTorch's ``gradgradcheck``), every input in float64.

    The first gradient, a vector-Jacobian product ``g(x, v) = v^T d fn(x)/dx`` computed with
    ``create_graph=True`` for a fixed random ``v`` (or ``grad_outputs``) of the output's shape,
    is checked as a function of the inputs and of ``v`` itself, so that both the Hessian terms
    and the linearity in ``v`` of every backward are compared with finite differences.
    Returns True, or raises GradcheckError as ``gradcheck`` does.
    """
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError(f"gradgradcheck: none of the {len(inputs)} inputs requires grad, so it would check "
                         "nothing; pass the tensors to check with requires_grad=True")
    shape, device = _output_of(fn, inputs)
    if grad_outputs is None:
        v = np.random.default_rng(seed + 1).standard_normal(shape)
    else:
        v = grad_outputs.numpy() if isinstance(grad_outputs, Tensor) else np.asarray(grad_outputs)
    v = Tensor(v, dtype=np.float64, device=device, requires_grad=True)

    def first_gradient(*args):
        *xs, u = args
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        with enable_grad():  # gradcheck evaluates it under no_grad: the first pass needs a graph
            out = fn(*xs)
            if not out.requires_grad:
                return (out * 0).reshape(-1)
            gs = grad(out, wanted, grad_outputs=u, create_graph=True, allow_unused=True)
            return concatenate([(x * 0 if g is None else g).reshape(-1) for x, g in zip(wanted, gs)]
                               + [(u * 0).reshape(-1)])  # keeps u an input even where no gradient used it

    return gradcheck(first_gradient, *inputs, v, eps=eps, atol=atol, rtol=rtol, seed=seed)


def _output_of(fn, inputs):
    """(shape, device) of ``fn``'s output on float64 copies of the inputs (with a graph: ``fn``
    may itself differentiate, as a first gradient checked to the third order does)."""
    xs = [Tensor(t.data.astype(np.float64), device=t.device, requires_grad=True)
          if isinstance(t, Tensor) and t.requires_grad else t for t in inputs]
    with enable_grad():
        out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradgradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out.shape, out.device


def _skipped_note(inputs) -> str:
    """'input 1 does not require grad: not checked' (or 'inputs 1, 3 do not ...'); '' if none."""
    idx = [k for k, t in enumerate(inputs) if isinstance(t, Tensor) and not t.requires_grad]
    others = [k for k, t in enumerate(inputs) if not isinstance(t, Tensor)]
    notes = []
    if idx:
        notes.append(f"input {idx[0]} does not require grad: not checked" if len(idx) == 1 else
                     f"inputs {', '.join(map(str, idx))} do not require grad: not checked")
    if others:
        notes.append(f"input {others[0]} is not a Tensor: not checked" if len(others) == 1 else
                     f"inputs {', '.join(map(str, others))} are not Tensors: not checked")
    return "; ".join(notes)


__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
