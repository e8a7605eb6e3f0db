"""BatchNorm1d against the lecture's algorithm, written out in NumPy."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_nn_layers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EPS = 1e-5


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
    model(tl.Tensor(np.arange(12.0).reshape(4, 3), device=device))
    old = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device)
    result = fresh.load_state_dict(old)
    assert result.missing_keys == [] and fresh[1].num_batches_tracked.item() == 0
    np.testing.assert_array_equal(fresh[1].running_mean.numpy(), model[1].running_mean.numpy())
    del old["1.running_var"]
    with pytest.raises(ValueError, match=r"missing keys \['1.running_var'\]"):
        fresh.load_state_dict(old)
