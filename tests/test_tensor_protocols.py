"""Tensors meeting Python numbers and NumPy (the "Python and NumPy protocols" section of
tinygrad_lite/tensor.py): conversions, format, ufuncs and array functions."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.tensor import NUMPY_FUNCTIONS, NUMPY_UFUNCS


def leaf(values, device="cpu", dtype=np.float64):
    return tl.Tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------- Python numbers
def test_one_element_tensors_convert_like_python_numbers(device):
    loss = (leaf([1.25], device) * 2).sum()  # 2.5, in a graph
    assert float(loss) == 2.5 and isinstance(float(loss), float)
    assert int(tl.Tensor([[7.9]], device=device)) == 7  # int() truncates, as int(7.9)
    assert round(loss) == 2 and round(tl.Tensor(3.14159, device=device), 2) == 3.14  # Python's rounding
    assert f"{loss:.3f}" == "2.500" and f"{tl.Tensor(5, device=device):>4d}" == "   5"
    assert f"{loss}" == str(loss)  # no spec: the repr, as PyTorch


@pytest.mark.parametrize("convert", [float, int, round, lambda t: f"{t:.2f}"])
def test_conversions_refuse_many_elements(convert):
    with pytest.raises(ValueError, match=r"needs a tensor of one element, got shape \(2,\)"):
        convert(tl.Tensor([1.0, 2.0]))


# ---------------------------------------------------------------- NumPy
def test_numpy_ufuncs_run_the_tensor_op_and_keep_the_graph(device):
    x = leaf([0.5, -1.0, 2.0], device)
    y = np.exp(x) * np.tanh(x) + np.sqrt(np.abs(x))  # each a Tensor op
    assert isinstance(y, tl.Tensor) and y.requires_grad
    y.sum().backward()
    v = np.array([0.5, -1.0, 2.0])
    th = np.tanh(v)
    expected = np.exp(v) * th + np.exp(v) * (1 - th**2) + np.sign(v) / (2 * np.sqrt(np.abs(v)))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_array_on_the_left_gives_a_tensor(device):
    t = tl.Tensor([1.0, 2.0], device=device)
    host = np.array([10.0, 20.0], np.float32)
    for out, expected in [(host + t, [11, 22]), (host - t, [9, 18]), (host * t, [10, 40]),
                          (host / t, [10, 10]), (host ** tl.Tensor([1.0, 0.5], device=device), [10, 20**0.5])]:
        assert isinstance(out, tl.Tensor) and out.device == device and out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert (np.array([1.0, 5.0], np.float32) > t).tolist() == [False, True]


def test_numpy_functions_with_a_tensor_counterpart_keep_the_graph(device):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    pieces = [np.mean(x, axis=0), np.sum(x, axis=1, keepdims=True).reshape(2),
              np.max(x), np.concatenate([x, x], axis=1).sum(axis=1), np.stack([x[0], x[1]]).var(axis=0, correction=0)]
    total = sum(p.sum() for p in pieces)
    assert isinstance(total, tl.Tensor)
    total.backward()
    # d/dx of: mean over axis 0 (1/2 each), row sums (1), max (only x[1,1]), concat twice (2),
    # var over 2 rows of each column: d/dx0 = (x0 - x1) / 2 * 2 / 2 ...  = (x0 - mean)
    v = np.array([[1.0, 2.0], [3.0, 4.0]])
    expected = 0.5 + 1 + np.array([[0, 0], [0, 1]]) + 2 + (v - v.mean(axis=0))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_numpy_einsum_roll_all_and_any_run_the_tensor_ops(device):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    out = np.einsum("ij,jk->ik", x, x) + np.roll(x, 1, axis=0)
    assert isinstance(out, tl.Tensor) and out.device == device and out.grad_fn is not None
    v, ones = np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2))
    np.testing.assert_allclose(out.numpy(), v @ v + np.roll(v, 1, axis=0))
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), ones @ v.T + v.T @ ones + 1)  # d sum(x x) = 1 x^T + x^T 1
    assert np.all(x > 0).item() is True and np.any(x > 3, axis=0).tolist() == [False, True]


def test_other_numpy_functions_see_values_or_refuse(device):
    plain = tl.Tensor([1.0, -2.0])
    assert np.allclose(plain, [1.0, -2.0]) and isinstance(np.cbrt(plain), np.ndarray)
    np.testing.assert_allclose(np.asarray(plain), [1.0, -2.0])
    # a list of tensors: NumPy reads their values, never builds an object array
    m = np.mean([tl.Tensor(1.0), tl.Tensor(3.0)])
    assert m == 2.0 and np.asarray([tl.Tensor(1.0), tl.Tensor(2.0)]).dtype == np.float32
    needs_grad = leaf([1.0, 2.0])
    for call in (lambda: np.cbrt(needs_grad), lambda: np.mean([needs_grad, needs_grad]),
                 lambda: np.asarray(needs_grad), lambda: np.allclose(needs_grad, 1)):
        with pytest.raises(TypeError, match="requires grad was passed to NumPy"):
            call()
    if device != "cpu":  # like CuPy, device data is never read implicitly
        with pytest.raises(TypeError, match=f"tensor on '{device}' implicitly"):
            np.asarray(tl.Tensor([1.0], device=device))


def test_numpy_out_must_be_an_array():
    t = tl.Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="out= must be one array"):
        np.add(t, t, out=(tl.Tensor([0.0, 0.0]),))
    out = np.zeros(2, np.float32)
    assert np.add(t, 1, out=out) is out
    np.testing.assert_allclose(out, [2.0, 3.0])


def test_numpy_functions_run_the_new_ops_in_the_graph():
    x = leaf([[0.5, -1.0], [2.0, 0.25]])
    out = [np.sin(x), np.square(x), np.floor(x), np.cumsum(x, axis=0), np.flip(x, 1), np.tril(x),
           np.take_along_axis(x, np.array([[1], [0]]), 1), np.pad(x, 1), np.std(x, axis=0)]
    assert all(isinstance(o, tl.Tensor) and o.requires_grad for o in out)
    np.testing.assert_allclose(out[3].numpy(), np.cumsum(x.detach().numpy(), 0))


# extra arguments of the NumPy functions in the protocol table (none: the tensor alone)
NUMPY_ARGS = {"reshape": (-1,), "expand_dims": (0,), "clip": (0.0, 1.0), "pad": (1,), "tile": (2,),
              "take_along_axis": (np.array([[1], [0]]), 1), "swapaxes": (0, 1), "repeat": (2,),
              "roll": (1,)}


BITWISE = {"bitwise_and", "bitwise_or", "bitwise_xor", "invert"}  # bool and integer tensors only


def test_numpy_remainder_fmod_and_bitwise_ufuncs_run_the_tensor_ops(device):
    x = leaf([5.5, -5.5, 2.25], device)
    host = np.array([2.0, 2.0, -1.5])
    r, f = host % x, np.fmod(x, host)  # an array on the left, NumPy's mod/remainder and fmod
    assert isinstance(r, tl.Tensor) and isinstance(f, tl.Tensor) and r.requires_grad and f.requires_grad
    np.testing.assert_allclose(r.detach().numpy(), [2.0, -3.5, 0.75])  # the divisor's sign
    np.testing.assert_allclose(f.detach().numpy(), [1.5, -1.5, 0.75])  # the dividend's sign
    (r + f + np.remainder(x, 2.0)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0 + 2, 1 + 2, 1 + 2])  # -floor(host / x), then 1 + 1
    mask = tl.Tensor([True, False, True], device=device)
    for out, expected in [(np.array([True, True, False]) & mask, [True, False, False]),
                          (np.array([False, True, False]) | mask, [True, True, True]),
                          (np.logical_not(mask), [False, True, False]), (np.invert(mask), [False, True, False]),
                          (np.floor_divide(x.detach(), 2), [2.0, -3.0, 1.0])]:
        assert isinstance(out, tl.Tensor) and out.device == device and not out.requires_grad
        assert out.tolist() == expected


def test_every_numpy_protocol_entry_runs_the_tensor_op():
    x = leaf([[0.5, 1.5], [2.0, 0.25]])  # in every op's domain but these:
    inside = {"arccosh": x + 1, "arctanh": x / 4}  # [1, inf) and (-1, 1)
    for name in NUMPY_UFUNCS:
        ufunc = getattr(np, name)
        out = ufunc(*[x > 1 if name in BITWISE else inside.get(name, x)] * ufunc.nin)
        assert isinstance(out, tl.Tensor), name
    for name in NUMPY_FUNCTIONS:
        out = getattr(np, name)(x, *NUMPY_ARGS.get(name, ()))
        assert isinstance(out, tl.Tensor) and out.device == x.device, name


@pytest.mark.parametrize("name, args, kwargs", [
    ("var", (), {}), ("std", (0,), {}), ("var", (), {"ddof": 1}), ("var", (1,), {"correction": 1}),
    ("std", (), {"axis": 1, "keepdims": True}), ("max", (1,), {}), ("amax", (), {}), ("min", (), {"axis": 0}),
    ("amin", (1,), {}), ("repeat", (2,), {}), ("repeat", ([1, 2],), {"axis": 0}), ("transpose", (), {}),
    ("transpose", ((1, 0),), {}), ("transpose", (), {"axes": (1, 0)}),
])
def test_numpy_functions_keep_numpys_meaning_where_the_method_has_pytorchs(name, args, kwargs):
    """numpy.var divides by n, numpy.max(t, 1) gives values, numpy.repeat repeats elements and
    numpy.transpose(t) reverses the axes, though the Tensor methods of those names are PyTorch's."""
    a = np.array([[0.5, 1.5, -2.0], [2.0, 0.25, 3.0]])
    out = getattr(np, name)(leaf(a), *args, **kwargs)
    assert isinstance(out, tl.Tensor) and out.requires_grad
    np.testing.assert_allclose(out.detach().numpy(), getattr(np, name)(a, *args, **kwargs), rtol=1e-12)
