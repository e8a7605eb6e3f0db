"""Batch norm and dropout in train and eval mode, as properties over drawn inputs.

Every expected value is computed here in float64 NumPy from the formulas, never read off
the library: eval-mode BN is the affine map of the running statistics, the running
statistics are closed-form exponential averages, the train-mode BN gradient matches finite
differences, eval-mode dropout is the identity, and train-mode dropout uses one mask in
forward and backward and preserves the mean.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_nn_layers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EPS = 1e-5
Z = 5.0  # 5-sigma bounds: a correct implementation fails one with probability < 1e-6

# ---------------------------------------------------------------- batch norm
# name -> (module class, number of spatial axes after (N, C))
BN_KINDS = {
    "BatchNorm1d(N,C)": (nn.BatchNorm1d, 0),
    "BatchNorm1d(N,C,L)": (nn.BatchNorm1d, 1),
    "BatchNorm2d(N,C,H,W)": (nn.BatchNorm2d, 2),
}
bn_kind = pytest.mark.parametrize("kind", list(BN_KINDS))


def _draw_shape(data, kind, c, min_values=1, max_n=5, max_side=3):
    """A drawn (N, C, *spatial) shape for ``kind`` with at least ``min_values`` values per channel."""
    spatial = BN_KINDS[kind][1]
    dims = st.tuples(st.integers(1, max_n), *[st.integers(1, max_side)] * spatial)
    dims = dims.filter(lambda d: math.prod(d) >= min_values)
    n, *rest = data.draw(dims)
    return (n, c, *rest)


def _draw_array(data, shape, lo=-50.0, hi=50.0):
    return data.draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))


def _per_channel(v, ndim):
    return v.reshape((-1,) + (1,) * (ndim - 2))


def _axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _eval_ref(x, gamma, beta, rmean, rvar):
    g, b, m, v = (_per_channel(t, x.ndim) for t in (gamma, beta, rmean, rvar))
    return g * (x - m) / np.sqrt(v + EPS) + b


def _train_ref(x, gamma, beta):
    mu = x.mean(axis=_axes(x), keepdims=True)
    var = ((x - mu) ** 2).mean(axis=_axes(x), keepdims=True)
    return _per_channel(gamma, x.ndim) * (x - mu) / np.sqrt(var + EPS) + _per_channel(beta, x.ndim)


def _make_bn(kind, c, device, momentum=0.1):
    return BN_KINDS[kind][0](c, momentum=momentum, device=device).double()


def _set(t, value, device):
    t.data[...] = tl.Tensor(np.asarray(value, dtype=np.float64), device=device).data


def _draw_state(data, bn, c, device):
    """Draw gamma, beta, running mean and running var, write them into ``bn``, return them."""
    def vec(lo, hi):
        return data.draw(hnp.arrays(np.float64, (c,), elements=st.floats(lo, hi)))

    gamma, beta, rmean, rvar = vec(-3, 3), vec(-3, 3), vec(-20, 20), vec(0, 50)
    for t, v in ((bn.weight, gamma), (bn.bias, beta), (bn.running_mean, rmean), (bn.running_var, rvar)):
        _set(t, v, device)
    return gamma, beta, rmean, rvar


@bn_kind
@SETTINGS
@given(data=st.data())
def test_bn_eval_is_the_affine_map_of_the_running_statistics(device, kind, data):
    c = data.draw(st.integers(1, 4))
    bn = _make_bn(kind, c, device).eval()
    gamma, beta, rmean, rvar = _draw_state(data, bn, c, device)
    x = _draw_array(data, _draw_shape(data, kind, c))  # batch 1 and a single value per channel included
    out = bn(tl.Tensor(x, device=device)).numpy()
    assert out.shape == x.shape
    np.testing.assert_allclose(out, _eval_ref(x, gamma, beta, rmean, rvar), rtol=1e-10, atol=1e-10)
    # eval never moves the running statistics
    np.testing.assert_array_equal(bn.running_mean.numpy(), rmean)
    np.testing.assert_array_equal(bn.running_var.numpy(), rvar)


@bn_kind
@SETTINGS
@given(data=st.data(), momentum=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1)))
def test_bn_running_statistics_are_closed_form_exponential_averages(device, kind, momentum, data):
    c = data.draw(st.integers(1, 3))
    bn = _make_bn(kind, c, device, momentum)
    _, _, r0_mean, r0_var = _draw_state(data, bn, c, device)
    k = data.draw(st.integers(1, 4))
    # each step draws its own batch size (and spatial size), with >= 2 values per channel
    xs = [_draw_array(data, _draw_shape(data, kind, c, min_values=2)) for _ in range(k)]
    for x in xs:
        bn(tl.Tensor(x, device=device))
    m = momentum
    w = [m * (1 - m) ** (k - 1 - i) for i in range(k)]
    mean = (1 - m) ** k * r0_mean + sum(wi * x.mean(axis=_axes(x)) for wi, x in zip(w, xs))
    # unbiased: biased variance * m_count / (m_count - 1), m_count = values per channel
    unbiased = [x.var(axis=_axes(x)) * (x.size // c) / (x.size // c - 1) for x in xs]
    var = (1 - m) ** k * r0_var + sum(wi * v for wi, v in zip(w, unbiased))
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-9, atol=1e-9)


@bn_kind
@SETTINGS
@given(data=st.data(), momentum=st.floats(0.05, 1.0))
def test_bn_train_eval_train_switches_the_statistics_used(device, kind, momentum, data):
    c = data.draw(st.integers(1, 3))
    bn = _make_bn(kind, c, device, momentum)
    gamma, beta, rmean, rvar = _draw_state(data, bn, c, device)

    def train_step(x):
        np.testing.assert_allclose(bn(tl.Tensor(x, device=device)).numpy(), _train_ref(x, gamma, beta),
                                   rtol=1e-7, atol=1e-7)
        nonlocal rmean, rvar
        m_count = x.size // c
        rmean = (1 - momentum) * rmean + momentum * x.mean(axis=_axes(x))
        rvar = (1 - momentum) * rvar + momentum * x.var(axis=_axes(x)) * m_count / (m_count - 1)
        np.testing.assert_allclose(bn.running_mean.numpy(), rmean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(bn.running_var.numpy(), rvar, rtol=1e-9, atol=1e-9)

    assert bn.training
    train_step(_draw_array(data, _draw_shape(data, kind, c, min_values=2)))
    bn.eval()
    frozen = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    for _ in range(2):  # twice: the first eval call must not change what the second sees
        x = _draw_array(data, _draw_shape(data, kind, c))
        out = bn(tl.Tensor(x, device=device)).numpy()
        np.testing.assert_allclose(out, _eval_ref(x, gamma, beta, rmean, rvar), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(bn.running_mean.numpy(), frozen[0])  # not moved, bit for bit
        np.testing.assert_array_equal(bn.running_var.numpy(), frozen[1])
    bn.train()
    train_step(_draw_array(data, _draw_shape(data, kind, c, min_values=2)))


@bn_kind
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_bn_train_gradient_matches_finite_differences(device, kind, data, seed):
    c = data.draw(st.integers(1, 3))
    shape = _draw_shape(data, kind, c, min_values=2, max_n=4, max_side=2)
    rng = np.random.default_rng(seed)
    # per-channel spread well above eps keeps the finite differences accurate
    x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 3), shape)
    x += _per_channel(np.arange(c, dtype=np.float64), x.ndim) * rng.uniform(-2, 2)
    flat = np.moveaxis(x, 1, 0).reshape(c, -1)
    flat[:, 0], flat[:, 1] = -1.0 + flat[:, 0] * 0.1, 1.0 + flat[:, 1] * 0.1  # two distinct values per channel
    x = np.moveaxis(flat.reshape((c, shape[0]) + shape[2:]), 0, 1).copy()
    bn = _make_bn(kind, c, device)
    _set(bn.weight, rng.uniform(-2, 2, c), device)
    _set(bn.bias, rng.uniform(-2, 2, c), device)
    assert bn.training
    assert module_gradcheck(bn, tl.Tensor(x, device=device, requires_grad=True))
    # and the checked module's parameters really are input, gamma and beta
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]


# ---------------------------------------------------------------- dropout
DROPOUTS = pytest.mark.parametrize("cls", [nn.Dropout, nn.Dropout2d], ids=["Dropout", "Dropout2d"])


def _dropout_shape(cls, max_side=4):
    """Any shape for Dropout (scalars included); (N, C, H, W) for Dropout2d."""
    if cls is nn.Dropout2d:
        return hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=max_side)
    return hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=max_side)


@DROPOUTS
@SETTINGS
@given(data=st.data(), p=st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1)),
       dtype=st.sampled_from(["float16", "float32", "float64"]))
def test_dropout_eval_is_the_identity(device, cls, data, p, dtype):
    shape = data.draw(_dropout_shape(cls))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-1e3, 1e3, width=16)))  # both signs
    xt = tl.Tensor(x, dtype=dtype, device=device)
    layer = cls(p).eval()
    out = layer(xt)
    assert out is xt  # returns its input
    np.testing.assert_array_equal(out.numpy(), x)
    assert out.dtype == np.dtype(dtype) and out.shape == x.shape


@DROPOUTS
@SETTINGS
@given(data=st.data(), p=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_dropout_backward_uses_the_forward_mask(device, cls, data, p, seed):
    tl.manual_seed(seed)
    shape = (4, 32, 2, 2) if cls is nn.Dropout2d else data.draw(st.sampled_from([(512,), (16, 32), (4, 8, 16)]))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2, shape) * rng.choice([-1.0, 1.0], shape)  # nonzero, both signs
    g = rng.normal(size=shape)
    xt = tl.Tensor(x, device=device, requires_grad=True)
    out = cls(p)(xt)
    out.backward(tl.Tensor(g, device=device))
    o = out.numpy()
    factor = o / x  # the forward mask: 0 or 1 / (1 - p) per element
    dropped = factor == 0
    assert dropped.any() and not dropped.all()  # P(otherwise) < 1e-8 for these sizes and p
    np.testing.assert_allclose(factor[~dropped], 1 / (1 - p), rtol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), g * factor, rtol=1e-12, atol=0)


@DROPOUTS
@SETTINGS
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_dropout_preserves_the_mean(device, cls, p, seed):
    tl.manual_seed(seed)
    shape = (100, 100, 2, 2) if cls is nn.Dropout2d else (40_000,)
    n = 100 * 100 if cls is nn.Dropout2d else 40_000  # independent Bernoulli draws
    out = cls(p)(tl.ones(*shape, dtype="float64", device=device)).numpy()
    # each draw keeps 1 / (1 - p) w.p. 1 - p, else 0: mean 1, variance p / (1 - p)
    assert abs(out.mean() - 1.0) <= Z * math.sqrt(p / (1 - p) / n)
    kept = int((out != 0).sum()) // (shape[2] * shape[3] if cls is nn.Dropout2d else 1)
    assert abs(kept - n * (1 - p)) <= Z * math.sqrt(n * p * (1 - p))


@SETTINGS
@given(p=st.floats(0.1, 0.9), seed=st.integers(0, 2**32 - 1),
       hw=st.tuples(st.integers(2, 5), st.integers(2, 5)))
def test_dropout2d_zeroes_whole_channels(device, p, seed, hw):
    tl.manual_seed(seed)
    n, c = 8, 16
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2, (n, c, *hw)) * rng.choice([-1.0, 1.0], (n, c, *hw))
    out = nn.Dropout2d(p)(tl.Tensor(x, device=device)).numpy()
    factor = (out / x).reshape(n, c, -1)
    # one factor per (sample, channel): 0 or 1 / (1 - p) over the whole H x W map
    np.testing.assert_allclose(factor, factor[:, :, :1].repeat(factor.shape[2], axis=2), rtol=1e-12)
    zero = factor[:, :, 0] == 0
    np.testing.assert_allclose(factor[:, :, 0][~zero], 1 / (1 - p), rtol=1e-12)
    # 128 channels: all kept or all dropped has probability < 1e-5 for p in [0.1, 0.9]
    assert zero.any() and not zero.all()
