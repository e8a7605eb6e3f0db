"""The ConvNet ops in the op table: conv2d, max/avg pooling and adaptive average pooling.

Same checks as tests/test_ops.py (forward in float64 against a reference, float64
gradcheck, float32 shapes and dtypes), with references written as direct loops over the
output positions in plain NumPy, independent of the library's im2col. The strategies
draw batch 1 and 2, channels, kernel sizes, strides, paddings (also "same"/"valid"),
dilations, groups (depthwise included) and odd sizes where the window does not tile
the input; max pooling draws tie-free values (ties are checked in tests/test_nn_conv.py).
"""
from __future__ import annotations

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ops import Op, arr, check_op


# ---------------------------------------------------------------- references (direct loops)
def _pads(padding, kh, kw, dy, dx):
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = dy * (kh - 1), dx * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    return padding[0], padding[0], padding[1], padding[1]


def conv2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sy, sx), (dy, dx) = stride, dilation
    top, bottom, left, right = _pads(padding, kh, kw, dy, dx)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dy * (kh - 1) - 1) // sy + 1
    ow = (wd + left + right - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((n, o, oh, ow))
    for b_ in range(n):
        for oc in range(o):
            first = (oc // (o // groups)) * cg  # the group's first input channel
            for y in range(oh):
                for x_ in range(ow):
                    total = 0.0 if b is None else b[oc]
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[oc, ci, i, j] * xp[b_, first + ci, y * sy + i * dy, x_ * sx + j * dx]
                    out[b_, oc, y, x_] = total
    return out


def pool_ref(x, kernel_size, stride, padding, reduce, fill):
    (kh, kw), (ph, pw) = kernel_size, padding
    sy, sx = stride or kernel_size
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (xp.shape[2] - kh) // sy + 1, (xp.shape[3] - kw) // sx + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            out[:, :, y, x_] = reduce(xp[:, :, y * sy:y * sy + kh, x_ * sx:x_ * sx + kw], axis=(2, 3))
    return out


def adaptive_ref(x, output_size):
    (h, w), (oh, ow) = x.shape[2:], output_size
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(int(np.floor(i * h / oh)), int(np.ceil((i + 1) * h / oh)))
            cols = slice(int(np.floor(j * w / ow)), int(np.ceil((j + 1) * w / ow)))
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


# ---------------------------------------------------------------- strategies
def _side(draw, span: int, pad_total: int) -> int:
    """An input side the window fits: at least span - pad_total, odd and even sizes alike."""
    low = max(1, span - pad_total)
    return draw(st.integers(low, low + 3))


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))  # cg = og = 1 with groups > 1: depthwise
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    if stride == (1, 1) and draw(st.booleans()):
        padding = draw(st.sampled_from(["same", "valid"]))
    top, bottom, left, right = _pads(padding, kh, kw, *dilation)
    h = _side(draw, dilation[0] * (kh - 1) + 1, top + bottom)
    w = _side(draw, dilation[1] * (kw - 1) + 1, left + right)
    n = draw(st.integers(1, 2))
    arrays = [arr(draw, (n, cg * groups, h, w)), arr(draw, (og * groups, cg, kh, kw))]
    if draw(st.booleans()):
        arrays.append(arr(draw, (og * groups,)))
    return arrays, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@st.composite
def pool_case(draw, ties_free=True):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    h, w = _side(draw, kernel[0], 2 * padding[0]), _side(draw, kernel[1], 2 * padding[1])
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    if ties_free:  # all values different, at least 4 / size apart: no ties within a window
        size = int(np.prod(shape))
        x = np.array(draw(st.permutations(range(size))), dtype=np.float64).reshape(shape) * (4 / size) - 2
    else:
        x = arr(draw, shape)
    return [x], {"kernel_size": kernel, "stride": stride, "padding": padding}


@st.composite
def adaptive_case(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    out = (draw(st.integers(1, shape[2])), draw(st.integers(1, shape[3])))
    return [arr(draw, shape)], {"output_size": out}


CONV_OPS = [
    Op("conv2d", lambda x, w, b=None, **k: F.conv2d(x, w, b, **k), conv2d_ref, conv_case()),
    Op("max_pool2d", F.max_pool2d, lambda x, **k: pool_ref(x, reduce=np.max, fill=-np.inf, **k),
       pool_case()),
    Op("avg_pool2d", F.avg_pool2d, lambda x, **k: pool_ref(x, reduce=np.mean, fill=0.0, **k),
       pool_case(ties_free=False)),
    Op("adaptive_avg_pool2d", F.adaptive_avg_pool2d, adaptive_ref, adaptive_case()),
]


@pytest.mark.parametrize("op", CONV_OPS, ids=[op.name for op in CONV_OPS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_conv_op(op, device, data):
    check_op(op, device, data)


def test_the_reference_is_a_convolution():
    """The loop reference itself, against a hand-computed case: a 2x2 kernel of ones sums windows."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = conv2d_ref(x, np.ones((1, 1, 2, 2)), np.array([0.5]))
    np.testing.assert_array_equal(out, [[[[0 + 1 + 3 + 4 + 0.5, 1 + 2 + 4 + 5 + 0.5],
                                          [3 + 4 + 6 + 7 + 0.5, 4 + 5 + 7 + 8 + 0.5]]]])
    np.testing.assert_array_equal(pool_ref(x, (2, 2), None, (0, 0), np.max, -np.inf), [[[[4.0]]]])
    np.testing.assert_array_equal(adaptive_ref(x, (1, 1)), [[[[4.0]]]])
