"""The lecture's claims about the optimizers, and those of the papers behind PyTorch's options and
the optimizers added after the lecture's, as properties."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import backend, optim

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(dim=st.integers(1, 5), seed=st.integers(0, 2**32 - 1), lr=st.floats(0.01, 0.3),
       rho=st.floats(0.01, 0.95), steps=st.integers(1, 30))
def test_nesterov_equals_the_lectures_look_ahead_form(device, dim, seed, lr, rho, steps):
    """On f(x) = x.A.x / 2 - b.x the look-ahead gradient A(x + rho v) - b is computable directly:

    the lecture's v = rho v - lr grad(x + rho v); x += v must match SGD(nesterov=True) through
    the change of variables: parameters = x + rho v, momentum buffer = -v / lr.
    """
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((dim, dim))
    a = m @ m.T / dim + 0.1 * np.eye(dim)
    b, x0 = rng.standard_normal(dim), rng.standard_normal(dim)
    x, v = x0.copy(), np.zeros(dim)
    p = tl.Tensor(x0.copy(), requires_grad=True, device=device)  # x_tilde = x + rho * 0
    opt = optim.SGD([p], lr=lr, momentum=rho, nesterov=True)
    for _ in range(steps):
        v = rho * v - lr * (a @ (x + rho * v) - b)
        x = x + v
        p.grad = tl.Tensor(a @ p.numpy() - b, device=device)  # gradient at the current parameters
        opt.step()
        np.testing.assert_allclose(p.numpy(), x + rho * v, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(backend.to_numpy(opt.state[p]["momentum_buffer"]), -v / lr, rtol=1e-9, atol=1e-12)


def _steps_to_target(opt, p, weights, target, limit):
    w = tl.Tensor(weights, device=p.device)
    for k in range(limit):
        opt.zero_grad()
        loss = 0.5 * (w * p * p).sum()
        if loss.item() < target:
            return k
        loss.backward()
        opt.step()
    return limit


@pytest.mark.parametrize("kappa", [100.0, 400.0])
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_beats_sgd_on_an_ill_conditioned_quadratic(device, kappa, nesterov):
    """f = (x^2 + kappa y^2) / 2; both with lr = 1/kappa, the fastest that is stable along y for SGD."""
    weights = np.array([1.0, kappa])
    steps = {}
    for momentum in (0.0, 0.9):
        p = tl.Tensor([1.0, 1.0], requires_grad=True, device=device, dtype=np.float64)
        opt = optim.SGD([p], lr=1.0 / kappa, momentum=momentum, nesterov=nesterov and momentum > 0)
        steps[momentum] = _steps_to_target(opt, p, weights, 1e-6, 5000)
    assert steps[0.9] < steps[0.0] / 3, steps


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-3, 1.0), eps=st.sampled_from([1e-10, 1e-4]),
       steps=st.integers(2, 30))
def test_adagrad_effective_step_never_increases(device, seed, lr, eps, steps):
    """Observed per coordinate from the parameters: lr_eff = -(x_new - x) / dx must never grow."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 2, size=steps)  # gradients that shrink and grow
    grads = rng.choice([-1.0, 1.0], (steps, 4)) * rng.uniform(0.5, 1.0, (steps, 4)) * scales[:, None]
    p = tl.Tensor(np.zeros(4), requires_grad=True, device=device)
    opt = optim.Adagrad([p], lr=lr, eps=eps)
    previous, previous_err = np.full(4, np.inf), 0.0
    for g in grads:
        before = p.numpy().copy()
        p.grad = tl.Tensor(g, device=device)
        opt.step()
        after = p.numpy()
        effective = -(after - before) / g
        err = 4e-16 * (np.abs(before) + np.abs(after)) / np.abs(g)  # rounding of the observed step
        assert np.all(effective > 0)
        assert np.all(effective <= previous + previous_err + err), (effective, previous)
        previous, previous_err = effective, err


def test_rmsprop_effective_step_recovers_when_gradients_shrink(device):
    """The leaky cache is the lecture's fix: after large gradients give way to small ones,
    RMSprop's effective step grows back while Adagrad's keeps shrinking."""
    grads = [np.array([10.0])] * 20 + [np.array([0.01])] * 200
    effective = {}
    for cls, kw in [(optim.RMSprop, {"alpha": 0.9}), (optim.Adagrad, {})]:
        p = tl.Tensor([0.0], requires_grad=True, device=device, dtype=np.float64)
        opt = cls([p], lr=0.01, **kw)
        steps = []
        for g in grads:
            before = p.numpy().copy()
            p.grad = tl.Tensor(g, device=device)
            opt.step()
            steps.append((before - p.numpy())[0] / g[0])
        effective[cls.__name__] = steps
    assert effective["RMSprop"][-1] > 100 * effective["RMSprop"][19]
    assert effective["Adagrad"][-1] < effective["Adagrad"][19]


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), lr=st.floats(1e-4, 0.1), scale=st.sampled_from([1e-3, 1.0, 1e3]),
       beta1=st.floats(0.0, 0.99), beta2=st.floats(0.9, 0.9999), decoupled=st.booleans(),
       wd=st.sampled_from([0.0, 1e-2, 0.5]))
def test_adam_first_step_is_about_lr_per_coordinate(device, seed, lr, scale, beta1, beta2, decoupled, wd):
    """Bias correction makes the first step lr * dx / (|dx| + eps), whatever dx's size.

    Adam decays through the gradient (dx = g + wd * x, then scaled); AdamW decays the
    weights directly (x *= 1 - lr * wd) and scales g alone: a plain-NumPy transcription."""
    rng = np.random.default_rng(seed)
    g = rng.choice([-1.0, 1.0], 6) * rng.uniform(0.1, 10.0, 6) * scale
    x0 = rng.standard_normal(6)
    p = tl.Tensor(x0.copy(), requires_grad=True, device=device)
    cls = optim.AdamW if decoupled else optim.Adam
    opt = cls([p], lr=lr, betas=(beta1, beta2), weight_decay=wd)
    p.grad = tl.Tensor(g, device=device)
    opt.step()
    eps = 1e-8
    if decoupled:
        expected = x0 * (1 - lr * wd) - lr * g / (np.abs(g) + eps)
    else:
        dx = g + wd * x0
        expected = x0 - lr * dx / (np.abs(dx) + eps)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-6, atol=1e-9)
    if wd == 0:
        np.testing.assert_allclose(p.numpy() - x0, -lr * np.sign(g), rtol=1e-4)


def rosenbrock(p):
    x, y = p[0:1], p[1:2]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


ROSENBROCK = [
    (optim.SGD, {"lr": 5e-4}), (optim.SGD, {"lr": 2e-4, "momentum": 0.9}),
    (optim.SGD, {"lr": 2e-4, "momentum": 0.9, "nesterov": True}), (optim.Adagrad, {"lr": 0.1}),
    (optim.RMSprop, {"lr": 1e-2}), (optim.Adam, {"lr": 5e-2}), (optim.Adam, {"lr": 5e-2, "amsgrad": True}),
    (optim.AdamW, {"lr": 5e-2}),
]


@pytest.mark.parametrize("cls, hyper", ROSENBROCK, ids=lambda v: v.__name__ if isinstance(v, type) else str(v))
def test_all_optimizers_descend_rosenbrock(device, cls, hyper):
    """From the standard start (-1.5, 2), f = 12.5: after 1000 float32 steps f has at least halved
    and the point is closer to the minimum (1, 1)."""
    p = tl.Tensor([-1.5, 2.0], requires_grad=True, device=device)
    opt = cls([p], **hyper)
    f0 = rosenbrock(p).item()
    assert f0 == 12.5
    for _ in range(1000):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
    assert p.dtype == np.float32
    assert rosenbrock(p).item() < f0 / 2
    assert np.linalg.norm(p.numpy() - 1.0) < np.linalg.norm(np.array([-1.5, 2.0]) - 1.0)


# ---------------------------------------------------------------- PyTorch's options and the added optimizers
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
def test_pytorchs_options_and_the_added_optimizers_descend_rosenbrock(cls, hyper):
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
