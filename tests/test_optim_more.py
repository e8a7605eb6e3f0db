"""PyTorch's optimizer options and the optimizers added after the lecture's (SGD dampening, Adagrad
lr_decay, RMSprop momentum and centered, Adadelta, Adamax, NAdam) against plain-NumPy
transcriptions of torch.optim's documented algorithms, and their argument checks."""
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_optim import (
    assert_step_allocates_little,
    check_in_place_steps,
    check_transcription,
    problems,
    run_optimizer,
    run_reference,
)

import tinygrad_lite as tl
from tinygrad_lite import optim
from tinygrad_lite.checks import check_bool

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------- reference transcriptions (float64)
# Each follows the algorithm box of torch.optim's documentation line by line: x the parameter
# (theta), g its gradient, s a dict of this parameter's state; returns the new x.
def ref_sgd(x, g, s, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    g = g + weight_decay * x
    if momentum != 0:
        s["b"] = g if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return x - lr * g


def ref_adagrad(x, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    t = s["t"] = s.get("t", 0) + 1
    g = g + weight_decay * x
    clr = lr / (1 + (t - 1) * lr_decay)
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return x - clr * g / (np.sqrt(s["sum"]) + eps)


def ref_rmsprop(x, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
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


unit = st.floats(0.0, 0.99)
decay = st.sampled_from([0.0, 1e-3, 0.1])
eps = st.sampled_from([1e-10, 1e-8, 1e-4])
betas = st.tuples(unit, st.floats(0.5, 0.9999))
fd = st.fixed_dictionaries
CASES = {  # name: (class, hyperparameter strategy, reference)
    "sgd_dampening": (optim.SGD, fd({"lr": st.floats(1e-3, 0.2), "momentum": st.floats(0.01, 0.99),
                                     "dampening": st.floats(0.0, 1.0), "weight_decay": decay}), ref_sgd),
    "adagrad_lr_decay": (optim.Adagrad, fd({"lr": st.floats(1e-3, 0.5), "lr_decay": st.floats(0.0, 1.0),
                                            "eps": eps, "weight_decay": decay,
                                            "initial_accumulator_value": st.sampled_from([0.0, 0.1])}), ref_adagrad),
    "rmsprop_momentum": (optim.RMSprop, fd({"lr": st.floats(1e-3, 0.1), "alpha": unit, "eps": eps,
                                            "weight_decay": decay, "momentum": st.floats(0.01, 0.99)}), ref_rmsprop),
    # alpha >= 0.5: at alpha ~ 0 the running variance cancels to ~0 and the step is lr * dx / eps
    "rmsprop_centered": (optim.RMSprop, fd({"lr": st.floats(1e-3, 0.1), "alpha": st.floats(0.5, 0.99),
                                            "eps": st.sampled_from([1e-8, 1e-4]), "weight_decay": decay,
                                            "momentum": st.sampled_from([0.0, 0.5, 0.9]),
                                            "centered": st.just(True)}), ref_rmsprop),
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


def arrays_of(state: dict) -> list:
    return [v for v in state.values() if not isinstance(v, (int, float))]


@pytest.mark.parametrize("case", sorted(CASES))
@SETTINGS
@given(data=st.data())
def test_matches_numpy_transcription(case, device, data):
    cls, hyper_strategy, ref = CASES[case]
    check_transcription(case, cls, data.draw(hyper_strategy), ref, data.draw(problems()), device)


@pytest.mark.parametrize("case", sorted(CASES))
def test_param_groups_with_their_own_hyperparameters_and_weight_decay(case, device):
    """Two groups: the first takes the constructor's values, the second overrides lr, weight
    decay and the case's own option; each follows its own transcription over 8 steps."""
    cls, _, ref = CASES[case]
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


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_stays_float32(case, device):
    cls, _, ref = CASES[case]
    rng = np.random.default_rng(0)
    x0, noise = rng.standard_normal((3, 4)), rng.standard_normal((10, 3, 4))
    p, opt, path = run_optimizer(cls, FIXED[case], x0, 10, 0.5, noise, device, dtype=np.float32)
    assert p.dtype == np.float32 and all(k.dtype == np.float32 for k in path)
    assert all(v.dtype == np.float32 for v in arrays_of(opt.state[p]))
    expected = run_reference(ref, FIXED[case], x0.astype(np.float32), 10, 0.5, noise.astype(np.float32))
    np.testing.assert_allclose(path[-1], expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_step_updates_in_place_reads_gradients_only_and_skips_missing_ones(case, device):
    check_in_place_steps(CASES[case][0], FIXED[case], device)


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_allocate_nothing_the_size_of_a_parameter(case):
    """The new helpers (Adadelta's ratio, Adamax's |dx| + eps) write into scratch arrays too."""
    assert_step_allocates_little(CASES[case][0], FIXED[case])


@pytest.mark.parametrize("case", sorted(CASES))
def test_state_dict_resumes_the_same_trajectory_on_another_device(case):
    cls, hyper = CASES[case][0], FIXED[case]
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


# ---------------------------------------------------------------- properties
def test_sgd_dampening_zero_is_the_lectures_momentum_and_damps_from_the_second_step():
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((6, 4))
    paths = {}
    for dampening in (0.0, 0.5):
        p = tl.Tensor(np.zeros(4), requires_grad=True)
        opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=dampening)
        buffers = []
        for g in grads:
            p.grad = tl.Tensor(g)
            opt.step()
            buffers.append(opt.state[p]["momentum_buffer"].copy())
        paths[dampening] = buffers
    v = np.zeros(4)
    for k, g in enumerate(grads):  # the lecture: v = rho v + dx
        v = 0.9 * v + g
        np.testing.assert_allclose(paths[0.0][k], v, rtol=1e-14)
    np.testing.assert_array_equal(paths[0.5][0], grads[0])  # the first step is undamped
    np.testing.assert_allclose(paths[0.5][1], 0.9 * grads[0] + 0.5 * grads[1], rtol=1e-14)


def test_centered_rmsprop_stays_finite_when_the_gradient_is_constant():
    """The running variance of a constant gradient is 0 up to rounding; below 0 it would make
    sqrt NaN, so it is clipped (the step is then lr * dx / eps, as the equations say)."""
    p = tl.Tensor(np.zeros(5), requires_grad=True)
    opt = optim.RMSprop([p], lr=1e-6, alpha=0.9, centered=True, eps=1e-3)
    g = np.array([0.1, 0.3, 3.0, 1e-3, 7.0])
    for _ in range(400):
        p.grad = tl.Tensor(g)
        opt.step()
    assert np.all(np.isfinite(p.numpy()))


def test_adadelta_step_does_not_depend_on_the_gradients_scale():
    """Zeiler's units argument: with eps negligible, scaling the loss by c leaves the steps alone."""
    rng = np.random.default_rng(4)
    grads = rng.standard_normal((10, 3))
    paths = []
    for scale in (1.0, 1e3):
        p = tl.Tensor(np.zeros(3), requires_grad=True)
        opt = optim.Adadelta([p], eps=1e-30)
        for g in grads:
            p.grad = tl.Tensor(scale * g)
            opt.step()
        paths.append(p.numpy().copy())
    np.testing.assert_allclose(paths[0], paths[1], rtol=1e-9)
    assert np.all(paths[0] != 0)


@pytest.mark.parametrize("cls", [optim.Adamax, optim.NAdam])
def test_adam_variants_first_step_is_about_lr_per_coordinate(cls):
    """Adamax: u = |dx| + eps and m / (1 - beta1) = dx. NAdam with momentum_decay 0 (mu = beta1 / 2
    throughout): m_hat = mu (1 - beta1) dx / (1 - mu^2) + dx, 1.06 dx for beta1 = 0.9."""
    g = np.array([1e-3, -2.0, 50.0])
    p = tl.Tensor(np.zeros(3), requires_grad=True)
    opt = cls([p], lr=0.01, **({"momentum_decay": 0.0} if cls is optim.NAdam else {}))
    p.grad = tl.Tensor(g)
    opt.step()
    np.testing.assert_allclose(-p.numpy(), 0.01 * np.sign(g), rtol=0.1)


@pytest.mark.parametrize("cls, hyper", [(optim.SGD, {"lr": 2e-4, "momentum": 0.9, "dampening": 0.5}),
                                        (optim.Adagrad, {"lr": 0.3, "lr_decay": 1e-3}),
                                        (optim.RMSprop, {"lr": 1e-3, "momentum": 0.9}),
                                        (optim.RMSprop, {"lr": 1e-3, "centered": True}),
                                        (optim.Adadelta, {"lr": 1.0}), (optim.Adamax, {"lr": 5e-2}),
                                        (optim.NAdam, {"lr": 5e-2})], ids=lambda v: getattr(v, "__name__", str(v)))
def test_all_descend_rosenbrock(cls, hyper):
    """From (-1.5, 2), f = 12.5: after 1000 float32 steps f has at least halved."""
    p = tl.Tensor([-1.5, 2.0], requires_grad=True)
    opt = cls([p], **hyper)

    def f():
        x, y = p[0:1], p[1:2]
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    for _ in range(1000):
        opt.zero_grad()
        f().backward()
        opt.step()
    assert p.dtype == np.float32 and f().item() < 12.5 / 2


# ---------------------------------------------------------------- bad input
BAD = [  # (optimizer, arguments, error, message after "{optimizer}: "), in tinygrad_lite.checks' format
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
