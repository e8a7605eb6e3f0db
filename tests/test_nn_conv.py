"""Conv2d, ConvTranspose2d and their functional forms: the modules' layouts, init and formulas,
the op-table rows (forward in float64 against direct-loop NumPy references, float64 gradcheck,
float32 shapes and dtypes; batch 1 and 2, channels, kernel sizes, strides, paddings (also
"same"/"valid" for conv2d), output paddings, dilations, groups (depthwise included) and odd sizes
where the window does not tile the input), the weight gradient against the reference, gradchecks
with the modules' parameters, the same calls in PyTorch where it is installed, and bad input.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import (
    Op,
    adaptive_ref,
    arr,
    check_op,
    check_op_twice,
    conv2d_ref,
    conv_pads,
    conv_transpose2d_ref,
    module_gradcheck,
    pool_ref,
    window_side,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn


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


def conv2d_weight_grad_ref(x, g, w_shape, stride, padding, dilation, groups):
    """dL/dw of the convolution for the output gradient ``g``, as a direct loop:
    gw[o, c, i, j] = sum_{n, y, x} g[n, o, y, x] x_pad[n, g(o) c, y sy + i dy, x sx + j dx]."""
    o, cg, kh, kw = w_shape
    (sy, sx), (dy, dx) = stride, dilation
    top, bottom, left, right = conv_pads(padding, kh, kw, dy, dx)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    gw = np.zeros(w_shape)
    for oc in range(o):
        first = (oc // (o // groups)) * cg  # the group's first input channel
        for ci in range(cg):
            for i in range(kh):
                for j in range(kw):
                    for n in range(g.shape[0]):
                        for y in range(g.shape[2]):
                            for x_ in range(g.shape[3]):
                                gw[oc, ci, i, j] += g[n, oc, y, x_] * xp[n, first + ci, y * sy + i * dy,
                                                                         x_ * sx + j * dx]
    return gw


@pytest.mark.parametrize("kernel", [(2, 3), (3, 2), (1, 3)])
def test_conv2d_weight_gradient_of_a_non_square_kernel_matches_the_direct_loop(device, kernel):
    """A kernel whose height and width differ, with a different stride, padding and dilation on
    each axis: a weight gradient with kh and kw (or the axes' geometry) mixed up has the wrong
    values even where its shape happens to fit."""
    rng = np.random.default_rng(4)
    stride, padding, dilation, groups = (2, 1), (1, 0), (1, 2), 2
    x = rng.standard_normal((2, 4, 6, 7))
    w = rng.standard_normal((4, 2) + kernel)
    xt, wt = (tl.Tensor(a, device=device, requires_grad=True) for a in (x, w))
    bt = tl.Tensor(rng.standard_normal(4), device=device, requires_grad=True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
    np.testing.assert_allclose(out.numpy(), conv2d_ref(x, w, bt.numpy(), stride, padding, dilation, groups),
                               rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(tl.Tensor(g, device=device))
    np.testing.assert_allclose(wt.grad.numpy(), conv2d_weight_grad_ref(x, g, w.shape, stride, padding, dilation,
                                                                       groups), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bt.grad.numpy(), g.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the op-table row
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
    top, bottom, left, right = conv_pads(padding, kh, kw, *dilation)
    h = window_side(draw, dilation[0] * (kh - 1) + 1, top + bottom)
    w = window_side(draw, dilation[1] * (kw - 1) + 1, left + right)
    n = draw(st.integers(1, 2))
    arrays = [arr(draw, (n, cg * groups, h, w)), arr(draw, (og * groups, cg, kh, kw))]
    if draw(st.booleans()):
        arrays.append(arr(draw, (og * groups,)))
    return arrays, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@st.composite
def conv_transpose_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    full = [(size[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1 for a in range(2)]
    padding = tuple(draw(st.integers(0, min(2, (full[a] - 1) // 2))) for a in range(2))
    output_padding = tuple(draw(st.integers(0, min(2, max(stride[a], dilation[a]) - 1))) for a in range(2))
    n = draw(st.integers(1, 2))
    arrays = [arr(draw, (n, cg * groups) + size), arr(draw, (cg * groups, og) + kernel)]
    if draw(st.booleans()):
        arrays.append(arr(draw, (og * groups,)))
    return arrays, {"stride": stride, "padding": padding, "output_padding": output_padding, "groups": groups,
                    "dilation": dilation}


CONV_OPS = [
    Op("conv2d", lambda x, w, b=None, **k: F.conv2d(x, w, b, **k), conv2d_ref, conv_case()),
    Op("conv_transpose2d", lambda x, w, b=None, **k: F.conv_transpose2d(x, w, b, **k), conv_transpose2d_ref,
       conv_transpose_case()),
]


@pytest.mark.parametrize("op", CONV_OPS, ids=[op.name for op in CONV_OPS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_conv_op(op, device, data):
    check_op(op, device, data)


@pytest.mark.parametrize("op", CONV_OPS, ids=[op.name for op in CONV_OPS])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_conv_op_twice(op, device, data):
    check_op_twice(op, device, data)


def test_the_reference_is_a_convolution():
    """The loop reference itself, against a hand-computed case: a 2x2 kernel of ones sums windows."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = conv2d_ref(x, np.ones((1, 1, 2, 2)), np.array([0.5]))
    np.testing.assert_array_equal(out, [[[[0 + 1 + 3 + 4 + 0.5, 1 + 2 + 4 + 5 + 0.5],
                                          [3 + 4 + 6 + 7 + 0.5, 4 + 5 + 7 + 8 + 0.5]]]])
    np.testing.assert_array_equal(pool_ref(x, (2, 2), None, (0, 0), np.max, -np.inf), [[[[4.0]]]])
    np.testing.assert_array_equal(adaptive_ref(x, (1, 1)), [[[[4.0]]]])


# ---------------------------------------------------------------- ConvTranspose2d
def test_conv_transpose2d_module_layout_init_and_formula(device):
    tl.manual_seed(0)
    layer = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2, device=device)
    assert layer.weight.shape == (4, 3, 3, 2) and layer.bias.shape == (6,)
    bound = 1 / math.sqrt(3 * 3 * 2)  # PyTorch's fan_in of this weight: out_channels / groups * kh * kw
    assert np.abs(layer.bias.numpy()).max() <= bound
    assert 0.8 * bound < np.abs(layer.weight.numpy()).max() <= bound  # 72 draws of U(-b, b)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    x = np.random.default_rng(1).standard_normal((2, 4, 4, 5)).astype(np.float32)
    out = layer(tl.Tensor(x, device=device))
    assert out.dtype == np.float32 and out.device == device and out.shape == (2, 6, 8, 9)
    ref = conv_transpose2d_ref(x.astype(np.float64), layer.weight.numpy().astype(np.float64),
                               layer.bias.numpy().astype(np.float64), (2, 2), (1, 1), (1, 1), 2)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)
    assert nn.ConvTranspose2d(1, 2, 3, bias=False).bias is None
    assert "ConvTranspose2d(4, 6, kernel_size=(3, 2), stride=(2, 2)" in repr(layer)
    # output_size picks the output padding within a stride of the smallest size, as PyTorch
    plain = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2, device=device)
    assert plain(tl.Tensor(x, device=device)).shape == (2, 6, 7, 9)
    assert plain(tl.Tensor(x, device=device), output_size=(8, 10)).shape == (2, 6, 8, 10)
    with pytest.raises(ValueError, match="valid sizes"):
        plain(tl.Tensor(x, device=device), output_size=(9, 9))


def test_conv_transpose2d_is_the_input_gradient_of_conv2d(device):
    """<conv2d(a, w), y> = <a, conv_transpose2d(y, w)>: the adjoint, with the same stride, padding,
    dilation and groups (output_padding restores the size conv2d's floor division lost)."""
    rng = np.random.default_rng(5)
    a, w = rng.standard_normal((2, 4, 8, 7)), rng.standard_normal((6, 2, 3, 2))
    k = {"stride": (2, 3), "padding": (1, 0), "dilation": (2, 1), "groups": 2}
    y = F.conv2d(tl.Tensor(a, device=device), tl.Tensor(w, device=device), **k).numpy()
    g = rng.standard_normal(y.shape)
    back = F.conv_transpose2d(tl.Tensor(g, device=device), tl.Tensor(w, device=device), output_padding=(1, 2), **k)
    assert back.shape == a.shape
    np.testing.assert_allclose((y * g).sum(), (a * back.numpy()).sum(), rtol=1e-10)


def test_conv_transpose2d_module_gradchecks_with_its_parameters(device):
    x = tl.Tensor(np.random.default_rng(6).standard_normal((2, 2, 3, 4)), device=device, requires_grad=True)
    for module in (nn.ConvTranspose2d(2, 3, (2, 3), stride=2, padding=(0, 1), output_padding=1),
                   nn.ConvTranspose2d(2, 4, 3, groups=2, dilation=2, output_padding=(1, 0), stride=(1, 2))):
        assert module_gradcheck(module.to(device).double(), x)


def test_conv_transpose2d_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(6)
    for k in ({}, {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2},
              {"stride": (1, 3), "padding": (2, 0), "output_padding": (1, 2), "dilation": (2, 3)}):
        bs = b[:3 * k.get("groups", 1)]  # out_channels = 3 * groups for this (4, 3, 3, 2) weight
        ours = F.conv_transpose2d(tl.Tensor(x), tl.Tensor(w), tl.Tensor(bs), **k)
        theirs = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w), torch.tensor(bs), **k)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2).double()
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2).double()
    state = {name: t.detach().numpy() for name, t in theirs.state_dict().items()}
    assert {name: v.shape for name, v in ours.state_dict().items()} == {n: v.shape for n, v in state.items()}
    ours.load_state_dict({name: tl.Tensor(v) for name, v in state.items()})
    np.testing.assert_allclose(ours(tl.Tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_the_transposed_reference_by_hand():
    """A 2x2 kernel of ones at stride 2 copies each pixel into a 2x2 block."""
    x = np.arange(4.0).reshape(1, 1, 2, 2)
    out = conv_transpose2d_ref(x, np.ones((1, 1, 2, 2)), stride=(2, 2))
    np.testing.assert_array_equal(out, np.kron(x, np.ones((2, 2))))


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
    (lambda: nn.ConvTranspose2d(3, 4, 3)(tl.ones(1, 2, 8, 8)), ValueError, r"ConvTranspose2d\(3, 4.*2 channels"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError, "groups=2 must divide in_channels=3"),
    (lambda: F.conv_transpose2d(tl.ones(1, 1, 2, 2), tl.ones(1, 1, 2, 2), stride=2, output_padding=2), ValueError,
     "output_padding .* smaller than either the stride"),
    (lambda: F.conv_transpose2d(tl.ones(1, 1, 1, 1), tl.ones(1, 1, 1, 1), padding=1), ValueError,
     "output height would be -1"),
    (lambda: F.conv_transpose2d(tl.ones(1, 2, 3, 3), tl.ones(2, 1, 3, 3), tl.ones(1), groups=2), ValueError,
     r"bias of shape \(2,\)"),
    (lambda: F.conv_transpose2d(tl.ones(1, 1, 3, 3), tl.ones(1, 1, 3, 3), padding="same"), ValueError,
     "padding must be an int or a pair"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"), ValueError, "padding_mode"),
]


@pytest.mark.parametrize("call, error, pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_names_the_layer_the_shapes_and_the_rule(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------- Conv1d
def conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's formula, by loops: out[n, o, t] = b[o] + sum_{c in o's group, i} w[o, c', i] x_pad[n, c, t s + i d]."""
    n, _, length = x.shape
    o, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    ol = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, o, ol))
    per_group = o // groups
    for oc in range(o):
        g = oc // per_group
        for t in range(ol):
            for ci in range(cg):
                for i in range(k):
                    out[:, oc, t] += w[oc, ci, i] * xp[:, g * cg + ci, t * stride + i * dilation]
        if b is not None:
            out[:, oc] += b[oc]
    return out


CONV1D_CASES = [
    {"in_channels": 3, "out_channels": 4, "kernel_size": 3},
    {"in_channels": 2, "out_channels": 4, "kernel_size": 2, "stride": 2, "padding": 1, "bias": False},
    {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "dilation": 2, "groups": 2, "padding": 2},
    {"in_channels": 2, "out_channels": 2, "kernel_size": (2,), "stride": (3,), "dilation": (3,), "padding": (1,)},
]


@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_layer_matches_the_loops(device, case):
    tl.manual_seed(2)
    layer = nn.Conv1d(**case, dtype="float64", device=device)
    k = layer.kernel_size[0]
    assert layer.weight.shape == (case["out_channels"], case["in_channels"] // case.get("groups", 1), k)
    assert (layer.bias is None) == (case.get("bias", True) is False)
    x = np.random.default_rng(1).normal(size=(2, case["in_channels"], 9))
    one = lambda v: v[0] if isinstance(v, tuple) else v
    expected = conv1d_ref(x, layer.weight.numpy(), None if layer.bias is None else layer.bias.numpy(),
                          one(case.get("stride", 1)), one(case.get("padding", 0)), one(case.get("dilation", 1)),
                          case.get("groups", 1))
    np.testing.assert_allclose(layer(tl.Tensor(x, device=device)).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert module_gradcheck(layer, tl.Tensor(x[:, :, :6], device=device, requires_grad=True))


def test_conv1d_init_same_padding_causal_and_errors(device):
    tl.manual_seed(0)
    layer = nn.Conv1d(8, 16, 5, device=device)
    bound = 1 / math.sqrt(8 * 5)  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = layer.weight.numpy()
    assert w.dtype == np.float32 and abs(w).max() <= bound and abs(w).max() > 0.9 * bound
    assert abs(layer.bias.numpy()).max() <= bound
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert repr(layer).startswith("Conv1d(8, 16, kernel_size=(5,), stride=(1,)")
    x = tl.randn(2, 8, 11, device=device)
    assert nn.Conv1d(8, 4, 4, padding="same", device=device)(x).shape == (2, 4, 11)
    causal = nn.Conv1d(8, 4, 3, dilation=2, device=device)  # WaveNet: pad (k - 1) d on the left only
    y = causal(F.pad(x, (4, 0)))
    assert y.shape == (2, 4, 11)
    x2 = x.numpy().copy()
    x2[:, :, 6:] += 1.0  # a change in the future does not move the past
    np.testing.assert_allclose(causal(F.pad(tl.Tensor(x2, device=device), (4, 0))).numpy()[:, :, :6],
                               y.numpy()[:, :, :6], rtol=1e-6)
    with pytest.raises(ValueError, match="groups=2 must divide in_channels=3"):
        nn.Conv1d(3, 4, 2, groups=2)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 8, L\)"):
        layer(tl.zeros(2, 3, 10))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="kernel_size must be an int or a 1-tuple"):
        nn.Conv1d(2, 2, (3, 3))


def test_conv1d_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 4, 10))
    for kw in ({}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2, "padding": "same"}):
        torch.manual_seed(0)
        theirs = torch.nn.Conv1d(4, 6, 3, **kw).double()
        ours = nn.Conv1d(4, 6, 3, **kw).double()
        state = {name: t.detach().numpy() for name, t in theirs.state_dict().items()}
        assert {n: v.shape for n, v in ours.state_dict().items()} == {n: v.shape for n, v in state.items()}
        ours.load_state_dict({name: tl.Tensor(v) for name, v in state.items()})
        tx, ox = torch.tensor(x, requires_grad=True), tl.Tensor(x, requires_grad=True)
        ty, oy = theirs(tx), ours(ox)
        np.testing.assert_allclose(oy.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(oy.shape)
        ty.backward(torch.tensor(g))
        (oy * tl.Tensor(g)).sum().backward()
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
