"""BatchNorm1d and BatchNorm2d against the lecture's algorithm and PyTorch's formulas, written
out in float64 NumPy (never read off the library): training statistics per channel over
(N, *spatial), the running statistics as closed-form exponential averages, eval mode as the
affine map of the running statistics, train/eval switches, gradients against finite
differences, state dicts and bad input.
"""
import math

import numpy as np
import pytest
from helpers import module_gradcheck
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BN2D_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PROPERTY_SETTINGS = settings(max_examples=12, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
EPS = 1e-5


# ---------------------------------------------------------------- BatchNorm1d
def batches(min_rows=2):
    """(N, C) float64 batches with at least two distinct rows."""
    shape = st.tuples(st.integers(min_rows, 8), st.integers(1, 4))
    arr = hnp.arrays(np.float64, shape, elements=st.floats(-50, 50))
    return arr.filter(lambda a: len(np.unique(a, axis=0)) >= 2)


@SETTINGS
@given(x=batches())
def test_training_output_is_normalized_per_feature(device, x):
    bn = nn.BatchNorm1d(x.shape[1], device=device).double()
    out = bn(tl.Tensor(x, device=device)).numpy()
    var = x.var(axis=0)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-7)
    # var(out) = var / (var + eps): ~1 for any non-constant feature, 0 for a constant one
    np.testing.assert_allclose(out.var(axis=0), var / (var + EPS), rtol=1e-6, atol=1e-9)
    assert np.all(out.var(axis=0)[var > 1e-2] > 0.99)


def _lecture_bn(x, gamma, beta):
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    return gamma * (x - mu) / np.sqrt(var + EPS) + beta


def test_gamma_beta_applied_after_normalizing(device):
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, (6, 3))
    bn = nn.BatchNorm1d(3, device=device).double()
    gamma, beta = np.array([2.0, -1.0, 0.5]), np.array([0.3, 1.0, -2.0])
    bn.weight.data[...] = tl.Tensor(gamma, device=device).data
    bn.bias.data[...] = tl.Tensor(beta, device=device).data
    np.testing.assert_allclose(bn(tl.Tensor(x, device=device)).numpy(), _lecture_bn(x, gamma, beta), rtol=1e-10)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_running_statistics_are_closed_form_exponential_averages(device, momentum):
    rng = np.random.default_rng(1)
    k, n = 5, 7
    xs = [rng.normal(i, 1 + i, (n, 2)) for i in range(k)]
    bn = nn.BatchNorm1d(2, momentum=momentum, device=device).double()
    for x in xs:
        bn(tl.Tensor(x, device=device))
    m = momentum
    # after k steps: r = (1-m)^k r_0 + sum_i m (1-m)^(k-1-i) s_i, with the unbiased variance
    w = [m * (1 - m) ** (k - 1 - i) for i in range(k)]
    mean = sum(wi * x.mean(0) for wi, x in zip(w, xs))
    var = (1 - m) ** k + sum(wi * x.var(0, ddof=1) for wi, x in zip(w, xs))
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)


def test_running_statistics_stay_float32(device):
    bn = nn.BatchNorm1d(3, device=device)
    bn(tl.randn(4, 3, dtype="float64", device=device))
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_eval_uses_running_statistics_per_sample(device):
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm1d(3, device=device).double()
    for _ in range(3):
        bn(tl.Tensor(rng.normal(2, 3, (8, 3)), device=device))
    bn.weight.data[...] = tl.Tensor([1.5, 0.5, -1.0], dtype="float64", device=device).data
    rm, rv = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    bn.eval()
    x = rng.normal(0, 1, (5, 3))
    out = bn(tl.Tensor(x, device=device)).numpy()
    ref = np.array([1.5, 0.5, -1.0]) * (x - rm) / np.sqrt(rv + EPS)
    np.testing.assert_allclose(out, ref, rtol=1e-10)
    np.testing.assert_array_equal(bn(tl.Tensor(x, device=device)).numpy(), out)  # deterministic
    for i in range(5):  # one sample's output does not depend on the rest of the batch
        np.testing.assert_allclose(bn(tl.Tensor(x[i:i + 1], device=device)).numpy(), out[i:i + 1], rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), rm)  # eval does not update


def test_train_eval_switch(device):
    bn = nn.BatchNorm1d(2, device=device)
    x = tl.Tensor([[1.0, 2.0], [3.0, 6.0]], device=device)
    bn.eval()
    np.testing.assert_allclose(bn(x).numpy(), x.numpy() / np.sqrt(1 + EPS), rtol=1e-6)
    assert bn.running_mean.tolist() == [0.0, 0.0]
    bn.train()
    expected = np.broadcast_to(1 / np.sqrt(1 + EPS / np.array([1.0, 4.0])), (2, 2))
    np.testing.assert_allclose(np.abs(bn(x).numpy()), expected, rtol=1e-5)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2, 0.4], rtol=1e-6)
    bn.eval()
    np.testing.assert_allclose(bn(x).numpy(), (x.numpy() - [0.2, 0.4]) / np.sqrt(bn.running_var.numpy() + EPS),
                               rtol=1e-6)


def test_batch_of_one_and_bad_shapes(device):
    bn = nn.BatchNorm1d(3, device=device)
    with pytest.raises(ValueError, match="at least 2 values per channel"):
        bn(tl.ones(1, 3, device=device))
    bn.eval()
    assert bn(tl.ones(1, 3, device=device)).shape == (1, 3)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        bn(tl.ones(4, 2, device=device))
    assert bn(tl.ones(4, 3, 2, device=device)).shape == (4, 3, 2)  # (N, C, L), as PyTorch's
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input of shape \(N, 3\) or \(N, 3, L\)"):
        bn(tl.ones(4, 3, 2, 2, device=device))
    with pytest.raises(ValueError):
        nn.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm1d(0)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_through_batch_statistics(device, affine, training):
    tl.manual_seed(4)
    bn = nn.BatchNorm1d(3, affine=affine, device=device).double()
    if affine:
        bn.weight.data[...] = tl.Tensor([0.5, 2.0, -1.0], dtype="float64", device=device).data
    else:
        assert list(bn.parameters()) == []
    bn.running_var.data[...] = 2.0
    bn.train(training)
    x = tl.randn(5, 3, dtype="float64", device=device, requires_grad=True)
    assert module_gradcheck(bn, x)


def test_gradient_of_normalized_output_matches_closed_form():
    # for L = sum_i c_i * x_hat_i (one feature): dL/dx = (c - mean(c) - x_hat mean(c x_hat)) / sqrt(var + eps)
    rng = np.random.default_rng(5)
    x, c = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
    bn = nn.BatchNorm1d(1, affine=False).double()
    t = tl.Tensor(x, requires_grad=True)
    (bn(t) * tl.Tensor(c)).sum().backward()
    var = x.var()
    x_hat = (x - x.mean()) / np.sqrt(var + EPS)
    ref = (c - c.mean() - x_hat * (c * x_hat).mean()) / np.sqrt(var + EPS)
    np.testing.assert_allclose(t.grad.numpy(), ref, rtol=1e-9)


@pytest.mark.parametrize("kind", ["1d", "1d_ncl", "2d"])
def test_momentum_none_is_the_cumulative_moving_average(device, kind):
    """PyTorch's momentum=None: running <- running + (batch - running) / num_batches_tracked,
    the plain mean of every batch's statistics so far (the initial 0 and 1 count for nothing)."""
    shape, layer = {"1d": ((6, 3), nn.BatchNorm1d), "1d_ncl": ((4, 3, 5), nn.BatchNorm1d),
                    "2d": ((4, 3, 2, 5), nn.BatchNorm2d)}[kind]
    axes = (0,) + tuple(range(2, len(shape)))
    m = int(np.prod(shape)) // 3
    bn = layer(3, momentum=None, device=device).double()
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 0
    rng = np.random.default_rng(6)
    mean, var, batch_means, batch_vars = np.zeros(3), np.ones(3), [], []
    for n in range(1, 6):
        x = rng.normal(n, 1 + n, shape)
        bn(tl.Tensor(x, device=device))
        batch_means.append(x.mean(axis=axes))
        batch_vars.append(x.var(axis=axes) * m / (m - 1))
        mean = mean + (batch_means[-1] - mean) / n
        var = var + (batch_vars[-1] - var) / n
        assert bn.num_batches_tracked.item() == n
        np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
    np.testing.assert_allclose(mean, np.mean(batch_means, axis=0), rtol=1e-12)  # the transcription is the mean
    np.testing.assert_allclose(var, np.mean(batch_vars, axis=0), rtol=1e-12)
    bn.eval()
    bn(tl.Tensor(rng.normal(size=shape), device=device))
    assert bn.num_batches_tracked.item() == 5  # eval counts nothing


def test_num_batches_tracked_is_an_int_buffer_counted_by_training_batches(device):
    """As PyTorch's: in the state dict, int64 through astype, not counted by a refused batch."""
    bn = nn.BatchNorm1d(3, device=device)
    assert "num_batches_tracked" in bn.state_dict()
    bn(tl.randn(4, 3, device=device))
    with pytest.raises(ValueError, match="at least 2 values per channel"):
        bn(tl.ones(1, 3, device=device))
    assert bn.num_batches_tracked.item() == 1
    bn.astype(np.float16)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.running_mean.dtype == np.float16
    assert "momentum=None" in repr(nn.BatchNorm1d(3, momentum=None))


def test_a_state_dict_saved_before_num_batches_tracked_existed_still_loads(device):
    """Older state dicts have no count (as PyTorch's before 0.4.1): strict loading takes the rest
    and keeps the count; any other missing key is still refused."""
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device)
    model.train()
    model(tl.Tensor(np.arange(12.0).reshape(4, 3), dtype=np.float32, device=device))
    old = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device)
    result = fresh.load_state_dict(old)
    assert result.missing_keys == [] and fresh[1].num_batches_tracked.item() == 0
    np.testing.assert_array_equal(fresh[1].running_mean.numpy(), model[1].running_mean.numpy())
    del old["1.running_var"]
    with pytest.raises(ValueError, match=r"missing keys \['1.running_var'\]"):
        fresh.load_state_dict(old)


# ---------------------------------------------------------------- BatchNorm2d
def images(min_batch=1):
    shape = st.tuples(st.integers(min_batch, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
    arr = hnp.arrays(np.float64, shape, elements=st.floats(-20, 20))
    return arr.filter(lambda a: a.shape[0] * a.shape[2] * a.shape[3] >= 2)


@BN2D_SETTINGS
@given(x=images())
def test_bn2d_training_normalizes_each_channel_over_n_h_w(device, x):
    bn = nn.BatchNorm2d(x.shape[1], device=device).double()
    out = bn(tl.Tensor(x, device=device)).numpy()
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-7)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + EPS), rtol=1e-6, atol=1e-9)


@BN2D_SETTINGS
@given(momentum=st.floats(0.0, 1.0), steps=st.integers(1, 4), n=st.integers(1, 3), data=st.data())
def test_bn2d_running_statistics_and_eval(device, momentum, steps, n, data):
    """After k steps: r = (1-m)^k r_0 + sum_i m (1-m)^(k-1-i) s_i (unbiased variance, m = N H W
    values per channel); eval then applies exactly those statistics, for any batch, batch 1 too."""
    bn = nn.BatchNorm2d(2, momentum=momentum, device=device).double()
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(steps):
        x = data.draw(hnp.arrays(np.float64, (n, 2, 2, 3), elements=st.floats(-5, 5)))
        bn(tl.Tensor(x, device=device))
        count = n * 2 * 3
        mean = (1 - momentum) * mean + momentum * x.mean(axis=(0, 2, 3))
        var = (1 - momentum) * var + momentum * x.var(axis=(0, 2, 3)) * count / (count - 1)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-9, atol=1e-12)
    bn.weight.data[...] = tl.Tensor([2.0, -1.0], device=device).data
    bn.eval()
    x = data.draw(hnp.arrays(np.float64, (1, 2, 3, 1), elements=st.floats(-5, 5)))
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + EPS) * np.array([2.0, -1.0])[:, None, None]
    np.testing.assert_allclose(bn(tl.Tensor(x, device=device)).numpy(), expected, rtol=1e-9, atol=1e-12)
    bn.train()  # and back: batch statistics again, the running ones move
    x = np.concatenate([x, x + 1])
    bn(tl.Tensor(x, device=device))
    np.testing.assert_allclose(bn.running_mean.numpy(), (1 - momentum) * mean + momentum * x.mean(axis=(0, 2, 3)),
                               rtol=1e-9, atol=1e-12)


def test_bn2d_train_output_and_running_statistics_follow_pytorchs_formula(device):
    """PyTorch's BatchNorm2d in training, transcribed channel by channel: over the m = N H W values
    of channel c, mu_c = sum / m and sigma2_c = sum (x - mu_c)^2 / m; y = (x - mu_c) / sqrt(sigma2_c
    + eps) gamma_c + beta_c; running_mean <- (1 - p) running_mean + p mu_c and running_var <- (1 - p)
    running_var + p sigma2_c m / (m - 1). Every (h, w) position has its own mean and spread, so
    statistics over N alone (one per position) give other outputs and other running statistics."""
    rng = np.random.default_rng(8)
    n, c, h, w, p = 3, 2, 4, 5, 0.3
    x = rng.normal(size=(n, c, h, w)) * rng.uniform(0.5, 4, (h, w)) + rng.uniform(-5, 5, (h, w))
    gamma, beta = np.array([1.5, -0.5]), np.array([0.2, 1.0])
    bn = nn.BatchNorm2d(c, momentum=p, device=device).double()
    bn.weight.data[...] = tl.Tensor(gamma, device=device).data
    bn.bias.data[...] = tl.Tensor(beta, device=device).data
    out = bn(tl.Tensor(x, device=device)).numpy()
    expected, running_mean, running_var = np.empty_like(x), np.zeros(c), np.ones(c)
    for ch in range(c):
        values = [x[i, ch, y, z] for i in range(n) for y in range(h) for z in range(w)]
        m = len(values)
        mu = sum(values) / m
        sigma2 = sum((v - mu) ** 2 for v in values) / m
        expected[:, ch] = (x[:, ch] - mu) / np.sqrt(sigma2 + EPS) * gamma[ch] + beta[ch]
        running_mean[ch] = (1 - p) * running_mean[ch] + p * mu
        running_var[ch] = (1 - p) * running_var[ch] + p * sigma2 * m / (m - 1)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), running_mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), running_var, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- train and eval mode, as properties
# BatchNorm1d and BatchNorm2d over drawn inputs. Every expected value is computed here in float64
# NumPy from the formulas, never read off the library: eval-mode BN is the affine map of the running
# statistics, the running statistics are closed-form exponential averages, and the train-mode BN
# gradient matches finite differences.
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
@PROPERTY_SETTINGS
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
@PROPERTY_SETTINGS
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
@PROPERTY_SETTINGS
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


# ---------------------------------------------------------------- bad input (BatchNorm2d)
BAD = [
    (lambda: nn.BatchNorm2d(3)(tl.ones(4, 3)), ValueError, r"BatchNorm2d: expected input of shape \(N, 3, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(tl.ones(2, 4, 2, 2)), ValueError, r"\(N, 3"),
]


@pytest.mark.parametrize("call, error, pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_names_the_layer_the_shapes_and_the_rule(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
