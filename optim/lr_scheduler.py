r"""Learning-rate schedules: schedulers that write each parameter group's ``"lr"``.

The lecture's three forms, with ``lr0`` its :math:`\alpha_0` (each group's lr when
the scheduler is made) and ``t`` the number of ``step()`` calls so far
(``last_epoch``; call ``step()`` once per epoch, or per iteration, after
``optimizer.step()``):

- step decay, ``StepLR``: multiply by ``gamma`` every ``step_size`` epochs (halve: 0.5);
- exponential decay, ``ExponentialLR``: :math:`\alpha = \alpha_0 e^{-kt}` with ``gamma = exp(-k)``
  (PyTorch's form: multiply by ``gamma`` each step);
- 1/t decay, ``InverseTimeLR``: :math:`\alpha = \alpha_0 / (1 + kt)`;

plus ``ReduceLROnPlateau`` ("whenever the validation accuracy tops off") and
``CosineAnnealingLR`` with an optional linear warm-up, and PyTorch's ``MultiStepLR``,
``LinearLR``, ``LambdaLR``, ``OneCycleLR`` and ``SequentialLR``. Schedulers write
``group["lr"]`` (``OneCycleLR`` the momentum too); the optimizer reads it at every step.

Chaining (PyTorch's "chainable form"): each ``step()`` computes the new lr from the
group's *current* lr, ``lr_t = lr_{t-1} * f(t) / f(t-1)`` with ``f`` the schedule's
closed-form factor, never from ``lr0`` afresh. Alone, a scheduler therefore follows its
closed form; two on one optimizer compose (``StepLR(s, g1)`` and ``ExponentialLR(g2)``,
both stepped each epoch, give ``lr0 * g1 ** (t // s) * g2 ** t``); and an lr set by hand
(``opt.param_groups[0]["lr"] = x``) stays, scaled by the later steps. Cosine annealing
scales the distance to ``eta_min`` instead, as PyTorch's recursive form does. With
several schedulers, load their state dicts in the order they step (each writes its last lr).

``LambdaLR`` and ``OneCycleLR`` are not chainable, in PyTorch either: each step *sets* the lr
from its formula (``lr0 * lr_lambda(t)``; the one-cycle curve from ``max_lr``). Stepped after
another scheduler they overwrite its change; stepped before, the other scales their value.
``SequentialLR`` runs schedulers one after the other, each restarted at its milestone.

Sections, in order: the base class; the chainable schedules; the schedules set from a
formula; the one driven by a metric; schedulers in sequence.
"""
from __future__ import annotations

import copy
import math
from bisect import bisect_right
from itertools import pairwise

from tinygrad_lite.checks import check_bool, check_choice, check_int, check_real

from .optimizer import Optimizer


def _check_optimizer(owner: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner} needs an optim.Optimizer, got {type(optimizer).__name__}")


def _int_list(owner: str, name: str, values, low: int) -> list:
    """``values`` (a list, tuple or range of integers >= ``low``) as a list of ints."""
    if not isinstance(values, (list, tuple, range)):
        raise TypeError(f"{owner}: {name} must be a list of integers >= {low}, got {values!r}")
    return [check_int(owner, f"{name}[{i}]", v, low) for i, v in enumerate(values)]


def _per_group(owner: str, name: str, value, n: int, **bounds) -> list:
    """A number, or one per parameter group, as a list of ``n`` checked floats."""
    if not isinstance(value, (list, tuple)):
        return [check_real(owner, name, value, **bounds)] * n
    if len(value) != n:
        raise ValueError(f"{owner}: {name} must be a number or one per parameter group ({n}), got {value!r}")
    return [check_real(owner, f"{name}[{i}]", v, **bounds) for i, v in enumerate(value)]


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


# ---------------------------------------------------------------- chainable: each step scales the current lr
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


class MultiStepLR(LRScheduler):
    """Decay by ``gamma`` at each milestone: ``lr_t = lr0 * gamma ** (number of milestones <= t)``,
    chained as ``lr_t = lr_{t-1} * gamma ** (times t is a milestone)``. PyTorch's MultiStepLR.

    ``MultiStepLR(optimizer, milestones, gamma=0.1)``: ``milestones`` are step counts (a
    milestone listed twice decays twice, as in PyTorch); ``StepLR`` is the evenly spaced case.
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1):
        self.milestones = sorted(_int_list("MultiStepLR", "milestones", milestones, 0))
        self.gamma = check_real("MultiStepLR", "gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return self.gamma ** self.milestones.count(t)


class ExponentialLR(LRScheduler):
    r"""Exponential decay, PyTorch's: ``lr_t = lr0 * gamma ** t`` (chained: ``lr_t = lr_{t-1} * gamma``).

    The lecture's :math:`\alpha = \alpha_0 e^{-kt}` is this schedule with ``gamma = exp(-k)``:
    ``ExponentialLR(optimizer, gamma=math.exp(-k))``.
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = check_real("ExponentialLR", "gamma", gamma, 0.0, low_open=True)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return self.gamma if t > 0 else 1.0


class InverseTimeLR(LRScheduler):
    r"""The lecture's 1/t decay :math:`\alpha = \alpha_0 / (1 + kt)`: ``lr_t = lr0 / (1 + k * t)``
    (``lr_t = lr_{t-1} * (1 + k (t - 1)) / (1 + k t)``)."""

    def __init__(self, optimizer: Optimizer, k: float):
        self.k = check_real("InverseTimeLR", "k", k, 0.0)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        return (1.0 + self.k * (t - 1)) / (1.0 + self.k * t) if t > 0 else 1.0


class LinearLR(LRScheduler):
    """Scale the lr linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)``, PyTorch's:
    ``lr_t = lr0 * (s + (e - s) * min(t, T) / T)``, chained as ``lr_0 = lr * s``,
    ``lr_t = lr_{t-1} * (1 + (e - s) / (T s + (t - 1)(e - s)))`` for ``1 <= t <= T``, then
    unchanged. The usual linear warm-up is the default (from a third of the lr to all of it).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5):
        owner = "LinearLR"
        self.start_factor = check_real(owner, "start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = check_real(owner, "end_factor", end_factor, 0.0, 1.0)
        self.total_iters = check_int(owner, "total_iters", total_iters, 1)
        super().__init__(optimizer)

    def factor(self, t: int) -> float:
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return s
        if t > n:
            return 1.0
        return 1.0 + (e - s) / (n * s + (t - 1) * (e - s))


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


# ---------------------------------------------------------------- set from a formula (not chained)
class LambdaLR(LRScheduler):
    """``lr_t = lr0 * lr_lambda(t)``, PyTorch's LambdaLR: set from the formula each step (not chained).

    ``LambdaLR(optimizer, lr_lambda)``: a function of the step count, or a list of them, one
    per parameter group; each value must be a finite number >= 0. ``state_dict()`` leaves the
    functions out (PyTorch keeps those that are objects with a ``__dict__``; here none is):
    loading keeps the scheduler's own.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda):
        owner = "LambdaLR"
        _check_optimizer(owner, optimizer)
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n:
            raise ValueError(f"{owner}: lr_lambda must be a function or one per parameter group ({n}), "
                             f"got {len(lambdas)}")
        for f in lambdas:
            if not callable(f):
                raise TypeError(f"{owner}: lr_lambda must be a function of the step count, got {f!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer)

    def _next_lrs(self) -> list:
        t = self.last_epoch
        return [base * check_real("LambdaLR", f"lr_lambda({t})", f(t), 0.0)
                for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict:
        """Everything but the optimizer and the functions."""
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin), PyTorch's OneCycleLR: call ``step()`` after every batch.

    ``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
    pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
    max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False)``.

    The lr rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    the ``total_steps`` (or ``epochs * steps_per_epoch``) steps, then anneals to
    ``max_lr / div_factor / final_div_factor``; with ``three_phase`` it first comes back down
    to ``max_lr / div_factor`` symmetrically, then anneals. Phase ``i`` ends at step
    ``pct_start * total_steps - 1`` (``2 * pct_start * total_steps - 2`` for the second of
    three) and ``total_steps - 1``; within a phase from step ``a`` to ``b`` the lr goes from
    ``lo`` to ``hi`` as ``hi + (lo - hi) * (1 + cos(pi * p)) / 2`` ("cos") or ``lo + (hi - lo) * p``
    ("linear"), ``p = (t - a) / (b - a)``. The momentum (SGD's and RMSprop's ``momentum``, or
    Adam's ``beta1``) moves the opposite way between ``max_momentum`` and ``base_momentum``.
    ``max_lr`` and the momenta may be one per group. The lr is set from this curve each
    step, not chained (as PyTorch's); stepping past ``total_steps`` raises ValueError.
    """

    def __init__(self, optimizer: Optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False):
        owner = "OneCycleLR"
        _check_optimizer(owner, optimizer)
        n = len(optimizer.param_groups)
        if total_steps is not None:
            if epochs is not None or steps_per_epoch is not None:
                raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch, not both")
            self.total_steps = check_int(owner, "total_steps", total_steps, 1)
        elif epochs is None or steps_per_epoch is None:
            raise ValueError(f"{owner}: give total_steps, or epochs and steps_per_epoch")
        else:
            self.total_steps = (check_int(owner, "epochs", epochs, 1)
                                * check_int(owner, "steps_per_epoch", steps_per_epoch, 1))
        self.max_lrs = _per_group(owner, "max_lr", max_lr, n, low=0.0, low_open=True)
        pct = self.pct_start = check_real(owner, "pct_start", pct_start, 0.0, 1.0)
        self.anneal_strategy = check_choice(owner, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = check_real(owner, "div_factor", div_factor, 0.0, low_open=True)
        self.final_div_factor = check_real(owner, "final_div_factor", final_div_factor, 0.0, low_open=True)
        self.three_phase = check_bool(owner, "three_phase", three_phase)
        self.cycle_momentum = check_bool(owner, "cycle_momentum", cycle_momentum)
        self.base_momenta = _per_group(owner, "base_momentum", base_momentum, n, low=0.0, high=1.0, high_open=True)
        self.max_momenta = _per_group(owner, "max_momentum", max_momentum, n, low=0.0, high=1.0, high_open=True)
        self.use_beta1 = "betas" in optimizer.defaults
        if self.cycle_momentum and not self.use_beta1 and "momentum" not in optimizer.defaults:
            raise ValueError(f"{owner}: {type(optimizer).__name__} has no momentum or betas to cycle; "
                             "pass cycle_momentum=False")
        # (end step, lr from, lr to, momentum from, momentum to), PyTorch's phases
        t = self.total_steps
        warm = (pct * t - 1, "initial", "max", "max", "base")
        self.phases = ([warm, (2 * pct * t - 2, "max", "initial", "base", "max"), (t - 1.0, "initial", "min", "max", "max")]
                       if self.three_phase else [warm, (t - 1.0, "max", "min", "base", "max")])
        ends = [0.0] + [phase[0] for phase in self.phases]
        if any(b <= a for a, b in pairwise(ends)):
            raise ValueError(f"{owner}: pct_start={pct} with total_steps={t} leaves a phase without steps "
                             f"(phases end at steps {ends[1:]})")
        super().__init__(optimizer)

    def _where(self) -> tuple:
        """The phase of step ``last_epoch`` and the fraction ``p`` of it done."""
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, more than total_steps={self.total_steps}")
        start = 0.0
        for i, phase in enumerate(self.phases):
            if t <= phase[0] or i == len(self.phases) - 1:
                return phase, (t - start) / (phase[0] - start)
            start = phase[0]
        raise AssertionError("unreachable: the last phase takes every step")

    def _anneal(self, start: float, end: float, p: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * p) + 1)
        return (end - start) * p + start

    def _next_lrs(self) -> list:
        (_, lr_from, lr_to, _, _), p = self._where()
        out = []
        for max_lr in self.max_lrs:
            lrs = {"initial": max_lr / self.div_factor, "max": max_lr}
            lrs["min"] = lrs["initial"] / self.final_div_factor
            out.append(self._anneal(lrs[lr_from], lrs[lr_to], p))
        return out

    def _set_lrs(self, lrs: list) -> None:
        super()._set_lrs(lrs)
        if not self.cycle_momentum:
            return
        (_, _, _, m_from, m_to), p = self._where()
        for group, base, top in zip(self.optimizer.param_groups, self.base_momenta, self.max_momenta):
            momentum = self._anneal(*({"base": base, "max": top}[k] for k in (m_from, m_to)), p)
            if self.use_beta1:
                group["betas"] = (momentum, *group["betas"][1:])
            else:
                group["momentum"] = momentum


# ---------------------------------------------------------------- driven by a metric
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


# ---------------------------------------------------------------- schedulers in sequence
class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, PyTorch's SequentialLR.

    ``SequentialLR(optimizer, schedulers, milestones)``: ``schedulers[i]`` runs from step
    ``milestones[i - 1]`` (from 0 for the first) to ``milestones[i]``. Each starts afresh:
    the groups' lrs go back to those from before the schedulers were made (``base_lrs``, as
    the first of them found them: make the schedulers in order, on this optimizer, without
    stepping them) and its step count to 0, so it continues from its closed form at step 0.
    E.g. a warm-up then a decay: ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
    ExponentialLR(opt, 0.9)], milestones=[5])``. ``ReduceLROnPlateau`` (stepped with a metric)
    and nested ``SequentialLR`` are refused. ``state_dict()`` holds the schedulers' own.
    """

    def __init__(self, optimizer: Optimizer, schedulers, milestones):
        owner = "SequentialLR"
        _check_optimizer(owner, optimizer)
        if not isinstance(schedulers, (list, tuple)):
            raise TypeError(f"{owner}: schedulers must be a list of schedulers, got {type(schedulers).__name__}")
        if not schedulers:
            raise ValueError(f"{owner}: schedulers must hold at least one scheduler, got []")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler) or isinstance(s, (ReduceLROnPlateau, SequentialLR)):
                raise TypeError(f"{owner}: schedulers[{i}] must be a scheduler stepped without arguments "
                                f"(not ReduceLROnPlateau or SequentialLR), got {type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"{owner}: schedulers[{i}] belongs to another optimizer")
            if s.last_epoch != 0:
                raise ValueError(f"{owner}: schedulers[{i}] has already stepped ({s.last_epoch} times)")
        self.milestones = _int_list(owner, "milestones", milestones, 1)
        if len(self.milestones) != len(schedulers) - 1:
            raise ValueError(f"{owner}: milestones must hold one step per scheduler after the first "
                             f"({len(schedulers) - 1}), got {list(milestones)!r}")
        if any(b <= a for a, b in pairwise(self.milestones)):
            raise ValueError(f"{owner}: milestones must increase, got {list(milestones)!r}")
        self.optimizer, self.schedulers = optimizer, list(schedulers)
        self.base_lrs = list(schedulers[0].base_lrs)
        for s in self.schedulers:  # LambdaLR scales these: the lrs from before any of them
            s.base_lrs = list(self.base_lrs)
        self.last_epoch = 0
        self._restart(self.schedulers[0])

    def _restart(self, scheduler: LRScheduler) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = lr
        scheduler.last_epoch = 0
        scheduler._set_lrs(scheduler._next_lrs())
        self._last_lr = scheduler.get_last_lr()

    def step(self) -> None:
        """Advance one step: the scheduler of this stretch steps, or starts afresh at its milestone."""
        self.last_epoch += 1
        i = bisect_right(self.milestones, self.last_epoch)
        scheduler = self.schedulers[i]
        if i > 0 and self.milestones[i - 1] == self.last_epoch:
            self._restart(scheduler)
        else:
            scheduler.step()
            self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """Everything but the optimizer, with the schedulers' state dicts under ``"schedulers"``."""
        own = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "schedulers")}
        return {**copy.deepcopy(own), "schedulers": [s.state_dict() for s in self.schedulers]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the schedulers' states, then this one's, and write its learning rates."""
        saved = state_dict["schedulers"]
        if len(saved) != len(self.schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: saved for {len(saved)} schedulers, "
                             f"this one has {len(self.schedulers)}")
        for s, entry in zip(self.schedulers, saved):
            s.load_state_dict(entry)
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "schedulers"})


__all__ = ["CosineAnnealingLR", "ExponentialLR", "InverseTimeLR", "LRScheduler", "LambdaLR", "LinearLR",
           "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "StepLR"]
