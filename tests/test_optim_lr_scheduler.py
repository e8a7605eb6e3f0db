"""Learning-rate schedules against their closed forms: the lecture's, cosine annealing and
PyTorch's MultiStepLR, LinearLR, LambdaLR, OneCycleLR and SequentialLR; ReduceLROnPlateau's
rules; schedulers composed as PyTorch's compose; saved and resumed; bad input."""
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


def make_optimizer(device="cpu", lrs=(0.1,), cls=optim.SGD, **kw):
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


LECTURE_FORMS = {  # name: (factory, closed form of (lr0, t as an array)): the lecture's and cosine
    "step": (lambda o: sched.StepLR(o, step_size=5, gamma=0.5), lambda lr0, t: lr0 * 0.5 ** np.floor(t / 5)),
    "exponential": (lambda o: sched.ExponentialLR(o, gamma=0.9), lambda lr0, t: lr0 * 0.9**t),
    # the lecture's lr0 e^(-kt): ExponentialLR with gamma = e^(-k)
    "exp_decay": (lambda o: sched.ExponentialLR(o, gamma=math.exp(-0.15)), lambda lr0, t: lr0 * np.exp(-0.15 * t)),
    "inverse_time": (lambda o: sched.InverseTimeLR(o, k=0.3), lambda lr0, t: lr0 / (1 + 0.3 * t)),
    "cosine": (lambda o: sched.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
               lambda lr0, t: np.where(t <= 30, 1e-3 + (lr0 - 1e-3) * (1 + np.cos(np.pi * t / 30)) / 2, 1e-3)),
    "cosine_warmup": (lambda o: sched.CosineAnnealingLR(o, T_max=30, warmup_steps=4),
                      lambda lr0, t: np.where(t < 4, lr0 * (t + 1) / 5,
                                              np.where(t <= 30, lr0 * (1 + np.cos(np.pi * (t - 4) / 26)) / 2, 0))),
}


PYTORCH_FORMS = {  # name: (factory, closed form of (lr0, t as an array)): PyTorch's documented forms
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


CLOSED_FORMS = {**LECTURE_FORMS, **PYTORCH_FORMS}


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_schedule_reproduces_its_closed_form(device, name):
    factory, closed_form = CLOSED_FORMS[name]
    scheduler = factory(make_optimizer(device, lrs=LRS))
    got = lr_sequence(scheduler)
    for j, lr0 in enumerate(LRS):
        np.testing.assert_allclose(got[:, j], closed_form(lr0, T.astype(float)), rtol=1e-12, atol=1e-15)
    assert scheduler.get_last_lr() == [g["lr"] for g in scheduler.optimizer.param_groups]


def test_lecture_examples():
    """Step decay halves every n epochs; exp(-k t) is ExponentialLR with gamma = exp(-k);
    cosine hits lr0 after warm-up, the midpoint halfway and eta_min at T_max."""
    halves = lr_sequence(sched.StepLR(make_optimizer(lrs=(0.8,)), step_size=3, gamma=0.5), 10)[:, 0]
    assert halves.tolist() == [0.8] * 3 + [0.4] * 3 + [0.2] * 3 + [0.1]
    k = 0.2
    by_k = 0.1 * np.exp(-k * T)[:, None]  # the lecture's lr0 e^(-kt)
    by_gamma = lr_sequence(sched.ExponentialLR(make_optimizer(), gamma=math.exp(-k)))
    np.testing.assert_allclose(by_k, by_gamma, rtol=1e-13)
    cosine = lr_sequence(sched.CosineAnnealingLR(make_optimizer(), T_max=22, eta_min=0.02, warmup_steps=2), 30)
    assert cosine[2, 0] == pytest.approx(0.1) and cosine[12, 0] == pytest.approx(0.06)
    assert cosine[22, 0] == pytest.approx(0.02) and np.all(cosine[22:, 0] == cosine[22, 0])
    assert np.all(np.diff(cosine[:3, 0]) > 0) and np.all(np.diff(cosine[2:23, 0]) < 0)


def test_the_optimizer_steps_with_the_scheduled_lr(device):
    p = tl.Tensor([1.0], requires_grad=True, device=device, dtype=np.float64)
    opt = optim.SGD([p], lr=0.5)
    scheduler = sched.InverseTimeLR(opt, k=1.0)
    x = 1.0
    for t in range(5):
        p.grad = tl.Tensor([1.0], device=device, dtype=np.float64)
        opt.step()
        scheduler.step()
        x -= 0.5 / (1 + t)
    assert p.item() == pytest.approx(x, rel=1e-14)


def test_lambda_lr_takes_one_function_per_group():
    opt = make_optimizer(lrs=LRS)
    got = lr_sequence(sched.LambdaLR(opt, [lam, lambda t: 1.0 / (1 + t)]))
    np.testing.assert_allclose(got[:, 0], 0.1 * lam(T), rtol=1e-13)
    np.testing.assert_allclose(got[:, 1], 0.02 / (1 + T), rtol=1e-13)


# ---------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_on_plateau_min_mode_patience_and_floor():
    opt = make_optimizer(lrs=(1.0,))
    plateau = sched.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, min_lr=0.2)
    lrs = []
    for loss in [1.0] * 12:  # epoch 1 sets best; every third bad epoch after that exceeds patience 2
        plateau.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2]


def test_reduce_on_plateau_max_mode_tracks_validation_accuracy():
    """The lecture: halve the learning rate whenever the validation accuracy tops off."""
    opt = make_optimizer(lrs=(0.1, 0.01))
    plateau = sched.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=1, threshold=0.01)
    accuracy = [0.50, 0.60, 0.605, 0.70, 0.70, 0.70, 0.71, 0.80]
    # improved? (needs > best * 1.01): y y n(bad 1) y n(1) n(2 > 1: halve) y y
    expected = [0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05]
    got = []
    for acc in accuracy:
        plateau.step(tl.Tensor(acc))
        got.append([g["lr"] for g in opt.param_groups])
    np.testing.assert_allclose(np.array(got), np.outer(expected, [1.0, 0.1]), rtol=1e-15)


def test_reduce_on_plateau_abs_threshold_and_cooldown():
    opt = make_optimizer(lrs=(1.0,))
    plateau = sched.ReduceLROnPlateau(opt, factor=0.1, patience=0, threshold=0.5, threshold_mode="abs",
                                      cooldown=2)
    lrs = []
    for loss in [10.0, 9.6, 9.0, 8.0, 7.9, 7.8, 7.7]:
        plateau.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    # 9.6 is not 0.5 below best 10: bad, cut. 9.0 and 8.0 improve (cooldown). 7.9 is not 0.5 below 8:
    # bad, cut. 7.8 and 7.7 are bad but fall in the two cooldown epochs, which reset the count.
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


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
    opt = make_optimizer(device, lrs=LRS, cls=cls)
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
    opt = make_optimizer(lrs=LRS)
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
    opt = make_optimizer(device, lrs=LRS)
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
    opt = make_optimizer(lrs=LRS)
    first = sched.LinearLR(opt, start_factor=0.5, total_iters=2)
    second = sched.LambdaLR(opt, lambda t: 1.0 / (t + 1))  # made when the warm-up had halved the lr
    got = lr_sequence(sched.SequentialLR(opt, [first, second], milestones=[3]), 8)[:, 0]
    np.testing.assert_allclose(got, [0.05, 0.075, 0.1, 0.1, 0.05, 0.1 / 3, 0.025, 0.02], rtol=1e-13)


# ---------------------------------------------------------------- composition and chaining, as PyTorch's
@pytest.mark.parametrize("order", ["step_first", "exponential_first"])
def test_two_schedulers_on_one_optimizer_compose(device, order):
    """PyTorch's chaining: each step scales the group's current lr, so StepLR(s, g1) and
    ExponentialLR(g2) together give lr_t = lr0 * g1 ** floor(t / s) * g2 ** t."""
    opt = make_optimizer(device, lrs=(0.1, 0.02))
    pair = [sched.StepLR(opt, step_size=3, gamma=0.5), sched.ExponentialLR(opt, gamma=0.9)]
    if order == "exponential_first":
        pair.reverse()
    got = []
    for _ in T:
        got.append([g["lr"] for g in opt.param_groups])
        for s in pair:
            s.step()
    for j, lr0 in enumerate((0.1, 0.02)):
        np.testing.assert_allclose(np.array(got)[:, j], lr0 * 0.5 ** np.floor(T / 3) * 0.9**T, rtol=1e-12)


@pytest.mark.parametrize("order", [1, -1])
def test_chainable_schedules_compose_with_the_existing_ones(device, order):
    """MultiStepLR, LinearLR and ExponentialLR together: the product of their closed forms, in
    either order (PyTorch's chainable form); cosine annealing to 0 scales by its factor."""
    opt = make_optimizer(device, lrs=LRS)
    pair = [sched.MultiStepLR(opt, [5, 11], gamma=0.3), sched.LinearLR(opt, 0.5, total_iters=4),
            sched.ExponentialLR(opt, gamma=0.95)][::order]
    got = lr_sequence(pair)
    for j, lr0 in enumerate(LRS):
        want = lr0 * 0.3 ** milestones_passed(T, [5, 11]) * (0.5 + 0.5 * np.minimum(T, 4) / 4) * 0.95**T
        np.testing.assert_allclose(got[:, j], want, rtol=1e-12)
    opt = make_optimizer(device, lrs=LRS)
    got = lr_sequence([sched.LinearLR(opt, 0.25, total_iters=8), sched.CosineAnnealingLR(opt, T_max=30)], 31)
    want = 0.1 * (0.25 + 0.75 * np.minimum(T[:31], 8) / 8) * (1 + np.cos(np.pi * T[:31] / 30)) / 2
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-9, atol=1e-15)


def test_lambda_and_one_cycle_set_the_lr_so_the_later_scheduler_wins():
    """PyTorch's LambdaLR and OneCycleLR compute from their own formula, not the current lr:
    stepped first, ExponentialLR then scales their value; stepped last, they overwrite it."""
    opt = make_optimizer(lrs=LRS)
    got = lr_sequence([sched.LambdaLR(opt, lam), sched.ExponentialLR(opt, gamma=0.9)])[:, 0]
    np.testing.assert_allclose(got, 0.1 * lam(T) * np.where(T > 0, 0.9, 1.0), rtol=1e-13)
    opt = make_optimizer(lrs=LRS)
    got = lr_sequence([sched.ExponentialLR(opt, gamma=0.9), sched.LambdaLR(opt, lam)])[:, 0]
    np.testing.assert_allclose(got, 0.1 * lam(T), rtol=1e-13)
    opt = make_optimizer(lrs=LRS)
    got = lr_sequence([sched.OneCycleLR(opt, max_lr=1.0, total_steps=40), sched.StepLR(opt, 1, gamma=0.5)])[:, 0]
    np.testing.assert_allclose(got, [one_cycle(t, 1.0, 40) * (0.5 if t else 1.0) for t in T], rtol=1e-12)


def _cosine_factor(t, warmup=0, t_max=30):
    """(1 + cos(pi (t - W) / (T_max - W))) / 2 from W on."""
    return (1 + np.cos(np.pi * (t - warmup) / (t_max - warmup))) / 2


MANUAL = {  # name: the lr at step t >= m after the lr was set to x by hand at step m (PyTorch's chained forms)
    "step": lambda x, m, t: x * 0.5 ** (t // 5 - m // 5),
    "exponential": lambda x, m, t: x * 0.9 ** (t - m),
    "exp_decay": lambda x, m, t: x * np.exp(-0.15 * (t - m)),
    "inverse_time": lambda x, m, t: x * (1 + 0.3 * m) / (1 + 0.3 * t),
    # PyTorch's recursive cosine: lr_t = eta_min + (lr_{t-1} - eta_min) c(t) / c(t - 1); eta_min after T_max
    "cosine": lambda x, m, t: 1e-3 + (x - 1e-3) * _cosine_factor(min(t, 30)) / _cosine_factor(m),
    "cosine_warmup": lambda x, m, t: x * _cosine_factor(min(t, 30), 4) / _cosine_factor(m, 4),
}


@pytest.mark.parametrize("name", sorted(MANUAL))
def test_an_lr_set_by_hand_persists_and_is_scaled_by_later_steps(name):
    opt = make_optimizer(lrs=(0.1, 0.02))
    scheduler = LECTURE_FORMS[name][0](opt)
    m, hand = 10, (0.37, 0.05)
    for _ in range(m):
        scheduler.step()
    for group, x in zip(opt.param_groups, hand):
        group["lr"] = x
    got = lr_sequence(scheduler, 30)  # t = m .. m + 29
    for j, x in enumerate(hand):
        expected = [MANUAL[name](x, m, t) for t in range(m, m + 30)]
        np.testing.assert_allclose(got[:, j], expected, rtol=1e-12, atol=1e-15)


def test_an_lr_set_by_hand_persists_in_chainable_schedules_only():
    """Chainable: lr_t = x * f(t) / f(m) after the lr was set to x at step m. LambdaLR, as
    PyTorch's, goes back to lr0 * lr_lambda(t) at the next step."""
    m, hand = 3, 0.37
    for name, want in [("multistep", lambda t: hand * 0.5 ** (milestones_passed(t, [3, 7, 7, 12]) - 1)),
                       ("linear_warmup", lambda t: hand * (0.2 + 0.7 * np.minimum(t, 6) / 6) / 0.55),
                       ("lambda", lambda t: np.where(t == m, hand, 0.1 * lam(t)))]:
        opt = make_optimizer(lrs=LRS)
        scheduler = PYTORCH_FORMS[name][0](opt)
        for _ in range(m):
            scheduler.step()
        opt.param_groups[0]["lr"] = hand
        got = lr_sequence(scheduler, 20)[:, 0]
        np.testing.assert_allclose(got, want(np.arange(m, m + 20)), rtol=1e-12, err_msg=name)


def test_warmup_scales_the_current_lr_from_the_start():
    """Made after another scheduler changed the lr, the warm-up ramps to that lr, not the first one."""
    opt = make_optimizer(lrs=(0.1,))
    step = sched.StepLR(opt, step_size=1, gamma=0.5)
    step.step()  # lr 0.05
    warm = sched.CosineAnnealingLR(opt, T_max=10, warmup_steps=3)
    got = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        warm.step()
        got.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, [0.05 * (t + 1) / 4 for t in range(4)], rtol=1e-12)


# ---------------------------------------------------------------- saving
@pytest.mark.parametrize("name", sorted(LECTURE_FORMS) + ["plateau"])
def test_scheduler_state_dict_resumes(name):
    def build():
        opt = make_optimizer(lrs=(0.1, 0.05))
        if name == "plateau":
            return sched.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        return LECTURE_FORMS[name][0](opt)

    metrics = [5.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0]

    def advance(s, ts):
        out = []
        for t in ts:
            s.step(metrics[t]) if name == "plateau" else s.step()
            out.append(s.get_last_lr())
        return out

    first = build()
    advance(first, range(6))
    saved = first.state_dict()
    expected = advance(first, range(6, 12))
    second = build()
    second.load_state_dict(saved)
    assert [g["lr"] for g in second.optimizer.param_groups] == saved["_last_lr"]
    assert advance(second, range(6, 12)) == expected


def build(name, opt):
    if name in PYTORCH_FORMS:
        return PYTORCH_FORMS[name][0](opt)
    if name == "one_cycle":
        return sched.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=20, three_phase=True)
    return sched.SequentialLR(opt, [sched.LinearLR(opt, 0.1, total_iters=3), sched.LambdaLR(opt, lam),
                                    sched.MultiStepLR(opt, [2])], milestones=[4, 7])


@pytest.mark.parametrize("name", sorted(PYTORCH_FORMS) + ["one_cycle", "sequential"])
def test_state_dict_resumes_through_a_checkpoint_file(name, tmp_path):
    """Saved with the optimizer (OneCycleLR's momentum lives in its groups) in a checkpoint, as
    fit does; a fresh pair loads it and continues with the same learning rates and momenta."""
    opt = make_optimizer(lrs=LRS)
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
    opt = make_optimizer(lrs=LRS)
    saved = build("sequential", opt).state_dict()
    other = sched.SequentialLR(opt, [sched.LinearLR(opt)], milestones=[])
    with pytest.raises(ValueError, match="saved for 3 schedulers, this one has 1"):
        other.load_state_dict(saved)


def test_scheduler_load_refuses_another_group_count():
    saved = sched.StepLR(make_optimizer(lrs=(0.1, 0.2)), step_size=2).state_dict()
    with pytest.raises(ValueError, match="2 groups"):
        sched.StepLR(make_optimizer(lrs=(0.1,)), step_size=2).load_state_dict(saved)


# ---------------------------------------------------------------- bad input
BAD = [  # (scheduler, arguments, error, message after "{scheduler}: "), on an optimizer with one group
    ("StepLR", {"step_size": 0}, ValueError, "step_size must be an integer >= 1, got 0"),
    ("StepLR", {"step_size": 2.5}, TypeError, "step_size must be an integer >= 1, got 2.5"),
    ("StepLR", {"step_size": 1, "gamma": 0.0}, ValueError, "gamma must be a finite number > 0, got 0.0"),
    ("ExponentialLR", {"gamma": 0.0}, ValueError, "gamma must be a finite number > 0, got 0.0"),
    ("InverseTimeLR", {"k": -1}, ValueError, "k must be a finite number >= 0, got -1"),
    ("CosineAnnealingLR", {"T_max": 0}, ValueError, "T_max must be an integer >= 1, got 0"),
    ("CosineAnnealingLR", {"T_max": 5, "warmup_steps": 5}, ValueError, "warmup_steps must be < T_max=5"),
    ("CosineAnnealingLR", {"T_max": 5, "warmup_steps": -1}, ValueError, "warmup_steps must be an integer"),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": -1.0}, ValueError, "eta_min must be a finite number >= 0"),
    ("ReduceLROnPlateau", {"mode": "up"}, ValueError, "mode must be one of ('min', 'max'), got 'up'"),
    ("ReduceLROnPlateau", {"threshold_mode": "x"}, ValueError, "threshold_mode must be one of ('rel', 'abs'"),
    ("ReduceLROnPlateau", {"factor": 1.0}, ValueError, "factor must be a finite number in [0, 1), got 1.0"),
    ("ReduceLROnPlateau", {"patience": True}, TypeError, "patience must be an integer >= 0, got True"),
    ("ReduceLROnPlateau", {"cooldown": -1}, ValueError, "cooldown must be an integer >= 0, got -1"),
    ("ReduceLROnPlateau", {"threshold": -1.0}, ValueError, "threshold must be a finite number >= 0"),
    ("ReduceLROnPlateau", {"eps": -1.0}, ValueError, "eps must be a finite number >= 0"),
    ("ReduceLROnPlateau", {"min_lr": -1.0}, ValueError, "min_lr must be a finite number >= 0, got -1.0"),
    ("ReduceLROnPlateau", {"min_lr": [0.0, 0.0]}, ValueError,
     "min_lr must be a number or one per parameter group (1), got [0.0, 0.0]"),
]


BAD_TWO_GROUPS = [  # the same, on an optimizer with two groups (LRS)
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


@pytest.mark.parametrize("lrs, name, kwargs, error, message",
                         [((0.1,), *row) for row in BAD] + [(LRS, *row) for row in BAD_TWO_GROUPS])
def test_bad_scheduler_arguments_raise(lrs, name, kwargs, error, message):
    with pytest.raises(error, match=re.escape(f"{name}: {message}")):
        getattr(sched, name)(make_optimizer(lrs=lrs), **kwargs)


@pytest.mark.parametrize("name, kwargs", [("StepLR", {"step_size": 1}), ("ReduceLROnPlateau", {})])
def test_schedulers_need_an_optimizer(name, kwargs):
    with pytest.raises(TypeError, match=f"{name} needs an optim.Optimizer, got str"):
        getattr(sched, name)("not an optimizer", **kwargs)


def _opt():
    return make_optimizer(lrs=LRS)


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
        (lambda: sched.OneCycleLR(make_optimizer(lrs=LRS, cls=optim.Adagrad), max_lr=1.0, total_steps=10), ValueError,
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
