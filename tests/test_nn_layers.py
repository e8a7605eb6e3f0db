"""Linear and the lecture's activation table: values, gradients, stability."""
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def module_gradcheck(module, *inputs):
    """Finite-difference check of a module's gradient w.r.t. its inputs and all its parameters."""
    names = [n for n, _ in module.named_parameters()]
    n_in = len(inputs)

    def fn(*args):
        return nn.functional_call(module, dict(zip(names, args[n_in:])), *args[:n_in])

    return tl.gradcheck(fn, *inputs, *module.parameters())


# ---------------------------------------------------------------- Linear
def test_linear_layout_and_formula(device):
    layer = nn.Linear(4, 3, device=device)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (3,)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    out = layer(tl.Tensor(x, device=device))
    assert out.dtype == np.float32 and out.device == device
    ref = x.astype(np.float64) @ layer.weight.numpy().T.astype(np.float64) + layer.bias.numpy()
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-6)
    assert nn.Linear(4, 3, bias=False).bias is None
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["weight"]


def test_linear_wrong_feature_size_names_shapes():
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\).*\(5, 3\)"):
        nn.Linear(4, 3)(tl.ones(5, 3))
    with pytest.raises(ValueError):
        nn.Linear(0, 3)


def test_linear_default_init_is_uniform_one_over_sqrt_fan_in():
    tl.manual_seed(0)
    layer = nn.Linear(100, 400)
    bound = 1 / math.sqrt(100)
    w = layer.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(layer.bias.numpy()).max() <= bound
    # U(-b, b) has variance b^2 / 3; 40000 samples pin the sample std to ~0.4 %
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.03
    assert w.min() < -0.95 * bound and w.max() > 0.95 * bound


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(device, bias):
    tl.manual_seed(3)
    layer = nn.Linear(3, 2, bias=bias, device=device)
    x = tl.randn(4, 3, dtype="float64", device=device, requires_grad=True)
    assert module_gradcheck(layer, x)
    # batch axes before the feature axis broadcast like matmul
    assert module_gradcheck(layer, tl.randn(2, 2, 3, dtype="float64", device=device, requires_grad=True))


# ---------------------------------------------------------------- activations
def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


# name -> (module, functional, f(x) in NumPy, f'(x) in NumPy), from the lecture's table
TABLE = {
    "binary_step": (nn.BinaryStep(), F.binary_step, lambda x: (x >= 0) * 1.0, lambda x: 0 * x),
    "sigmoid": (nn.Sigmoid(), F.sigmoid, _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": (nn.Tanh(), F.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "arctan": (nn.Arctan(), F.arctan, np.arctan, lambda x: 1 / (x * x + 1)),
    "relu": (nn.ReLU(), F.relu, lambda x: np.maximum(0, x), lambda x: (x > 0) * 1.0),
    "leaky_relu": (nn.LeakyReLU(), F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                   lambda x: np.where(x > 0, 1.0, 0.01)),
    "leaky_relu_0.1": (nn.LeakyReLU(0.1), lambda t: F.leaky_relu(t, 0.1), lambda x: np.maximum(0.1 * x, x),
                       lambda x: np.where(x > 0, 1.0, 0.1)),
    "elu": (nn.ELU(), F.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    "elu_0.5": (nn.ELU(0.5), lambda t: F.elu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
                lambda x: np.where(x > 0, 1.0, 0.5 * np.exp(np.minimum(x, 0)))),
    "prelu": (nn.PReLU(), lambda t: F.prelu(t, tl.full((1,), 0.25, dtype=t.dtype, device=t.device)),
              lambda x: np.where(x > 0, x, 0.25 * x), lambda x: np.where(x > 0, 1.0, 0.25)),
}

# values away from the kinks at 0, where finite differences straddle two slopes
smooth_arrays = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                           elements=st.floats(-6, 6).filter(lambda v: abs(v) > 1e-2))


@pytest.mark.parametrize("name", TABLE)
@SETTINGS
@given(x=smooth_arrays)
def test_activation_values_and_gradient_match_the_table(device, name, x):
    module, fn, f, df = TABLE[name]
    module.to(device)
    t = tl.Tensor(x, device=device, requires_grad=True)
    out = module(t)
    np.testing.assert_allclose(out.numpy(), f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fn(t).numpy(), out.numpy())
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), df(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in TABLE if n != "binary_step"])
@SETTINGS
@given(x=smooth_arrays)
def test_activation_gradcheck(device, name, x):
    _, fn, _, _ = TABLE[name]
    assert tl.gradcheck(fn, tl.Tensor(x, device=device, requires_grad=True))


@pytest.mark.parametrize("name", TABLE)
def test_activation_stable_at_large_inputs(device, name):
    module, _, f, df = TABLE[name]
    module.to(device)
    x = np.array([-1e3, -100.0, -1.0, 0.0, 1.0, 100.0, 1e3], np.float32)
    t = tl.Tensor(x, device=device, requires_grad=True)
    out = module(t)
    out.sum().backward()
    assert out.dtype == np.float32 and t.grad.dtype == np.float32
    assert np.isfinite(out.numpy()).all() and np.isfinite(t.grad.numpy()).all()
    ref = f(x.astype(np.float64))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-7)
    # kinks at 0 take the negative side's slope, as documented
    np.testing.assert_allclose(t.grad.numpy(), df(x.astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_binary_step_gradient_is_zero():
    t = tl.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    nn.BinaryStep()(t).sum().backward()
    assert t.grad.tolist() == [0.0, 0.0, 0.0]


# ---------------------------------------------------------------- PReLU
@pytest.mark.parametrize("shape, num", [((5,), 1), ((4, 3), 1), ((4, 3), 3), ((2, 3, 2), 3), ((3,), 3)])
def test_prelu_alpha_gradient(device, shape, num):
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)
    layer = nn.PReLU(num, device=device)
    layer.alpha.data[...] = tl.Tensor(rng.uniform(0.05, 0.5, num), device=device).data
    t = tl.Tensor(x, device=device, requires_grad=True)
    assert module_gradcheck(layer, t)
    # dL/dalpha_c for L = sum f(x): the sum of the negative inputs of feature c
    out = layer(tl.Tensor(x, device=device))
    out.sum().backward()
    axis = 1 if x.ndim >= 2 else 0
    neg = np.minimum(x, 0)
    expected = neg.sum() if num == 1 else np.moveaxis(neg, axis, 0).reshape(num, -1).sum(1)
    np.testing.assert_allclose(layer.alpha.grad.numpy(), np.reshape(expected, (num,)), rtol=1e-5)


def test_prelu_learns_per_feature_and_rejects_mismatch():
    layer = nn.PReLU(2)
    layer.alpha.data[...] = np.array([0.1, 0.5], np.float32)
    out = layer(tl.Tensor([[-1.0, -1.0], [2.0, -4.0]]))
    np.testing.assert_allclose(out.numpy(), [[-0.1, -0.5], [2.0, -2.0]], rtol=1e-6)
    assert [n for n, _ in layer.named_parameters()] == ["alpha"]
    with pytest.raises(ValueError, match="prelu"):
        layer(tl.ones(3, 5))
    with pytest.raises(ValueError):
        nn.PReLU(0)


def test_softmax_modules():
    x = tl.Tensor([[1.0, 2.0, 3.0], [1e3, 0.0, -1e3]])
    p = nn.Softmax()(x).numpy()
    z = np.array([[1.0, 2.0, 3.0], [1e3, 0.0, -1e3]])
    ref = np.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    np.testing.assert_allclose(p, ref, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(nn.LogSoftmax()(tl.Tensor([[1.0, 2.0]])).numpy(),
                               [[1 - np.log(np.e + np.e**2), 2 - np.log(np.e + np.e**2)]], rtol=1e-6)


@pytest.mark.parametrize("make", [lambda d: nn.Linear(64, 32, dtype=np.float16, device=d),
                                  lambda d: nn.Conv2d(4, 8, 4, dtype="float16", device=d)])
def test_layers_made_in_float16(device, make):
    """PyTorch's default init, drawn in float32 and cast: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in 64."""
    tl.manual_seed(2)
    layer = make(device)
    for p in layer.parameters():
        values = p.numpy().astype(np.float64)
        assert p.dtype == np.float16 and p.device == device
        assert np.abs(values).max() <= 1 / 8 * (1 + 2e-3) and values.std() > 0.5 / 8 / math.sqrt(3)


def test_float16_mlp_forward_and_backward_give_float16_gradients(device):
    """Linear -> ReLU -> Linear -> mean squared output, all float16, against float64 math on the
    same (float16) weights and input."""
    tl.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 16, device=device), nn.ReLU(), nn.Linear(16, 3, device=device))
    model.astype(np.float16)
    x = tl.randn(5, 6, dtype=np.float16, device=device)
    loss = (model(x) ** 2).mean()
    loss.backward()
    assert loss.dtype == np.float16
    w1, b1, w2, b2 = (p.numpy().astype(np.float64) for p in model.parameters())
    xs = x.numpy().astype(np.float64)
    h = xs @ w1.T + b1
    a = np.maximum(h, 0)
    out = a @ w2.T + b2
    g_out = 2 * out / out.size
    g_a = g_out @ w2
    g_h = g_a * (h > 0)
    expected = [g_h.T @ xs, g_h.sum(0), g_out.T @ a, g_out.sum(0)]
    assert loss.item() == pytest.approx((out ** 2).mean(), rel=1e-2)
    for p, ref in zip(model.parameters(), expected):
        assert p.grad.dtype == np.float16
        np.testing.assert_allclose(p.grad.numpy().astype(np.float64), ref, rtol=2e-2, atol=2e-3 * np.abs(ref).max())
