"""Adagrad: per-parameter step sizes that shrink with each coordinate's gradient history.

It divides the step elementwise by the root of the total of the squared gradients so far, so
coordinates with large gradients take smaller steps (RMSprop, in rmsprop.py, makes that total
a leaky running mean).
"""
from __future__ import annotations

from collections.abc import Iterable

from tinygrad_lite.checks import check_real

from .optimizer import Optimizer, with_options


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): step sizes shrink with each coordinate's gradient history.

    ``Adagrad(params, lr=1e-2, eps=1e-10, weight_decay=0, initial_accumulator_value=0,
    lr_decay=0)``, the lecture's update with ``dx = grad + weight_decay * x`` and ``t`` the
    step count (``state["step"]``, starting at 1)::

        cache += dx**2                                   # state["sum"], starts at initial_accumulator_value
        x -= lr / (1 + (t - 1) * lr_decay) * dx / (sqrt(cache) + eps)

    ``cache`` never decreases, so each coordinate's effective learning rate
    ``lr / (sqrt(cache) + eps)`` never increases (``lr_decay`` shrinks it further, as
    1/t). PyTorch's Adagrad and names; pass its later arguments by keyword (the order differs).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, lr_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if "lr_decay" in group:
            group["lr_decay"] = check_real("Adagrad", "lr_decay", group["lr_decay"], 0.0)

    def load_state_dict(self, state_dict: dict) -> None:
        """As ``Optimizer.load_state_dict``; a state saved before ``lr_decay`` existed loads with it 0
        (and without a step count: the decay counts from the load)."""
        super().load_state_dict(with_options(state_dict, {"lr_decay": 0.0}))

    def _update(self, x, g, state: dict, group: dict) -> None:
        t = state["step"] = state.get("step", 0) + 1
        lr, eps = group["lr"] / (1.0 + (t - 1) * group["lr_decay"]), group["eps"]
        dx = self._decayed(g, x, group["weight_decay"])
        cache = self._buffer(state, "sum", x, group["initial_accumulator_value"])
        cache += self._scaled(1.0, dx, dx)
        x -= self._scaled(lr, dx, over=self._root(cache, eps=eps))
