"""Stochastic gradient descent: vanilla, momentum and Nesterov momentum."""
from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, decayed_grad


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0)``; the lecture's
    ``learning_rate`` (alpha) is ``lr`` and its ``rho`` is ``momentum``. With
    ``dx = grad + weight_decay * x`` (L2 regularisation, the lecture's ``reg``):

    - vanilla: ``x -= lr * dx``, i.e. :math:`x_{t+1} = x_t - \alpha \nabla f(x_t)`
      (the lecture's code writes ``x += learning_rate * dx``, a sign slip; its
      equation descends).
    - momentum, exactly the lecture's form: ``v = rho * v + dx; x -= lr * v``,
      :math:`v_{t+1} = \rho v_t + \nabla f(x_t)`, :math:`x_{t+1} = x_t - \alpha v_{t+1}`.
      This is PyTorch's SGD with ``dampening=0``; ``v`` is ``state["momentum_buffer"]``.
    - Nesterov: the lecture's look-ahead form
      :math:`v_{t+1} = \rho v_t - \alpha \nabla f(x_t + \rho v_t)`, :math:`x_{t+1} = x_t + v_{t+1}`
      needs the gradient at a point the parameters are not at. With the change of
      variables :math:`\tilde x = x + \rho v` and :math:`b = -v / \alpha`, it becomes
      ``b = rho * b + dx; x_tilde -= lr * (dx + rho * b)``, with ``dx`` the gradient at
      the current parameters ``x_tilde``: PyTorch's ``nesterov=True``. The two forms
      give the same trajectory while ``lr`` is constant (tests/test_optim_properties.py);
      under a changing ``lr`` the buffer ``b`` carries no ``lr`` of its own.
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov,
                                  "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if group.get("nesterov") and not group.get("momentum"):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0, got momentum={group.get('momentum')}")

    def _hyper(self, group: dict) -> tuple:
        return (float(group["lr"]), float(group["momentum"]), float(group["weight_decay"]),
                bool(group["nesterov"]))

    # SGD is elementwise, so it is done in pieces of about this many elements: its
    # temporaries then need a scratch of one piece, not two arrays the size of the largest
    # parameter. 2^18 was the fastest piece measured in the MLP benchmark's step: smaller
    # pieces (better cache reuse) lost more to per-call overhead than they gained.
    _full_work = False
    _piece = 1 << 18

    def _update(self, x, g, slot, hyper: tuple) -> None:
        _, rho, weight_decay, _ = hyper
        v = self._buffer(slot.state, "momentum_buffer", x) if rho else None
        n_work = 2 if weight_decay else 1  # a second scratch for the weight-decayed gradient
        if slot.plan is None or slot.plan[0] != n_work:
            slot.plan = (n_work, self._pieces(x, n_work))
        xp = slot.xp
        for rows, work in slot.plan[1]:
            if rows is None:  # the whole parameter in one piece
                _step(xp, x, g, v, work, hyper)
            else:
                _step(xp, x[rows], g[rows], None if v is None else v[rows], work, hyper)

    def _pieces(self, x, n_work: int) -> list:
        """[(rows, work)]: slices of ``x``'s first axis (whole rows, so that a piece of an
        array of any layout is a view; None for all of a parameter that fits in one piece)
        and ``n_work`` scratch arrays shaped like that piece."""
        if x.ndim == 0 or x.size <= self._piece:
            return [(None, [buf[: x.size].reshape(x.shape) for buf in self._scratches(x, x.size, n_work)])]
        row = x.size // x.shape[0]
        rows = max(1, self._piece // row)
        bufs = self._scratches(x, rows * row, n_work)
        out = []
        for lo in range(0, x.shape[0], rows):
            shape = (min(rows, x.shape[0] - lo),) + x.shape[1:]
            out.append((slice(lo, lo + rows), [buf[: shape[0] * row].reshape(shape) for buf in bufs]))
        return out

    def _scratches(self, x, size: int, n: int) -> list:
        return [self._scratch(x, size, i) for i in range(n)]


def _step(xp, x, g, v, work: list, hyper: tuple) -> None:
    """The update of one piece, in place: ``x`` and ``v`` are views into the parameter and
    its momentum buffer, ``work`` holds one scratch array like ``x`` (two with weight decay)."""
    lr, rho, weight_decay, nesterov = hyper
    step = work[0]
    d = decayed_grad(x, g, weight_decay, work[1]) if weight_decay else g
    if not rho:
        xp.multiply(d, lr, out=step)
        x -= step
        return
    v *= rho
    v += d
    if nesterov:
        xp.multiply(v, rho, out=step)
        step += d
        step *= lr
    else:
        xp.multiply(v, lr, out=step)
    x -= step
