"""LayerNorm and ``nn.functional.layer_norm``: values against NumPy, gradients against finite
differences (module parameters through ``nn.functional_call``), PyTorch's conventions, and bad input."""
import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import module_gradcheck
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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


# ---------------------------------------------------------------- GroupNorm
def np_group_norm(x, g, w=None, b=None, eps=1e-5):
    """PyTorch's formula: per sample and group of C / g consecutive channels, (x - E[x]) / sqrt(Var[x] + eps),
    Var biased, then w[c] x + b[c]."""
    n, c = x.shape[:2]
    y = np.empty_like(x)
    for i in range(n):
        for j in range(g):
            part = x[i, j * c // g:(j + 1) * c // g]
            y[i, j * c // g:(j + 1) * c // g] = (part - part.mean()) / np.sqrt(part.var() + eps)
    per_channel = (c,) + (1,) * (x.ndim - 2)
    return y * (1 if w is None else w.reshape(per_channel)) + (0 if b is None else b.reshape(per_channel))


@pytest.mark.parametrize("shape, groups", [((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4), 4), ((1, 6, 7), 1)])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_group_norm_matches_numpy(device, shape, groups, eps):
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape) * 10 + 3
    layer = nn.GroupNorm(groups, shape[1], eps=eps, dtype="float64", device=device)
    w, b = rng.normal(size=shape[1]), rng.normal(size=shape[1])
    layer.weight.data[...] = w
    layer.bias.data[...] = b
    np.testing.assert_allclose(layer(tl.Tensor(x, device=device)).numpy(), np_group_norm(x, groups, w, b, eps),
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(F.group_norm(tl.Tensor(x, device=device), groups, eps=eps).numpy(),
                               np_group_norm(x, groups, eps=eps), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 3), ((2, 4, 2, 2), 2), ((3, 2), 1)])
def test_group_norm_gradcheck(device, shape, groups):
    layer = nn.GroupNorm(groups, shape[1], dtype="float64", device=device)
    rng = np.random.default_rng(4)
    for p in layer.parameters():
        p.data[...] = rng.normal(size=p.shape)
    x = tl.Tensor(rng.normal(size=shape), device=device, requires_grad=True)
    assert module_gradcheck(layer, x)


def test_group_norm_defaults_state_dict_and_options(device):
    layer = nn.GroupNorm(2, 4, device=device)
    assert (layer.weight.numpy() == 1).all() and (layer.bias.numpy() == 0).all() and layer.weight.shape == (4,)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert repr(layer) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    x = tl.Tensor(np.random.default_rng(5).normal(size=(3, 4, 5)).astype(np.float32), device=device)
    y = layer(x).numpy()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[:1], layer(x[:1]).numpy(), rtol=1e-6)  # per sample: a batch of one
    layer.eval()
    np.testing.assert_allclose(layer(x).numpy(), y)
    assert list(nn.GroupNorm(2, 4, affine=False).parameters()) == []


@pytest.mark.parametrize("call, error, text", [
    (lambda: nn.GroupNorm(3, 4), ValueError, "num_channels=4 must be divisible by num_groups=3"),
    (lambda: nn.GroupNorm(0, 4), ValueError, "num_groups"),
    (lambda: nn.GroupNorm(2, 4)(tl.zeros(2, 6)), ValueError, r"expected input of shape \(N, 4, \*\)"),
    (lambda: F.group_norm(tl.zeros(2, 6), 4), ValueError, "divisible by num_groups=4"),
    (lambda: F.group_norm(tl.zeros(2, 4), 2, weight=tl.ones(3)), ValueError, r"weight of shape \(4,\)"),
    (lambda: nn.GroupNorm(2, 4, eps=0), ValueError, "eps"),
])
def test_group_norm_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_group_norm_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 6, 4, 3))
    theirs = torch.nn.GroupNorm(3, 6).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.normal(size=6)))
        theirs.bias.copy_(torch.tensor(rng.normal(size=6)))
    ours = nn.GroupNorm(3, 6).double()
    ours.load_state_dict({k: tl.Tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    tx = torch.tensor(x, requires_grad=True)
    ox = tl.Tensor(x, requires_grad=True)
    g = rng.normal(size=x.shape)
    theirs(tx).backward(torch.tensor(g))
    (ours(ox) * tl.Tensor(g)).sum().backward()
    np.testing.assert_allclose(ours(ox).numpy(), theirs(tx).detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(
        F.group_norm(tl.Tensor(x), 2, eps=0.1).numpy(),
        torch.nn.functional.group_norm(torch.tensor(x), 2, eps=0.1).numpy(), rtol=1e-10, atol=1e-12)
