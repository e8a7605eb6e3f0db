"""Optimizers against plain-NumPy transcriptions of their equations, and the Optimizer API."""
import math
import re
import tracemalloc

import numpy as np
import pytest
from conftest import DEVICES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import backend, optim

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------- reference transcriptions (float64)
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


unit = st.floats(0.0, 0.99)
decay = st.sampled_from([0.0, 1e-3, 0.1])
eps = st.sampled_from([1e-10, 1e-8, 1e-4])
betas = st.tuples(unit, st.floats(0.5, 0.9999))
CASES = {  # name: (class, hyperparameter strategy, reference)
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
    for k, (got, want) in enumerate(zip(path, expected)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{case} step {k + 1}")
    for value in opt.state[p].values():
        if not isinstance(value, (int, float)):
            assert backend.device_of(value) == device and value.dtype == np.float64


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_stays_float32(case, device):
    cls, _, ref = CASES[case]
    hyper = fixed_hyper(case, lr=0.05, weight_decay=0.1)
    rng = np.random.default_rng(0)
    x0, noise = rng.standard_normal((3, 4)), rng.standard_normal((10, 3, 4))
    p, opt, path = run_optimizer(cls, hyper, x0, 10, 0.5, noise, device, dtype=np.float32)
    assert p.dtype == np.float32 and all(k.dtype == np.float32 for k in path)
    assert all(v.dtype == np.float32 for v in opt.state[p].values() if not isinstance(v, int))
    expected = run_reference(ref, hyper, x0.astype(np.float32), 10, 0.5, noise.astype(np.float32))
    np.testing.assert_allclose(path[-1], expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_updates_in_place_reads_gradients_only_and_skips_missing_ones(case, device):
    """Modules hold p.data, so a step must change that very array; gradients may alias
    other arrays, so a step must never write into them (here: several steps, with state)."""
    cls, hyper = CASES[case][0], fixed_hyper(case, lr=0.1, weight_decay=0.1)
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_allocate_nothing_the_size_of_a_parameter(case):
    """Such temporaries would be freed and faulted in again on every step (optim/optimizer.py)."""
    cls, hyper = CASES[case][0], fixed_hyper(case, lr=0.01, weight_decay=0.1)
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_views_and_0d_parameters_match_numpy_transcription(case, device):
    """A gradient that arrives as a transposed (non-contiguous) view, a parameter whose
    array is a transposed view, and a 0-d parameter, each updated as the equations say."""
    cls, _, ref = CASES[case]
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


# ---------------------------------------------------------------- saving and moving
def _train(opt, p, noise, start, stop, device):
    for k in range(start, stop):
        p.grad = tl.Tensor(grad_fn(p.numpy(), k, 0.7, noise), device=device)
        opt.step()
    return p.numpy().copy()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("target", DEVICES, ids=["cpu", "strict", "cuda"])
def test_state_dict_resumes_the_same_trajectory(case, target):
    cls, hyper = CASES[case][0], fixed_hyper(case, lr=0.05, weight_decay=0.01)
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
    cls, ref = CASES[case][0], CASES[case][2]
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
