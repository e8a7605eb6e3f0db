"""LayerNorm and Embedding: values against NumPy, gradients against finite differences (module
parameters through ``nn.functional_call``), PyTorch's conventions, and bad input."""
import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_nn_layers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def np_layer_norm(x, k, w=None, b=None, eps=1e-5):
    """PyTorch's formula: (x - E[x]) / sqrt(Var[x] + eps) * w + b over the last k axes, Var biased."""
    axes = tuple(range(x.ndim - k, x.ndim))
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return y * (1 if w is None else w) + (0 if b is None else b)


# ---------------------------------------------------------------- LayerNorm
@SETTINGS
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.integers(2, 3), st.integers(2, 4)),
                    elements=st.floats(-100, 100)),
       k=st.sampled_from([1, 2]), eps=st.sampled_from([1e-5, 0.5]))
def test_layer_norm_matches_numpy(device, x, k, eps):
    shape = x.shape[-k:]
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=shape), rng.normal(size=shape)
    layer = nn.LayerNorm(shape if k > 1 else shape[0], eps=eps, dtype="float64", device=device)
    layer.weight.data[...] = w
    layer.bias.data[...] = b
    np.testing.assert_allclose(layer(tl.Tensor(x, device=device)).numpy(), np_layer_norm(x, k, w, b, eps),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("shape, normalized", [((3, 5), 5), ((2, 3, 4), (3, 4)), ((4,), (4,))])
def test_layer_norm_gradcheck(device, shape, normalized):
    layer = nn.LayerNorm(normalized, dtype="float64", device=device)
    rng = np.random.default_rng(1)
    for p in layer.parameters():  # away from the identity init, so every term matters
        p.data[...] = rng.normal(size=p.shape)
    x = tl.Tensor(rng.normal(size=shape), device=device, requires_grad=True)
    assert module_gradcheck(layer, x)


def test_layer_norm_per_sample_defaults_and_options(device):
    layer = nn.LayerNorm(4, device=device)
    assert layer.weight.shape == (4,) and (layer.weight.numpy() == 1).all() and (layer.bias.numpy() == 0).all()
    x = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 10.0, 10.0, 50.0]], dtype=np.float32)
    y = layer(tl.Tensor(x, device=device)).numpy()
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-6)  # each row on its own
    np.testing.assert_allclose(y[:1], layer(tl.Tensor(x[:1], device=device)).numpy())  # a batch of one
    assert y.dtype == np.float32
    layer.eval()
    np.testing.assert_allclose(layer(tl.Tensor(x, device=device)).numpy(), y)  # no train/eval difference
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert repr(nn.LayerNorm((2, 3))) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)"
    np.testing.assert_allclose(F.layer_norm(tl.Tensor(x, device=device), (4,)).numpy(), y, rtol=1e-6)


@pytest.mark.parametrize("call, error, text", [
    (lambda: nn.LayerNorm(4)(tl.zeros(2, 5)), ValueError, r"LayerNorm: expected input of shape \(\.\.\., 4\), got \(2, 5\)"),
    (lambda: nn.LayerNorm((2, 3))(tl.zeros(3)), ValueError, r"\(\.\.\., 2, 3\)"),
    (lambda: nn.LayerNorm(0), ValueError, "LayerNorm: normalized_shape must be an integer >= 1"),
    (lambda: nn.LayerNorm("4"), TypeError, "LayerNorm: normalized_shape"),
    (lambda: nn.LayerNorm(()), TypeError, "LayerNorm: normalized_shape"),
    (lambda: nn.LayerNorm(4, eps=0.0), ValueError, "LayerNorm: eps"),
    (lambda: nn.LayerNorm(4, elementwise_afine=False), TypeError, "elementwise_afine"),
    (lambda: F.layer_norm(tl.zeros(2, 4), 4, weight=tl.ones(3)), ValueError, r"weight of shape \(4,\)"),
    (lambda: F.layer_norm(np.zeros((2, 4)), 4), TypeError, "layer_norm: the input must be a Tensor"),
])
def test_layer_norm_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()


# ---------------------------------------------------------------- Embedding
def test_embedding_lookup_and_accumulated_gradient(device):
    tl.manual_seed(0)
    emb = nn.Embedding(6, 3, device=device, dtype="float64")
    idx = np.array([[1, 4, 1], [0, 1, 5]])
    out = emb(tl.Tensor(idx, device=device))
    w = emb.weight.numpy()
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), w[idx])
    g = np.random.default_rng(2).normal(size=out.shape)
    (out * tl.Tensor(g, device=device)).sum().backward()
    expected = np.zeros_like(w)
    np.add.at(expected, idx, g)  # repeated indices add up
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-12)
    assert module_gradcheck(emb, tl.Tensor(idx, device=device))


def test_embedding_padding_idx_is_looked_up_but_never_learns(device):
    emb = nn.Embedding(5, 2, padding_idx=-1, device=device)  # -1: the last row, as PyTorch
    assert emb.padding_idx == 4 and (emb.weight.numpy()[4] == 0).all()
    emb.weight.data[4] = 7.0  # set by hand: still what a lookup returns
    idx = tl.Tensor([4, 2, 4, 0], device=device)
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy()[[0, 2]], 7.0)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[4] == 0).all() and (grad[2] == 1).all() and (grad[0] == 1).all() and (grad[[1, 3]] == 0).all()
    assert repr(emb) == "Embedding(5, 2, padding_idx=4)"


def test_embedding_init_and_from_pretrained(device):
    tl.manual_seed(1)
    w = nn.Embedding(1000, 50).weight.numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1), as PyTorch
    table = tl.Tensor(np.arange(6.0).reshape(3, 2), device=device)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.device == device
    np.testing.assert_array_equal(frozen(tl.Tensor([2, 0], device=device)).numpy(), [[4, 5], [0, 1]])
    table.data[0, 0] = 99.0  # a copy: the layer does not see later changes
    assert frozen.weight.numpy()[0, 0] == 0
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


@pytest.mark.parametrize("call, error, text", [
    (lambda e: e(tl.Tensor([0.0, 1.0])), TypeError, "embedding: indices must be integers"),
    (lambda e: e(tl.Tensor([0, 4])), ValueError, r"embedding: index 4 is out of range for 4 embeddings \(valid: 0\.\.3\)"),
    (lambda e: e(tl.Tensor([-1, 0])), ValueError, "index -1 is out of range"),
    (lambda e: e(np.array([0, 1])), TypeError, "not a Tensor"),
    (lambda e: F.embedding(tl.Tensor([0]), tl.zeros(4)), ValueError, r"weight of shape \(num_embeddings"),
    (lambda e: nn.Embedding(0, 3), ValueError, "Embedding: num_embeddings"),
    (lambda e: nn.Embedding(4, 2.5), TypeError, "Embedding: embedding_dim"),
    (lambda e: nn.Embedding(4, 2, padding_idx=4), ValueError, "Embedding: padding_idx"),
    (lambda e: nn.Embedding(4, 2, max_norm=1.0), TypeError, "max_norm"),
    (lambda e: nn.Embedding.from_pretrained(tl.zeros(3)), ValueError, "from_pretrained"),
])
def test_embedding_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call(nn.Embedding(4, 2))
