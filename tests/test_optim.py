"""Optimizers against plain-NumPy transcriptions of their equations: the lecture's, and for
PyTorch's options and the optimizers added after the lecture's (SGD dampening, Adagrad lr_decay,
RMSprop momentum and centered, Adadelta, Adamax, NAdam) torch.optim's documented algorithms;
the Optimizer API, saving and moving state, and bad input."""
import math
import re
import tracemalloc

import numpy as np
import pytest
from helpers import DEVICES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import backend, optim
from tinygrad_lite.checks import check_bool

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------- the lecture's equations, in float64
# Each takes the parameter x, its gradient g and a dict of its own state, and returns the new x,
# written as the equations read (lecture / papers), with temporaries and no in-place tricks.
def ref_sgd(x, g, s, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    dx = g + weight_decay * x
    if momentum == 0:
        return x - lr * dx
    s["v"] = momentum * s.get("v", 0.0) + dx
    return x - lr * (dx + momentum * s["v"]) if nesterov else x - lr * s["v"]


def ref_adagrad(x, g, s, lr=1e-2, eps=1e-10, weight_decay=0.0, initial_accumulator_value=0.0):
    dx = g + weight_decay * x
    s["cache"] = s.get("cache", initial_accumulator_value) + dx**2
    return x - lr * dx / (np.sqrt(s["cache"]) + eps)


def ref_rmsprop(x, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
    dx = g + weight_decay * x
    s["cache"] = alpha * s.get("cache", 0.0) + (1 - alpha) * dx**2
    return x - lr * dx / (np.sqrt(s["cache"]) + eps)


def ref_adam(x, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             decoupled=False):
    beta1, beta2 = betas
    if decoupled:
        x, dx = x - lr * weight_decay * x, g
    else:
        dx = g + weight_decay * x
    t = s["t"] = s.get("t", 0) + 1
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * dx
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * dx**2
    v = s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"]) if amsgrad else s["v"]
    m_hat, v_hat = s["m"] / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(x, g, s, **kw):
    return ref_adam(x, g, s, decoupled=True, **kw)


# ---------------------------------------------------------------- torch.optim's algorithms, in float64
# Each follows the algorithm box of torch.optim's documentation line by line: x the parameter
# (theta), g its gradient, s a dict of this parameter's state; returns the new x.
def ref_torch_sgd(x, g, s, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    g = g + weight_decay * x
    if momentum != 0:
        s["b"] = g if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return x - lr * g


def ref_torch_adagrad(x, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    t = s["t"] = s.get("t", 0) + 1
    g = g + weight_decay * x
    clr = lr / (1 + (t - 1) * lr_decay)
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return x - clr * g / (np.sqrt(s["sum"]) + eps)


def ref_torch_rmsprop(x, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    g = g + weight_decay * x
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    v_tilde = s["v"]
    if centered:
        s["g_ave"] = alpha * s.get("g_ave", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - s["g_ave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        return x - lr * s["b"]
    return x - lr * g / (np.sqrt(v_tilde) + eps)


def ref_adadelta(x, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = g + weight_decay * x
    s["v"] = s.get("v", 0.0) * rho + g * g * (1 - rho)
    dx = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = s.get("u", 0.0) * rho + dx * dx * (1 - rho)
    return x - lr * dx


def ref_adamax(x, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = g + weight_decay * x
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["u"] = np.maximum(beta2 * s.get("u", 0.0), np.abs(g) + eps)
    return x - lr * s["m"] / ((1 - beta1**t) * s["u"])


def ref_nadam(x, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False):
    beta1, beta2 = betas
    t = s["t"] = s.get("t", 0) + 1
    if decoupled_weight_decay:
        x = x - lr * weight_decay * x
    else:
        g = g + weight_decay * x

    def mu(i):
        return beta1 * (1 - 0.5 * 0.96 ** (i * momentum_decay))

    product = np.prod([mu(i) for i in range(1, t + 1)])  # from scratch every step, not a running product
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g * g
    m_hat = mu(t + 1) * s["m"] / (1 - product * mu(t + 1)) + (1 - mu(t)) * g / (1 - product)
    v_hat = s["v"] / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps)


# ---------------------------------------------------------------- the cases
unit = st.floats(0.0, 0.99)
decay = st.sampled_from([0.0, 1e-3, 0.1])
eps = st.sampled_from([1e-10, 1e-8, 1e-4])
betas = st.tuples(unit, st.floats(0.5, 0.9999))
LECTURE_CASES = {  # name: (class, hyperparameter strategy, reference)
    "sgd": (optim.SGD, st.fixed_dictionaries({"lr": st.floats(1e-3, 0.5), "weight_decay": decay}), ref_sgd),
    "momentum": (optim.SGD, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.2), "momentum": st.floats(0.01, 0.99), "weight_decay": decay}), ref_sgd),
    "nesterov": (optim.SGD, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.2), "momentum": st.floats(0.01, 0.99), "nesterov": st.just(True),
         "weight_decay": decay}), ref_sgd),
    "adagrad": (optim.Adagrad, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.5), "eps": eps, "weight_decay": decay,
         "initial_accumulator_value": st.sampled_from([0.0, 0.1])}), ref_adagrad),
    "rmsprop": (optim.RMSprop, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.1), "alpha": unit, "eps": eps, "weight_decay": decay}), ref_rmsprop),
    "adam": (optim.Adam, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.1), "betas": betas, "eps": eps, "weight_decay": decay,
         "amsgrad": st.booleans()}), ref_adam),
    "adamw": (optim.AdamW, st.fixed_dictionaries(
        {"lr": st.floats(1e-3, 0.1), "betas": betas, "eps": eps, "weight_decay": decay,
         "amsgrad": st.booleans()}), ref_adamw),
}
fd = st.fixed_dictionaries
TORCH_CASES = {  # name: (class, hyperparameter strategy, reference)
    "sgd_dampening": (optim.SGD, fd({"lr": st.floats(1e-3, 0.2), "momentum": st.floats(0.01, 0.99),
                                     "dampening": st.floats(0.0, 1.0), "weight_decay": decay}), ref_torch_sgd),
    "adagrad_lr_decay": (optim.Adagrad, fd({"lr": st.floats(1e-3, 0.5), "lr_decay": st.floats(0.0, 1.0),
                                            "eps": eps, "weight_decay": decay,
                                            "initial_accumulator_value": st.sampled_from([0.0, 0.1])}), ref_torch_adagrad),
    "rmsprop_momentum": (optim.RMSprop, fd({"lr": st.floats(1e-3, 0.1), "alpha": unit, "eps": eps,
                                            "weight_decay": decay, "momentum": st.floats(0.01, 0.99)}), ref_torch_rmsprop),
    # alpha >= 0.5: at alpha ~ 0 the running variance cancels to ~0 and the step is lr * dx / eps
    "rmsprop_centered": (optim.RMSprop, fd({"lr": st.floats(1e-3, 0.1), "alpha": st.floats(0.5, 0.99),
                                            "eps": st.sampled_from([1e-8, 1e-4]), "weight_decay": decay,
                                            "momentum": st.sampled_from([0.0, 0.5, 0.9]),
                                            "centered": st.just(True)}), ref_torch_rmsprop),
    "adadelta": (optim.Adadelta, fd({"lr": st.floats(0.05, 1.0), "rho": st.floats(0.0, 1.0),
                                     "eps": st.sampled_from([1e-6, 1e-3]), "weight_decay": decay}), ref_adadelta),
    "adamax": (optim.Adamax, fd({"lr": st.floats(1e-3, 0.1), "betas": betas, "eps": eps, "weight_decay": decay}),
               ref_adamax),
    "nadam": (optim.NAdam, fd({"lr": st.floats(1e-3, 0.1), "betas": betas, "eps": eps, "weight_decay": decay,
                               "momentum_decay": st.sampled_from([0.0, 4e-3, 0.5]),
                               "decoupled_weight_decay": st.booleans()}), ref_nadam),
}
FIXED = {  # name: hyperparameters with every option of the case switched on
    "sgd_dampening": {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1},
    "adagrad_lr_decay": {"lr": 0.05, "lr_decay": 0.2, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
    "rmsprop_momentum": {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
    "rmsprop_centered": {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "adadelta": {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1},
    "adamax": {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1},
    "nadam": {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "momentum_decay": 0.1},
}
OTHER = {  # name: the second group's overrides, the case's own option among them
    "sgd_dampening": {"lr": 0.02, "weight_decay": 0.0, "dampening": 0.6},
    "adagrad_lr_decay": {"lr": 0.1, "weight_decay": 0.0, "lr_decay": 0.0, "initial_accumulator_value": 0.0},
    "rmsprop_momentum": {"lr": 0.02, "weight_decay": 0.0, "momentum": 0.3},
    "rmsprop_centered": {"lr": 0.02, "weight_decay": 0.0, "centered": False},
    "adadelta": {"lr": 1.0, "weight_decay": 0.0, "rho": 0.95, "eps": 1e-4},
    "adamax": {"lr": 0.02, "weight_decay": 0.0, "betas": (0.5, 0.9), "eps": 1e-4},
    "nadam": {"lr": 0.02, "weight_decay": 0.0, "momentum_decay": 4e-3, "decoupled_weight_decay": True},
}
NEW_STATE = {"adadelta": {"square_avg", "acc_delta"}, "adamax": {"step", "exp_avg", "exp_inf"},
             "nadam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
             "rmsprop_centered": {"square_avg", "grad_avg", "momentum_buffer"}}
CASES = {**LECTURE_CASES, **TORCH_CASES}


def fixed_hyper(case, **hyper):
    """``hyper`` plus the momentum settings that make ``case`` what its name says."""
    if case in ("momentum", "nesterov"):
        hyper |= {"momentum": 0.9, "nesterov": case == "nesterov"}
    return hyper


def grad_fn(x, k, coef, noise):
    """A gradient that depends on the current point: coef * x + noise[k]."""
    return coef * x + noise[k]


def run_optimizer(cls, hyper, x0, steps, coef, noise, device, dtype=np.float64):
    p = tl.Tensor(x0.astype(dtype), requires_grad=True, device=device)
    opt = cls([p], **hyper)
    path = []
    for k in range(steps):
        p.grad = tl.Tensor(grad_fn(p.numpy(), k, coef, noise).astype(dtype), device=device)
        opt.step()
        path.append(p.numpy().copy())
    return p, opt, path


def run_reference(ref, hyper, x0, steps, coef, noise):
    x, s, path = x0.astype(np.float64), {}, []
    for k in range(steps):
        x = ref(x, grad_fn(x, k, coef, noise), s, **hyper)
        path.append(x)
    return path


@st.composite
def problems(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-3, 1.0, 30.0]))
    steps = draw(st.integers(1, 25))
    coef = draw(st.floats(0.0, 2.0))
    return rng.standard_normal(shape), steps, coef, scale * rng.standard_normal((steps, *shape))


def arrays_of(state: dict) -> list:
    return [v for v in state.values() if not isinstance(v, (int, float))]


# ---------------------------------------------------------------- every optimizer against its transcription
@pytest.mark.parametrize("case", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_matches_numpy_transcription(case, device, data):
    cls, hyper_strategy, ref = CASES[case]
    check_transcription(case, cls, data.draw(hyper_strategy), ref, data.draw(problems()), device)


def check_transcription(case, cls, hyper, ref, problem, device):
    """``cls(**hyper)`` follows the NumPy transcription ``ref`` step by step on ``problem``
    (float64), and keeps its state arrays on ``device`` in float64."""
    x0, steps, coef, noise = problem
    p, opt, path = run_optimizer(cls, hyper, x0, steps, coef, noise, device)
    expected = run_reference(ref, hyper, x0, steps, coef, noise)
    # float64 agreement up to rounding, measured against the scale of the parameters: an entry
    # that nearly cancels (0.01 left of O(1) steps) keeps the absolute error of the steps, which
    # sign-like updates (Adamax with a small beta2, eps-sized denominators) amplify to ~1e-12
    scale = max(1.0, float(np.abs(x0).max()))
    for k, (got, want) in enumerate(zip(path, expected)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11 * scale, err_msg=f"{case} step {k + 1}")
    for value in opt.state[p].values():
        if not isinstance(value, (int, float)):
            assert backend.device_of(value) == device and value.dtype == np.float64


@pytest.mark.parametrize("case", sorted(LECTURE_CASES))
def test_float32_stays_float32(case, device):
    cls, _, ref = LECTURE_CASES[case]
    hyper = fixed_hyper(case, lr=0.05, weight_decay=0.1)
    rng = np.random.default_rng(0)
    x0, noise = rng.standard_normal((3, 4)), rng.standard_normal((10, 3, 4))
    p, opt, path = run_optimizer(cls, hyper, x0, 10, 0.5, noise, device, dtype=np.float32)
    assert p.dtype == np.float32 and all(k.dtype == np.float32 for k in path)
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if not isinstance(v, int))
    expected = run_reference(ref, hyper, x0.astype(np.float32), 10, 0.5, noise.astype(np.float32))
    np.testing.assert_allclose(path[-1], expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", sorted(LECTURE_CASES))
def test_step_updates_in_place_reads_gradients_only_and_skips_missing_ones(case, device):
    """Modules hold p.data, so a step must change that very array; gradients may alias
    other arrays, so a step must never write into them (here: several steps, with state)."""
    cls, hyper = LECTURE_CASES[case][0], fixed_hyper(case, lr=0.1, weight_decay=0.1)
    hyper |= {"amsgrad": True} if issubclass(cls, optim.Adam) else {}
    check_in_place_steps(cls, hyper, device)


def check_in_place_steps(cls, hyper, device):
    """Three steps of ``cls(**hyper)`` change p.data itself, never its gradient, and leave a
    parameter without a gradient (and without state) alone."""
    p = tl.Tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True, device=device)
    idle = tl.Tensor([4.0, 5.0], requires_grad=True, device=device)
    opt = cls([p, idle], **hyper)
    x = p.data
    for _ in range(3):
        p.grad = None
        (p * p * p).sum().backward()
        g, grad_before, p_before = p.grad.data, p.grad.numpy().copy(), p.numpy().copy()
        opt.step()
        assert p.data is x and p.grad.data is g
        np.testing.assert_array_equal(p.grad.numpy(), grad_before)
        assert not np.array_equal(p.numpy(), p_before)
    np.testing.assert_array_equal(idle.numpy(), [4.0, 5.0])
    assert idle not in opt.state


@pytest.mark.parametrize("case", sorted(LECTURE_CASES))
def test_steps_allocate_nothing_the_size_of_a_parameter(case):
    """Such temporaries would be freed and faulted in again on every step (optim/optimizer.py)."""
    cls, hyper = LECTURE_CASES[case][0], fixed_hyper(case, lr=0.01, weight_decay=0.1)
    hyper |= {"amsgrad": True} if issubclass(cls, optim.Adam) else {}
    assert_step_allocates_little(cls, hyper)


def assert_step_allocates_little(cls, hyper):
    """After the first step of ``cls(**hyper)`` (which makes the state and the scratch arrays),
    a step allocates less than a quarter of the parameter's size."""
    p = tl.Tensor(np.ones((256, 256), np.float32), requires_grad=True)
    p.grad = tl.Tensor(np.full((256, 256), 0.5, np.float32))
    opt = cls([p], **hyper)
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes // 4


@pytest.mark.parametrize("case", sorted(LECTURE_CASES))
def test_views_and_0d_parameters_match_numpy_transcription(case, device):
    """A gradient that arrives as a transposed (non-contiguous) view, a parameter whose
    array is a transposed view, and a 0-d parameter, each updated as the equations say."""
    cls, _, ref = LECTURE_CASES[case]
    hyper = fixed_hyper(case, lr=0.05, weight_decay=0.1)
    rng = np.random.default_rng(4)
    w, u, a = rng.standard_normal((7, 3)), rng.standard_normal((5, 4)), rng.standard_normal((3, 7))
    ps = [tl.Tensor(w.copy(), requires_grad=True, device=device),
          tl.Tensor(backend.to_device(u, device, copy=True).T, requires_grad=True),
          tl.Tensor(np.array(0.5), requires_grad=True, device=device)]
    assert not ps[1].data.flags.c_contiguous
    a = tl.Tensor(a, device=device)
    opt = cls(ps, **hyper)
    xs, states = [w, u.T, np.array(0.5)], [{} for _ in ps]
    for _ in range(5):
        opt.zero_grad()
        (a * ps[0].T * ps[0].T).sum().backward()  # d/dp0 = (2 a p0^T)^T: a transposed view
        (ps[1] * ps[1] * ps[1]).sum().backward()
        (ps[2] * ps[2] * ps[2]).backward()
        assert not ps[0].grad.data.flags.c_contiguous
        grads = [p.grad.numpy().copy() for p in ps]
        opt.step()
        for i, (p, g) in enumerate(zip(ps, grads)):
            xs[i] = ref(xs[i], g, states[i], **hyper)
            np.testing.assert_allclose(p.numpy(), xs[i], rtol=1e-12, atol=1e-14, err_msg=f"parameter {i}")
    assert ps[2].shape == () and ps[1].shape == (4, 5)


def test_hyperparameters_are_stored_as_python_floats():
    """A NumPy float64 hyperparameter would turn a float32 update's temporaries float64."""
    p = tl.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([{"params": [p], "lr": np.float64(0.1)}], betas=(np.float32(0.5), 0.9),
                     eps=np.float64(1e-6))
    group = opt.param_groups[0]
    assert [type(v) for v in (group["lr"], group["eps"], *group["betas"])] == [float] * 4
    p.grad = tl.Tensor(np.ones(3, np.float32))
    opt.step()
    assert p.dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32


def test_param_groups_have_their_own_hyperparameters(device):
    rng = np.random.default_rng(1)
    w0, b0, noise_w, noise_b = (rng.standard_normal(s) for s in [(3, 2), (2,), (6, 3, 2), (6, 2)])
    w = tl.Tensor(w0.copy(), requires_grad=True, device=device)  # Tensor(ndarray) may share memory
    b = tl.Tensor(b0.copy(), requires_grad=True, device=device)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.3, "weight_decay": 0.0}],
                    lr=0.1, momentum=0.8, weight_decay=0.05)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.3]
    sw, sb, xw, xb = {}, {}, w0, b0
    for k in range(6):
        w.grad, b.grad = tl.Tensor(noise_w[k], device=device), tl.Tensor(noise_b[k], device=device)
        opt.step()
        xw = ref_sgd(xw, noise_w[k], sw, lr=0.1, momentum=0.8, weight_decay=0.05)
        xb = ref_sgd(xb, noise_b[k], sb, lr=0.3, momentum=0.8)
    np.testing.assert_allclose(w.numpy(), xw, rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), xb, rtol=1e-12)


def test_zero_grad_step_closure_and_backward(device):
    p = tl.Tensor([1.0, -2.0], requires_grad=True, device=device, dtype=np.float64)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.25 * 2.0, -2.0 + 0.25 * 4.0])
    opt.zero_grad()
    assert p.grad is None


def test_zero_grad_set_to_none_false_zeroes_in_place_and_still_steps(device):
    """PyTorch's ``zero_grad(set_to_none=False)``: the same gradient tensor, zeroed; ``step`` then
    updates with that zero gradient (weight decay still moves x, as in PyTorch), while after the
    default ``set_to_none=True`` the parameter has no gradient and ``step`` skips it."""
    p = tl.Tensor([1.0, -2.0], requires_grad=True, device=device, dtype=np.float64)
    q = tl.Tensor([3.0], requires_grad=True, device=device, dtype=np.float64)  # never gets a gradient
    opt = optim.SGD([p, q], lr=0.5, weight_decay=0.1)
    (p * p).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(g.numpy() == 0.0) and q.grad is None
    opt.step()
    np.testing.assert_allclose(p.numpy(), ref_sgd(np.array([1.0, -2.0]), np.zeros(2), {}, lr=0.5, weight_decay=0.1))
    assert q.numpy().tolist() == [3.0]
    opt.zero_grad(set_to_none=True)
    assert p.grad is None
    before = p.numpy().copy()
    opt.step()
    np.testing.assert_array_equal(p.numpy(), before)


# ---------------------------------------------------------------- bad input
BAD = [  # (optimizer, arguments, error, message after "{optimizer}: "), in tinygrad_lite.checks' format
    (optim.SGD, {"lr": -0.1}, ValueError, "lr must be a finite number >= 0, got -0.1"),
    (optim.SGD, {"lr": math.nan}, ValueError, "lr must be a finite number >= 0, got nan"),
    (optim.SGD, {"lr": math.inf}, ValueError, "lr must be a finite number >= 0, got inf"),
    (optim.SGD, {"lr": 1, "momentum": 1.0}, ValueError,
     "momentum must be a finite number in [0, 1), got 1.0"),
    (optim.SGD, {"lr": 1, "momentum": -0.5}, ValueError,
     "momentum must be a finite number in [0, 1), got -0.5"),
    (optim.SGD, {"lr": 1, "nesterov": True}, ValueError, "momentum must be > 0 with nesterov=True, got 0.0"),
    (optim.Adagrad, {"weight_decay": -1}, ValueError, "weight_decay must be a finite number >= 0, got -1"),
    (optim.SGD, {"lr": "0.1"}, TypeError, "lr must be a finite number >= 0, got '0.1'"),
    (optim.SGD, {"lr": True}, TypeError, "lr must be a finite number >= 0, got True"),
    (optim.Adagrad, {"eps": -1e-8}, ValueError, "eps must be a finite number >= 0, got -1e-08"),
    (optim.Adagrad, {"initial_accumulator_value": -1.0}, ValueError, "initial_accumulator_value must be"),
    (optim.RMSprop, {"alpha": 1.0}, ValueError, "alpha must be a finite number in [0, 1), got 1.0"),
    (optim.RMSprop, {"alpha": -0.1}, ValueError, "alpha must be a finite number in [0, 1), got -0.1"),
    (optim.Adam, {"betas": (1.0, 0.999)}, ValueError, "betas[0] must be a finite number in [0, 1), got 1.0"),
    (optim.Adam, {"betas": (0.9, -0.1)}, ValueError, "betas[1] must be a finite number in [0, 1), got -0.1"),
    (optim.Adam, {"betas": (0.9,)}, ValueError, "betas must be a pair (beta1, beta2), got (0.9,)"),
    (optim.Adam, {"betas": 0.9}, TypeError, "betas must be a pair (beta1, beta2), got 0.9"),
    (optim.AdamW, {"lr": -1e-3}, ValueError, "lr must be a finite number >= 0, got -0.001"),
    # PyTorch's options and the added optimizers
    (optim.SGD, {"lr": 1, "momentum": 0.9, "dampening": 1.5}, ValueError,
     "dampening must be a finite number in [0, 1], got 1.5"),
    (optim.SGD, {"lr": 1, "dampening": "0"}, TypeError, "dampening must be a finite number in [0, 1], got '0'"),
    (optim.SGD, {"lr": 1, "momentum": 0.9, "nesterov": True, "dampening": 0.1}, ValueError,
     "dampening must be 0 with nesterov=True, got 0.1"),
    (optim.SGD, {"lr": 1, "nesterov": "yes"}, TypeError, "nesterov must be True or False, got 'yes'"),
    (optim.Adagrad, {"lr_decay": -0.1}, ValueError, "lr_decay must be a finite number >= 0, got -0.1"),
    (optim.Adagrad, {"lr_decay": math.inf}, ValueError, "lr_decay must be a finite number >= 0, got inf"),
    (optim.RMSprop, {"momentum": 1.0}, ValueError, "momentum must be a finite number in [0, 1), got 1.0"),
    (optim.RMSprop, {"momentum": -0.1}, ValueError, "momentum must be a finite number in [0, 1), got -0.1"),
    (optim.RMSprop, {"centered": 1}, TypeError, "centered must be True or False, got 1"),
    (optim.Adadelta, {"rho": 1.5}, ValueError, "rho must be a finite number in [0, 1], got 1.5"),
    (optim.Adadelta, {"rho": None}, TypeError, "rho must be a finite number in [0, 1], got None"),
    (optim.Adadelta, {"eps": 0.0}, ValueError, "eps must be a finite number > 0, got 0.0"),
    (optim.Adadelta, {"lr": -1.0}, ValueError, "lr must be a finite number >= 0, got -1.0"),
    (optim.Adadelta, {"weight_decay": math.nan}, ValueError, "weight_decay must be a finite number >= 0, got nan"),
    (optim.Adamax, {"betas": (0.9, 1.0)}, ValueError, "betas[1] must be a finite number in [0, 1), got 1.0"),
    (optim.Adamax, {"eps": -1e-8}, ValueError, "eps must be a finite number >= 0, got -1e-08"),
    (optim.NAdam, {"momentum_decay": -1e-3}, ValueError, "momentum_decay must be a finite number >= 0, got -0.001"),
    (optim.NAdam, {"decoupled_weight_decay": "True"}, TypeError,
     "decoupled_weight_decay must be True or False, got 'True'"),
    (optim.NAdam, {"betas": (1.0, 0.999)}, ValueError, "betas[0] must be a finite number in [0, 1), got 1.0"),
]


@pytest.mark.parametrize("cls, kwargs, error, message", BAD)
def test_bad_hyperparameters_raise(cls, kwargs, error, message):
    with pytest.raises(error, match=re.escape(f"{cls.__name__}: {message}")):
        cls([tl.Tensor([1.0], requires_grad=True)], **kwargs)


def test_bad_parameters_raise():
    p = tl.Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="require grad"):
        optim.SGD([tl.Tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="unknown"):
        optim.SGD([{"params": [p], "rho": 0.9}], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([{"params": [p], "momentum": 2.0}], lr=0.1)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.Adagrad, optim.RMSprop, optim.Adadelta,
                                 optim.Adamax, optim.NAdam])
@pytest.mark.parametrize("model", [lambda: tl.nn.Linear(2, 1), lambda: tl.nn.Sequential(tl.nn.Linear(2, 1))])
def test_a_model_instead_of_its_parameters_names_model_parameters(cls, model):
    """PyTorch's common slip, optim.SGD(model, lr=...): the error says what to pass."""
    m = model()
    with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: got the model itself (a {type(m).__name__}); "
                                                  f"pass its parameters, as in PyTorch: {cls.__name__}(model.parameters()")):
        cls(m, lr=0.1)
    assert cls(m.parameters(), lr=0.1).param_groups[0]["params"] == list(m.parameters())


@pytest.mark.parametrize("cls, key, value, message", [
    (optim.SGD, "dampening", -0.5, "dampening must be a finite number in [0, 1], got -0.5"),
    (optim.Adagrad, "lr_decay", -1, "lr_decay must be a finite number >= 0, got -1"),
    (optim.RMSprop, "centered", "no", "centered must be True or False, got 'no'"),
    (optim.Adadelta, "rho", 2.0, "rho must be a finite number in [0, 1], got 2.0"),
    (optim.NAdam, "momentum_decay", math.nan, "momentum_decay must be a finite number >= 0, got nan")])
def test_bad_hyperparameters_in_a_group_raise(cls, key, value, message):
    p, q = tl.Tensor([1.0], requires_grad=True), tl.Tensor([2.0], requires_grad=True)
    kwargs = {"lr": 0.1} if cls is optim.SGD else {}
    with pytest.raises((TypeError, ValueError), match=re.escape(f"{cls.__name__}: {message}")):
        cls([{"params": [p]}, {"params": [q], key: value}], **kwargs)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adagrad, optim.RMSprop, optim.Adadelta, optim.Adamax, optim.NAdam])
def test_unknown_keywords_raise_type_error_naming_them(cls):
    with pytest.raises(TypeError, match="maximize"):
        cls([tl.Tensor([1.0], requires_grad=True)], lr=0.1, maximize=True)


def test_check_bool():
    assert check_bool("RMSprop", "centered", np.bool_(True)) is True
    assert check_bool("RMSprop", "centered", False) is False
    for bad in (0, 1.0, "False", None):
        with pytest.raises(TypeError, match=re.escape(f"RMSprop: centered must be True or False, got {bad!r}")):
            check_bool("RMSprop", "centered", bad)

# ---------------------------------------------------------------- saving and moving
def _train(opt, p, noise, start, stop, device):
    for k in range(start, stop):
        p.grad = tl.Tensor(grad_fn(p.numpy(), k, 0.7, noise), device=device)
        opt.step()
    return p.numpy().copy()


@pytest.mark.parametrize("case", sorted(LECTURE_CASES))
@pytest.mark.parametrize("target", DEVICES, ids=["cpu", "strict", "cuda"])
def test_state_dict_resumes_the_same_trajectory(case, target):
    cls, hyper = LECTURE_CASES[case][0], fixed_hyper(case, lr=0.05, weight_decay=0.01)
    rng = np.random.default_rng(2)
    x0, noise = rng.standard_normal((2, 3)), rng.standard_normal((12, 2, 3))
    p = tl.Tensor(x0.copy(), requires_grad=True, device="cpu")
    opt = cls([p], **hyper)
    _train(opt, p, noise, 0, 5, "cpu")
    saved, x_mid = opt.state_dict(), p.numpy().copy()
    snapshot = {k: v.copy() for k, v in saved["state"][0].items() if isinstance(v, np.ndarray)}
    x_end = _train(opt, p, noise, 5, 12, "cpu")
    for k, v in snapshot.items():  # the saved state is a copy, not a view of the live buffers
        np.testing.assert_array_equal(saved["state"][0][k], v)

    q = tl.Tensor(x_mid.copy(), requires_grad=True, device=target)
    fresh = cls([q], lr=123.0)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.05
    assert all(backend.device_of(v) == target for v in fresh.state[q].values() if not isinstance(v, int))
    np.testing.assert_array_equal(_train(fresh, q, noise, 5, 12, target), x_end)
    for k, v in snapshot.items():  # loading copied the arrays: training on left them alone
        np.testing.assert_array_equal(saved["state"][0][k], v)


def test_load_state_dict_checks_layout():
    p, q = (tl.Tensor([1.0, 2.0], requires_grad=True) for _ in range(2))
    saved = optim.Adam([p, q]).state_dict()
    with pytest.raises(ValueError, match="parameters"):
        optim.Adam([p]).load_state_dict(saved)
    p.grad = tl.Tensor([1.0, 1.0])
    opt = optim.Adam([p])
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([tl.Tensor([1.0, 2.0, 3.0], requires_grad=True)]).load_state_dict(saved)


@pytest.mark.parametrize("case", ["momentum", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("target", [d for d in DEVICES if d != "cpu"], ids=["strict", "cuda"])
def test_state_follows_parameter_to_another_device(case, target):
    cls, ref = LECTURE_CASES[case][0], LECTURE_CASES[case][2]
    hyper = fixed_hyper(case, lr=0.05)
    rng = np.random.default_rng(3)
    x0, noise = rng.standard_normal(5), rng.standard_normal((10, 5))
    p = tl.Tensor(x0.copy(), requires_grad=True, device="cpu")
    opt = cls([p], **hyper)
    _train(opt, p, noise, 0, 4, "cpu")
    assert all(backend.device_of(v) == "cpu" for v in opt.state[p].values() if not isinstance(v, int))
    p.set_(backend.to_device(p.data, target)).grad = None  # as Module.to moves it
    got = _train(opt, p, noise, 4, 10, target)
    assert all(backend.device_of(v) == target for v in opt.state[p].values() if not isinstance(v, int))
    want = run_reference(ref, hyper, x0, 10, 0.7, noise)[-1]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_state_follows_a_dtype_change_and_checks_shapes(device):
    p = tl.Tensor(np.array([1.0, -1.0], np.float32), requires_grad=True, device=device)
    opt = optim.Adam([p], lr=0.1)
    p.grad = tl.Tensor(np.array([1.0, 1.0], np.float32), device=device)
    opt.step()
    p.set_(p.data.astype(np.float64))
    p.grad = tl.Tensor(np.array([1.0, 1.0]), device=device)
    opt.step()
    assert p.dtype == np.float64 and opt.state[p]["exp_avg"].dtype == np.float64
    p.grad = tl.Tensor(np.ones(1), device=device)
    with pytest.raises(ValueError, match=r"gradient of shape \(1,\)"):
        opt.step()
    p.set_(backend.get_xp(device).zeros(3))
    p.grad = tl.Tensor(np.ones(3), device=device)
    with pytest.raises(ValueError, match="exp_avg"):
        opt.step()


def test_load_state_dict_refuses_another_optimizers_state():
    p = tl.Tensor([1.0, 2.0], requires_grad=True)
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    adam = optim.Adam([p])
    with pytest.raises(ValueError, match="hyperparameters"):
        adam.load_state_dict(sgd.state_dict())
    assert adam.param_groups[0]["lr"] == 1e-3


# ---------------------------------------------------------------- PyTorch's options and the added optimizers
@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_param_groups_with_their_own_hyperparameters_and_weight_decay(case, device):
    """Two groups: the first takes the constructor's values, the second overrides lr, weight
    decay and the case's own option; each follows its own transcription over 8 steps."""
    cls, _, ref = TORCH_CASES[case]
    hyper, other = FIXED[case], OTHER[case]
    rng = np.random.default_rng(7)
    w0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(2)
    noise_w, noise_b = rng.standard_normal((8, 3, 2)), rng.standard_normal((8, 2))
    w = tl.Tensor(w0.copy(), requires_grad=True, device=device)
    b = tl.Tensor(b0.copy(), requires_grad=True, device=device)
    opt = cls([{"params": [w]}, {"params": [b], **other}], **hyper)
    for key, value in other.items():
        assert opt.param_groups[1][key] == value and opt.param_groups[0][key] == opt.defaults[key]
    sw, sb, xw, xb = {}, {}, w0, b0
    for k in range(8):
        gw, gb = 0.5 * w.numpy() + noise_w[k], b.numpy() ** 2 + noise_b[k]
        w.grad, b.grad = tl.Tensor(gw, device=device), tl.Tensor(gb, device=device)
        opt.step()
        xw, xb = ref(xw, gw, sw, **hyper), ref(xb, gb, sb, **{**hyper, **other})
        np.testing.assert_allclose(w.numpy(), xw, rtol=1e-11, atol=1e-13, err_msg=f"step {k + 1}")
        np.testing.assert_allclose(b.numpy(), xb, rtol=1e-11, atol=1e-13, err_msg=f"step {k + 1}")
    if case in NEW_STATE:
        assert set(opt.state[w]) == NEW_STATE[case]


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_float32_stays_float32_with_every_option(case, device):
    cls, _, ref = TORCH_CASES[case]
    rng = np.random.default_rng(0)
    x0, noise = rng.standard_normal((3, 4)), rng.standard_normal((10, 3, 4))
    p, opt, path = run_optimizer(cls, FIXED[case], x0, 10, 0.5, noise, device, dtype=np.float32)
    assert p.dtype == np.float32 and all(k.dtype == np.float32 for k in path)
    assert all(v.dtype == np.float32 for v in arrays_of(opt.state[p]))
    expected = run_reference(ref, FIXED[case], x0.astype(np.float32), 10, 0.5, noise.astype(np.float32))
    np.testing.assert_allclose(path[-1], expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_step_updates_in_place_reads_gradients_only_and_skips_missing_ones_with_every_option(case, device):
    check_in_place_steps(TORCH_CASES[case][0], FIXED[case], device)


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_steps_allocate_nothing_the_size_of_a_parameter_with_every_option(case):
    """The new helpers (Adadelta's ratio, Adamax's |dx| + eps) write into scratch arrays too."""
    assert_step_allocates_little(TORCH_CASES[case][0], FIXED[case])


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_state_dict_resumes_the_same_trajectory_on_another_device(case):
    cls, hyper = TORCH_CASES[case][0], FIXED[case]
    rng = np.random.default_rng(2)
    x0, noise = rng.standard_normal((2, 3)), rng.standard_normal((12, 2, 3))

    def train(opt, p, start, stop, device):
        for k in range(start, stop):
            p.grad = tl.Tensor(0.7 * p.numpy() + noise[k], device=device)
            opt.step()
        return p.numpy().copy()

    p = tl.Tensor(x0.copy(), requires_grad=True)
    opt = cls([p], **hyper)
    train(opt, p, 0, 5, "cpu")
    saved, x_mid = opt.state_dict(), p.numpy().copy()
    x_end = train(opt, p, 5, 12, "cpu")
    q = tl.Tensor(x_mid, requires_grad=True, device="strict")
    fresh = cls([q], lr=123.0)
    fresh.load_state_dict(saved)
    assert {k: v for k, v in fresh.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in saved["param_groups"][0].items() if k != "params"}
    np.testing.assert_array_equal(train(fresh, q, 5, 12, "strict"), x_end)


@pytest.mark.parametrize("cls, kwargs, removed", [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}, ("dampening",)), (optim.Adagrad, {}, ("lr_decay",)),
    (optim.RMSprop, {}, ("momentum", "centered"))])
def test_state_saved_before_the_new_options_loads_with_them_off(cls, kwargs, removed):
    """As PyTorch's __setstate__ does; another optimizer's state is still refused."""
    p = tl.Tensor([1.0, 2.0], requires_grad=True)
    old = cls([p], **kwargs)
    p.grad = tl.Tensor([0.5, -1.0])
    old.step()
    saved = old.state_dict()
    for group in saved["param_groups"]:
        for key in removed:
            del group[key]
    fresh = cls([p], lr=0.5, **{k: v for k, v in kwargs.items() if k != "lr"})
    fresh.param_groups[0].update(dict.fromkeys(removed, 0.5))
    fresh.load_state_dict(saved)
    assert all(fresh.param_groups[0][key] in (0.0, False) for key in removed)
    with pytest.raises(ValueError, match="hyperparameters"):
        optim.Adadelta([p]).load_state_dict(saved)
