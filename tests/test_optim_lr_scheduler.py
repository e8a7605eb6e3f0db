"""Learning-rate schedules against their closed forms, and ReduceLROnPlateau's rules."""
import math
import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import optim

sched = optim.lr_scheduler
T = np.arange(40)


def make_optimizer(device="cpu", lrs=(0.1,)):
    groups = [{"params": [tl.Tensor([1.0, 2.0], requires_grad=True, device=device)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0], momentum=0.9)


def lr_sequence(scheduler, steps=T.size):
    """The lr of every group at t = 0 .. steps - 1, read from the optimizer."""
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in scheduler.optimizer.param_groups])
        scheduler.step()
    return np.array(out)


CLOSED_FORMS = {  # name: (factory, closed form of (lr0, t as an array))
    "step": (lambda o: sched.StepLR(o, step_size=5, gamma=0.5), lambda lr0, t: lr0 * 0.5 ** np.floor(t / 5)),
    "exponential": (lambda o: sched.ExponentialLR(o, gamma=0.9), lambda lr0, t: lr0 * 0.9**t),
    "exp_decay": (lambda o: sched.ExponentialDecayLR(o, k=0.15), lambda lr0, t: lr0 * np.exp(-0.15 * t)),
    "inverse_time": (lambda o: sched.InverseTimeLR(o, k=0.3), lambda lr0, t: lr0 / (1 + 0.3 * t)),
    "cosine": (lambda o: sched.CosineAnnealingLR(o, T_max=30, eta_min=1e-3),
               lambda lr0, t: np.where(t <= 30, 1e-3 + (lr0 - 1e-3) * (1 + np.cos(np.pi * t / 30)) / 2, 1e-3)),
    "cosine_warmup": (lambda o: sched.CosineAnnealingLR(o, T_max=30, warmup_steps=4),
                      lambda lr0, t: np.where(t < 4, lr0 * (t + 1) / 5,
                                              np.where(t <= 30, lr0 * (1 + np.cos(np.pi * (t - 4) / 26)) / 2, 0))),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_schedule_reproduces_its_closed_form(device, name):
    factory, closed_form = CLOSED_FORMS[name]
    scheduler = factory(make_optimizer(device, lrs=(0.1, 0.02)))
    got = lr_sequence(scheduler)
    for j, lr0 in enumerate((0.1, 0.02)):
        np.testing.assert_allclose(got[:, j], closed_form(lr0, T.astype(float)), rtol=1e-12, atol=1e-15)
    assert scheduler.get_last_lr() == [g["lr"] for g in scheduler.optimizer.param_groups]


def test_lecture_examples():
    """Step decay halves every n epochs; exp(-k t) is ExponentialLR with gamma = exp(-k);
    cosine hits lr0 after warm-up, the midpoint halfway and eta_min at T_max."""
    halves = lr_sequence(sched.StepLR(make_optimizer(lrs=(0.8,)), step_size=3, gamma=0.5), 10)[:, 0]
    assert halves.tolist() == [0.8] * 3 + [0.4] * 3 + [0.2] * 3 + [0.1]
    k = 0.2
    by_k = lr_sequence(sched.ExponentialDecayLR(make_optimizer(), k=k))
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


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS) + ["plateau"])
def test_scheduler_state_dict_resumes(name):
    def build():
        opt = make_optimizer(lrs=(0.1, 0.05))
        if name == "plateau":
            return sched.ReduceLROnPlateau(opt, factor=0.5, patience=1)
        return CLOSED_FORMS[name][0](opt)

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


BAD = [  # (scheduler, arguments, error, message after "{scheduler}: "), in tinygrad_lite.checks' format
    ("StepLR", {"step_size": 0}, ValueError, "step_size must be an integer >= 1, got 0"),
    ("StepLR", {"step_size": 2.5}, TypeError, "step_size must be an integer >= 1, got 2.5"),
    ("StepLR", {"step_size": 1, "gamma": 0.0}, ValueError, "gamma must be a finite number > 0, got 0.0"),
    ("ExponentialLR", {"gamma": 0.0}, ValueError, "gamma must be a finite number > 0, got 0.0"),
    ("InverseTimeLR", {"k": -1}, ValueError, "k must be a finite number >= 0, got -1"),
    ("ExponentialDecayLR", {"k": -0.1}, ValueError, "k must be a finite number >= 0, got -0.1"),
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


@pytest.mark.parametrize("name, kwargs, error, message", BAD)
def test_bad_scheduler_arguments_raise(name, kwargs, error, message):
    with pytest.raises(error, match=re.escape(f"{name}: {message}")):
        getattr(sched, name)(make_optimizer(), **kwargs)


@pytest.mark.parametrize("name, kwargs", [("StepLR", {"step_size": 1}), ("ReduceLROnPlateau", {})])
def test_schedulers_need_an_optimizer(name, kwargs):
    with pytest.raises(TypeError, match=f"{name} needs an optim.Optimizer, got str"):
        getattr(sched, name)("not an optimizer", **kwargs)


def test_scheduler_load_refuses_another_group_count():
    saved = sched.StepLR(make_optimizer(lrs=(0.1, 0.2)), step_size=2).state_dict()
    with pytest.raises(ValueError, match="2 groups"):
        sched.StepLR(make_optimizer(lrs=(0.1,)), step_size=2).load_state_dict(saved)


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
    scheduler = CLOSED_FORMS[name][0](opt)
    m, hand = 10, (0.37, 0.05)
    for _ in range(m):
        scheduler.step()
    for group, x in zip(opt.param_groups, hand):
        group["lr"] = x
    got = lr_sequence(scheduler, 30)  # t = m .. m + 29
    for j, x in enumerate(hand):
        expected = [MANUAL[name](x, m, t) for t in range(m, m + 30)]
        np.testing.assert_allclose(got[:, j], expected, rtol=1e-12, atol=1e-15)


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
