"""Check analytic gradients against central finite differences in float64."""
from __future__ import annotations

import numpy as np

from .autograd import no_grad
from .tensor import Tensor


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


__all__ = ["GradcheckError", "gradcheck"]
