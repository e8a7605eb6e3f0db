r"""Learning-rate decay: schedulers that write each parameter group's ``"lr"``.

The lecture's three forms, with ``lr0`` its :math:`\alpha_0` (each group's lr when
the scheduler is made) and ``t`` the number of ``step()`` calls so far
(``last_epoch``; call ``step()`` once per epoch, or per iteration, after
``optimizer.step()``):

- step decay, ``StepLR``: multiply by ``gamma`` every ``step_size`` epochs (halve: 0.5);
- exponential decay, ``ExponentialDecayLR``: :math:`\alpha = \alpha_0 e^{-kt}`
  (PyTorch's ``ExponentialLR`` multiplies by ``gamma`` each step: ``gamma = exp(-k)``);
- 1/t decay, ``InverseTimeLR``: :math:`\alpha = \alpha_0 / (1 + kt)`;

plus ``ReduceLROnPlateau`` ("whenever the validation accuracy tops off") and
``CosineAnnealingLR`` with an optional linear warm-up, and PyTorch's ``MultiStepLR``,
``LinearLR``, ``LambdaLR``, ``OneCycleLR`` and ``SequentialLR`` (defined in
``optim/lr_schedules.py``, importable from here). Schedulers write ``group["lr"]``
(``OneCycleLR`` the momentum too); the optimizer reads it at every step.

Chaining (PyTorch's "chainable form"): each ``step()`` computes the new lr from the
group's *current* lr, ``lr_t = lr_{t-1} * f(t) / f(t-1)`` with ``f`` the schedule's
closed-form factor, never from ``lr0`` afresh. Alone, a scheduler therefore follows its
closed form; two on one optimizer compose (``StepLR(s, g1)`` and ``ExponentialLR(g2)``,
both stepped each epoch, give ``lr0 * g1 ** (t // s) * g2 ** t``); and an lr set by hand
(``opt.param_groups[0]["lr"] = x``) stays, scaled by the later steps. Cosine annealing
scales the distance to ``eta_min`` instead, as PyTorch's recursive form does. With
several schedulers, load their state dicts in the order they step (each writes its last lr).
"""
from __future__ import annotations

import copy
import math

from tinygrad_lite.checks import check_choice, check_int, check_real

from .optimizer import Optimizer


def _check_optimizer(owner: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner} needs an optim.Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: each ``step()`` advances ``t`` by one and writes ``next_lr(lr, t)`` into
    each group, ``lr`` being the group's current lr (chainable, see the module docstring).

    Making the scheduler writes ``next_lr(lr, 0)`` (the lr itself, except during a warm-up).
    Subclasses define ``factor(t)``, the multiplier from step t - 1 to step t (and the
    initial one at t = 0), or ``next_lr`` itself.
    """

    def __init__(self, optimizer: Optimizer):
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = 0
        self._set_lrs(self._next_lrs())

    def factor(self, t: int) -> float:
        """The multiplier of the lr from step t - 1 to step t (at t = 0: from the optimizer's lr)."""
        raise NotImplementedError(f"{type(self).__name__}.factor")

    def next_lr(self, lr: float, t: int) -> float:
        """The lr at step ``t`` from the group's lr before it."""
        return lr * self.factor(t)

    def _next_lrs(self) -> list:
        return [self.next_lr(float(group["lr"]), self.last_epoch) for group in self.optimizer.param_groups]

    def _set_lrs(self, lrs: list) -> None:
        self._last_lr = [float(lr) for lr in lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def step(self) -> None:
        """Advance one epoch (or iteration) and write the new learning rates."""
        self.last_epoch += 1
        self._set_lrs(self._next_lrs())

    def get_last_lr(self) -> list:
        """The learning rates last written, one per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (which has a state_dict of its own)."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a saved schedule and write its current learning rates into the groups."""
        saved = len(state_dict["_last_lr"])
        if saved != len(self.optimizer.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: saved for {saved} groups, "
                             f"the optimizer has {len(self.optimizer.param_groups)}")
        self.__dict__.update(copy.deepcopy(state_dict))
        self._set_lrs(self._last_lr)


class StepLR(LRScheduler):
    """Step decay: ``lr_t = lr0 * gamma ** (t // step_size)``, chained as
    ``lr_t = lr_{t-1} * gamma`` when ``t`` is a multiple of ``step_size``, else unchanged.

    The lecture's "decay learning rate by half every few epochs" is ``gamma=0.5``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        self.step_size = check_int("StepLR", "step_size", step_size, 1)
        self.gamma = check_real("StepLR", "gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return self.gamma if t > 0 and t % self.step_size == 0 else 1.0


class ExponentialLR(LRScheduler):
    """PyTorch's exponential decay: ``lr_t = lr0 * gamma ** t`` (``lr_t = lr_{t-1} * gamma``);
    ``gamma = exp(-k)``."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = check_real("ExponentialLR", "gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return self.gamma if t > 0 else 1.0


class ExponentialDecayLR(LRScheduler):
    r"""The lecture's exponential decay :math:`\alpha = \alpha_0 e^{-kt}`: ``lr_t = lr0 * exp(-k * t)``
    (``lr_t = lr_{t-1} * exp(-k)``).

    The same schedule as ``ExponentialLR(gamma=exp(-k))``, in the lecture's parameter.
    """

    def __init__(self, optimizer: Optimizer, k: float):
        self.k = check_real("ExponentialDecayLR", "k", k, 0.0)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return math.exp(-self.k) if t > 0 else 1.0


class InverseTimeLR(LRScheduler):
    r"""The lecture's 1/t decay :math:`\alpha = \alpha_0 / (1 + kt)`: ``lr_t = lr0 / (1 + k * t)``
    (``lr_t = lr_{t-1} * (1 + k (t - 1)) / (1 + k t)``)."""

    def __init__(self, optimizer: Optimizer, k: float):
        self.k = check_real("InverseTimeLR", "k", k, 0.0)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return (1.0 + self.k * (t - 1)) / (1.0 + self.k * t) if t > 0 else 1.0


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from ``lr0`` to ``eta_min`` over ``T_max`` steps, after an optional warm-up.

    With ``W = warmup_steps`` and ``c(t) = (1 + cos(pi * (t - W) / (T_max - W))) / 2``, alone::

        t < W:            lr_t = lr0 * (t + 1) / (W + 1)          (linear ramp up to lr0)
        W <= t <= T_max:  lr_t = eta_min + (lr0 - eta_min) * c(t)
        t > T_max:        lr_t = eta_min

    Chained, as PyTorch's recursive form: the ramp multiplies the current lr by
    ``(t + 1) / t``, the annealing sets ``lr_t = eta_min + (lr_{t-1} - eta_min) * c(t) / c(t-1)``
    and past ``T_max`` the lr is left as it is. With ``W = 0`` and ``t <= T_max`` this is
    PyTorch's ``CosineAnnealingLR`` (which, past ``T_max``, rises again instead of staying).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, warmup_steps: int = 0):
        owner = "CosineAnnealingLR"
        self.T_max = check_int(owner, "T_max", T_max, 1)
        self.warmup_steps = check_int(owner, "warmup_steps", warmup_steps, 0)
        if warmup_steps >= T_max:
            raise ValueError(f"{owner}: warmup_steps must be < T_max={T_max}, got {warmup_steps!r}")
        self.eta_min = check_real(owner, "eta_min", eta_min, 0.0)
        super().__init__(optimizer)

    def _cosine(self, t: int) -> float:
        w = self.warmup_steps
        return (1 + math.cos(math.pi * (t - w) / (self.T_max - w))) / 2

    def next_lr(self, lr: float, t: int) -> float:
        w = self.warmup_steps
        if t <= w:  # the ramp: lr0 / (W + 1) when made, times (t + 1) / t up to lr0 at t = W
            return lr / (w + 1) if t == 0 else lr * (t + 1) / t
        if t > self.T_max:
            return lr
        return self.eta_min + (lr - self.eta_min) * (self._cosine(t) / self._cosine(t - 1))


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when a monitored metric stops improving.

    ``ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)``, PyTorch's semantics: call
    ``step(metric)`` once per epoch. The metric improves on ``best`` when (mode
    "min", "rel") ``metric < best * (1 - threshold)``, ("min", "abs")
    ``metric < best - threshold``, ("max", "rel") ``metric > best * (1 + threshold)``,
    ("max", "abs") ``metric > best + threshold``. After more than ``patience``
    epochs without improvement, each group's lr becomes ``max(lr * factor, min_lr)``
    (skipped if that changes it by less than ``eps``), then ``cooldown`` epochs pass
    before bad epochs count again. The lecture's "halve the learning rate whenever
    the validation accuracy tops off" is ``mode="max", factor=0.5``.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list = 0.0, eps: float = 1e-8):
        owner = "ReduceLROnPlateau"
        _check_optimizer(owner, optimizer)
        self.mode = check_choice(owner, "mode", mode, ("min", "max"))
        self.threshold_mode = check_choice(owner, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.factor = check_real(owner, "factor", factor, 0.0, 1.0, high_open=True)
        self.patience = check_int(owner, "patience", patience, 0)
        self.cooldown = check_int(owner, "cooldown", cooldown, 0)
        self.threshold = check_real(owner, "threshold", threshold, 0.0)
        self.eps = check_real(owner, "eps", eps, 0.0)
        n = len(optimizer.param_groups)
        min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"{owner}: min_lr must be a number or one per parameter group ({n}), "
                             f"got {min_lr!r}")
        self.min_lrs = [check_real(owner, "min_lr", value, 0.0) for value in min_lrs]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = 0
        super().__init__(optimizer)

    def next_lr(self, lr: float, t: int) -> float:
        return lr  # no schedule: step(metric) changes the lrs

    def is_better(self, metric: float) -> bool:
        """Whether ``metric`` beats the best so far by more than the threshold (in ``mode``'s direction)."""
        rel = self.threshold_mode == "rel"
        if self.mode == "min":
            return metric < (self.best * (1 - self.threshold) if rel else self.best - self.threshold)
        return metric > (self.best * (1 + self.threshold) if rel else self.best + self.threshold)

    def step(self, metric) -> None:
        """Record one epoch's metric (a number or a one-element tensor) and decay if it plateaued."""
        metric = float(metric.item() if hasattr(metric, "item") else metric)
        self.last_epoch += 1
        if self.is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        lrs = self._next_lrs()
        if self.num_bad_epochs > self.patience:
            reduced = [max(lr * self.factor, low) for lr, low in zip(lrs, self.min_lrs)]
            lrs = [new if lr - new > self.eps else lr for lr, new in zip(lrs, reduced)]
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._set_lrs(lrs)


# PyTorch's other schedulers, in a file of their own (files stay under 400 lines); that file
# imports LRScheduler from this one, which is complete by now
from .lr_schedules import LambdaLR, LinearLR, MultiStepLR, OneCycleLR, SequentialLR

__all__ = ["CosineAnnealingLR", "ExponentialDecayLR", "ExponentialLR", "InverseTimeLR", "LRScheduler", "LambdaLR",
           "LinearLR", "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "StepLR"]
