"""Per-parameter adaptive learning rates: Adagrad, RMSprop, Adam and AdamW.

Each divides the step elementwise by the root of a running (or total) mean of
squared gradients, so coordinates with large gradients take smaller steps.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from tinygrad_lite.backend import xp_of

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): step sizes shrink with each coordinate's gradient history.

    ``Adagrad(params, lr=1e-2, eps=1e-10, weight_decay=0, initial_accumulator_value=0)``,
    the lecture's update with ``dx = grad + weight_decay * x``::

        cache += dx**2                                   # state["sum"]
        x -= lr * dx / (sqrt(cache) + eps)

    ``cache`` never decreases, so each coordinate's effective learning rate
    ``lr / (sqrt(cache) + eps)`` never increases. PyTorch's names; its ``lr_decay``
    is not provided (use a scheduler).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0):
        super().__init__(params, {"lr": lr, "eps": eps, "weight_decay": weight_decay,
                                  "initial_accumulator_value": initial_accumulator_value})

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, eps = group["lr"], group["eps"]
        dx = self._decayed(g, x, group["weight_decay"])
        cache = self._buffer(state, "sum", x, group["initial_accumulator_value"])
        cache += self._scaled(1.0, dx, dx)
        x -= self._scaled(lr, dx, over=self._root(cache, eps=eps))


class RMSprop(Optimizer):
    """RMSprop (Tieleman and Hinton): Adagrad with a leaky cache.

    ``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0)``; ``alpha`` is the
    lecture's ``decay_rate`` (typically 0.9, 0.99 or 0.999). With
    ``dx = grad + weight_decay * x``::

        cache = alpha * cache + (1 - alpha) * dx**2      # state["square_avg"]
        x -= lr * dx / (sqrt(cache) + eps)

    This is PyTorch's RMSprop without its ``momentum`` and ``centered`` options.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        dx = self._decayed(g, x, group["weight_decay"])
        cache = self._buffer(state, "square_avg", x)
        cache *= alpha
        cache += self._scaled(1.0 - alpha, dx, dx)
        x -= self._scaled(lr, dx, over=self._root(cache, eps=eps))


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
        if self._decoupled:
            dx = g
            if weight_decay:
                x *= 1.0 - lr * weight_decay
        else:
            dx = self._decayed(g, x, weight_decay)
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
