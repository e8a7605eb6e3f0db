"""The Adam family: Adam, AdamW (decoupled weight decay), Adamax (the infinity norm) and NAdam
(Nesterov momentum).

Each keeps a running mean of the gradient (momentum) and divides the step elementwise by a
running measure of its size (RMSprop's mean of squares, or Adamax's decayed maximum), with a
bias correction for buffers that start at 0.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_bool, check_real

from .optimizer import Optimizer

# Scratch role of Adamax's helper: after the base class's 0, 1 and 2 (and Adadelta's 3, 4),
# so that its array never aliases theirs within one update.
_ROLE_MAGNITUDE = 5


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


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, section 7.1): Adam with the infinity norm for the second moment.

    ``Adamax(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``, PyTorch's
    algorithm and defaults. With ``dx = grad + weight_decay * x`` and ``t`` the step count
    (``state["step"]``, starting at 1)::

        m = beta1 * m + (1 - beta1) * dx                 # state["exp_avg"]
        u = max(beta2 * u, |dx| + eps)                   # state["exp_inf"]
        x -= lr / (1 - beta1**t) * m / u

    ``u`` is an exponentially weighted infinity norm of the past gradients: it needs no
    bias correction (it does not start biased towards 0 as a mean does), and as ``|dx|``
    bounds it from below the first step is ``lr * dx / (|dx| + eps)``, about ``lr``.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    def _magnitude(self, y, eps: float):
        """``|y| + eps`` in a scratch array of its own, as the base class's helpers write theirs."""
        out = xp_of(y).abs(y, out=self._scratch_like(y, _ROLE_MAGNITUDE))
        out += eps
        return out

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        dx = self._decayed(g, x, group["weight_decay"])
        t = state["step"] = state.get("step", 0) + 1
        m, u = self._buffer(state, "exp_avg", x), self._buffer(state, "exp_inf", x)
        m *= beta1
        m += self._scaled(1.0 - beta1, dx)
        u *= beta2
        xp_of(x).maximum(u, self._magnitude(dx, eps), out=u)
        x -= self._scaled(lr / (1.0 - beta1**t), m, over=u)


class NAdam(Optimizer):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum, PyTorch's algorithm and defaults.

    ``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
    decoupled_weight_decay=False)``. With ``dx = grad + weight_decay * x`` (or, decoupled as
    AdamW, ``x *= 1 - lr * weight_decay`` and ``dx = grad``) and ``t`` the step count::

        mu_t = beta1 * (1 - 0.96 ** (t * momentum_decay) / 2)        # the momentum schedule
        prod_t = mu_1 * ... * mu_t                                   # state["mu_product"]
        m = beta1 * m + (1 - beta1) * dx                             # state["exp_avg"]
        v = beta2 * v + (1 - beta2) * dx**2                          # state["exp_avg_sq"]
        m_hat = mu_{t+1} * m / (1 - prod_t * mu_{t+1}) + (1 - mu_t) * dx / (1 - prod_t)
        x -= lr * m_hat / (sqrt(v / (1 - beta2**t)) + eps)

    ``m_hat`` is Nesterov's look-ahead: the momentum as it will be after the next step plus
    this gradient's share, each bias-corrected by the product of the momenta so far. The
    schedule warms ``mu_t`` up from ``beta1 / 2`` towards ``beta1`` (slowly: 0.96 ** (t * 4e-3)).
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "momentum_decay": momentum_decay,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        if "momentum_decay" in group:
            group["momentum_decay"] = check_real("NAdam", "momentum_decay", group["momentum_decay"], 0.0)
        if "decoupled_weight_decay" in group:
            group["decoupled_weight_decay"] = check_bool("NAdam", "decoupled_weight_decay",
                                                         group["decoupled_weight_decay"])

    def _update(self, x, g, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, psi = group["weight_decay"], group["momentum_decay"]
        dx = self._decayed_or_shrunk(g, x, lr, weight_decay, group["decoupled_weight_decay"])
        t = state["step"] = state.get("step", 0) + 1
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = state["mu_product"] = state.get("mu_product", 1.0) * mu
        m, v = self._buffer(state, "exp_avg", x), self._buffer(state, "exp_avg_sq", x)
        m *= beta1
        m += self._scaled(1.0 - beta1, dx)
        v *= beta2
        v += self._scaled(1.0 - beta2, dx, dx)
        denom = self._root(v, math.sqrt(1.0 - beta2**t), eps)
        x -= self._scaled(lr * (1.0 - mu) / (1.0 - prod), dx, over=denom)
        x -= self._scaled(lr * mu_next / (1.0 - prod * mu_next), m, over=denom)
