"""RMSprop: Adagrad with a leaky cache, optionally centered and with momentum.

It divides the step elementwise by the root of a running mean of squared gradients, so
coordinates with large gradients take smaller steps, and old gradients are forgotten.
"""
from __future__ import annotations

from collections.abc import Iterable

from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_bool

from .optimizer import Optimizer, with_options


class RMSprop(Optimizer):
    """RMSprop (Tieleman and Hinton): Adagrad with a leaky cache.

    ``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False)``, PyTorch's; ``alpha`` is the lecture's ``decay_rate`` (typically 0.9,
    0.99 or 0.999). With ``dx = grad + weight_decay * x``::

        cache = alpha * cache + (1 - alpha) * dx**2      # state["square_avg"]
        var = cache                                      # or, centered:
        g_avg = alpha * g_avg + (1 - alpha) * dx         #   state["grad_avg"]
        var = cache - g_avg**2                           #   a running variance of dx
        step = dx / (sqrt(var) + eps)
        b = momentum * b + step; step = b                # with momentum: state["momentum_buffer"]
        x -= lr * step

    ``centered`` divides by the gradient's running standard deviation instead of its RMS.
    ``var`` is clipped at 0: the two running means round apart, and a difference that
    should be 0 could come out below it and make the step NaN.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if "centered" in group:
            group["centered"] = check_bool("RMSprop", "centered", group["centered"])

    def load_state_dict(self, state_dict: dict) -> None:
        """As ``Optimizer.load_state_dict``; a state saved before ``momentum`` and ``centered``
        existed loads with them off."""
        super().load_state_dict(with_options(state_dict, {"momentum": 0.0, "centered": False}))

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        dx = self._decayed(g, x, group["weight_decay"])
        cache = self._buffer(state, "square_avg", x)
        cache *= alpha
        cache += self._scaled(1.0 - alpha, dx, dx)
        var = cache
        if group["centered"]:
            g_avg = self._buffer(state, "grad_avg", x)
            g_avg *= alpha
            g_avg += self._scaled(1.0 - alpha, dx)
            var = self._scaled(-1.0, g_avg, g_avg)
            var += cache
            xp_of(x).maximum(var, 0.0, out=var)
        denom = self._root(var, eps=eps)
        if not mu:
            x -= self._scaled(lr, dx, over=denom)
            return
        b = self._buffer(state, "momentum_buffer", x)
        b *= mu
        b += self._scaled(1.0, dx, over=denom)
        x -= self._scaled(lr, b)
