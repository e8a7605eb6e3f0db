"""Stochastic gradient descent: vanilla, momentum and Nesterov momentum."""
from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer


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
            raise ValueError(f"SGD: momentum must be > 0 with nesterov=True, got {group.get('momentum')!r}")

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, rho = group["lr"], group["momentum"]
        dx = self._decayed(g, x, group["weight_decay"])
        if not rho:
            x -= self._scaled(lr, dx)
            return
        v = self._buffer(state, "momentum_buffer", x)  # the Nesterov form's b
        v *= rho
        v += dx
        if group["nesterov"]:  # x -= lr * (dx + rho * v), one term at a time
            x -= self._scaled(lr, dx)
            x -= self._scaled(lr * rho, v)
        else:
            x -= self._scaled(lr, v)
