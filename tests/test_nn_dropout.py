"""Dropout and Dropout2d (inverted dropout of units and of whole channels): statistics within
binomial bounds, the same mask in backward, seeding, eval mode as the identity, float16; as
examples and as properties over drawn inputs."""
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
PROPERTY_SETTINGS = settings(max_examples=12, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
N = 20_000
Z = 5.0  # a 5-sigma bound: a correct implementation fails with probability < 1e-6


@SETTINGS
@given(p=st.floats(0.05, 0.95))
def test_train_output_is_zero_or_scaled_input(device, p):
    x = tl.Tensor(np.linspace(0.5, 3.0, 500), dtype="float32", device=device)
    out = nn.Dropout(p)(x).numpy()
    xs = x.numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], xs[kept] / np.float32(1 - p), rtol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_fraction_and_mean_within_binomial_bounds(device, p):
    tl.manual_seed(11)
    out = nn.Dropout(p)(tl.ones(N, device=device)).numpy()
    kept = int((out != 0).sum())
    # kept ~ Binomial(N, 1 - p)
    assert abs(kept - N * (1 - p)) <= Z * math.sqrt(N * p * (1 - p))
    # each output is 1/(1-p) w.p. 1-p else 0: mean 1, variance p / (1 - p)
    assert abs(out.mean() - 1.0) <= Z * math.sqrt(p / (1 - p) / N)


def test_backward_uses_the_forward_mask(device):
    tl.manual_seed(3)
    p = 0.3
    x = tl.Tensor(np.arange(1, 201, dtype=np.float32), device=device, requires_grad=True)
    out = F.dropout(x, p)
    g = tl.Tensor(np.linspace(-1, 1, 200, dtype=np.float32), device=device)
    out.backward(g)
    mask = (out.numpy() != 0) / (1 - p)  # read off the forward output
    np.testing.assert_allclose(out.numpy(), x.numpy() * mask, rtol=1e-6)
    assert 0 < (mask == 0).sum() < 200
    np.testing.assert_allclose(x.grad.numpy(), g.numpy() * mask, rtol=1e-6)


def test_same_seed_same_mask(device):
    x = tl.ones(1000, device=device)
    tl.manual_seed(5)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    tl.manual_seed(5)
    np.testing.assert_array_equal(F.dropout(x, 0.5).numpy(), a)
    assert not np.array_equal(a, b)  # the generator moves on between calls


def test_eval_is_identity_and_edge_probabilities(device):
    x = tl.randn(4, 5, device=device, requires_grad=True)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x
    assert nn.Dropout(0.0)(x) is x
    out = nn.Dropout(1.0)(x)
    assert np.all(out.numpy() == 0) and np.isfinite(out.numpy()).all()
    out.sum().backward()
    assert np.all(x.grad.numpy() == 0)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"Dropout: p must be a finite number in \[0, 1\]"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match=r"dropout: p must be a finite number in \[0, 1\]"):
            F.dropout(x, p)
    with pytest.raises(TypeError, match="Dropout: p must be"):
        nn.Dropout("0.5")


def test_dropout_in_a_model_follows_train_and_eval(device):
    model = nn.Sequential(nn.Linear(4, 50, device=device), nn.Dropout(0.5))
    x = tl.randn(3, 4, device=device)
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), model[0](x).numpy())
    model.train()
    assert (model(x).numpy() == 0).mean() > 0.2


def test_dropout_gradcheck(device):
    def fn(x):
        tl.manual_seed(0)  # the same mask on every evaluation
        return F.dropout(x, 0.4)

    x = tl.randn(3, 4, dtype="float64", device=device, requires_grad=True)
    assert tl.gradcheck(fn, x)
    assert fn(x).dtype == np.float64


@pytest.mark.parametrize("make", [lambda: nn.Dropout("0.5"), lambda: nn.Dropout2d("0.5"), lambda: nn.Dropout(None),
                                  lambda: F.dropout(tl.ones(2, 2), "0.5"),
                                  lambda: F.dropout2d(tl.ones(1, 2, 2, 2), "0.5")])
def test_a_probability_that_is_not_a_number_is_a_type_error_naming_p(make):
    with pytest.raises(TypeError, match=r"[dD]ropout2?d?: p must be a finite number in \[0, 1\], got"):
        make()


@pytest.mark.parametrize("layer, shape", [(nn.Dropout, (40, 50)), (nn.Dropout2d, (8, 250, 1, 2))])
def test_float16_training_forward_and_backward(device, layer, shape):
    """float16 in, float16 out and float16 gradients, with the forward's mask; the kept
    fraction within binomial bounds of 1 - p."""
    tl.manual_seed(12)
    p, n_masks = 0.3, shape[0] * shape[1]
    x = tl.Tensor(np.linspace(0.5, 3.0, math.prod(shape)).reshape(shape), dtype="float16", device=device,
                  requires_grad=True)
    out = layer(p)(x)
    assert out.dtype == np.float16
    g = tl.Tensor(np.linspace(-1, 1, math.prod(shape)).reshape(shape), dtype="float16", device=device)
    out.backward(g)
    assert x.grad.dtype == np.float16
    o, xs = out.numpy().astype(np.float64), x.numpy().astype(np.float64)
    kept = o != 0
    scale = np.float64(np.float16(1 / (1 - p)))  # the mask holds 1 / (1 - p) in float16
    np.testing.assert_allclose(o[kept], xs[kept] * scale, rtol=1e-3)
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64), g.numpy() * kept * scale, rtol=1e-3, atol=1e-6)
    kept_masks = kept.reshape(n_masks, -1).all(axis=1).sum()
    assert np.array_equal(kept.reshape(n_masks, -1).any(axis=1), kept.reshape(n_masks, -1).all(axis=1))
    assert abs(kept_masks - n_masks * (1 - p)) <= Z * math.sqrt(n_masks * p * (1 - p))


# ---------------------------------------------------------------- Dropout2d
# no subnormals: there x / (1 - p) and x * float32(1 / (1 - p)) round to different multiples of the
# smallest step, which no relative tolerance covers
@SETTINGS
@given(p=st.floats(0.05, 0.95), x=hnp.arrays(np.float32, (3, 4, 2, 3),
                                            elements=st.floats(-3, 3, width=32, allow_subnormal=False)))
def test_dropout2d_zeroes_whole_channels_and_scales_the_rest(device, p, x):
    out = nn.Dropout2d(p)(tl.Tensor(x, device=device)).numpy()
    for n in range(3):
        for c in range(4):
            kept, plane = out[n, c], x[n, c]
            if not np.array_equal(kept, np.zeros_like(kept)) or not plane.any():
                np.testing.assert_allclose(kept, plane / np.float32(1 - p), rtol=1e-6)
    assert out.dtype == np.float32


def test_dropout2d_keeps_channels_at_the_binomial_rate_and_uses_one_mask(device):
    tl.manual_seed(7)
    p, n, c = 0.3, 100, 50
    x = tl.ones(n, c, 2, 2, device=device, requires_grad=True)
    out = F.dropout2d(x, p)
    kept = out.numpy()[:, :, 0, 0] != 0
    assert abs(int(kept.sum()) - n * c * (1 - p)) <= Z * math.sqrt(n * c * p * (1 - p))
    out.backward(tl.ones(n, c, 2, 2, device=device))
    np.testing.assert_allclose(x.grad.numpy(), out.numpy())  # the same mask, scaled, in backward
    layer = nn.Dropout2d(0.5).eval()
    y = tl.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)), device=device)
    assert layer(y) is y  # identity in eval


# ---------------------------------------------------------------- train and eval mode, as properties
# Dropout and Dropout2d over drawn inputs, expected values computed here in float64 NumPy: eval-mode
# dropout is the identity, and train-mode dropout uses one mask in forward and backward and
# preserves the mean.
DROPOUTS = pytest.mark.parametrize("cls", [nn.Dropout, nn.Dropout2d], ids=["Dropout", "Dropout2d"])


def _dropout_shape(cls, max_side=4):
    """Any shape for Dropout (scalars included); (N, C, H, W) for Dropout2d."""
    if cls is nn.Dropout2d:
        return hnp.array_shapes(min_dims=4, max_dims=4, min_side=1, max_side=max_side)
    return hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=max_side)


@DROPOUTS
@PROPERTY_SETTINGS
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
@PROPERTY_SETTINGS
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
@PROPERTY_SETTINGS
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


@PROPERTY_SETTINGS
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


# ---------------------------------------------------------------- bad input (Dropout2d)
BAD = [
    (lambda: nn.Dropout2d("0.5"), TypeError, "Dropout2d: p must be"),
]


@pytest.mark.parametrize("call, error, pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_names_the_layer_the_shapes_and_the_rule(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
