"""ConvNet layers: Conv2d, pooling, BatchNorm2d and Dropout2d as modules, in train and eval
modes, against plain-NumPy transcriptions and the documented rules; and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_nn_layers import module_gradcheck
from test_ops_conv import conv2d_ref

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
EPS = 1e-5
Z = 5.0  # 5-sigma bounds: a correct implementation fails with probability < 1e-6


# ---------------------------------------------------------------- Conv2d
def test_conv2d_module_layout_init_and_formula(device):
    tl.manual_seed(0)
    layer = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, device=device)
    assert layer.weight.shape == (6, 2, 3, 3) and layer.bias.shape == (6,)
    bound = 1 / math.sqrt(2 * 3 * 3)  # PyTorch's default: 1 / sqrt(fan_in), fan_in = C / groups * kh * kw
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert 0.8 * bound < np.abs(layer.weight.numpy()).max() <= bound  # 36 draws of U(-b, b)
    x = np.random.default_rng(1).standard_normal((2, 4, 7, 5)).astype(np.float32)
    out = layer(tl.Tensor(x, device=device))
    assert out.dtype == np.float32 and out.device == device and out.shape == (2, 6, 4, 3)
    ref = conv2d_ref(x.astype(np.float64), layer.weight.numpy().astype(np.float64), layer.bias.numpy(),
                     (2, 2), (1, 1), (1, 1), 2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)
    assert nn.Conv2d(1, 2, 3, bias=False).bias is None
    assert "Conv2d(4, 6, kernel_size=(3, 3), stride=2" in repr(layer)


def test_conv_modules_gradcheck_with_their_parameters(device):
    x = tl.Tensor(np.random.default_rng(2).standard_normal((2, 2, 5, 5)), device=device, requires_grad=True)
    for module in (nn.Conv2d(2, 3, (2, 3), padding="same"), nn.Conv2d(2, 2, 3, groups=2, dilation=2),
                   nn.BatchNorm2d(2)):
        assert module_gradcheck(module.to(device).double(), x)


def test_init_fans_of_a_conv_weight():
    w = nn.Conv2d(3, 8, (5, 2)).weight
    assert nn.init.fans(w) == (3 * 5 * 2, 8 * 5 * 2)
    tl.manual_seed(0)
    nn.init.kaiming_normal_(w)  # std = sqrt(2 / fan_in)
    assert abs(w.numpy().std() - math.sqrt(2 / 30)) < 0.15 * math.sqrt(2 / 30)


# ---------------------------------------------------------------- pooling
def test_max_pool_ties_share_the_gradient_equally(device):
    x = tl.Tensor([[[[1.0, 3.0], [3.0, 0.0]]]], device=device, requires_grad=True)
    out = F.max_pool2d(x, 2)
    out.backward(tl.Tensor([[[[6.0]]]], device=device))
    np.testing.assert_array_equal(out.numpy(), [[[[3.0]]]])
    np.testing.assert_array_equal(x.grad.numpy(), [[[[0.0, 3.0], [3.0, 0.0]]]])


def test_global_average_pooling_is_the_channel_mean(device):
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 4))
    for out in (nn.AdaptiveAvgPool2d(1)(tl.Tensor(x, device=device)), F.adaptive_avg_pool2d(tl.Tensor(x), (1, 1))):
        np.testing.assert_allclose(out.numpy()[:, :, 0, 0], x.mean(axis=(2, 3)), rtol=1e-6)
    layers = [nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1, padding=1)]
    shapes = [layer(tl.Tensor(x, device=device)).shape for layer in layers]
    assert shapes == [(2, 3, 2, 2), (2, 3, 5, 4)]


# ---------------------------------------------------------------- BatchNorm2d
def images(min_batch=1):
    shape = st.tuples(st.integers(min_batch, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
    arr = hnp.arrays(np.float64, shape, elements=st.floats(-20, 20))
    return arr.filter(lambda a: a.shape[0] * a.shape[2] * a.shape[3] >= 2)


@SETTINGS
@given(x=images())
def test_bn2d_training_normalizes_each_channel_over_n_h_w(device, x):
    bn = nn.BatchNorm2d(x.shape[1], device=device).double()
    out = bn(tl.Tensor(x, device=device)).numpy()
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-7)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + EPS), rtol=1e-6, atol=1e-9)


@SETTINGS
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


# ---------------------------------------------------------------- Dropout2d
@SETTINGS
@given(p=st.floats(0.05, 0.95), x=hnp.arrays(np.float32, (3, 4, 2, 3), elements=st.floats(-3, 3, width=32)))
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


# ---------------------------------------------------------------- bad input
BAD = [
    (lambda: nn.Conv2d(3, 4, 3)(tl.ones(3, 8, 8)), ValueError, r"Conv2d\(3, 4.*\(N, C, H, W\).*\(3, 8, 8\)"),
    (lambda: nn.Conv2d(3, 4, 3)(tl.ones(1, 2, 8, 8)), ValueError, r"Conv2d\(3, 4.*2 channels.*expects 3"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "groups=2 must divide in_channels=3"),
    (lambda: F.conv2d(tl.ones(1, 4, 5, 5), tl.ones(6, 2, 3, 3), groups=4), ValueError, "groups=4 must divide"),
    (lambda: nn.Conv2d(1, 1, 5)(tl.ones(1, 1, 3, 8)), ValueError, r"kernel spans \(5, 5\).*padded input of \(3, 8\)"),
    (lambda: nn.Conv2d(1, 1, 3, stride=0), ValueError, "Conv2d: stride must be an integer >= 1, got 0"),
    (lambda: nn.Conv2d(1, 1, 3, dilation=(1, -1)), ValueError, "dilation must be an integer >= 1"),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1), ValueError, "padding must be an integer >= 0"),
    (lambda: nn.Conv2d(1, 1, 3, stride=2, padding="same"), ValueError, "needs stride 1"),
    (lambda: F.conv2d(tl.ones(1, 1, 4, 4), tl.ones(1, 1, 3, 3), tl.ones(2)), ValueError, r"bias of shape \(1,\)"),
    (lambda: F.conv2d(tl.ones(1, 1, 4, 4), tl.ones(1, 3, 3)), ValueError, "weight of shape"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "at most half the kernel"),
    (lambda: nn.MaxPool2d(3)(tl.ones(1, 1, 2, 2)), ValueError, r"MaxPool2d.*padded input of \(2, 2\)"),
    (lambda: F.avg_pool2d(tl.ones(4, 4), 2), ValueError, r"avg_pool2d: expected input of shape \(N, C, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(tl.ones(4, 3)), ValueError, r"BatchNorm2d: expected input of shape \(N, 3, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(tl.ones(2, 4, 2, 2)), ValueError, r"\(N, 3"),
    (lambda: nn.Dropout2d("0.5"), TypeError, "Dropout2d: p must be"),
    (lambda: F.max_pool2d(tl.Tensor(np.ones((1, 1, 2, 2), np.int64)), 2), TypeError, "float input"),
]


@pytest.mark.parametrize("call, error, pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_names_the_layer_the_shapes_and_the_rule(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
