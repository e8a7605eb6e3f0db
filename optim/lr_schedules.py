r"""PyTorch's other schedulers: ``MultiStepLR``, ``LinearLR``, ``LambdaLR``, ``OneCycleLR`` and
``SequentialLR``. Import them from ``optim.lr_scheduler`` (they live here to keep files small).

With ``lr0`` a group's lr when the scheduler is made and ``t`` the number of ``step()`` calls:

- ``MultiStepLR`` and ``LinearLR`` are chainable, as the lecture's schedules: each step
  multiplies the group's current lr by the closed form's ratio ``f(t) / f(t - 1)``, so alone
  they follow ``lr0 * f(t)`` and with another chainable scheduler the factors multiply.
- ``LambdaLR`` and ``OneCycleLR`` are not, in PyTorch either: each step *sets* the lr from
  its formula (``lr0 * lr_lambda(t)``; the one-cycle curve from ``max_lr``). Stepped after
  another scheduler they overwrite its change; stepped before, the other scales their value.
- ``SequentialLR`` runs schedulers one after the other, each restarted at its milestone.
"""
from __future__ import annotations

import copy
import math
from bisect import bisect_right
from itertools import pairwise

from tinygrad_lite.checks import check_bool, check_choice, check_int, check_real

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _check_optimizer
from .optimizer import Optimizer


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
