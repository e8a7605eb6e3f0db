"""Rules that used to go silently wrong: gradients at the singular points of pow, gradients
each leaf owns, custom Functions that return the wrong gradients, dtype promotion, clip with
tensor bounds, and NumPy arrays handed to layers."""
from __future__ import annotations

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import nn


def leaf(values, device, dtype=np.float64):
    return tl.Tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------- pow at 0
def test_pow_gradients_at_zero_follow_the_math(device):
    x = leaf([0.0, 2.0], device)
    (x**0).sum().backward()  # x^0 = 1 is constant: d/dx = 0, also at x = 0 (0 * 0^-1 gave nan)
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    x.grad = None
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 4.0])
    base, y = leaf([0.0, 0.0, 2.0], device), leaf([2.0, 0.0, 3.0], device)
    (base**y).sum().backward()
    # d/dy x^y = x^y ln x: 0 where x^y = 0 (PyTorch), 0^0 = 1 gives 1 * ln 0 = -inf
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, -np.inf, 8 * np.log(2.0)])
    np.testing.assert_array_equal(base.grad.numpy(), [0.0, 0.0, 3 * 4.0])  # y x^(y-1); 0 where y = 0


# ---------------------------------------------------------------- each leaf owns its gradient
def test_leaves_never_share_a_gradient_array(device):
    p1, p2 = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    ((p1 + p2) * tl.Tensor([2.0, 3.0], dtype=np.float64, device=device)).sum().backward()
    p1.grad.data *= 10  # Add handed one array (grad * [2, 3]) to both inputs
    np.testing.assert_array_equal(p2.grad.numpy(), [2.0, 3.0])
    a, b = leaf([[1.0, 2.0], [3.0, 4.0]], device), leaf([[0.0, 0.0], [0.0, 0.0]], device)
    (a + b.T).sum().backward()  # b's gradient arrives as a transposed view of a's
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((2, 2)))


def test_one_element_gradients_are_writable(device):
    p = leaf(2.0, device)
    (p * 3).sum().backward()
    p.grad.data *= 0.5  # was "output array is read-only" (a broadcast 0-d view)
    assert float(p.grad) == 1.5
    q = leaf([2.0], device)
    q.sum().backward()
    q.grad.data += 1
    assert float(q.grad) == 2.0


# ---------------------------------------------------------------- custom Functions
class _Pair(tl.Function):
    def forward(self, x, y):
        return x * y

    def backward(self, grad):
        return self.result(grad)


def _pair_with(result):
    cls = type("Scale", (_Pair,), {"result": staticmethod(result)})
    x, y = leaf([1.0, 2.0], "cpu"), leaf([3.0, 4.0], "cpu")
    return cls.apply(x, y).sum()


def test_a_function_returning_too_few_gradients_is_named():
    with pytest.raises(RuntimeError, match=r"Scale.backward returned 1 gradient\(s\) for 2 input\(s\)"):
        _pair_with(lambda g: g).backward()


def test_a_function_returning_a_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"Scale.backward returned a gradient of shape \(3,\) for input 1 "
                                         r"of shape \(2,\)"):
        _pair_with(lambda g: (g, np.ones(3))).backward()
    # same size, other shape: NumPy's reshape would have accepted it
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "cpu")
    cls = type("Flip", (tl.Function,), {"forward": lambda self, a: a * 1.0,
                                        "backward": lambda self, g: g.T})
    with pytest.raises(ValueError, match=r"Flip.backward returned a gradient of shape \(3, 2\)"):
        cls.apply(x).sum().backward()


# ---------------------------------------------------------------- dtype promotion
def test_integer_operands_keep_the_float_dtype(device):
    f = tl.Tensor([1.5, 2.5], device=device)  # float32
    i = tl.Tensor([2, 3], device=device)  # int64
    for out, expected in [(f + i, [3.5, 5.5]), (i * f, [3.0, 7.5]), (f / i, [0.75, 2.5 / 3]),
                          (f**i, [2.25, 2.5**3]), (i - f, [0.5, 0.5]), (i / i, [1.0, 1.0]),
                          (i / 2, [1.0, 1.5]), (i * 0.5, [1.0, 1.5])]:
        assert out.dtype == np.float32, out
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    assert (i + i).dtype == np.int64 and (i * 2).dtype == np.int64
    assert (f + tl.Tensor([1.0], dtype=np.float64, device=device)).dtype == np.float64  # wider float wins


def test_layers_refuse_integer_input_and_say_how_to_convert(device):
    x = tl.Tensor(np.ones((1, 1, 3, 3), np.int64), device=device)
    with pytest.raises(TypeError, match=r"linear: expected a float input, got dtype int64; .*x.float\(\)"):
        nn.Linear(3, 2).to(device)(x)
    with pytest.raises(TypeError, match=r"Conv2d\(.*expected a float input, got dtype int64; .*x.float\(\)"):
        nn.Conv2d(1, 1, 2).to(device)(x)
    lin = nn.Linear(3, 3).to(device)
    assert lin(x.float()).dtype == np.float32


def test_layers_refuse_another_float_dtype_than_their_weights_and_say_how_to_convert(device):
    """PyTorch refuses a float64 batch into a float32 layer ("mat1 and mat2 must have the same
    dtype") where NumPy would promote silently; the one input check says which conversion fixes it."""
    x64 = tl.Tensor(np.ones((2, 1, 3, 3)), device=device)  # a float64 array keeps its dtype
    wrong = r"input of dtype float64 for a weight of dtype float32 \(PyTorch: mat1 and mat2 must have the same dtype\)"
    with pytest.raises(TypeError, match=rf"linear: {wrong}; convert the input with x\.float\(\)"):
        nn.Linear(3, 2).to(device)(x64)
    with pytest.raises(TypeError, match=rf"linear: {wrong}"):
        F.linear(x64, tl.zeros(2, 3, device=device), tl.zeros(2, device=device))  # the fused path
    with pytest.raises(TypeError, match=rf"Conv2d\(.*{wrong}; convert the input with x\.float\(\)"):
        nn.Conv2d(1, 1, 2).to(device)(x64)
    with pytest.raises(TypeError, match=r"conv2d: input of dtype float32 for a weight of dtype float64.*x\.double\(\)"):
        F.conv2d(x64.float(), tl.zeros(1, 1, 2, 2, dtype="float64", device=device))
    assert nn.Linear(3, 2).to(device)(x64.float()).dtype == np.float32  # the fixes the messages name
    assert nn.Conv2d(1, 1, 2).to(device).double()(x64).dtype == np.float64
    assert nn.MaxPool2d(2)(x64).dtype == np.float64  # no weight: any float


def test_a_numpy_array_given_to_a_layer_is_refused_by_name():
    with pytest.raises(TypeError, match=r"Linear: the input is a ndarray, not a Tensor; wrap it: model\(tl.Tensor"):
        nn.Linear(3, 2)(np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="Sequential: the input is a ndarray"):
        nn.Sequential(nn.Linear(3, 2))(np.ones((1, 3), np.float32))


# ---------------------------------------------------------------- clip bounds
def test_clip_with_tensor_bounds_matches_pytorch_clamp(device):
    x = leaf([-2.0, 0.5, 3.0, 1.0], device)
    lo = leaf([-1.0, -1.0, -1.0, 1.0], device)
    hi = leaf(2.0, device)
    out = x.clip(lo, hi)
    np.testing.assert_array_equal(out.numpy(), [-1.0, 0.5, 2.0, 1.0])
    (out * tl.Tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64, device=device)).sum().backward()
    # the gradient goes to whichever value was taken; x keeps it where lo <= x <= hi (ties included)
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 2.0, 0.0, 4.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(hi.grad.numpy(), 3.0)
    np.testing.assert_array_equal(x.clip(np.array([0.0, 0.0, 0.0, 2.0]), None).numpy(), [0.0, 0.5, 3.0, 2.0])


@pytest.mark.parametrize("bad", ["0.5", True, b"1"])
def test_clip_refuses_bounds_that_are_not_numbers(bad):
    with pytest.raises(TypeError, match="clip: lo must be a number, a tensor, an array or None"):
        tl.Tensor([1.0]).clip(bad)
