"""The Tensor API: construction, dtypes, factories, seeding, devices, stability, errors."""
from __future__ import annotations

import os
import subprocess
import sys
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
    assert t.ndim == len(shape) and t.size == int(np.prod(shape))
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


# ---------------------------------------------------------------- factories and seeding
def test_constant_factories(device):
    cases = [(tl.zeros(2, 3, device=device), np.zeros((2, 3))), (tl.ones((4,), device=device), np.ones(4)),
             (tl.full((2, 2), 7.5, device=device), np.full((2, 2), 7.5)), (tl.eye(3, device=device), np.eye(3)),
             (tl.arange(0.0, 1.0, 0.25, device=device), [0, 0.25, 0.5, 0.75])]
    for t, expected in cases:
        assert t.dtype == np.float32 and t.device == device and not t.requires_grad
        np.testing.assert_array_equal(t.numpy(), expected)
    a = tl.arange(5, device=device)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    z = tl.zeros(3, dtype=np.float64, device=device, requires_grad=True)
    assert z.dtype == np.float64 and z.requires_grad and z.is_leaf


def test_like_factories(device):
    t = tl.Tensor(np.ones((2, 3)), device=device)  # float64
    for like in (tl.zeros_like(t), tl.ones_like(t), tl.full_like(t, 2.0), tl.rand_like(t), tl.randn_like(t)):
        assert like.shape == (2, 3) and like.dtype == np.float64 and like.device == device
    np.testing.assert_array_equal(tl.full_like(t, 2.0).numpy(), np.full((2, 3), 2.0))


def test_random_factories_distribution(device):
    tl.manual_seed(0)
    u, n = tl.rand(20000, device=device), tl.randn(100, 200, device=device)
    assert u.dtype == np.float32 and n.shape == (100, 200) and n.device == device
    u, n = u.numpy(), n.numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    with pytest.raises(TypeError, match="float"):
        tl.rand(2, dtype=np.int64, device=device)


def test_manual_seed_determinism(device):
    def draw(seed):
        tl.manual_seed(seed)
        return np.concatenate([tl.rand(5, device=device).numpy(), tl.randn(5, device=device).numpy()])

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    tl.manual_seed(3)
    first = tl.rand(5, device=device).numpy()
    assert not np.array_equal(first, tl.rand(5, device=device).numpy())  # the stream moves on


def test_rng_state_round_trip(device):
    tl.manual_seed(11)
    tl.rand(3, device=device)
    state = backend.get_rng_state()
    a = tl.randn(4, device=device).numpy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(tl.randn(4, device=device).numpy(), a)


# ---------------------------------------------------------------- devices
def test_default_device_is_settable(device):
    before = tl.get_default_device()
    try:
        tl.set_default_device(device)
        assert tl.Tensor([1.0]).device == device and tl.zeros(2).device == device
        assert tl.Tensor(np.ones(2)).device == device  # host arrays go to the default device too
        assert tl.Tensor(tl.Tensor([1.0], device="strict")).device == "strict"  # device arrays stay
        assert tl.randn(2).device == device
    finally:
        tl.set_default_device(before)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        tl.set_default_device("tpu")


def test_default_device_from_environment():
    env = dict(os.environ, TINYGRAD_LITE_DEVICE="strict", PYTHONPATH=ROOT)
    code = "import tinygrad_lite as tl; print(tl.Tensor([1.0]).device)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "strict"


def test_to_device_makes_a_new_leaf(device):
    x = tl.Tensor([1.0, 2.0], device="cpu", requires_grad=True)
    assert x.to("cpu") is x
    y = x.to(device)
    assert y.device == device and y.requires_grad and y.is_leaf and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])
    if device != "cpu":
        (y * y).sum().backward()
        assert x.grad is None and y.grad.device == device


@pytest.mark.parametrize("op, name", [
    (lambda a, b: a + b, "Add"), (lambda a, b: a * b, "Mul"), (lambda a, b: a @ b, "Matmul"),
    (lambda a, b: tl.concatenate([a, b]), "Concatenate"), (lambda a, b: tl.where(a > 0, a, b), "Where"),
    (lambda a, b: a < b, "lt"), (lambda a, b: a == b, "eq"),
])
def test_mixed_devices_raise(op, name):
    a = tl.Tensor([1.0, 2.0], device="cpu")
    b = tl.Tensor([3.0, 4.0], device="strict")
    with pytest.raises(ValueError, match=f"{name}.*'cpu'.*'strict'"):
        op(a, b)


def test_mixed_device_cond_in_where_raises():
    a = tl.Tensor([1.0, 2.0], device="strict")
    with pytest.raises(ValueError, match="where.*'cpu'.*'strict'"):
        tl.where(tl.Tensor([True, False]), a, a)


def test_values_follow_the_tensors_device_not_the_default(device):
    before = tl.get_default_device()
    other = "cpu" if device != "cpu" else "strict"
    try:
        tl.set_default_device(other)
        assert tl.Tensor(tl.Tensor([1.0], device=device)).device == device
        cond = tl.Tensor([True, False], device=device)
        out = tl.where(cond, 1.0, 2.0)  # scalar values: the result lives with cond
        assert out.device == device and out.tolist() == [1.0, 2.0]
    finally:
        tl.set_default_device(before)
    for t in (tl.Tensor(3.0, device=device).argmax(), tl.Tensor([1.0, 5.0], device=device).argmin()):
        assert backend.device_of(t.data) == device


def test_index_tensor_from_another_device_moves_with_the_data(device):
    x = tl.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    idx = tl.Tensor([2, 2, 0], device="cpu" if device != "cpu" else "strict")
    (x[idx] * tl.Tensor([1.0, 2.0, 4.0], device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 0.0, 3.0])


def test_strict_device_refuses_host_arrays():
    t = tl.Tensor([1.0, 2.0], device="strict")
    xp = backend.get_xp("strict")
    host = np.ones(2)
    for bad in (lambda: t.data + host, lambda: host * t.data, lambda: xp.exp(host),
                lambda: xp.concatenate([t.data, host]), lambda: xp.where(t.data > 0, t.data, host)):
        with pytest.raises(TypeError, match="host NumPy array"):
            bad()
    assert backend.device_of(xp.asarray(host)) == "strict"  # the explicit transfer is allowed
    assert backend.device_of(xp.zeros_like(t.data)) == "strict"

    class MixesHost(tl.Function):
        def forward(self, x):
            return x * np.ones(x.shape)  # wrong: should use the device's xp

        def backward(self, grad):
            return grad

    with pytest.raises(TypeError, match="multiply"):
        MixesHost.apply(t)


@pytest.mark.skipif(backend.is_available("cuda"), reason="a usable GPU is present")
def test_cuda_unavailable_says_how_to_install():
    assert backend.is_available("cuda") is False
    with pytest.raises(RuntimeError, match="CuPy|GPU") as info:
        tl.Tensor([1.0], device="cuda")
    assert "pip install" in str(info.value) or "cupy.cuda.is_available" in str(info.value)


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
