"""The Tensor API: construction, dtypes, casts, numerical stability, errors."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- construction and dtypes
@pytest.mark.parametrize("data, dtype, shape", [
    (2.5, np.float32, ()), (3, np.int64, ()), (True, np.bool_, ()),
    ([[1, 2], [3, 4.5]], np.float32, (2, 2)), ([1, 2, 3], np.int64, (3,)),
    (np.zeros((2, 1)), np.float64, (2, 1)), (np.arange(3, dtype=np.int32), np.int32, (3,)),
    (np.float64(1.5), np.float64, ()),
])
def test_constructor_dtypes(device, data, dtype, shape):
    t = tl.Tensor(data, device=device)
    assert t.dtype == dtype and t.shape == shape and t.device == device
    assert t.ndim == len(shape) and t.numel() == int(np.prod(shape))
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))
    assert backend.device_of(t.data) == device


def test_constructor_dtype_argument_and_tensor_input(device):
    t = tl.Tensor([1, 2], dtype=np.float64, device=device)
    assert t.dtype == np.float64
    u = tl.Tensor(t, dtype="float32")
    assert u.dtype == np.float32 and u.device == device and not u.requires_grad


@pytest.mark.parametrize("data", [[1, 2], [True, False], 7])
def test_int_and_bool_tensors_cannot_require_grad(device, data):
    with pytest.raises(TypeError, match="int64|bool"):
        tl.Tensor(data, requires_grad=True, device=device)
    with pytest.raises(TypeError, match="float"):
        tl.Tensor(data, device=device).requires_grad_()
    with pytest.raises(TypeError, match="int32"):
        tl.zeros(2, dtype=np.int32, device=device, requires_grad=True)


FLOAT32_EXPRESSIONS = [
    "t * np.float64(2.0)", "np.float64(2.0) * t", "t * 2.0", "2 * t", "t / np.float64(3.0)",
    "np.float64(1.0) - t", "t ** 2.0", "2.0 ** t", "t + 1", "t.maximum(np.float64(0.5))",
    "t.clip(np.float64(0), 1.0)", "tl.where(t > 1, t, np.float64(0.0))", "t.mean()", "t.var(axis=0)",
    "t.softmax()", "t.logsumexp()", "t.sigmoid() * t.elu(np.float64(1))", "t @ t",
    "t.leaky_relu(np.float64(0.1))", "t[np.int64(1)] * np.float32(3)",
]


@pytest.mark.parametrize("expr", FLOAT32_EXPRESSIONS)
def test_float32_stays_float32(device, expr):
    t = tl.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    out = eval(expr, {"t": t, "tl": tl, "np": np})
    assert out.dtype == np.float32
    out.sum().backward()
    assert t.grad.dtype == np.float32


def test_comparisons_return_bool_without_grad(device):
    x = tl.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = tl.Tensor([3.0, 2.0, 1.0], device=device)
    for out, expected in [(x > y, [0, 0, 1]), (x >= y, [0, 1, 1]), (x < 2.5, [1, 1, 0]),
                          (x <= y, [1, 1, 0]), (x == y, [0, 1, 0]), (x != 2, [1, 0, 1])]:
        assert out.dtype == np.bool_ and not out.requires_grad and out.device == device
        np.testing.assert_array_equal(out.numpy(), np.array(expected, dtype=bool))


def test_scalars_with_int_and_bool_tensors_follow_numpy(device):
    b = np.array([True, False])
    for out, expected in [(tl.Tensor(b, device=device) + 1, b + 1), (tl.Tensor(b, device=device) * 3, b * 3),
                          (tl.Tensor([1, 2], device=device) * 3, np.array([3, 6])),
                          (tl.Tensor(b, device=device) + True, b + True)]:
        assert out.dtype == expected.dtype
        np.testing.assert_array_equal(out.numpy(), expected)
    assert tl.arange(np.int64(3), device=device).dtype == np.int64  # NumPy ints count as ints


def test_empty_mean_and_too_few_for_ddof_are_nan(device):
    assert np.isnan(tl.zeros(0, device=device).mean().item())
    assert np.isnan(tl.zeros(0, 3, device=device).mean(axis=0).numpy()).all()
    assert np.isnan(tl.Tensor([2.0], device=device).var(ddof=1).item())
    assert tl.Tensor([1.0, 3.0], device=device).var(ddof=1).item() == 2.0


def test_casts(device):
    x = tl.Tensor([1.7, -2.2], device=device, requires_grad=True)
    i = x.astype(np.int64)
    assert i.dtype == np.int64 and not i.requires_grad  # int casts leave the graph
    np.testing.assert_array_equal(i.numpy(), [1, -2])
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.astype(np.float32) is x


def test_repr_item_numpy_tolist(device):
    t = tl.Tensor([[1.5, -2.0]], device=device, requires_grad=True)
    text = repr(t)
    assert "1.5" in text and "-2." in text and device in text and "float32" in text and "requires_grad" in text
    assert tl.Tensor(4.25, device=device).item() == 4.25
    assert t.tolist() == [[1.5, -2.0]]
    assert isinstance(t.numpy(), np.ndarray) and type(t.numpy()) is np.ndarray
    with pytest.raises(ValueError, match=r"\(1, 2\)"):
        t.item()
    assert len(t) == 1 and bool(tl.Tensor([2.0], device=device))
    rows = list(tl.Tensor([[1.0, 2.0], [3.0, 4.0]], device=device))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(TypeError, match="0-d"):
        list(tl.Tensor(1.0, device=device))


def test_argmax_argmin(device):
    t = tl.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device)
    np.testing.assert_array_equal(t.argmax(axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(t.argmin(axis=0).numpy(), [0, 1, 0])
    assert t.argmax().item() == 3


def test_shape_ops_on_empty_and_0d_tensors(device):
    assert tl.zeros(0, 3, device=device).flatten(1).shape == (0, 3)
    assert tl.zeros(2, 0, 3, device=device).flatten().shape == (0,)
    assert tl.Tensor(2.0, device=device).flatten().shape == (1,)
    assert tl.Tensor(2.0, device=device).T.shape == ()


def test_backward_grad_from_another_device_is_moved(device):
    x = tl.Tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 3.0).backward(tl.Tensor([1.0, -1.0], device="cpu"))
    assert x.grad.device == device
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -3.0])


# ---------------------------------------------------------------- numerical stability
ACTIVATIONS = {
    "sigmoid": (lambda t: t.sigmoid(), [0.0, 1.0]), "tanh": (lambda t: t.tanh(), [-1.0, 1.0]),
    "relu": (lambda t: t.relu(), [0.0, 1e3]), "leaky_relu": (lambda t: t.leaky_relu(0.1), [-100.0, 1e3]),
    "elu": (lambda t: t.elu(0.5), [-0.5, 1e3]), "arctan": (lambda t: t.arctan(), [-np.arctan(1e3), np.arctan(1e3)]),
    "binary_step": (lambda t: t.binary_step(), [0.0, 1.0]),
    "softmax": (lambda t: t.softmax(), [0.0, 1.0]), "log_softmax": (lambda t: t.log_softmax(), [-2e3, 0.0]),
    "logsumexp": (lambda t: t.logsumexp(keepdims=True), [1e3]),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_are_stable_at_1e3(device, name, dtype):
    fn, expected = ACTIVATIONS[name]
    x = tl.Tensor([-1e3, 1e3], dtype=dtype, device=device, requires_grad=True)
    # underflow to 0 is the correctly rounded result (e.g. softmax of separated logits); the rest raise
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        out = fn(x)
        out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


def test_sigmoid_keeps_relative_precision_for_large_negative_inputs(device):
    x = np.array([-40.0, -700.0, 30.0])
    out = tl.Tensor(x, dtype=np.float64, device=device).sigmoid().numpy()
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-12, atol=0)


def test_relu_of_infinities(device):
    with np.errstate(all="raise"):
        out = tl.Tensor([-np.inf, np.inf], device=device).relu()
    np.testing.assert_array_equal(out.numpy(), [0.0, np.inf])


# ---------------------------------------------------------------- user mistakes
def _t(shape, device):
    return tl.Tensor(np.ones(shape), device=device)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda d: _t((2, 3), d) @ _t((4, 5), d), ValueError, r"matmul.*\(2, 3\).*\(4, 5\)"),
    (lambda d: _t((3,), d) @ _t((4,), d), ValueError, r"\(3,\).*\(4,\)"),
    (lambda d: _t((), d) @ _t((3,), d), ValueError, "0-d"),
    (lambda d: _t((2, 3), d).sum(axis=2), ValueError, "axis 2 is out of range"),
    (lambda d: _t((2, 3), d).mean(axis=(0, -2)), ValueError, "repeats"),
    (lambda d: _t((), d).softmax(), ValueError, "out of range"),
    (lambda d: _t((2, 3), d).reshape(4, 2), ValueError, r"size 6.*\(4, ?2\)"),
    (lambda d: _t((2, 3), d).permute(0, 2), ValueError, r"permutation.*\(2, 3\)"),
    (lambda d: _t((2, 3), d).permute(0, 0), ValueError, "permutation"),
    (lambda d: _t((2, 3), d).squeeze(1), ValueError, "size 3"),
    (lambda d: _t((2, 3), d).unsqueeze(4), ValueError, "out of range"),
    (lambda d: _t((2, 3), d).unsqueeze((0, 1)), TypeError, r"int.*\(0, 1\)"),
    (lambda d: _t((2, 3), d).flatten((0, 1)), TypeError, "int"),
    (lambda d: _t((2, 3), d).expand(3, 3), ValueError, "broadcast"),
    (lambda d: tl.concatenate([]), ValueError, "at least one"),
    (lambda d: tl.concatenate([_t((2, 3), d), _t((2, 4), d)]), ValueError, "dimension"),
    (lambda d: _t((0, 2), d).max(), ValueError, r"empty.*\(0, 2\)"),
    (lambda d: _t((2,), d).backward(), RuntimeError, "does not require grad"),
    (lambda d: tl.Tensor([1.0], device="gpu"), ValueError, "unknown device 'gpu'"),
    (lambda d: bool(_t((2,), d)), ValueError, "ambiguous"),
    (lambda d: len(_t((), d)), TypeError, "0-d"),
])
def test_bad_input_raises_a_clear_error(device, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(device)


def test_constructor_copies_so_in_place_updates_never_reach_the_callers_array(device):
    host = np.arange(4, dtype=np.float32)
    t = tl.Tensor(host, device=device)
    t.data += 1  # what an optimizer does to a parameter
    assert host.tolist() == [0.0, 1.0, 2.0, 3.0]
    u = tl.Tensor(t)
    u.data += 1
    assert t.numpy().tolist() == [1.0, 2.0, 3.0, 4.0]
