"""Linear and ``nn.functional.linear`` (the fused Function behind it): the layout and default
init, values and gradients against a float64 NumPy transcription of y = x W^T + b (gx = g W,
gW = g^T x, gb = sum_i g_i) and finite differences, float16; and the engine's rules for leaf
gradients that the fused backward relies on.
"""
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn


# ---------------------------------------------------------------- the Linear module
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


# ---------------------------------------------------------------- nn.functional.linear
# input shape for (in_features=3): one sample as a vector, one sample as a row, a batch,
# and batch axes before the feature axis
X_SHAPES = [(3,), (1, 3), (5, 3), (2, 4, 3)]


def _arrays(x_shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, (2, 3), (2,)))
    return x, w, b


@pytest.mark.parametrize("x_shape", X_SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear_gradcheck(device, x_shape, bias):
    x, w, b = (tl.Tensor(a, requires_grad=True, device=device) for a in _arrays(x_shape, np.float64))
    if bias:
        assert tl.gradcheck(F.linear, x, w, b)
    else:
        assert tl.gradcheck(F.linear, x, w)


@pytest.mark.parametrize("x_shape", X_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_values_and_gradients_match_numpy(device, x_shape, dtype):
    x0, w0, b0 = _arrays(x_shape, dtype, seed=1)
    x, w, b = (tl.Tensor(a, requires_grad=True, device=device) for a in (x0, w0, b0))
    out = F.linear(x, w, b)
    g0 = np.random.default_rng(2).standard_normal(x_shape[:-1] + (2,)).astype(dtype)
    out.backward(tl.Tensor(g0, device=device))

    x64, w64, g64 = (a.astype(np.float64) for a in (x0, w0, g0))
    x2, g2 = x64.reshape(-1, 3), g64.reshape(-1, 2)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(out.numpy(), x64 @ w64.T + b0, **tol)
    np.testing.assert_allclose(x.grad.numpy(), (g2 @ w64).reshape(x_shape), **tol)
    np.testing.assert_allclose(w.grad.numpy(), g2.T @ x2, **tol)
    np.testing.assert_allclose(b.grad.numpy(), g2.sum(axis=0), **tol)
    for t in (out, x.grad, w.grad, b.grad):
        assert t.dtype == dtype and t.device == device


def test_linear_computes_only_the_gradients_needed(device, monkeypatch):
    x0, w0, b0 = _arrays((4, 3), np.float32)
    # the fused Function (private to nn), found as the op that made F.linear's output
    linear_fn = type(F.linear(tl.Tensor(x0), tl.Tensor(w0, requires_grad=True))._ctx)
    returned, backward = [], linear_fn.backward

    def spy(ctx, grad):
        returned.append(backward(ctx, grad))
        return returned[-1]

    monkeypatch.setattr(linear_fn, "backward", spy)
    x = tl.Tensor(x0, device=device)  # data: no gradient
    w, b = tl.Tensor(w0, requires_grad=True, device=device), tl.Tensor(b0, device=device)
    F.linear(x, w, b).sum().backward()
    assert x.grad is None and b.grad is None
    gx, gw, gb = returned[0]
    assert gx is None and gb is None and gw is not None  # not computed, not just discarded
    np.testing.assert_allclose(w.grad.numpy(), np.ones((4, 2)).T @ x0, rtol=1e-6)


def test_linear_weight_gradient_is_a_contiguous_array():
    # the reason the op exists: no transposed view of the (out, in) weight gradient
    x0, w0, _ = _arrays((5, 3), np.float32)
    w = tl.Tensor(w0, requires_grad=True)
    F.linear(tl.Tensor(x0), w).sum().backward()
    assert w.grad.data.flags.c_contiguous and w.grad.shape == (2, 3)


def test_linear_wider_bias_promotes_like_the_composite():
    x0, w0, b0 = _arrays((4, 3), np.float32)
    b = tl.Tensor(b0.astype(np.float64))
    out = F.linear(tl.Tensor(x0), tl.Tensor(w0), b)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), x0.astype(np.float64) @ w0.T.astype(np.float64) + b0,
                               rtol=1e-6)


def test_linear_rejects_bad_shapes_naming_them():
    x, w = tl.ones(4, 3), tl.ones(2, 3)
    with pytest.raises(ValueError, match=r"bias of shape \(2,\).*\(2, 3\).*\(3,\)"):
        F.linear(x, w, tl.ones(3))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\).*\(4, 2\)"):
        F.linear(tl.ones(4, 2), w)
    for weight in (tl.ones(3), tl.Tensor(1.0)):  # the weight, not the input, is named
        with pytest.raises(ValueError, match=r"weight of shape \(out_features, in_features\)"):
            F.linear(x, weight)


# ---------------------------------------------------------------- leaf gradients
def test_broadcast_gradient_becomes_an_ordinary_array(device):
    # sum's backward hands back a stride-0 view of one element; the leaf gets real memory
    x = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, device=device)
    x.sum().backward()
    g = x.grad.data
    assert 0 not in g.strides and g.flags.writeable
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


@pytest.mark.parametrize("view", ["transpose", "reshape", "identity"])
def test_gradient_given_to_backward_is_not_aliased(device, view):
    x = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, device=device)
    y = {"transpose": x.T, "reshape": x.reshape(3, 2), "identity": x}[view]
    g = tl.Tensor(np.full(y.shape, 2.0), device=device)
    y.backward(g)
    g.data[...] = -1.0  # the caller reuses its array
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_transposed_leaf_gradient_survives_later_work(device):
    # p.grad may be a view of an array made in backward: nothing may write to it afterwards
    rng = np.random.default_rng(3)
    p0, a0 = rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    p = tl.Tensor(p0, requires_grad=True, device=device)
    a = tl.Tensor(a0, device=device)
    (a @ p).T.sum().backward()
    expected = a0.T @ np.ones((5, 4))
    q = tl.Tensor(p0 * 2, requires_grad=True, device=device)
    ((a @ q).T * 3.0).sum().backward()  # another graph through the same ops
    (a @ p).sum().backward()  # accumulating into p.grad makes a new array
    np.testing.assert_allclose(p.grad.numpy(), 2 * expected)
    np.testing.assert_allclose(q.grad.numpy(), 3 * expected)
