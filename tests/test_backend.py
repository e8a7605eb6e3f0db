"""Devices and array modules (tinygrad_lite.backend): defaults, moves, mixed-device errors,
the strict test device, and the messages when CUDA is missing."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend


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
    env = dict(os.environ, TINYGRAD_LITE_DEVICE="strict")
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


def test_xp_of_names_the_array_module_of_each_device(device):
    a = tl.zeros(2, device=device).data
    assert backend.xp_of(a) is backend.get_xp(device)
    assert backend.xp_of(np.ones(2)) is np


def test_device_error_names_the_op_and_both_devices():
    err = backend.device_error("Add", "cpu", "strict")
    assert isinstance(err, ValueError)
    assert "Add" in str(err) and "'cpu'" in str(err) and "'strict'" in str(err) and ".to(device)" in str(err)


def test_is_float_is_the_dtype_question_of_requires_grad():
    assert all(backend.is_float(d) for d in (np.float16, np.float32, "float64", np.dtype(np.float32)))
    assert not any(backend.is_float(d) for d in (np.int64, np.int32, bool, np.complex64, "uint8"))
