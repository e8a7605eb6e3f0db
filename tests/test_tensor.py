"""The Tensor API: construction, dtypes, casts, numerical stability, errors; and the ops beyond
their op-table rows (tests/test_ops.py): the parts that are not differentiable (indices of
sort/topk/argmax, zero gradients), special points (0 for norm and prod), argument checks, and
PyTorch's spellings: ``dim=``/``keepdim=`` everywhere an axis is taken, its method names, and
``size()`` as PyTorch's method with ``numel()`` the count. In-place writes and the Python and
NumPy protocols have their own files (tests/test_tensor_inplace.py, tests/test_tensor_protocols.py).
"""
from __future__ import annotations

import inspect
import math
import operator
import warnings

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import backend, checks, nn, ops


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


def test_remainder_floor_divide_and_bitwise_dtypes_follow_pytorch(device):
    """Result dtypes and values as torch 2 gives them: ints stay ints (Python scalars do not widen
    int32), an int operand takes a float one's dtype (float32, not NumPy's float64), bool with int
    gives int64, and ``remainder``/``//`` on ints round as Python's (sign of the divisor)."""
    i, b = tl.Tensor([-7, 7, 5], device=device), tl.Tensor([True, False, True], device=device)
    f = tl.Tensor([-7.0, 7.0, 5.5], device=device)
    i32 = tl.Tensor(np.array([-7, 7, 5], np.int32), device=device)
    for out, dtype, expected in [
            (i % 3, np.int64, [2, 1, 2]), (i % -3, np.int64, [-1, -2, -1]), (i.fmod(3), np.int64, [-1, 1, 2]),
            (i // 2, np.int64, [-4, 3, 2]), (7 // tl.Tensor([-2, 2], device=device), np.int64, [-4, 3]),
            (i32 % 4, np.int32, [1, 3, 1]), (i32 // 2, np.int32, [-4, 3, 2]), (i % 2.5, np.float32, [0.5, 2.0, 0.0]),
            (i // f, np.float32, [1.0, 1.0, 0.0]), (f.double() % i, np.float64, [0.0, 0.0, 0.5]),
            (b & tl.Tensor([3, 2, 1], device=device), np.int64, [1, 0, 1]), (b | 2, np.int64, [3, 2, 3]),
            (b ^ True, np.bool_, [False, True, False]), (i32 & 6, np.int32, [0, 6, 4]), (~i, np.int64, [6, -8, -6]),
            (~b, np.bool_, [False, True, False]), (f.logical_and(i), np.bool_, [True, True, True]),
            (b.logical_xor(tl.Tensor([0.0, 0.0, 2.0], device=device)), np.bool_, [True, False, False])]:
        assert out.dtype == dtype and out.device == device and not out.requires_grad, (out, dtype)
        np.testing.assert_array_equal(out.numpy(), np.array(expected, dtype=dtype))


def test_bitwise_ops_refuse_floats_and_integer_division_refuses_zero(device):
    f, i = tl.Tensor([1.0, 0.0], device=device), tl.Tensor([3, 4], device=device)
    for call in (lambda: ~f, lambda: f & f, lambda: i | f, lambda: True ^ f, lambda: i & 1.5):
        with pytest.raises(TypeError, match=r"only defined for bool and integer tensors, got dtype float32"):
            call()
    for call in (lambda: i % tl.Tensor([1, 0], device=device), lambda: i // 0, lambda: 7 // (i - 3),
                 lambda: i.fmod(0)):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            call()
    b = tl.Tensor([True, False], device=device)
    with pytest.raises(TypeError, match="not defined for two bool tensors"):
        b % b
    with np.errstate(invalid="ignore"):  # floats: nan, as PyTorch (NumPy warns)
        assert np.isnan((f % 0).numpy()).all() and np.isnan(f.fmod(0.0).numpy()).all()
    x = tl.Tensor([5.5, -5.5], device=device, requires_grad=True)
    q = x // 2  # PyTorch's floor_divide has no gradient (its backward raises): out of the graph here
    assert q.tolist() == [2.0, -3.0] and not q.requires_grad and q.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        q.sum().backward()


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
    assert np.isnan(tl.Tensor([2.0], device=device).std().item())  # PyTorch's default: n - 1 = 0
    assert tl.Tensor([2.0], device=device).var(correction=0).item() == 0.0
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
def _ones(shape, device):
    return tl.Tensor(np.ones(shape), device=device)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda d: _ones((2, 3), d) @ _ones((4, 5), d), ValueError, r"matmul.*\(2, 3\).*\(4, 5\)"),
    (lambda d: _ones((3,), d) @ _ones((4,), d), ValueError, r"\(3,\).*\(4,\)"),
    (lambda d: _ones((), d) @ _ones((3,), d), ValueError, "0-d"),
    (lambda d: _ones((2, 3), d).sum(axis=2), ValueError, "axis 2 is out of range"),
    (lambda d: _ones((2, 3), d).mean(axis=(0, -2)), ValueError, "repeats"),
    (lambda d: _ones((), d).softmax(1), ValueError, "out of range"),  # dims 0 and -1 are PyTorch's 0-d dims
    (lambda d: _ones((2, 3), d).reshape(4, 2), ValueError, r"size 6.*\(4, ?2\)"),
    (lambda d: _ones((2, 3), d).permute(0, 2), ValueError, r"permutation.*\(2, 3\)"),
    (lambda d: _ones((2, 3), d).permute(0, 0), ValueError, "permutation"),
    (lambda d: _ones((2, 3), d).squeeze(2), ValueError, "out of range"),
    (lambda d: _ones((2, 3), d).unsqueeze(4), ValueError, "out of range"),
    (lambda d: _ones((2, 3), d).unsqueeze((0, 1)), TypeError, r"int.*\(0, 1\)"),
    (lambda d: _ones((2, 3), d).flatten((0, 1)), TypeError, "int"),
    (lambda d: _ones((2, 3), d).expand(3, 3), ValueError, "broadcast"),
    (lambda d: tl.concatenate([]), ValueError, "at least one"),
    (lambda d: tl.concatenate([_ones((2, 3), d), _ones((2, 4), d)]), ValueError, "dimension"),
    (lambda d: _ones((0, 2), d).max(), ValueError, r"empty.*\(0, 2\)"),
    (lambda d: _ones((2,), d).backward(), RuntimeError, "does not require grad"),
    (lambda d: tl.Tensor([1.0], device="gpu"), ValueError, "unknown device 'gpu'"),
    (lambda d: bool(_ones((2,), d)), ValueError, "ambiguous"),
    (lambda d: len(_ones((), d)), TypeError, "0-d"),
])
def test_bad_input_raises_a_clear_error(device, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(device)


@pytest.mark.parametrize("call, pytorch_error, old_error", [
    (lambda d: _ones((2, 3), d).squeeze(dim=50), IndexError, ValueError),
    (lambda d: tl.stack([_ones((2,), d), _ones((2,), d)], dim=77), IndexError, ValueError),
    (lambda d: _ones((2, 3), d).sum(axis=2), IndexError, ValueError),
    (lambda d: _ones((2, 3), d).softmax(dim=-3), IndexError, ValueError),
    (lambda d: _ones((), d).log_softmax(1), IndexError, ValueError),
    (lambda d: _ones((2, 3), d).unflatten(2, (1, 3)), IndexError, ValueError),
    (lambda d: _ones((2, 3), d) @ _ones((4, 5), d), RuntimeError, ValueError),
    (lambda d: _ones((), d) @ _ones((3,), d), RuntimeError, ValueError),
    (lambda d: _ones((2, 3), d).mm(_ones((2, 3), d)), RuntimeError, ValueError),
    (lambda d: _ones((2, 3), d).mm(_ones((3,), d)), RuntimeError, ValueError),
    (lambda d: _ones((1, 2, 3), d).bmm(_ones((1, 2, 3), d)), RuntimeError, ValueError),
    (lambda d: _ones((3,), d).dot(_ones((4,), d)), RuntimeError, ValueError),
    (lambda d: _ones((2, 3), d).dot(_ones((2, 3), d)), RuntimeError, ValueError),
    (lambda d: _ones((2, 6), d).unflatten(1, (4, -1)), RuntimeError, ValueError),
    (lambda d: _ones((2, 3), d).gather(0, [1]), RuntimeError, ValueError),  # index of another ndim
    (lambda d: _ones((2, 3), d).gather(1, [[3]]), RuntimeError, IndexError),
    (lambda d: _ones((2, 3), d).gather(0, [[-3]]), RuntimeError, IndexError),
    (lambda d: _ones((2, 3), d).take_along_axis(np.array([[5]]), 1), RuntimeError, IndexError),
])
def test_errors_are_pytorchs_class_and_still_the_old_one(device, call, pytorch_error, old_error):
    """PyTorch's exception class (IndexError "Dimension out of range"; RuntimeError for shapes that
    cannot be multiplied and for an index out of bounds), while ``except`` of the library's earlier
    class still catches them: one class per idea, in tinygrad_lite.checks."""
    with pytest.raises(pytorch_error) as info:
        call(device)
    assert isinstance(info.value, old_error)
    expected = {(IndexError, ValueError): checks.DimensionError, (RuntimeError, ValueError): checks.ShapeError,
                (RuntimeError, IndexError): checks.IndexBoundsError}[pytorch_error, old_error]
    assert type(info.value) is expected


def test_dimension_errors_match_pytorchs_class_and_range():
    torch = pytest.importorskip("torch")
    for shape, dim in [((2, 3), 2), ((2, 3), -3), ((), 1), ((4,), 7)]:
        with pytest.raises(IndexError) as mine:
            tl.zeros(shape).sum(dim)
        with pytest.raises(IndexError) as theirs:
            torch.zeros(shape).sum(dim)
        assert str(theirs.value) in str(mine.value)  # "Dimension out of range (expected ... but got 2)"


def test_unflatten_refuses_sizes_as_pytorch(device):
    t = _ones((2, 6), device)
    with pytest.raises(RuntimeError, match=r"one -1"):
        t.unflatten(1, (-1, -1))
    with pytest.raises(RuntimeError, match=r"do not multiply up to 6"):
        t.unflatten(-1, (5,))
    with pytest.raises(RuntimeError, match=r"do not multiply up to 6"):
        t.unflatten(1, (2, 0))
    with pytest.raises(TypeError, match="non-empty"):
        t.unflatten(1, ())
    with pytest.raises(TypeError, match="non-empty"):
        t.unflatten(1, 6)
    assert t.unflatten(1, [6]).shape == (2, 6) and _ones((2, 0), device).unflatten(1, (3, -1)).shape == (2, 3, 0)
    assert t.unflatten(dim=1, sizes=(3, -1)).shape == (2, 3, 2)


def test_neg_method_is_minus_and_refuses_bools(device):
    t = tl.Tensor([1, -2, 0], device=device)
    assert t.neg().tolist() == t.negative().tolist() == (-t).tolist() == [-1, 2, 0]
    assert t.neg().dtype == t.dtype
    with pytest.raises(TypeError):
        tl.Tensor([True], device=device).neg()


def test_minimum_and_maximum_of_bools_give_bools_as_pytorch(device):
    a, b = tl.Tensor([True, True, False, False], device=device), tl.Tensor([True, False, True, False], device=device)
    for fn in (tl.minimum, tl.maximum, lambda x, y: x.minimum(y), lambda x, y: x.maximum(y)):
        out = fn(a, b)
        assert out.dtype == np.bool_
    assert tl.minimum(a, b).tolist() == a.minimum(b).tolist() == [True, False, False, False]
    assert tl.maximum(a, b).tolist() == a.maximum(b).tolist() == [True, True, True, False]
    assert tl.minimum(a, True).tolist() == [True, True, False, False]


def test_minimum_of_unsigned_integers_does_not_wrap_around(device):
    a, b = tl.Tensor(np.array([0, 5, 255], np.uint8), device=device), tl.Tensor(np.array([5, 0, 3], np.uint8),
                                                                               device=device)
    out = tl.minimum(a, b)
    assert out.dtype == np.uint8 and out.tolist() == [0, 0, 3]
    i8 = tl.Tensor(np.array([-128, 7], np.int8), device=device)
    assert tl.minimum(i8, tl.Tensor(np.array([0, 0], np.int8), device=device)).tolist() == [-128, 0]


def test_softmax_of_a_0d_tensor_is_pytorchs(device):
    x = tl.Tensor(2.5, device=device, requires_grad=True)
    for dim in (0, -1):
        assert x.softmax(dim).item() == 1.0 and x.log_softmax(dim=dim).item() == 0.0
        assert F.softmax(x, dim).item() == 1.0 and F.log_softmax(x, dim=dim).item() == 0.0
    x.log_softmax(0).backward()
    assert x.grad.item() == 0.0


def test_hyperbolic_functions_match_pytorch_including_their_edges():
    torch = pytest.importorskip("torch")
    x = np.array([-1e3, -20.0, -1.0, -0.5, 0.0, 1e-8, 0.5, 1.0, 1.5, 20.0, 1e3, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        for name in ("sinh", "cosh", "asinh", "acosh", "atanh"):
            for dtype in (np.float64, np.float32):
                mine = getattr(tl.Tensor(x.astype(dtype)), name)().numpy()
                theirs = getattr(torch.tensor(x.astype(dtype)), name)().numpy()
                assert mine.dtype == dtype
                np.testing.assert_allclose(mine, theirs, rtol=1e-6 if dtype == np.float32 else 1e-12, err_msg=name)
    for name, xs in [("sinh", [-1e3, 1e3, 0.5]), ("cosh", [-1e3, 1e3, 0.5]), ("asinh", [-1e3, 1e3, 1e30]),
                     ("acosh", [1e3, 1e30, 1.5]), ("atanh", [-0.999, 0.999, 0.0])]:
        mine = tl.Tensor(xs, dtype="float64", requires_grad=True)
        theirs = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        with np.errstate(over="ignore", invalid="ignore"):  # sinh(1e3) + sinh(-1e3) = inf - inf
            getattr(mine, name)().sum().backward()
        getattr(theirs, name)().sum().backward()
        assert not np.isnan(mine.grad.numpy()).any(), name
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, err_msg=name)


def test_constructor_copies_so_in_place_updates_never_reach_the_callers_array(device):
    host = np.arange(4, dtype=np.float32)
    t = tl.Tensor(host, device=device)
    t.data += 1  # what an optimizer does to a parameter
    assert host.tolist() == [0.0, 1.0, 2.0, 3.0]
    u = tl.Tensor(t)
    u.data += 1
    assert t.numpy().tolist() == [1.0, 2.0, 3.0, 4.0]


AXIS_NAMES = {"axis", "keepdims", "start_axis", "end_axis"}


def _t(values, device="cpu", **kw):
    return tl.Tensor(np.asarray(values, dtype=np.float64), device=device, **kw)


# ---------------------------------------------------------------- PyTorch's keyword spellings
def _takes_an_axis(fn):
    return bool(AXIS_NAMES & set(inspect.signature(fn).parameters))


def _axis_callables():
    """Every public Tensor method, tl function and F function that takes an axis."""
    methods = [(f"Tensor.{n}", getattr(tl.Tensor, n)) for n in dir(tl.Tensor)
               if not n.startswith("_") and inspect.isfunction(getattr(tl.Tensor, n))]
    funcs = [(f"tl.{n}", getattr(tl, n)) for n in tl.__all__ if inspect.isfunction(getattr(tl, n))]
    funcs += [(f"F.{n}", f) for n, f in vars(F).items() if inspect.isfunction(f) and not n.startswith("_")]
    modules = [(f"nn.{n}", getattr(nn, n).__init__) for n in nn.__all__
               if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)]
    return [(name, f) for name, f in methods + funcs + modules if _takes_an_axis(f)]


def test_every_axis_taking_callable_accepts_pytorch_spellings():
    """One place translates dim=/keepdim=: every callable with an axis argument is wrapped by it."""
    found = dict(_axis_callables())
    assert {"Tensor.sum", "Tensor.argmax", "Tensor.flatten", "Tensor.sort", "tl.concatenate", "tl.stack",
            "F.softmax", "F.log_softmax", "Tensor.cumsum", "nn.Softmax", "nn.Flatten"} <= set(found)
    unwrapped = [n for n, f in found.items() if getattr(f, "__wrapped__", None) is None
                 or "PyTorch's spelling" not in (f.__doc__ or "")]
    assert not unwrapped, f"not taking dim=/keepdim=: {unwrapped}"


@pytest.mark.parametrize("call", [
    lambda t, k: t.sum(**k), lambda t, k: t.mean(**k), lambda t, k: t.var(**k), lambda t, k: t.std(**k),
    lambda t, k: t.amax(**k), lambda t, k: t.amin(**k), lambda t, k: t.prod(**k), lambda t, k: t.norm(**k),
    lambda t, k: t.logsumexp(**k), lambda t, k: t.argmax(**k), lambda t, k: t.argmin(**k),
    lambda t, k: t.max(**k).values, lambda t, k: t.min(**k).indices,
])
def test_dim_and_keepdim_mean_axis_and_keepdims(device, call):
    t = _t(np.arange(24.0).reshape(2, 3, 4) % 7, device)
    for axis in (0, -1, (0, 2)):
        try:
            want = call(t, {"axis": axis, "keepdims": True})
        except TypeError:  # argmax/argmin and max/min(dim) take one axis only
            continue
        np.testing.assert_array_equal(call(t, {"dim": axis, "keepdim": True}).numpy(), want.numpy())


def test_dim_in_shape_ops_and_functions(device):
    t = _t(np.arange(6.0).reshape(2, 3), device)
    assert t.unsqueeze(dim=0).shape == (1, 2, 3) and t.unsqueeze(0).squeeze(dim=0).shape == (2, 3)
    assert t.flatten(start_dim=0, end_dim=1).shape == (6,)
    assert tl.cat([t, t], dim=1).shape == (2, 6) and tl.stack([t, t], dim=2).shape == (2, 3, 2)
    assert tl.cat is tl.concatenate
    np.testing.assert_allclose(F.softmax(t, dim=0).numpy(), t.softmax(axis=0).numpy())
    np.testing.assert_allclose(F.log_softmax(t, dim=0).numpy(), t.log_softmax(0).numpy())
    assert t.flip(dims=(0,)).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert t.tril(diagonal=-1).tolist() == [[0, 0, 0], [3, 0, 0]]
    assert t.size(dim=1) == 3 and t.size(-2) == 2
    np.testing.assert_allclose(nn.Softmax(dim=0)(t).numpy(), t.softmax(0).numpy())
    assert nn.Flatten(start_dim=0, end_dim=-2)(tl.zeros(2, 3, 4)).shape == (6, 4)
    assert nn.Flatten()(tl.zeros(2, 3, 4)).shape == (2, 12)
    assert repr(nn.Flatten(0, 1)) == "Flatten(start_axis=0, end_axis=1)"


def test_both_spellings_or_an_unknown_keyword_is_a_type_error_naming_them():
    t = tl.ones(2, 3)
    with pytest.raises(TypeError, match=r"Tensor\.sum: got both dim= and axis="):
        t.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="keepdim= and keepdims="):
        t.mean(0, keepdim=True, keepdims=True)
    with pytest.raises(TypeError, match="correction= and ddof="):
        t.std(correction=1, ddof=1)
    with pytest.raises(TypeError, match="concatenate: got both dim= and axis="):
        tl.cat([t], dim=0, axis=0)
    with pytest.raises(TypeError, match="'dims'"):
        t.sum(dims=0)  # only flip takes PyTorch's dims=
    with pytest.raises(TypeError, match="'approx'"):
        t.gelu(approx="tanh")
    with pytest.raises(TypeError, match="'inplace'"):
        t.softplus(inplace=True)


def test_the_decorator_refuses_a_function_with_nothing_to_translate():
    with pytest.raises(TypeError, match="takes none of"):
        checks.pytorch_kwargs(lambda x: x)


# ---------------------------------------------------------------- size(), numel(), dim() and method names
def test_size_is_pytorchs_method_and_numel_the_count(device):
    t = tl.zeros(2, 3, device=device)
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(-1) == 3 and t.numel() == 6 and t.dim() == 2
    assert tl.zeros(()).size() == () and tl.zeros(()).numel() == 1 and tl.zeros(0, 4).numel() == 0
    with pytest.raises(ValueError, match="out of range"):
        t.size(2)


@pytest.mark.parametrize("use", [lambda s: s == 6, lambda s: s + 1, lambda s: 2 * s, lambda s: int(s),
                                 lambda s: bool(s), lambda s: range(s), lambda s: s > 0, lambda s: f"{s:d}",
                                 lambda s: s // 2, lambda s: np.zeros(s)])
def test_size_as_numpys_count_fails_with_a_message_naming_numel(use):
    with pytest.raises(TypeError, match=r"Tensor\.size is PyTorch's method: t\.size\(\) is the sh"):
        use(tl.zeros(2, 3).size)
    assert "numel" in repr(tl.zeros(2, 3).size)


def test_pytorch_method_names_match_the_operators(device):
    x, y = _t([[1.5, -2.0, 3.0]], device), _t([[2.0], [-0.5]], device)
    pairs = [(x.add(y), x + y), (x.add(y, alpha=3), x + 3 * y), (x.sub(y, alpha=2), x - 2 * y),
             (x.mul(y), x * y), (x.div(y), x / y), (x.pow(2), x**2), (x.view(3, 1), x.reshape(3, 1)),
             (x.view_as(x.T), x.reshape(3, 1)), (x.expand_as(y * x), x.expand(2, 3)),
             (x.clamp(min=-1, max=2), x.clip(-1, 2)), (x.clamp(max=0), x.clip(None, 0))]
    for name, a, b in [("eq", x.eq(y), x == y), ("ne", x.ne(y), x != y), ("lt", x.lt(y), x < y),
                       ("le", x.le(1.5), x <= 1.5), ("gt", x.gt(y), x > y), ("ge", x.ge(y), x >= y)]:
        assert a.dtype == np.bool_, name
        pairs.append((a, b))
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    seven = _t([7.0, -7.0], device)
    assert seven.div(2.0, rounding_mode="trunc").tolist() == [3.0, -3.0]
    assert seven.div(2.0, rounding_mode="floor").tolist() == [3.0, -4.0]
    with pytest.raises(ValueError, match="rounding_mode"):
        x.div(2, rounding_mode="round")


# ---------------------------------------------------------------- where NumPy and PyTorch give a name different meanings
# PyTorch's meaning wins; NumPy's stays reachable under another name, and through NumPy's functions
def test_transpose_exchanges_two_dims_and_numpys_transpose_is_permute(device):
    a = np.arange(24.0).reshape(2, 3, 4)
    t = _t(a, device)
    assert t.transpose(0, 1).shape == (3, 2, 4) and t.transpose(dim0=-1, dim1=0).shape == (4, 3, 2)
    np.testing.assert_array_equal(t.transpose(1, 2).numpy(), a.swapaxes(1, 2))
    m = _t([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device)
    assert m.transpose(0, 1).tolist() == [[1, 4], [2, 5], [3, 6]]  # on 2-D the matrix transpose, not the identity
    np.testing.assert_array_equal(t.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))  # NumPy's transpose(*axes)
    np.testing.assert_array_equal(t.T.numpy(), a.T)  # NumPy's transpose()
    np.testing.assert_array_equal(np.transpose(t).numpy(), a.T)  # NumPy's function keeps NumPy's meaning
    np.testing.assert_array_equal(np.transpose(t, (2, 0, 1)).numpy(), a.transpose(2, 0, 1))
    for call in (lambda: t.transpose(), lambda: t.transpose(2, 0, 1), lambda: t.transpose((1, 0, 2))):
        with pytest.raises(TypeError, match=r"t\.permute\(\*axes\), the axes reversed t\.T"):
            call()


def test_max_and_min_along_a_dim_give_values_and_indices(device):
    a = np.array([[1.0, 5.0, 5.0], [7.0, -2.0, 0.5]])
    t = _t(a, device)
    out = t.max(1)
    assert isinstance(out, tuple) and out._fields == ("values", "indices")
    values, indices = out  # a batch of 2 unpacks (values, indices), not two row maxima
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == np.int64
    assert t.min(dim=0, keepdim=True).indices.tolist() == [[0, 1, 1]]
    assert t.min(0, True).values.tolist() == [[1.0, -2.0, 0.5]]
    assert t.max().item() == 7.0 and t.max().shape == () and t.min().item() == -2.0  # no dim: one element
    np.testing.assert_array_equal(t.max(_t(np.full((2, 3), 2.0), device)).numpy(), np.maximum(a, 2.0))
    np.testing.assert_array_equal(t.min(_t([0.0, 9.0, 0.0], device)).numpy(), np.minimum(a, [0, 9, 0]))
    # NumPy's max(axis)/min(axis), over an int or a tuple of axes: amax/amin, and np.max(t)
    np.testing.assert_array_equal(t.amax(1).numpy(), a.max(1))
    np.testing.assert_array_equal(t.amin(axis=(0, 1), keepdims=True).numpy(), a.min((0, 1), keepdims=True))
    np.testing.assert_array_equal(np.max(t, axis=0).numpy(), a.max(0))
    np.testing.assert_array_equal(np.amin(t, 1).numpy(), a.min(1))
    ints = tl.Tensor([[3, 1], [0, 4]], device=device)
    assert ints.max(1).values.tolist() == [3, 4] and ints.max(1).values.dtype == np.int64
    zero_d = _t(2.5, device).max(0)  # a 0-d tensor has dim 0, as in PyTorch
    assert zero_d.values.shape == () and zero_d.values.item() == 2.5 and zero_d.indices.item() == 0
    with pytest.raises(TypeError, match=r"max: dim must be one int.*amax\(dims\)"):
        t.max((0, 1))
    with pytest.raises(TypeError, match="elementwise minimum: it takes no keepdim"):
        t.min(t, True)


def test_repeat_tiles_and_numpys_repeat_is_repeat_interleave(device):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t, v = _t(a, device), _t([1.0, 2.0, 3.0], device)
    # torch.Tensor.repeat's documented examples: sizes beyond the dims add leading dims
    assert v.repeat(4, 2).tolist() == [[1, 2, 3, 1, 2, 3]] * 4 and v.repeat(4, 2, 1).shape == (4, 2, 3)
    assert v.repeat(2).tolist() == [1, 2, 3, 1, 2, 3]  # NumPy's repeat would give 1, 1, 2, 2, 3, 3
    assert t.repeat(1, 2).tolist() == [[1, 2, 1, 2], [3, 4, 3, 4]] and t.repeat((2, 1)).shape == (4, 2)
    # torch.repeat_interleave's documented examples: NumPy's repeat
    assert t.repeat_interleave(2).tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert t.repeat_interleave(3, dim=1).tolist() == [[1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4]]
    assert t.repeat_interleave(tl.Tensor([1, 2]), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    np.testing.assert_array_equal(np.repeat(t, 2, axis=1).numpy(), np.repeat(a, 2, axis=1))
    with pytest.raises(ValueError, match=r"repeat: got sizes \(2,\) for a tensor of shape \(2, 2\).*repeat_interl"):
        t.repeat(2)
    with pytest.raises(TypeError, match=r"t\.repeat_interleave\(repeats, dim\)"):
        t.repeat(2, axis=0)


def test_var_and_std_divide_by_n_minus_1_by_default(device):
    a = np.array([[1.0, 2.0, 4.0], [0.0, 3.0, 9.0]])
    t, n, squares = _t(a, device), a.size, ((a - a.mean()) ** 2).sum()
    unbiased, biased = squares / (n - 1), squares / n  # PyTorch's default correction is 1
    assert t.var().item() == pytest.approx(unbiased) and t.std().item() == pytest.approx(math.sqrt(unbiased))
    for spelling in ({"correction": 0}, {"ddof": 0}, {"unbiased": False}):
        assert t.var(**spelling).item() == pytest.approx(biased), spelling
        assert t.std(**spelling).item() == pytest.approx(math.sqrt(biased)), spelling
    assert t.var(False).item() == pytest.approx(biased) and t.var(True).item() == pytest.approx(unbiased)
    assert t.var(correction=2).item() == pytest.approx(squares / (n - 2))
    rows = ((a - a.mean(1, keepdims=True)) ** 2).sum(1, keepdims=True)
    np.testing.assert_allclose(t.var(1, False, True).numpy(), rows / 3)  # PyTorch's var(dim, unbiased, keepdim)
    np.testing.assert_allclose(t.std(1, True, True).numpy(), np.sqrt(rows / 2))
    np.testing.assert_allclose(t.std(dim=1, keepdim=True, correction=0).numpy(), np.sqrt(rows / 3))
    assert np.var(t).item() == pytest.approx(biased)  # NumPy's functions keep NumPy's meaning
    assert np.std(t, ddof=1).item() == pytest.approx(math.sqrt(unbiased))
    for both in ({"unbiased": True, "correction": 1}, {"unbiased": False, "ddof": 0}):
        with pytest.raises(TypeError, match="two spellings of one argument"):
            t.std(**both)
    with pytest.raises(TypeError, match="unbiased must be True or False"):
        t.var(0, 1)


def test_squeeze_leaves_a_dim_of_another_size_as_it_is(device):
    t = tl.zeros(2, 1, 3, 1, device=device)
    assert t.squeeze(0).shape == (2, 1, 3, 1)  # size 2: unchanged, as PyTorch (NumPy raises)
    assert t.squeeze(1).shape == (2, 3, 1) and t.squeeze(dim=-1).shape == (2, 1, 3)
    assert t.squeeze((0, 1, 3)).shape == (2, 3) and t.squeeze().shape == (2, 3)
    assert tl.zeros((), device=device).squeeze(0).shape == ()


def test_to_takes_a_device_a_dtype_both_or_a_tensor(device):
    t = _t([1.5, -2.0], "cpu", requires_grad=True)  # float64
    for dtype in (np.float32, np.dtype("float32"), "float32", tl.float32):
        for u in (t.to(dtype), t.to(dtype=dtype)):
            assert u.dtype == np.float32 and u.device == "cpu" and u.requires_grad
    assert t.to("float64") is t and t.to("cpu") is t and t.to(t) is t
    t.to(np.float32).sum().backward()  # the float cast is in the graph
    assert t.grad.dtype == np.float64 and t.grad.tolist() == [1, 1]
    for u in (t.to(device, "float32"), t.to(device=device, dtype=np.float32),
              t.to(tl.zeros(1, device=device)), t.to(device, non_blocking=True).float()):
        assert u.device == device and u.dtype == np.float32 and u.tolist() == [1.5, -2.0]
    assert t.to(np.int64).tolist() == [1, -2] and t.to("bool").dtype == np.bool_
    with pytest.raises(ValueError, match=r"to: 'gpu' is neither a device \(one of \('cpu', 'cuda', 'strict'\)\) "
                                         r"nor a dtype \(a NumPy dtype, its name such as 'float32'"):
        t.to("gpu")
    with pytest.raises(TypeError, match="to: a tensor cannot hold dtype <U"):
        t.to(str)
    with pytest.raises(TypeError, match=r"to: takes \(device\), \(dtype\)"):
        t.to(t, "float32")


@pytest.mark.parametrize("data", [["a"], [1, "a"], [1.0, None], np.array([1.0, 2.0], dtype=object),
                                  np.array(["x"]), b"ab"])
def test_strings_and_objects_are_refused_naming_the_dtype(device, data):
    with pytest.raises(TypeError, match=r"Tensor: a tensor cannot hold dtype (<U|\|S|object).*bools and numbers"):
        tl.Tensor(data, device=device)
    with pytest.raises(TypeError, match="cannot hold dtype"):
        tl.Tensor(data, dtype=np.float32, device=device)  # even where dtype= would convert them
    with pytest.raises(TypeError, match="cannot hold dtype object"):
        tl.Tensor([1.0], dtype=object, device=device)


def test_clashing_names_match_pytorch(device):
    """The same calls in PyTorch, where it is installed (the tests above transcribe its documentation)."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((3, 4, 2))
    t, p = _t(a, device), torch.tensor(a)
    calls = [lambda x: x.transpose(0, 2), lambda x: x.transpose(-1, 1), lambda x: x.max(1).values,
             lambda x: x.max(1).indices, lambda x: x.min(dim=2, keepdim=True).indices, lambda x: x.max(),
             lambda x: x.amax((0, 2)), lambda x: x.repeat(2, 1, 1, 3), lambda x: x.repeat_interleave(2, dim=1),
             lambda x: x.var(), lambda x: x.std(1), lambda x: x.var(1, False, True), lambda x: x.std(unbiased=False),
             lambda x: x.var(dim=(0, 2), correction=0), lambda x: x[:1].squeeze(1), lambda x: x[:1].squeeze((0, 2)),
             lambda x: x.to(x.max(1).indices.dtype)]
    for i, call in enumerate(calls):
        np.testing.assert_allclose(call(t).numpy(), call(p).numpy(), rtol=1e-12, err_msg=f"call {i}")


# ---------------------------------------------------------------- indices: sort, topk, argmax
def test_sort_and_topk_indices_are_stable_and_outside_the_graph(device):
    x = _t([[3.0, 1.0, 3.0, 2.0, 1.0]], device, requires_grad=True)
    values, indices = x.sort(dim=1)
    assert indices.tolist() == [[1, 4, 3, 0, 2]] and values.tolist() == [[1, 1, 2, 3, 3]]
    assert x.sort(descending=True).indices.tolist() == [[0, 2, 3, 1, 4]]  # ties in their order
    assert x.argsort(descending=True).tolist() == [[0, 2, 3, 1, 4]]
    assert indices.dtype == np.int64 and not indices.requires_grad and values.requires_grad
    top = x.topk(2)
    assert top.values.tolist() == [[3, 3]] and top.indices.tolist() == [[0, 2]]
    assert x.topk(2, largest=False).indices.tolist() == [[1, 4]]
    # the gradient of a value goes to the element that was placed there
    (top.values * _t([[10.0, 1.0]], device)).sum().backward()
    assert x.grad.tolist() == [[10, 0, 1, 0, 0]]
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, (3, 6)).astype(np.float64)
    np.testing.assert_array_equal(_t(a, device).argsort(0).numpy(), np.argsort(a, 0, kind="stable"))
    with pytest.raises(ValueError, match="topk: k"):
        x.topk(6)


def test_argmax_argmin_keepdims_match_numpy(device):
    a = np.random.default_rng(1).standard_normal((3, 4, 2))
    t = _t(a, device)
    for axis in (None, 0, -1):
        for keepdims in (False, True):
            for fn in ("argmax", "argmin"):
                got = getattr(t, fn)(axis, keepdims=keepdims)
                want = getattr(np, fn)(a, axis, keepdims=keepdims)
                assert got.device == device and got.shape == np.shape(want)
                np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(ValueError, match="argmax of an empty tensor"):
        tl.zeros(0).argmax()


# ---------------------------------------------------------------- special points
def test_zero_gradient_of_the_rounding_family(device):
    x = _t([-1.5, -0.4, 0.0, 0.5, 2.5, 3.7], device, requires_grad=True)
    for fn in ("floor", "ceil", "round", "trunc", "sign"):
        x.grad = None
        getattr(x, fn)().sum().backward()
        assert x.grad.tolist() == [0.0] * 6, fn
    assert x.round().tolist() == [-2, -0, 0, 0, 2, 4]  # halves to even, as NumPy and PyTorch
    assert _t([1.25, -0.36], device).round(1).tolist() == [1.2, -0.4]
    ints = tl.Tensor([3, -2], device=device)
    assert ints.floor() is ints and ints.sign().tolist() == [1, -1] and ints.sign().dtype == np.int64


def test_norm_gradient_is_zero_at_zero_and_prod_gradient_exact_at_zeros(device):
    x = tl.zeros(2, 3, device=device, dtype="float64", requires_grad=True)
    x.norm(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2  # not nan
    y = _t([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], device, requires_grad=True)
    y.prod(1).sum().backward()
    assert y.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]
    assert _t([3.0, -4.0], device).norm().item() == 5.0 and _t([3.0, -4.0], device).norm(1).item() == 7.0
    with pytest.raises(ValueError, match="norm: p must be"):
        x.norm(3)


def test_normal_cdf_matches_math_erfc_to_float64_precision():
    """Phi, read through gelu(x) = x Phi(x), against math.erfc."""
    x = np.concatenate([np.linspace(-12, 12, 4801), [0.0, -math.sqrt(0.5), 1.0, -8.0, 8.0]])
    x = x[x != 0]
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(_t(x).gelu().numpy() / x, ref, rtol=1e-13, atol=0)
    assert _t(0.0).gelu().item() == 0.0
    with np.errstate(all="raise", under="ignore"):
        big = np.array([-1e3, 1e3], np.float32)
        assert (tl.Tensor(big).gelu().numpy() / big).tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- argument checks
def test_index_arguments_are_checked_naming_the_op(device):
    t = tl.zeros(2, 3, device=device)
    with pytest.raises(TypeError, match="gather: index must hold integers"):
        t.gather(1, [[0.5]])
    with pytest.raises(ValueError, match="take_along_axis: index of shape \\(2,\\)"):
        t.take_along_axis(np.array([0, 1]), 1)
    with pytest.raises(IndexError, match="gather: index 3 is out of range for axis 1 of size 3"):
        t.gather(1, [[3]])
    with pytest.raises(ValueError, match="gather: index of shape \\(3, 1\\) does not fit"):
        t.gather(1, np.zeros((3, 1), int))
    with pytest.raises(ValueError, match="do not broadcast"):
        t.take_along_axis(np.zeros((3, 1), int), 1)
    with pytest.raises(TypeError, match="scatter_add: src .* dtype"):
        t.scatter_add(0, [[0]], tl.ones(1, 1, dtype="float64", device=device))
    fits = r"scatter_add: index of shape \(1, 2\) does not fit inside shape \(1, 1\)"
    with pytest.raises(ValueError, match=fits):
        t.scatter_add(0, [[0, 1]], tl.ones(1, 1, device=device))


def test_shape_arguments_are_checked_naming_the_op():
    t = tl.zeros(2, 3)
    cases = [(lambda: t.pad(-1), ValueError, "pad: pad_width must be integers >= 0"),
             (lambda: t.pad([(1, 1)] * 3), ValueError, "pad: pad_width .* does not fit"),
             (lambda: t.pad(1, mode="reflect"), ValueError, "pad: mode"),
             (lambda: t.split([1, 1], dim=1), ValueError, "split: sizes \\[1, 1\\] add up to 2, not to 3"),
             (lambda: t.split(0), ValueError, "split: split_size_or_sections must be an integer >= 1"),
             (lambda: t.chunk(0), ValueError, "chunk: chunks"),
             (lambda: t.narrow(1, 1, 3), ValueError, "narrow: length"),
             (lambda: t.expand(4, 2), ValueError, "expand: cannot broadcast a tensor of shape \\(2, 3\\)"),
             (lambda: t.expand(-1, 2, 3), ValueError, "expand"),
             (lambda: t.flatten(1, 0), ValueError, "flatten: start_axis 1 comes after end_axis 0"),
             (lambda: tl.zeros(3).tril(), ValueError, "tril: needs a matrix"),
             (lambda: t.tile(2.0), TypeError, "tile: reps"),
             (lambda: t.repeat_interleave([1, 2, 3], dim=0), ValueError,
              "repeat_interleave: 3 counts for the 2 elements"),
             (lambda: t.repeat_interleave(-1), ValueError, "repeat_interleave: repeats must be an integer >= 0"),
             (lambda: t.repeat(2, -1), ValueError, "repeat: sizes must be an integer >= 0"),
             (lambda: t.cumsum(2), ValueError, "axis 2 is out of range")]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


def test_activation_arguments_are_checked():
    t = tl.zeros(3)
    with pytest.raises(ValueError, match="softplus: beta must be a finite number > 0"):
        t.softplus(beta=0)
    with pytest.raises(ValueError, match="gelu: approximate must be one of \\('none', 'tanh'\\)"):
        t.gelu("exact")
    with pytest.raises(ValueError, match="hardtanh: min_val must be <= max_val"):
        t.hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="celu: alpha"):
        t.celu(0.0)


# ---------------------------------------------------------------- PyTorch's names: the parts the op table cannot check
def test_integer_tensors_of_one_element_are_python_indices(device):
    three, one = tl.tensor(3, device=device), tl.tensor([1], device=device)
    assert list(range(three)) == [0, 1, 2] and [10, 20, 30][one] == 20
    assert "abcdef"[one:three] == "bc" and list(range(10))[::three] == [0, 3, 6, 9]
    assert operator.index(tl.tensor(True, device=device)) == 1
    assert operator.index(tl.tensor([[7]], dtype=np.int32, device=device)) == 7
    for bad in (tl.tensor(2.0, device=device), tl.tensor([1, 2], device=device)):
        with pytest.raises(TypeError, match="only integer tensors of a single element"):
            operator.index(bad)
    with pytest.raises(TypeError, match="only integer tensors"):
        [1, 2][tl.tensor(1.0, device=device)]


def test_an_index_tensor_still_indexes_numpy_arrays_as_an_array():
    a = np.arange(10, 15)
    np.testing.assert_array_equal(a[tl.tensor([1, 3])], [11, 13])  # through __array__, not __index__
    assert a[tl.tensor(2)] == 12


@pytest.mark.parametrize("fn", ["all", "any"])
def test_all_and_any_against_numpy(device, fn):
    values = np.array([[0.0, 1.5, -2.0], [3.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    t = tl.tensor(values, device=device)
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            out = getattr(t, fn)(dim=axis, keepdim=keepdims)
            expected = getattr(np, fn)(values, axis=axis, keepdims=keepdims)
            assert out.dtype == np.bool_ and out.device == device and not out.requires_grad
            np.testing.assert_array_equal(out.numpy(), expected)
    assert getattr(tl.zeros(0, device=device), fn)().item() is (fn == "all")  # empty: True for all, False for any
    u8 = getattr(tl.tensor([1, 0, 2], dtype=tl.uint8, device=device), fn)()
    assert u8.dtype == np.uint8 and u8.item() == (fn == "any")  # uint8 stays uint8, as PyTorch's
    out = getattr(np, fn)(tl.tensor(values, device=device) > 0, axis=0)  # NumPy runs the Tensor method
    assert isinstance(out, tl.Tensor) and out.device == device
    np.testing.assert_array_equal(out.numpy(), getattr(np, fn)(values > 0, axis=0))


def test_casts_by_pytorch_names(device):
    t = tl.tensor([1.7, -1.7, 0.0, 2.5], dtype=np.float64, device=device)
    cases = [("long", np.int64, [1, -1, 0, 2]), ("int", np.int32, [1, -1, 0, 2]),
             ("bool", np.bool_, [True, True, False, True]), ("half", np.float16, [1.7, -1.7, 0.0, 2.5]),
             ("float", np.float32, [1.7, -1.7, 0.0, 2.5]), ("double", np.float64, [1.7, -1.7, 0.0, 2.5])]
    for name, dtype, expected in cases:
        out = getattr(t, name)()
        assert out.dtype == dtype and out.device == device, name
        np.testing.assert_allclose(out.numpy().astype(np.float64), expected, rtol=1e-3, err_msg=name)
    w = tl.tensor([1.5], requires_grad=True, device=device)
    assert w.half().requires_grad and not w.long().requires_grad and not w.bool().requires_grad
    assert int(tl.tensor([2.9], device=device)) == 2  # Python's int() is still the one element


def test_clone_copies_in_the_graph_and_contiguous_is_the_tensor(device):
    x = tl.tensor([1.0, 2.0], requires_grad=True, device=device)
    c = x.clone()
    assert c.data is not x.data and not c.is_leaf and c.dtype == x.dtype
    with tl.no_grad():
        c[0] = 5.0
    assert x.tolist() == [1.0, 2.0]  # its own memory
    (x.clone() * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    assert x.contiguous() is x


def test_cpu_and_cuda(device):
    t = tl.tensor([1.0, 2.0], device=device)
    moved = t.cpu()
    assert moved.device == "cpu" and moved.tolist() == [1.0, 2.0]
    assert (moved is t) == (device == "cpu")
    if device == "cuda":
        assert t.cuda() is t and t.cuda(0) is t
    elif not tl.cuda.is_available():
        with pytest.raises(RuntimeError, match="cuda"):
            t.cuda()
    with pytest.raises(ValueError, match="one GPU"):
        t.cuda(1)


def test_grad_fn_and_requires_grad_as_pytorch(device):
    x = tl.tensor([1.0, 2.0], device=device)
    assert x.grad_fn is None and x.requires_grad_() is x and x.requires_grad and x.grad_fn is None
    y = x * 2
    assert type(y.grad_fn) is ops.Mul and repr(y.grad_fn) == "<MulBackward>"
    assert y.grad_fn.parents[0] is x and x.clone().grad_fn is not None
    with pytest.raises(RuntimeError, match="only a leaf's flag can be changed.*detach"):
        y.requires_grad_(False)
    assert y.requires_grad_(True) is y and y.requires_grad  # a no-op, as in PyTorch
    y.sum().backward()
    assert "freed by backward()" in repr(y.grad_fn) and not y.is_leaf
    assert x.requires_grad_(False) is x and not x.requires_grad  # a leaf's flag changes
    with tl.no_grad():
        assert (x * 2).grad_fn is None


def test_chunk_gives_pytorchs_pieces(device):
    cases = [(5, 4, [2, 2, 1]), (6, 4, [2, 2, 2]), (3, 5, [1, 1, 1]), (0, 3, [0, 0, 0])]
    for n, chunks, sizes in cases:  # sizes from torch.arange(n).chunk(chunks)
        pieces = tl.arange(n, device=device).chunk(chunks)
        assert [p.shape[0] for p in pieces] == sizes, (n, chunks)
        assert [v for p in pieces for v in p.tolist()] == list(range(n))


def test_masked_fill_for_attention(device):
    scores = tl.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True, device=device)
    causal = tl.tensor(np.tril(np.ones((3, 3))), device=device)
    att = scores.masked_fill(causal == 0, float("-inf")).softmax(dim=-1)
    expected = np.tril(np.exp(np.arange(9.0).reshape(3, 3)))
    np.testing.assert_allclose(att.numpy(), expected / expected.sum(1, keepdims=True), rtol=1e-6)
    att[:, 0].sum().backward()
    assert np.isfinite(scores.grad.numpy()).all() and (scores.grad.numpy()[np.triu_indices(3, 1)] == 0).all()
    ints = tl.arange(3, device=device).masked_fill(tl.tensor([True, False, True], device=device), 2.7)
    assert ints.dtype == np.int64 and ints.tolist() == [2, 1, 2]  # the value takes the tensor's dtype
    v = tl.tensor(2.0, dtype=tl.float64, requires_grad=True, device=device)
    out = tl.zeros(2, 3, device=device).masked_fill(tl.tensor([True, False, True], device=device), v)
    assert out.dtype == np.float32 and out.tolist() == [[2, 0, 2], [2, 0, 2]]  # as torch: float32
    out.sum().backward()
    assert v.grad.dtype == np.float64 and v.grad.item() == 4.0  # as torch: one per filled element


def test_new_methods_check_their_arguments(device):
    m = tl.zeros(2, 3, device=device)
    cases = [(lambda: tl.zeros(2, 2, 2).t(), ValueError, "t\\(\\) expects a tensor with <= 2 dimensions"),
             (lambda: m.mm(tl.zeros(4, 5, device=device)), ValueError, "mm: shapes \\(2, 3\\) and \\(4, 5\\)"),
             (lambda: m.mm(tl.zeros(3, device=device)), ValueError, "mm: both operands must be matrices"),
             (lambda: tl.zeros(2, 3, 4).bmm(tl.zeros(3, 4, 5)), ValueError, "bmm: .* must be \\(2, 4, p\\)"),
             (lambda: m.bmm(tl.zeros(2, 3, 3)), ValueError, "bmm: both operands must be 3-d"),
             (lambda: m.index_select(1, [3]), IndexError, "index_select: index 3 is out of range"),
             (lambda: m.index_select(1, [-1]), IndexError, "index_select: index -1 .* \\[0, 3\\)"),
             (lambda: m.index_select(1, [[0]]), ValueError, "index_select: index must be a vector"),
             (lambda: m.index_select(1, [0.0]), TypeError, "index_select: index must hold integers"),
             (lambda: m.masked_fill(tl.tensor([1, 0, 1], device=device), 0.0), TypeError,
              "masked_fill: the mask must be a bool tensor"),
             (lambda: m.masked_fill(np.ones(3, bool), tl.zeros(3, device=device)), ValueError,
              "masked_fill: a tensor value must be 0-d"),
             (lambda: m.masked_fill(np.ones(3, bool), "x"), TypeError, "masked_fill: value must be a number"),
             (lambda: m.roll(1, (0, 1)), ValueError, "roll: shifts 1 and dims \\(0, 1\\) must have the same length"),
             (lambda: m.roll((1, 2)), ValueError, "roll: without dims, shifts must be one int"),
             (lambda: m.roll(1.5, 0), TypeError, "roll: shifts must be an integer"),
             (lambda: m.pad(1, value=1.0, constant_values=2.0), TypeError, "both value= and constant_values="),
             (lambda: tl.cat(m), TypeError, "concatenate: takes a sequence of tensors"),
             (lambda: tl.stack([]), ValueError, "stack needs at least one tensor"),
             (lambda: tl.einsum("ij,jk->ik", m), ValueError, "einsum: 'ij,jk->ik' has subscripts for 2"),
             (lambda: tl.einsum("ijk", m), ValueError, "einsum: operand 0 has shape \\(2, 3\\)"),
             (lambda: tl.einsum("i1", m), ValueError, "einsum: .*letters"),
             (lambda: tl.einsum("ij->k", m), ValueError, "einsum: .*each output letter"),
             (lambda: tl.einsum("ij->ii", m), ValueError, "einsum: .*each output letter"),
             (lambda: tl.einsum(m, "ij"), TypeError, "einsum: the equation must be a string")]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


def test_cat_and_stack_argument_forms_and_result_dtypes(device):
    a, b = tl.ones(1, 2, device=device), tl.zeros(1, 2, device=device)
    for out in (tl.cat((a, b), dim=1), tl.cat([a, b], 1), tl.cat((t for t in (a, b)), axis=1), tl.cat((a, b), -1)):
        assert out.shape == (1, 4) and out.tolist() == [[1, 1, 0, 0]]
    assert tl.stack((a, b), dim=0).shape == (2, 1, 2) and tl.stack([a, b], -1).shape == (1, 2, 2)
    assert tl.cat([a]).shape == (1, 2)
    mixed = [((np.float32, np.int64), np.float32), ((np.float32, np.float64), np.float64),
             ((np.float16, np.int32), np.float16), ((np.int32, np.int64), np.int64),
             ((np.bool_, np.int32), np.int32), ((np.int64, np.float16, np.float32), np.float32)]
    for dtypes, expected in mixed:  # torch.cat's result types (torch.result_type); NumPy's differ
        parts = [tl.ones(2, dtype=d, device=device) for d in dtypes]
        assert tl.cat(parts).dtype == expected and tl.stack(parts).dtype == expected, dtypes
    w = tl.ones(2, requires_grad=True, device=device)
    tl.cat([w, tl.arange(2, device=device)]).sum().backward()  # the float keeps its graph
    assert w.grad.tolist() == [1.0, 1.0]


def test_dtype_names_are_numpy_dtypes(device):
    names = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "int32": np.int32,
             "int64": np.int64, "long": np.int64, "int": np.int32, "float": np.float32, "double": np.float64,
             "half": np.float16, "bool": np.bool_, "uint8": np.uint8}  # torch.long is torch.int64, ...
    for name, dtype in names.items():
        assert getattr(tl, name) is dtype, name
        t = tl.zeros(2, dtype=getattr(tl, name), device=device)
        assert t.dtype == getattr(tl, name) and t.astype(tl.float64).dtype == np.float64, name
    assert not set(names) & set(tl.__all__)  # `from tinygrad_lite import *` keeps the builtins int, float, bool


def test_pytorchs_names_give_pytorchs_results():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    mask = rng.standard_normal((3, 4)) > 0
    calls = [lambda x, y, m, lib: x.masked_fill(m, -1.5), lambda x, y, m, lib: x.roll((1, -2), dims=(0, 2)),
             lambda x, y, m, lib: x.roll(5), lambda x, y, m, lib: x.index_select(1, lib.tensor([2, 0, 2])),
             lambda x, y, m, lib: x.bmm(y), lambda x, y, m, lib: x[0].t(), lambda x, y, m, lib: x[0].mm(y[0]),
             lambda x, y, m, lib: x.all(dim=1), lambda x, y, m, lib: (x > 0).any(), lambda x, y, m, lib: x.long(),
             lambda x, y, m, lib: x.int(), lambda x, y, m, lib: x.half(), lambda x, y, m, lib: x.bool(),
             lambda x, y, m, lib: x.clone(), lambda x, y, m, lib: lib.cat((x, y.long()[:, :3, :4]), dim=1)]
    for i, call in enumerate(calls):  # the same line of code with either library
        mine, ref = call(*map(tl.tensor, (a, b, mask)), tl), call(*map(torch.tensor, (a, b, mask)), torch)
        assert mine.shape == tuple(ref.shape) and str(mine.dtype) == str(ref.dtype).removeprefix("torch."), i
        np.testing.assert_allclose(mine.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6,
                                   err_msg=str(i))
    for eq, operands in [("bij,bjk->bik", (a, b)), ("bij->j", (a,)), ("...j,...j->...", (a, a)),
                         ("ii", (a[0, :3, :3],)), ("iij->j", (a[:, :2, :2].transpose(1, 2, 0),))]:
        np.testing.assert_allclose(tl.einsum(eq, *map(tl.tensor, operands)).numpy(),
                                   torch.einsum(eq, *map(torch.tensor, operands)).numpy(), rtol=1e-10, err_msg=eq)
    for n, chunks in [(5, 4), (0, 3), (7, 3)]:
        assert [p.shape for p in tl.arange(n).chunk(chunks)] == [tuple(p.shape) for p in torch.arange(n).chunk(chunks)]
    t, u = tl.zeros(3, 4, dtype=tl.long), torch.zeros(3, 4, dtype=torch.long)
    for x in (t, u):
        x[1] = 2.7
        x[:, 0] = 5
        x[x == 0] = -1
    assert t.tolist() == u.tolist()
    w, v = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for x, lib in ((w, tl), (v, torch)):
        lib.einsum("bij,bij->", x.masked_fill(x > 1, 0.0).roll(1, 2), x.clone()).backward()
    np.testing.assert_allclose(w.grad.numpy(), v.grad.numpy(), rtol=1e-10)
