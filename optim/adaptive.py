"""Per-parameter adaptive learning rates: Adagrad, RMSprop, Adam and AdamW.

Each divides the step elementwise by the root of a running (or total) mean of
squared gradients, so coordinates with large gradients take smaller steps.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_bool, check_real

from ._compat import with_options
from .optimizer import Optimizer


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


class Adam(Optimizer):
    """Adam (Kingma and Ba): momentum on the gradient, RMSprop on its square, bias-corrected.

    ``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``.
    With ``dx = grad + weight_decay * x`` (L2, coupled to the adaptive scaling) and
    ``t`` the step count (``state["step"]``, starting at 1)::

        m = beta1 * m + (1 - beta1) * dx                 # state["exp_avg"]
        v = beta2 * v + (1 - beta2) * dx**2              # state["exp_avg_sq"]
        v_hat = max(v_hat, v) if amsgrad else v          # state["max_exp_avg_sq"]
        x -= lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    The lecture shows the simplified form without bias correction,
    ``x -= lr * m / (sqrt(v) + eps)``: since ``m`` and ``v`` start at 0, its first
    steps are far too small (``m`` is ``(1 - beta1) * dx`` after one step). Dividing
    by ``1 - beta**t`` removes that bias, so the first step is ``lr * dx / (|dx| + eps)``,
    about ``lr`` per coordinate. This is PyTorch's Adam, including where ``eps`` enters.
    """

    _decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad})

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay = group["weight_decay"]
        dx = self._decayed_or_shrunk(g, x, lr, weight_decay, self._decoupled)
        t = state["step"] = state.get("step", 0) + 1
        m, v = self._buffer(state, "exp_avg", x), self._buffer(state, "exp_avg_sq", x)
        m *= beta1
        m += self._scaled(1.0 - beta1, dx)
        v *= beta2
        v += self._scaled(1.0 - beta2, dx, dx)
        v_hat = v
        if group["amsgrad"]:
            v_hat = self._buffer(state, "max_exp_avg_sq", x)
            xp_of(x).maximum(v_hat, v, out=v_hat)
        x -= self._scaled(lr / (1.0 - beta1**t), m, over=self._root(v_hat, math.sqrt(1.0 - beta2**t), eps))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter).

    ``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)``.
    The decay shrinks the parameters directly, ``x *= 1 - lr * weight_decay``, before
    the Adam update of the raw gradient; it is not added to the gradient, so it is
    not divided by ``sqrt(v_hat)`` as Adam's L2 ``weight_decay`` is. PyTorch's AdamW.
    """

    _decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
