"""Stochastic gradient descent: vanilla, momentum and Nesterov momentum."""
from __future__ import annotations

from collections.abc import Iterable

from tinygrad_lite.checks import check_bool, check_real

from .optimizer import Optimizer, with_options


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    ``SGD(params, lr, momentum=0, nesterov=False, weight_decay=0, dampening=0)``; the
    lecture's ``learning_rate`` (alpha) is ``lr`` and its ``rho`` is ``momentum``. With
    ``dx = grad + weight_decay * x`` (L2 regularisation, the lecture's ``reg``):

    - vanilla: ``x -= lr * dx``, i.e. :math:`x_{t+1} = x_t - \alpha \nabla f(x_t)`
      (the lecture's code writes ``x += learning_rate * dx``, a sign slip; its
      equation descends).
    - momentum, exactly the lecture's form: ``v = rho * v + dx; x -= lr * v``,
      :math:`v_{t+1} = \rho v_t + \nabla f(x_t)`, :math:`x_{t+1} = x_t - \alpha v_{t+1}`.
      This is PyTorch's SGD with ``dampening=0``; ``v`` is ``state["momentum_buffer"]``.
    - ``dampening`` (PyTorch's): ``v = rho * v + (1 - dampening) * dx`` from the second step
      on; the first step starts the buffer at ``dx`` itself, undamped, as PyTorch does.
    - Nesterov: the lecture's look-ahead form
      :math:`v_{t+1} = \rho v_t - \alpha \nabla f(x_t + \rho v_t)`, :math:`x_{t+1} = x_t + v_{t+1}`
      needs the gradient at a point the parameters are not at. With the change of
      variables :math:`\tilde x = x + \rho v` and :math:`b = -v / \alpha`, it becomes
      ``b = rho * b + dx; x_tilde -= lr * (dx + rho * b)``, with ``dx`` the gradient at
      the current parameters ``x_tilde``: PyTorch's ``nesterov=True``. The two forms
      give the same trajectory while ``lr`` is constant (tests/test_optim_properties.py);
      under a changing ``lr`` the buffer ``b`` carries no ``lr`` of its own. As in PyTorch,
      Nesterov needs ``dampening=0``.

    PyTorch's names; pass the arguments after ``lr`` by keyword (PyTorch's order differs).
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, dampening: float = 0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "nesterov": nesterov, "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if "dampening" in group:
            group["dampening"] = check_real("SGD", "dampening", group["dampening"], 0.0, 1.0)
        if "nesterov" in group:
            group["nesterov"] = check_bool("SGD", "nesterov", group["nesterov"])
        if group.get("nesterov") and not group.get("momentum"):
            raise ValueError(f"SGD: momentum must be > 0 with nesterov=True, got {group.get('momentum')!r}")
        if group.get("nesterov") and group.get("dampening"):
            raise ValueError(f"SGD: dampening must be 0 with nesterov=True, got {group.get('dampening')!r}")

    def load_state_dict(self, state_dict: dict) -> None:
        """As ``Optimizer.load_state_dict``; a state saved before ``dampening`` existed loads with it 0."""
        super().load_state_dict(with_options(state_dict, {"dampening": 0.0}))

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, rho = group["lr"], group["momentum"]
        dx = self._decayed(g, x, group["weight_decay"])
        if not rho:
            x -= self._scaled(lr, dx)
            return
        first = "momentum_buffer" not in state
        v = self._buffer(state, "momentum_buffer", x)  # the Nesterov form's b
        if first:  # v = dx, undamped (a zero buffer, so the equations' v = rho * 0 + dx)
            v += dx
        else:
            v *= rho
            v += self._scaled(1.0 - group["dampening"], dx) if group["dampening"] else dx
        if group["nesterov"]:  # x -= lr * (dx + rho * v), one term at a time
            x -= self._scaled(lr, dx)
            x -= self._scaled(lr * rho, v)
        else:
            x -= self._scaled(lr, v)
