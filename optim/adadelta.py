"""Adadelta: RMSprop whose step carries the parameters' units, with no learning rate to tune."""
from __future__ import annotations

from collections.abc import Iterable

from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_real

from .optimizer import Optimizer

# Scratch roles of the helper below: after the base class's 0 (_decayed), 1 (_scaled) and
# 2 (_root), so that its arrays never alias theirs within one update.
_ROLE_NUMERATOR, _ROLE_DENOMINATOR = 3, 4


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), PyTorch's algorithm and defaults.

    ``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0)``. With
    ``dx = grad + weight_decay * x``::

        v = rho * v + (1 - rho) * dx**2                  # state["square_avg"]
        delta = sqrt(u + eps) / sqrt(v + eps) * dx       # RMS of past updates / RMS of gradients
        u = rho * u + (1 - rho) * delta**2               # state["acc_delta"]
        x -= lr * delta

    The ratio of the two running RMS values gives ``delta`` the units of ``x`` (the paper's
    point), so the paper has no learning rate: ``lr=1.0``. ``eps`` starts the steps off
    (``u`` is 0 at first) and must be > 0 here (0 would make the first step 0 / 0).
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if "rho" in group:  # PyTorch takes rho = 1 (running means that never move)
            group["rho"] = check_real("Adadelta", "rho", group["rho"], 0.0, 1.0)
        if "eps" in group:
            group["eps"] = check_real("Adadelta", "eps", group["eps"], 0.0, low_open=True)

    def _rms_ratio(self, u, v, eps: float):
        """``sqrt(u + eps) / sqrt(v + eps)`` in a scratch array of its own (two roles: the
        numerator and the denominator), as the base class's helpers write theirs."""
        xp = xp_of(u)
        out = xp.add(u, eps, out=self._scratch_like(u, _ROLE_NUMERATOR))
        xp.sqrt(out, out=out)
        den = xp.add(v, eps, out=self._scratch_like(v, _ROLE_DENOMINATOR))
        out /= xp.sqrt(den, out=den)
        return out

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        dx = self._decayed(g, x, group["weight_decay"])
        v, u = self._buffer(state, "square_avg", x), self._buffer(state, "acc_delta", x)
        v *= rho
        v += self._scaled(1.0 - rho, dx, dx)
        delta = self._rms_ratio(u, v, eps)
        delta *= dx
        u *= rho
        u += self._scaled(1.0 - rho, delta, delta)
        x -= self._scaled(lr, delta)
