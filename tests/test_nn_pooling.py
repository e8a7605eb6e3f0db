"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d and their functional forms: the op-table rows
(forward in float64 against direct-loop NumPy references, float64 gradcheck, float32 shapes
and dtypes; kernel sizes, strides, paddings, max pooling's dilations and odd sizes where the
window does not tile the input; max pooling draws tie-free values), ties, global average
pooling, max pooling against PyTorch where it is installed, and bad input.
"""
from __future__ import annotations

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import Op, adaptive_ref, arr, check_op, check_op_twice, pool_ref, window_side
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn


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


def test_max_pool_dilation_spaces_the_taps(device):
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    layer = nn.MaxPool2d(2, stride=1, dilation=2)
    assert "dilation=2" in repr(layer)
    out = layer(tl.Tensor(x, device=device))  # window (y, x), (y, x + 2), (y + 2, x), (y + 2, x + 2)
    np.testing.assert_array_equal(out.numpy(), x[:, :, 2:, 2:])
    np.testing.assert_array_equal(F.max_pool2d(tl.Tensor(x, device=device), 2, 1, 0, (2, 1)).numpy(),
                                  x[:, :, 2:, 1:])


def test_max_pool_with_dilation_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 8))
    for args in ((2, None, 0, 2), ((3, 2), (2, 1), 1, (2, 3)), (3, 1, 1, (1, 2))):
        xt, xs = tl.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, theirs = F.max_pool2d(xt, *args), torch.nn.functional.max_pool2d(xs, *args)
        np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
        g = np.random.default_rng(5).standard_normal(ours.shape)
        ours.backward(tl.Tensor(g))
        theirs.backward(torch.tensor(g))
        np.testing.assert_allclose(xt.grad.numpy(), xs.grad.numpy(), rtol=1e-12)  # no ties in normal draws
        layer = torch.nn.MaxPool2d(*args)
        np.testing.assert_array_equal(nn.MaxPool2d(*args)(tl.Tensor(x)).numpy(), layer(torch.tensor(x)).numpy())


# ---------------------------------------------------------------- the op-table rows
@st.composite
def pool_case(draw, ties_free=True, dilated=False):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    # a dilated window fits without the padding: else one may hold nothing but padding (-inf, as PyTorch)
    h = window_side(draw, dilation[0] * (kernel[0] - 1) + 1, 2 * padding[0] * (dilation[0] == 1))
    w = window_side(draw, dilation[1] * (kernel[1] - 1) + 1, 2 * padding[1] * (dilation[1] == 1))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    if ties_free:  # all values different, at least 4 / size apart: no ties within a window
        size = int(np.prod(shape))
        x = np.array(draw(st.permutations(range(size))), dtype=np.float64).reshape(shape) * (4 / size) - 2
    else:
        x = arr(draw, shape)
    params = {"kernel_size": kernel, "stride": stride, "padding": padding}
    return [x], ({**params, "dilation": dilation} if dilated else params)


@st.composite
def adaptive_case(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    out = (draw(st.integers(1, shape[2])), draw(st.integers(1, shape[3])))
    return [arr(draw, shape)], {"output_size": out}


POOL_OPS = [
    Op("max_pool2d", F.max_pool2d, lambda x, **k: pool_ref(x, reduce=np.max, fill=-np.inf, **k),
       pool_case(dilated=True)),
    Op("avg_pool2d", F.avg_pool2d, lambda x, **k: pool_ref(x, reduce=np.mean, fill=0.0, **k),
       pool_case(ties_free=False)),
    Op("adaptive_avg_pool2d", F.adaptive_avg_pool2d, adaptive_ref, adaptive_case()),
]


@pytest.mark.parametrize("op", POOL_OPS, ids=[op.name for op in POOL_OPS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pool_op(op, device, data):
    check_op(op, device, data)


@pytest.mark.parametrize("op", POOL_OPS, ids=[op.name for op in POOL_OPS])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pool_op_twice(op, device, data):
    check_op_twice(op, device, data)


# ---------------------------------------------------------------- bad input
BAD = [
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "at most half the kernel"),
    (lambda: nn.MaxPool2d(2, dilation=0), ValueError, "dilation must be an integer >= 1"),
    (lambda: F.max_pool2d(tl.ones(1, 1, 4, 4), 3, dilation=2), ValueError, r"kernel spans \(5, 5\)"),
    (lambda: nn.MaxPool2d(3)(tl.ones(1, 1, 2, 2)), ValueError, r"MaxPool2d.*padded input of \(2, 2\)"),
    (lambda: F.avg_pool2d(tl.ones(4, 4), 2), ValueError, r"avg_pool2d: expected input of shape \(N, C, H, W\)"),
    (lambda: F.max_pool2d(tl.Tensor(np.ones((1, 1, 2, 2), np.int64)), 2), TypeError, "float input"),
]


@pytest.mark.parametrize("call, error, pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_names_the_layer_the_shapes_and_the_rule(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
