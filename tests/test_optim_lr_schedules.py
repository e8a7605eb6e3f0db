"""PyTorch's MultiStepLR, LinearLR, LambdaLR, OneCycleLR and SequentialLR against their closed
forms; composed with the lecture's schedules as PyTorch's compose; saved and resumed; bad input."""
import math
import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.train import load_checkpoint, save_checkpoint

sched = optim.lr_scheduler
T = np.arange(40)
LRS = (0.1, 0.02)


def make_optimizer(device="cpu", lrs=LRS, cls=optim.SGD, **kw):
    groups = [{"params": [tl.Tensor([1.0, 2.0], requires_grad=True, device=device)], "lr": lr} for lr in lrs]
    return cls(groups, **({"lr": lrs[0], "momentum": 0.9} if cls is optim.SGD else {}), **kw)


def lr_sequence(schedulers, steps=T.size, key="lr"):
    """Each group's ``key`` at t = 0 .. steps - 1, read from the optimizer; all ``schedulers``
    step once per t, in the order given."""
    schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
    out = []
    for _ in range(steps):
        out.append([g[key] for g in schedulers[0].optimizer.param_groups])
        for s in schedulers:
            s.step()
    return np.array(out)


def lam(t):
    """A non-monotone multiplier: a decay with a sawtooth on it."""
    return 0.95**t * ((t % 3) + 1) / 3


def milestones_passed(t, milestones):
    return np.array([sum(m <= k for m in milestones) for k in np.atleast_1d(t)])


CLOSED_FORMS = {  # name: (factory, closed form of (lr0, t as an array)), PyTorch's documented forms
    "multistep": (lambda o: sched.MultiStepLR(o, milestones=[12, 3, 7, 7], gamma=0.5),
                  lambda lr0, t: lr0 * 0.5 ** milestones_passed(t, [3, 7, 7, 12])),
    "multistep_at_0": (lambda o: sched.MultiStepLR(o, milestones=(0, 5)),
                       lambda lr0, t: lr0 * 0.1 ** milestones_passed(t, [0, 5])),
    "linear_warmup": (lambda o: sched.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
                      lambda lr0, t: lr0 * (0.2 + 0.7 * np.minimum(t, 6) / 6)),
    "linear_default": (lambda o: sched.LinearLR(o), lambda lr0, t: lr0 * (1 / 3 + 2 / 3 * np.minimum(t, 5) / 5)),
    "linear_decay_to_0": (lambda o: sched.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30),
                          lambda lr0, t: lr0 * (1 - np.minimum(t, 30) / 30)),
    "lambda": (lambda o: sched.LambdaLR(o, lam), lambda lr0, t: lr0 * lam(t)),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_schedule_reproduces_its_closed_form(device, name):
    factory, closed_form = CLOSED_FORMS[name]
    scheduler = factory(make_optimizer(device))
    got = lr_sequence(scheduler)
    for j, lr0 in enumerate(LRS):
        np.testing.assert_allclose(got[:, j], closed_form(lr0, T.astype(float)), rtol=1e-12, atol=1e-15)
    assert scheduler.get_last_lr() == [g["lr"] for g in scheduler.optimizer.param_groups]


def test_lambda_lr_takes_one_function_per_group():
    opt = make_optimizer()
    got = lr_sequence(sched.LambdaLR(opt, [lam, lambda t: 1.0 / (1 + t)]))
    np.testing.assert_allclose(got[:, 0], 0.1 * lam(T), rtol=1e-13)
    np.testing.assert_allclose(got[:, 1], 0.02 / (1 + T), rtol=1e-13)


# ---------------------------------------------------------------- OneCycleLR
def one_cycle(t, max_lr, total, pct=0.3, div=25.0, final_div=1e4, strategy="cos", three_phase=False, mom=None):
    """PyTorch's documented 1cycle: the lr (or, with mom=(base, max), the momentum) at step t."""
    lo = max_lr / div
    a, end = pct * total - 1, total - 1
    if mom is not None:
        base, top = mom
        legs = ([(0, a, top, base), (a, 2 * pct * total - 2, base, top), (2 * pct * total - 2, end, top, top)]
                if three_phase else [(0, a, top, base), (a, end, base, top)])
    else:
        legs = ([(0, a, lo, max_lr), (a, 2 * pct * total - 2, max_lr, lo), (2 * pct * total - 2, end, lo, lo / final_div)]
                if three_phase else [(0, a, lo, max_lr), (a, end, max_lr, lo / final_div)])
    for i, (start, stop, frm, to) in enumerate(legs):
        if t <= stop or i == len(legs) - 1:
            p = (t - start) / (stop - start)
            if strategy == "cos":
                return to + (frm - to) * (1 + math.cos(math.pi * p)) / 2
            return frm + (to - frm) * p
    raise AssertionError


ONE_CYCLE = {  # name: (OneCycleLR keywords, closed-form keywords)
    "cos": ({"total_steps": 40}, {}),
    "linear": ({"epochs": 4, "steps_per_epoch": 10, "anneal_strategy": "linear", "pct_start": 0.25},
               {"strategy": "linear", "pct": 0.25}),
    "three_phase": ({"total_steps": 40, "three_phase": True, "div_factor": 10.0, "final_div_factor": 100.0},
                    {"three_phase": True, "div": 10.0, "final_div": 100.0}),
}


@pytest.mark.parametrize("name", sorted(ONE_CYCLE))
@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_one_cycle_lr_and_momentum_follow_pytorchs_phases(device, name, cls):
    kw, ref = ONE_CYCLE[name]
    opt = make_optimizer(device, cls=cls)
    scheduler = sched.OneCycleLR(opt, max_lr=[1.0, 0.5], base_momentum=0.8, max_momentum=[0.95, 0.9], **kw)
    lrs, momenta = [], []
    for _ in T:
        lrs.append([g["lr"] for g in opt.param_groups])
        momenta.append([g["betas"][0] if cls is optim.Adam else g["momentum"] for g in opt.param_groups])
        scheduler.step()
    for j, (max_lr, top) in enumerate([(1.0, 0.95), (0.5, 0.9)]):
        np.testing.assert_allclose(np.array(lrs)[:, j], [one_cycle(t, max_lr, 40, **ref) for t in T], rtol=1e-12)
        np.testing.assert_allclose(np.array(momenta)[:, j],
                                   [one_cycle(t, max_lr, 40, mom=(0.8, top), **ref) for t in T], rtol=1e-12)
    if cls is optim.Adam:
        assert all(g["betas"][1] == 0.999 for g in opt.param_groups)
    lrs = np.array(lrs)[:, 0]  # anchors: starts at max_lr / div, peaks at max_lr, ends near max_lr / div / final
    div = kw.get("div_factor", 25.0)
    assert lrs[0] == pytest.approx(1.0 / div) and lrs.max() == pytest.approx(1.0)
    assert lrs[-1] == pytest.approx(1.0 / div / kw.get("final_div_factor", 1e4), rel=1e-9)


def test_one_cycle_refuses_to_step_past_total_steps_and_can_leave_momentum_alone():
    opt = make_optimizer()
    scheduler = sched.OneCycleLR(opt, max_lr=1.0, total_steps=10, cycle_momentum=False)
    for _ in range(10):  # PyTorch allows t = total_steps itself
        scheduler.step()
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    with pytest.raises(ValueError, match="OneCycleLR: stepped 11 times, more than total_steps=10"):
        scheduler.step()


# ---------------------------------------------------------------- SequentialLR
def test_sequential_lr_restarts_each_scheduler_from_the_first_lrs(device):
    """Warm-up (LinearLR), then StepLR from step 4, then cosine from step 10: each starts from its
    closed form at 0 on the lrs from before the warm-up, as PyTorch's step(0) does."""
    opt = make_optimizer(device)
    warm = sched.LinearLR(opt, start_factor=0.1, total_iters=4)
    step = sched.StepLR(opt, step_size=2, gamma=0.5)
    cosine = sched.CosineAnnealingLR(opt, T_max=20, eta_min=1e-3)
    scheduler = sched.SequentialLR(opt, [warm, step, cosine], milestones=[4, 10])
    got = lr_sequence(scheduler)
    for j, lr0 in enumerate(LRS):
        want = [lr0 * (0.1 + 0.9 * t / 4) if t < 4 else lr0 * 0.5 ** ((t - 4) // 2) if t < 10 else
                1e-3 + (lr0 - 1e-3) * (1 + math.cos(math.pi * min(t - 10, 20) / 20)) / 2 for t in T]
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12)
    assert scheduler.get_last_lr() == [g["lr"] for g in opt.param_groups]


def test_sequential_lr_gives_lambda_lr_the_first_lrs():
    opt = make_optimizer()
    first = sched.LinearLR(opt, start_factor=0.5, total_iters=2)
    second = sched.LambdaLR(opt, lambda t: 1.0 / (t + 1))  # made when the warm-up had halved the lr
    got = lr_sequence(sched.SequentialLR(opt, [first, second], milestones=[3]), 8)[:, 0]
    np.testing.assert_allclose(got, [0.05, 0.075, 0.1, 0.1, 0.05, 0.1 / 3, 0.025, 0.02], rtol=1e-13)


# ---------------------------------------------------------------- composition, as PyTorch's
@pytest.mark.parametrize("order", [1, -1])
def test_chainable_schedules_compose_with_the_existing_ones(device, order):
    """MultiStepLR, LinearLR and ExponentialLR together: the product of their closed forms, in
    either order (PyTorch's chainable form); cosine annealing to 0 scales by its factor."""
    opt = make_optimizer(device)
    pair = [sched.MultiStepLR(opt, [5, 11], gamma=0.3), sched.LinearLR(opt, 0.5, total_iters=4),
            sched.ExponentialLR(opt, gamma=0.95)][::order]
    got = lr_sequence(pair)
    for j, lr0 in enumerate(LRS):
        want = lr0 * 0.3 ** milestones_passed(T, [5, 11]) * (0.5 + 0.5 * np.minimum(T, 4) / 4) * 0.95**T
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12)
    opt = make_optimizer(device)
    got = lr_sequence([sched.LinearLR(opt, 0.25, total_iters=8), sched.CosineAnnealingLR(opt, T_max=30)], 31)
    want = 0.1 * (0.25 + 0.75 * np.minimum(T[:31], 8) / 8) * (1 + np.cos(np.pi * T[:31] / 30)) / 2
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-9, atol=1e-15)


def test_lambda_and_one_cycle_set_the_lr_so_the_later_scheduler_wins():
    """PyTorch's LambdaLR and OneCycleLR compute from their own formula, not the current lr:
    stepped first, ExponentialLR then scales their value; stepped last, they overwrite it."""
    opt = make_optimizer()
    got = lr_sequence([sched.LambdaLR(opt, lam), sched.ExponentialLR(opt, gamma=0.9)])[:, 0]
    np.testing.assert_allclose(got, 0.1 * lam(T) * np.where(T > 0, 0.9, 1.0), rtol=1e-13)
    opt = make_optimizer()
    got = lr_sequence([sched.ExponentialLR(opt, gamma=0.9), sched.LambdaLR(opt, lam)])[:, 0]
    np.testing.assert_allclose(got, 0.1 * lam(T), rtol=1e-13)
    opt = make_optimizer()
    got = lr_sequence([sched.OneCycleLR(opt, max_lr=1.0, total_steps=40), sched.StepLR(opt, 1, gamma=0.5)])[:, 0]
    np.testing.assert_allclose(got, [one_cycle(t, 1.0, 40) * (0.5 if t else 1.0) for t in T], rtol=1e-12)


def test_an_lr_set_by_hand_persists_in_chainable_schedules_only():
    """Chainable: lr_t = x * f(t) / f(m) after the lr was set to x at step m. LambdaLR, as
    PyTorch's, goes back to lr0 * lr_lambda(t) at the next step."""
    m, hand = 3, 0.37
    for name, want in [("multistep", lambda t: hand * 0.5 ** (milestones_passed(t, [3, 7, 7, 12]) - 1)),
                       ("linear_warmup", lambda t: hand * (0.2 + 0.7 * np.minimum(t, 6) / 6) / 0.55),
                       ("lambda", lambda t: np.where(t == m, hand, 0.1 * lam(t)))]:
        opt = make_optimizer()
        scheduler = CLOSED_FORMS[name][0](opt)
        for _ in range(m):
            scheduler.step()
        opt.param_groups[0]["lr"] = hand
        got = lr_sequence(scheduler, 20)[:, 0]
        np.testing.assert_allclose(got, want(np.arange(m, m + 20)), rtol=1e-12, err_msg=name)


# ---------------------------------------------------------------- saving
def build(name, opt):
    if name in CLOSED_FORMS:
        return CLOSED_FORMS[name][0](opt)
    if name == "one_cycle":
        return sched.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=20, three_phase=True)
    return sched.SequentialLR(opt, [sched.LinearLR(opt, 0.1, total_iters=3), sched.LambdaLR(opt, lam),
                                    sched.MultiStepLR(opt, [2])], milestones=[4, 7])


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS) + ["one_cycle", "sequential"])
def test_state_dict_resumes_through_a_checkpoint_file(name, tmp_path):
    """Saved with the optimizer (OneCycleLR's momentum lives in its groups) in a checkpoint, as
    fit does; a fresh pair loads it and continues with the same learning rates and momenta."""
    opt = make_optimizer()
    scheduler = build(name, opt)
    for _ in range(9):
        scheduler.step()
    save_checkpoint(tmp_path / "c.npz", {"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()})
    expected = lr_sequence(scheduler, 10), lr_sequence(scheduler, 1, key="momentum")
    saved = load_checkpoint(tmp_path / "c.npz")
    assert "lr_lambdas" not in str(saved["scheduler"])
    opt2 = make_optimizer(lrs=(5.0, 5.0))
    second = build(name, opt2)
    opt2.load_state_dict(saved["optimizer"])
    second.load_state_dict(saved["scheduler"])
    got = lr_sequence(second, 10), lr_sequence(second, 1, key="momentum")
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_sequential_load_refuses_another_number_of_schedulers():
    opt = make_optimizer()
    saved = build("sequential", opt).state_dict()
    other = sched.SequentialLR(opt, [sched.LinearLR(opt)], milestones=[])
    with pytest.raises(ValueError, match="saved for 3 schedulers, this one has 1"):
        other.load_state_dict(saved)


# ---------------------------------------------------------------- bad input
def _opt():
    return make_optimizer()


BAD = [  # (scheduler, arguments after the optimizer, error, message after "{scheduler}: ")
    ("MultiStepLR", {"milestones": 5}, TypeError, "milestones must be a list of integers >= 0, got 5"),
    ("MultiStepLR", {"milestones": [2, -1]}, ValueError, "milestones[1] must be an integer >= 0, got -1"),
    ("MultiStepLR", {"milestones": [2.5]}, TypeError, "milestones[0] must be an integer >= 0, got 2.5"),
    ("MultiStepLR", {"milestones": [2], "gamma": 0}, ValueError, "gamma must be a finite number > 0, got 0"),
    ("LinearLR", {"start_factor": 0.0}, ValueError, "start_factor must be a finite number in (0, 1], got 0.0"),
    ("LinearLR", {"end_factor": 1.5}, ValueError, "end_factor must be a finite number in [0, 1], got 1.5"),
    ("LinearLR", {"total_iters": 0}, ValueError, "total_iters must be an integer >= 1, got 0"),
    ("LinearLR", {"total_iters": 2.0}, TypeError, "total_iters must be an integer >= 1, got 2.0"),
    ("LambdaLR", {"lr_lambda": 0.5}, TypeError, "lr_lambda must be a function of the step count, got 0.5"),
    ("LambdaLR", {"lr_lambda": [lam]}, ValueError, "lr_lambda must be a function or one per parameter group (2), got 1"),
    ("LambdaLR", {"lr_lambda": lambda t: -1.0}, ValueError, "lr_lambda(0) must be a finite number >= 0, got -1.0"),
    ("LambdaLR", {"lr_lambda": lambda t: "x"}, TypeError, "lr_lambda(0) must be a finite number >= 0, got 'x'"),
    ("OneCycleLR", {"max_lr": 1.0}, ValueError, "give total_steps, or epochs and steps_per_epoch"),
    ("OneCycleLR", {"max_lr": 1.0, "epochs": 2}, ValueError, "give total_steps, or epochs and steps_per_epoch"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "epochs": 2}, ValueError,
     "give total_steps, or epochs and steps_per_epoch, not both"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 0}, ValueError, "total_steps must be an integer >= 1, got 0"),
    ("OneCycleLR", {"max_lr": 1.0, "epochs": 2, "steps_per_epoch": -1}, ValueError,
     "steps_per_epoch must be an integer >= 1, got -1"),
    ("OneCycleLR", {"max_lr": -1.0, "total_steps": 10}, ValueError, "max_lr must be a finite number > 0, got -1.0"),
    ("OneCycleLR", {"max_lr": [1.0, math.nan], "total_steps": 10}, ValueError,
     "max_lr[1] must be a finite number > 0, got nan"),
    ("OneCycleLR", {"max_lr": [1.0], "total_steps": 10}, ValueError,
     "max_lr must be a number or one per parameter group (2), got [1.0]"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "pct_start": 1.5}, ValueError,
     "pct_start must be a finite number in [0, 1], got 1.5"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "pct_start": 0.1}, ValueError,
     "pct_start=0.1 with total_steps=10 leaves a phase without steps"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "anneal_strategy": "cosine"}, ValueError,
     "anneal_strategy must be one of ('cos', 'linear'), got 'cosine'"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "div_factor": 0}, ValueError,
     "div_factor must be a finite number > 0, got 0"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "final_div_factor": -1}, ValueError,
     "final_div_factor must be a finite number > 0, got -1"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "max_momentum": 1.0}, ValueError,
     "max_momentum must be a finite number in [0, 1), got 1.0"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "three_phase": 1}, TypeError,
     "three_phase must be True or False, got 1"),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10, "cycle_momentum": "no"}, TypeError,
     "cycle_momentum must be True or False, got 'no'"),
    ("SequentialLR", {"schedulers": [], "milestones": []}, ValueError, "schedulers must hold at least one scheduler"),
    ("SequentialLR", {"schedulers": "x", "milestones": []}, TypeError, "schedulers must be a list of schedulers"),
]


@pytest.mark.parametrize("name, kwargs, error, message", BAD)
def test_bad_scheduler_arguments_raise(name, kwargs, error, message):
    with pytest.raises(error, match=re.escape(f"{name}: {message}")):
        getattr(sched, name)(_opt(), **kwargs)


def test_bad_sequential_and_one_cycle_setups_raise():
    opt = _opt()
    a, b = sched.LinearLR(opt), sched.ExponentialLR(opt, 0.9)
    cases = [
        (lambda: sched.SequentialLR(opt, [a, b], milestones=[]), ValueError,
         "milestones must hold one step per scheduler after the first (1), got []"),
        (lambda: sched.SequentialLR(opt, [a, b], milestones=[0]), ValueError,
         "milestones[0] must be an integer >= 1, got 0"),
        (lambda: sched.SequentialLR(opt, [a, b, a], milestones=[5, 5]), ValueError,
         "milestones must increase, got [5, 5]"),
        (lambda: sched.SequentialLR(opt, [a, sched.ReduceLROnPlateau(opt)], milestones=[3]), TypeError,
         ("schedulers[1] must be a scheduler stepped without arguments (not ReduceLROnPlateau or SequentialLR), "
         "got ReduceLROnPlateau")),
        (lambda: sched.SequentialLR(opt, [a, "b"], milestones=[3]), TypeError, "schedulers[1] must be a scheduler"),
        (lambda: sched.SequentialLR(opt, [a, sched.LinearLR(_opt())], milestones=[3]), ValueError,
         "schedulers[1] belongs to another optimizer"),
        (lambda: sched.OneCycleLR(make_optimizer(cls=optim.Adagrad), max_lr=1.0, total_steps=10), ValueError,
         "Adagrad has no momentum or betas to cycle; pass cycle_momentum=False"),
        (lambda: sched.MultiStepLR("opt", [1]), TypeError, "needs an optim.Optimizer, got str"),
        (lambda: sched.OneCycleLR(opt, 1.0, total_steps=10, foo=1), TypeError, "foo"),
    ]
    for make, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            make()
    b.step()
    with pytest.raises(ValueError, match=re.escape("SequentialLR: schedulers[1] has already stepped (1 times)")):
        sched.SequentialLR(opt, [a, b], milestones=[3])
