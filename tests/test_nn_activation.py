"""Every activation module and its functional form: the lecture's table (BinaryStep, Sigmoid,
Tanh, Arctan, ReLU, LeakyReLU, ELU, PReLU, Softmax, LogSoftmax) and PyTorch's others (Softplus,
GELU, SiLU, Mish, Hardtanh, ReLU6, Softsign, CELU, SELU, Hardswish): values and gradients
against formulas written in NumPy, finite differences, stability at +-1e3 (finite, no overflow
warnings) and the module arguments. The formulas are PyTorch's documented ones; the
derivatives are worked out by hand, not taken from the code.
"""
import math
import warnings

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import module_gradcheck
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
SQRT2PI = math.sqrt(2 * math.pi)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


# ---------------------------------------------------------------- the lecture's table
def _sigmoid_by_sign(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


# name -> (module, functional, f(x) in NumPy, f'(x) in NumPy), from the lecture's table
LECTURE_TABLE = {
    "binary_step": (nn.BinaryStep(), F.binary_step, lambda x: (x >= 0) * 1.0, lambda x: 0 * x),
    "sigmoid": (nn.Sigmoid(), F.sigmoid, _sigmoid_by_sign, lambda x: _sigmoid_by_sign(x) * (1 - _sigmoid_by_sign(x))),
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


@pytest.mark.parametrize("name", LECTURE_TABLE)
@SETTINGS
@given(x=smooth_arrays)
def test_activation_values_and_gradient_match_the_table(device, name, x):
    module, fn, f, df = LECTURE_TABLE[name]
    module.to(device)
    t = tl.Tensor(x, device=device, requires_grad=True)
    out = module(t)
    np.testing.assert_allclose(out.numpy(), f(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fn(t).numpy(), out.numpy())
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), df(x), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in LECTURE_TABLE if n != "binary_step"])
@SETTINGS
@given(x=smooth_arrays)
def test_activation_gradcheck(device, name, x):
    _, fn, _, _ = LECTURE_TABLE[name]
    assert tl.gradcheck(fn, tl.Tensor(x, device=device, requires_grad=True))


@pytest.mark.parametrize("name", LECTURE_TABLE)
def test_activation_stable_at_large_inputs(device, name):
    module, _, f, df = LECTURE_TABLE[name]
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
    layer.weight.data[...] = tl.Tensor(rng.uniform(0.05, 0.5, num), device=device).data
    t = tl.Tensor(x, device=device, requires_grad=True)
    assert module_gradcheck(layer, t)
    # dL/dalpha_c for L = sum f(x): the sum of the negative inputs of feature c
    out = layer(tl.Tensor(x, device=device))
    out.sum().backward()
    axis = 1 if x.ndim >= 2 else 0
    neg = np.minimum(x, 0)
    expected = neg.sum() if num == 1 else np.moveaxis(neg, axis, 0).reshape(num, -1).sum(1)
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.reshape(expected, (num,)), rtol=1e-5)


def test_prelu_learns_per_feature_and_rejects_mismatch():
    layer = nn.PReLU(2)
    layer.weight.data[...] = np.array([0.1, 0.5], np.float32)
    out = layer(tl.Tensor([[-1.0, -1.0], [2.0, -4.0]]))
    np.testing.assert_allclose(out.numpy(), [[-0.1, -0.5], [2.0, -2.0]], rtol=1e-6)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
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


@pytest.mark.parametrize("axis", [0, 1, (0, 1), None])
def test_softmax_and_log_softmax_gradients_are_the_jacobian_products(device, axis):
    """d softmax / dx = diag(p) - p p^T and d log_softmax / dx = I - 1 p^T per slice, here for
    one 3 x 4 input and a random output gradient, written out in NumPy."""
    z = np.random.default_rng(3).standard_normal((3, 4))
    g = np.random.default_rng(4).standard_normal((3, 4))
    x = tl.tensor(z, device=device, requires_grad=True)
    moved = z.reshape(1, 12) if axis in ((0, 1), None) else np.moveaxis(z, axis, -1)
    gm = g.reshape(1, 12) if axis in ((0, 1), None) else np.moveaxis(g, axis, -1)
    p = np.exp(moved - moved.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    want_soft = p * (gm - (gm * p).sum(-1, keepdims=True))  # (diag(p) - p p^T) g
    want_log = gm - p * gm.sum(-1, keepdims=True)            # (I - p 1^T)^T g
    for fn, want in ((lambda t: t.softmax(axis), want_soft), (lambda t: t.log_softmax(axis), want_log)):
        x.grad = None
        (fn(x) * tl.tensor(g, device=device)).sum().backward()
        back = want.reshape(3, 4) if axis in ((0, 1), None) else np.moveaxis(want, -1, axis)
        np.testing.assert_allclose(x.grad.numpy(), back, rtol=1e-12, atol=1e-14)


def test_softmax_of_integers_is_refused_as_in_pytorch():
    for name in ("softmax", "log_softmax"):
        with pytest.raises(TypeError, match=f"{name}: the input must be floating point"):
            getattr(tl.tensor([1, 2, 3]), name)(0)


def test_a_fully_masked_row_is_nan_quietly_as_in_pytorch():
    x = tl.tensor([[0.0, -np.inf, 1.0], [-np.inf] * 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, logp = x.softmax(-1).numpy(), x.log_softmax(-1).numpy()
    assert p[0, 1] == 0 and logp[0, 1] == -np.inf and np.isclose(p[0].sum(), 1)
    assert np.isnan(p[1]).all() and np.isnan(logp[1]).all()


# ---------------------------------------------------------------- PyTorch's others
def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))  # never overflows


def _phi(x):  # the standard normal CDF
    return 0.5 * np.vectorize(math.erfc, otypes=[float])(-x / math.sqrt(2))


def _gelu_tanh(x):
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    return 0.5 * x * (1 + np.tanh(u))


def _gelu_tanh_grad(x):
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2)
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * (1 - np.tanh(u) ** 2) * du


def _mish_grad(x):
    t = np.tanh(np.logaddexp(0, x))
    return t + x * (1 - t * t) * _sigmoid(x)


# name -> (module, functional, f(x), f'(x)) in NumPy float64; kinks take the documented side
TORCH_TABLE = {
    "softplus": (nn.Softplus(), F.softplus, lambda x: np.logaddexp(0, x), _sigmoid),
    "softplus_2_5": (nn.Softplus(2.0, 5.0), lambda t: F.softplus(t, 2.0, 5.0),
                     lambda x: np.where(2 * x > 5, x, np.logaddexp(0, 2 * x) / 2),
                     lambda x: np.where(2 * x > 5, 1.0, _sigmoid(2 * x))),
    "gelu": (nn.GELU(), F.gelu, lambda x: x * _phi(x), lambda x: _phi(x) + x * np.exp(-x * x / 2) / SQRT2PI),
    "gelu_tanh": (nn.GELU("tanh"), lambda t: F.gelu(t, approximate="tanh"), _gelu_tanh, _gelu_tanh_grad),
    "silu": (nn.SiLU(), F.silu, lambda x: x * _sigmoid(x),
             lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "mish": (nn.Mish(), F.mish, lambda x: x * np.tanh(np.logaddexp(0, x)), _mish_grad),
    "hardtanh": (nn.Hardtanh(), F.hardtanh, lambda x: np.clip(x, -1, 1), lambda x: (np.abs(x) <= 1) * 1.0),
    "hardtanh_0_2": (nn.Hardtanh(0.0, 2.0), lambda t: F.hardtanh(t, 0.0, 2.0), lambda x: np.clip(x, 0, 2),
                     lambda x: ((x >= 0) & (x <= 2)) * 1.0),
    "relu6": (nn.ReLU6(), F.relu6, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x <= 6)) * 1.0),
    "softsign": (nn.Softsign(), F.softsign, lambda x: x / (1 + np.abs(x)),
                 lambda x: 1 / (1 + np.abs(x)) ** 2),
    "celu": (nn.CELU(), F.celu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
             lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))),
    "celu_0.5": (nn.CELU(0.5), lambda t: F.celu(t, 0.5),
                 lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
                 lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / 0.5))),
    "selu": (nn.SELU(), F.selu,
             lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0)))),
    "hardswish": (nn.Hardswish(), F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x < -3, 0.0, np.where(x > 3, 1.0, x / 3 + 0.5))),
}
KINKS = {"hardtanh": (-1, 1), "hardtanh_0_2": (0, 2), "relu6": (0, 6), "selu": (0,), "hardswish": (-3, 3),
         "softplus_2_5": (2.5,)}

arrays = hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4), elements=st.floats(-8, 8))


def _away_from_kinks(name, x):
    """x moved 0.05 off any kink of ``name``, where finite differences would straddle two slopes."""
    for k in KINKS.get(name, ()):
        x = np.where(np.abs(x - k) < 0.05, k + 0.1, x)
    return x


@pytest.mark.parametrize("name", TORCH_TABLE)
@SETTINGS
@given(x=arrays)
def test_activation_values_and_gradient_match_the_formulas(device, name, x):
    module, fn, f, df = TORCH_TABLE[name]
    x = _away_from_kinks(name, x)
    t = tl.Tensor(x, device=device, requires_grad=True)
    out = module(t)
    np.testing.assert_allclose(out.numpy(), f(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(fn(t).numpy(), out.numpy())
    out.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), df(x), rtol=1e-10, atol=1e-13)
    assert module_gradcheck(module, tl.Tensor(x, device=device, requires_grad=True))


LARGE = np.array([-1e3, -100.0, -20.0, -3.0, -1.0, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0, 100.0, 1e3], np.float32)


@pytest.mark.parametrize("name", TORCH_TABLE)
def test_activation_stable_and_correct_at_large_inputs(device, name):
    """float32 at +-1e3: finite, no overflow or invalid-value warnings, values and gradients as
    the float64 formulas (kinks exactly at 0, 1, 3, 6 take the documented side)."""
    module, _, f, df = TORCH_TABLE[name]
    t = tl.Tensor(LARGE, device=device, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = module(t)
        out.sum().backward()
    assert out.dtype == np.float32 and t.grad.dtype == np.float32
    assert np.isfinite(out.numpy()).all() and np.isfinite(t.grad.numpy()).all()
    x = LARGE.astype(np.float64)
    with np.errstate(all="ignore"):
        want, dwant = f(x), df(x)
    np.testing.assert_allclose(out.numpy(), want, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(t.grad.numpy(), dwant, rtol=2e-6, atol=1e-7)


def test_gelu_tail_keeps_relative_precision():
    """x Phi(x) for x << 0 is tiny but not 0: computed from erfc, not 1 - erf."""
    x = np.array([-5.0, -10.0, -20.0])
    np.testing.assert_allclose(nn.GELU()(tl.Tensor(x)).numpy(), x * _phi(x), rtol=1e-12)
    assert nn.GELU()(tl.Tensor(x)).numpy()[-1] < 0


def test_gelu_float32_is_accurate_over_the_whole_range():
    """float32 takes its own erfc fit: near float32's precision where GELU's values matter and
    relative precision down to the tail (Phi(-13) ~ 6e-39), against math.erfc in float64."""
    x = np.linspace(-13, 13, 20001).astype(np.float32)
    exact = np.array([float(v) * 0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x])
    got = F.gelu(tl.tensor(x)).numpy()
    assert got.dtype == np.float32
    rel = np.abs(got - exact) / np.maximum(np.abs(exact), 1e-300)
    assert rel[np.abs(x) <= 5].max() < 3e-6 and rel.max() < 3e-5

def test_module_arguments_are_checked_when_made():
    with pytest.raises(ValueError, match="Softplus: beta must be a finite number > 0"):
        nn.Softplus(beta=-1)
    with pytest.raises(TypeError, match="Softplus: threshold"):
        nn.Softplus(threshold="20")
    with pytest.raises(ValueError, match="GELU: approximate must be one of"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="Hardtanh: min_val must be <= max_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match="CELU: alpha"):
        nn.CELU(0.0)
    with pytest.raises(TypeError, match="inplace"):
        nn.ReLU6(inplace=True)


def test_reprs_and_no_parameters():
    assert repr(nn.Softplus(2.0)) == "Softplus(beta=2.0, threshold=20.0)"
    assert repr(nn.GELU("tanh")) == "GELU(approximate='tanh')"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.CELU(0.5)) == "CELU(alpha=0.5)"
    assert repr(nn.SiLU()) == "SiLU()"
    for module, *_ in TORCH_TABLE.values():
        assert list(module.parameters()) == []


def test_an_mlp_with_each_activation_trains(device):
    """Linear -> activation -> Linear fits y = sin(x) better after 30 SGD steps."""
    x = tl.Tensor(np.linspace(-2, 2, 32).reshape(-1, 1), dtype=np.float32, device=device)  # the layers' dtype
    y = x.sin()
    for name, (module, *_) in TORCH_TABLE.items():
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(1, 16, device=device), module, nn.Linear(16, 1, device=device))
        opt = tl.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(30):
            loss = ((model(x) - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.7 * losses[0], name


def test_gelu_both_forms_and_the_gpt_cube_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.linspace(-8, 8, 161)
    # atol: for x << 0 PyTorch's 0.5 x (1 + tanh u) cancels to ~0 where ours (x sigmoid(2u)) keeps the tail
    for approximate in ("none", "tanh"):
        tx, ox = torch.tensor(x, requires_grad=True), tl.Tensor(x, requires_grad=True)
        ty, oy = torch.nn.GELU(approximate=approximate)(tx), nn.GELU(approximate=approximate)(ox)
        ty.sum().backward()
        oy.sum().backward()
        np.testing.assert_allclose(oy.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-10)

    def gpt_gelu(lib, t):  # the tanh-GELU as GPT code writes it, with x ** 3.0
        return 0.5 * t * (1.0 + lib.tanh(math.sqrt(2.0 / math.pi) * (t + 0.044715 * t ** 3.0)))

    tx, ox = torch.tensor(x, requires_grad=True), tl.Tensor(x, requires_grad=True)
    gpt_gelu(torch, tx).sum().backward()
    out = gpt_gelu(tl.Tensor, ox)
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), torch.nn.functional.gelu(torch.tensor(x), approximate="tanh").numpy(),
                               rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-10)
