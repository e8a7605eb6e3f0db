"""In-place updates as PyTorch users write them, ``.data`` and ``set_``, and the check that
a backward pass never mixes values changed in place after its forward pass (the "in-place
writes" section of tinygrad_lite/tensor.py)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend, nn, optim


def leaf(values, device, dtype=np.float32):
    return tl.Tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------- the weight-update idioms
def test_manual_sgd_under_no_grad_updates_the_same_tensor(device):
    p = leaf([1.0, -2.0], device)
    (p * p).sum().backward()  # grad 2p
    before = p
    with tl.no_grad():
        p -= 0.25 * p.grad
    assert p is before and p.requires_grad and p.is_leaf
    np.testing.assert_allclose(p.numpy(), [0.5, -1.0])  # p - 0.25 * 2p


def test_every_in_place_method_against_numpy(device):
    x0 = np.array([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]], np.float32)
    y = np.array([2.0, -1.0, 0.5], np.float32)
    cases = [("add_", lambda t: t.add_(tl.Tensor(y, device=device)), x0 + y),
             ("add_ alpha", lambda t: t.add_(tl.Tensor(y, device=device), alpha=-3), x0 - 3 * y),
             ("sub_", lambda t: t.sub_(2.0), x0 - 2), ("mul_", lambda t: t.mul_(y), x0 * y),
             ("div_", lambda t: t.div_(4), x0 / 4), ("zero_", lambda t: t.zero_(), 0 * x0),
             ("fill_", lambda t: t.fill_(7.5), np.full_like(x0, 7.5)),
             ("copy_", lambda t: t.copy_(y.astype(np.float64)), np.broadcast_to(y, x0.shape)),
             ("clamp_", lambda t: t.clamp_(-1.5, 2.0), np.clip(x0, -1.5, 2.0))]
    for name, op, expected in cases:
        t = tl.Tensor(x0, device=device)
        array = t.data
        assert op(t) is t, name
        assert t.data is array and t.dtype == np.float32, name  # written into the same array
        np.testing.assert_allclose(t.numpy(), expected, rtol=1e-6, err_msg=name)


def test_augmented_operators_write_in_place(device):
    t = tl.Tensor([2.0, 4.0], device=device)
    array = t.data
    t += 1
    t *= 3
    t /= 2
    t -= tl.Tensor([0.5, 0.5], device=device)
    assert t.data is array
    np.testing.assert_allclose(t.numpy(), [4.0, 7.0])  # ((x + 1) * 3) / 2 - 0.5
    t %= 3  # PyTorch's remainder: the divisor's sign
    t //= tl.Tensor([-0.5, 0.5], device=device)
    assert t.data is array
    np.testing.assert_allclose(t.numpy(), [-2.0, 2.0])  # [1, 1] // [-0.5, 0.5]
    mask = tl.Tensor([True, True, False], device=device)
    bits = mask.data
    mask &= tl.Tensor([True, False, False], device=device)
    mask |= tl.Tensor([False, False, True], device=device)
    mask ^= True
    assert mask.data is bits and mask.tolist() == [False, True, False]


def test_a_leaf_that_requires_grad_is_refused_outside_no_grad(device):
    p = leaf([1.0], device)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*no_grad"):
        p -= 0.1
    with pytest.raises(RuntimeError, match="add_: a leaf tensor"):
        p.add_(1.0)
    np.testing.assert_allclose(p.numpy(), [1.0])


def test_in_place_ops_are_not_recorded_in_a_graph(device):
    w = leaf([1.0, 2.0], device)
    h = w * 2  # a non-leaf in the graph
    with pytest.raises(RuntimeError, match="not recorded in the graph"):
        h += 1
    buf = tl.Tensor([0.0, 0.0], device=device)
    with pytest.raises(RuntimeError, match="not recorded in the graph"):
        buf.add_(w)  # an operand that requires grad
    buf.add_(w.detach())  # fine: nothing to record
    np.testing.assert_allclose(buf.numpy(), [1.0, 2.0])


def test_in_place_refuses_a_result_it_cannot_hold(device):
    t = tl.Tensor([1, 2], device=device)  # int64
    with pytest.raises(TypeError, match="dtype float32 cannot be written into a tensor of dtype int64"):
        t *= 0.5  # PyTorch refuses it too
    with pytest.raises(ValueError, match=r"add_: cannot write a value of shape \(2, 2\) into a tensor of shape \(2,\)"):
        t.add_(tl.Tensor([[1, 2], [3, 4]], device=device))
    t += 3  # int into int is fine
    np.testing.assert_array_equal(t.numpy(), [4, 5])


def test_inplace_changes_are_seen_by_views(device):
    # detach shares the array, as in PyTorch: a write through it reaches the original
    p = leaf([1.0, 2.0], device)
    p.detach().mul_(10)
    np.testing.assert_allclose(p.numpy(), [10.0, 20.0])


# ---------------------------------------------------------------- the version check
def test_backward_after_an_in_place_change_of_a_saved_input_raises(device):
    w, x = leaf([1.0, 2.0], device), tl.Tensor([3.0, 4.0], device=device)
    loss = (w * x).sum()  # Mul saves w and x
    with tl.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="Mul.backward.*modified by an inplace operation"):
        loss.backward()


def test_weights_changed_by_an_optimizer_between_two_backward_calls(device):
    """The case that used to mix old and new weights silently."""
    model = nn.Linear(3, 2)
    model.to(device)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = tl.Tensor(np.ones((4, 3), np.float32), device=device)
    h = model(x).tanh()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_output_changed_in_place_is_caught(device):
    x = leaf([0.5, 1.0], device)
    y = x.exp()  # Exp saves its output
    with tl.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match="Exp.backward"):
        y.sum().backward()


# Functions whose backward reads their own output (saved in forward), not only their inputs
OUTPUT_SAVING = [("Exp", lambda t: t.exp()), ("Sigmoid", lambda t: t.sigmoid()), ("Tanh", lambda t: t.tanh()),
                 ("Sqrt", lambda t: t.sqrt()), ("Expm1", lambda t: t.expm1()), ("Tan", lambda t: t.tan()),
                 ("Max", lambda t: t.max()), ("Norm2", lambda t: t.norm())]


@pytest.mark.parametrize("name, fn", OUTPUT_SAVING, ids=[name for name, _ in OUTPUT_SAVING])
def test_a_write_into_an_output_that_backward_reads_is_caught(device, name, fn):
    x = leaf([0.5, 1.0, 0.25], device)
    y = fn(x)  # its inputs are never written: only the check of the output can see the change
    with tl.no_grad():
        y.mul_(3.0)
    with pytest.raises(RuntimeError, match=rf"^{name}\.backward: one of the tensors it saved .* was modified by "
                                           "an inplace operation"):
        y.sum().backward()
    assert x.grad is None


def test_a_change_through_a_view_is_caught(device):
    w = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    x = tl.Tensor([1.0, -1.0], device=device)
    wt = w.T  # a view of w's array
    loss = (wt * x).sum()
    with tl.no_grad():
        w -= 1.0  # writes w's array, which wt's array is a view of
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_changes_that_no_backward_needs_are_allowed(device):
    # Add saves nothing: PyTorch allows this, and the gradient is still exact
    a, b = leaf([1.0, 2.0], device), leaf([3.0, 4.0], device)
    loss = (a + b).sum()
    with tl.no_grad():
        a.mul_(5)
    loss.backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])
    # a change before the forward pass is not a change after it
    w = leaf([2.0], device)
    with tl.no_grad():
        w += 1
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [6.0])
    # and a train loop (backward, then step, then a new forward) never trips it
    model = nn.Linear(2, 1)
    model.to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = tl.Tensor(np.ones((3, 2), np.float32), device=device)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()


def test_numpy_in_place_write_into_a_tensors_array_is_caught(device):
    # the micrograd idiom writes into the array with NumPy: arr -= tensor
    w, x = leaf([1.0, 2.0], device), tl.Tensor([3.0, 4.0], device=device)
    loss = (w * x).sum()
    loss.backward(retain_graph=True)
    w.data -= 0.5 * w.grad  # x = [3, 4] -> w = [-0.5, 0]
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.0])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


# ---------------------------------------------------------------- .data and set_
def test_data_assignment_accepts_a_matching_array_or_tensor(device):
    p = leaf([1.0, 2.0], device)
    (p * p).sum().backward()
    p.data = p.data - 0.25 * p.grad  # array - Tensor is a Tensor: its array is taken
    assert backend.device_of(p.data) == device and p.dtype == np.float32
    np.testing.assert_allclose(p.numpy(), [0.5, 1.0])
    p.data = p.data * 2  # an array
    np.testing.assert_allclose(p.numpy(), [1.0, 2.0])
    s = tl.Tensor(3.0, device=device)  # 0-d: NumPy arithmetic gives a scalar, not an array
    s.data = s.data * 2
    assert float(s) == 6.0 and s.shape == ()


@pytest.mark.parametrize("bad", ["list", "shape", "dtype", "device"])
def test_data_assignment_refuses_anything_else_and_says_what_to_write(bad):
    p = leaf([1.0, 2.0], "cpu")
    value = {"list": [1.0, 2.0], "shape": np.zeros(3, np.float32), "dtype": np.zeros(2),
             "device": backend.to_device(np.zeros(2, np.float32), "strict")}[bad]
    with pytest.raises(TypeError, match=r"Tensor.data: .*p -= lr \* p.grad.*set_"):
        p.data = value
    np.testing.assert_allclose(p.numpy(), [1.0, 2.0])


@pytest.mark.parametrize("shape", [(3,), (1, 2), (2, 1), (), (0,)])
def test_data_assignment_of_another_shape_is_refused_and_changes_nothing(device, shape):
    p = leaf([1.0, 2.0], device)
    array = p.data
    value = backend.to_device(np.full(shape, 5.0, np.float32), device)  # right device and dtype
    with pytest.raises(TypeError, match=rf"Tensor.data: got a '{device}' array of shape {re.escape(str(shape))} "
                                        rf"and dtype float32; assign an array on '{device}' of shape \(2,\)"):
        p.data = value
    assert p.data is array and p.shape == (2,)
    np.testing.assert_array_equal(p.numpy(), [1.0, 2.0])


def test_set_changes_shape_dtype_and_device():
    p = leaf([1.0, 2.0], "cpu")
    p.set_(backend.to_device(np.zeros((2, 3)), "strict"))
    assert p.device == "strict" and p.shape == (2, 3) and p.dtype == np.float64
    with pytest.raises(TypeError, match="set_: expected a NumPy or CuPy array"):
        p.set_([1.0])
    with pytest.raises(TypeError, match="needs a float array"):
        p.set_(np.zeros(2, np.int64))


# ---------------------------------------------------------------- t[index] = value
def test_setitem_writes_as_numpy_and_pytorch_do(device):
    base = np.arange(12.0).reshape(3, 4)
    cases = [(1, 7.0), ((0, 2), -1.0), ((slice(None), 1), [10.0, 11.0, 12.0]), ((Ellipsis, -1), 0.5),
             (np.array([True, False, True]), 3.0), ((np.array([0, 2]), np.array([1, 3])), [8.0, 9.0]),
             ((slice(1, None), slice(None, 2)), np.array([[1.0], [2.0]]))]
    for index, value in cases:
        expected = base.copy()
        expected[index] = value
        t = tl.tensor(base, device=device)
        array = t.data
        t[index] = value
        assert t.data is array, index  # written into the tensor's own array
        np.testing.assert_array_equal(t.numpy(), expected, err_msg=str(index))
    t = tl.tensor(base, device=device)  # tensors as index and value, on the tensor's device
    t[tl.tensor([True, False, True], device=device)] = tl.tensor([-1.0, -2.0, -3.0, -4.0], device=device)
    t[tl.tensor(1, device=device), tl.tensor([0, 3], device=device)] = tl.tensor(0.0, device=device)
    np.testing.assert_array_equal(t.numpy(), [[-1, -2, -3, -4], [0, 5, 6, 0], [-1, -2, -3, -4]])


def test_setitem_casts_to_the_tensors_dtype_as_pytorch(device):
    t = tl.zeros(3, dtype=tl.long, device=device)
    t[0] = 2.7  # torch: tensor([2, 0, 0])
    t[1] = tl.tensor(3.9, device=device)
    t[2] = True
    assert t.dtype == np.int64 and t.tolist() == [2, 3, 1]
    f = tl.zeros(2, device=device)
    f[0] = np.float64(1.0) / 3
    assert f.dtype == np.float32 and f.numpy()[0] == np.float32(1 / 3)
    other = "strict" if device != "strict" else "cpu"
    f[:] = tl.tensor([4.0, 5.0], device=other)  # from another device, as copy_
    assert f.tolist() == [4.0, 5.0]


def test_setitem_follows_the_in_place_rules(device):
    w = leaf([1.0, 2.0, 3.0], device)
    with pytest.raises(RuntimeError, match="__setitem__: a leaf tensor that requires grad.*no_grad"):
        w[0] = 0.0
    with tl.no_grad():
        w[0] = 0.0  # allowed there, as in PyTorch
    assert w.tolist() == [0.0, 2.0, 3.0] and w.requires_grad and w.is_leaf
    h = w * 2
    with pytest.raises(RuntimeError, match="__setitem__: in-place operations are not recorded"):
        h[0] = 1.0
    buf = tl.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="__setitem__: in-place operations are not recorded"):
        buf[0] = w[0]  # a value that requires grad
    buf[0] = w[0].detach()
    assert buf.tolist() == [0.0, 0.0, 0.0]
    x = tl.tensor([1.0, 2.0], device=device)
    y = (w[:2] * x).sum()  # Mul saved x
    x[0] = 10.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    with pytest.raises(ValueError, match="__setitem__: cannot write a value of shape \\(3,\\)"):
        tl.zeros(2, 2, device=device)[0] = tl.zeros(3, device=device)
