"""Inverted dropout: statistics within binomial bounds, the same mask in backward, seeding."""
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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
