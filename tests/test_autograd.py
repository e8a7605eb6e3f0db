"""The backward pass: accumulation, graph shapes, freeing, no_grad, detach, Function API, ties."""
from __future__ import annotations

import gc
import weakref
from typing import ClassVar

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.autograd import engine


def leaf(values, device, dtype=np.float64):
    return tl.Tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=True)


# ---------------------------------------------------------------- accumulation and graph shapes
def test_two_backward_calls_double_the_gradient(device):
    x = leaf([1.0, -2.0, 3.0], device)
    for _ in range(2):
        (x * x).sum().backward()  # a fresh graph each time; d/dx = 2x
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.array([1.0, -2.0, 3.0]))


def test_diamond_counts_each_path_once(device):
    x = leaf([0.5, 2.0], device)
    a, b = x * 2.0, x * 3.0
    y = (a * b + a).sum()  # 6x^2 + 2x -> 12x + 2
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 12 * np.array([0.5, 2.0]) + 2)


def test_same_tensor_twice_in_one_op(device):
    x = leaf([1.0, 2.0], device)
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    x.zero_grad()
    (x * x * x).sum().backward()  # 3x^2
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])


def test_repeated_indices_accumulate(device):
    x = leaf([10.0, 20.0, 30.0, 40.0], device)
    w = tl.Tensor([1.0, 2.0, 4.0, 8.0, 16.0], dtype=np.float64, device=device)
    (x[[0, 2, 0, 0, 3]] * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 + 4 + 8, 0, 2, 16])


def test_repeated_rows_of_a_matrix_accumulate(device):
    table = leaf(np.arange(6.0).reshape(3, 2), device)
    idx = tl.Tensor([[2, 2], [0, 2]], device=device)  # an int64 index tensor
    table[idx].sum().backward()
    np.testing.assert_allclose(table.grad.numpy(), [[1, 1], [0, 0], [3, 3]])


def test_only_leaves_get_grad(device):
    x = leaf([1.0, 2.0], device)
    h = x * 3.0
    h.sum().backward()
    assert h.grad is None and not h.is_leaf and x.is_leaf
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_leaf_backward_with_explicit_grad(device):
    x = leaf([1.0, 2.0], device)
    x.backward(tl.Tensor([3.0, 4.0], dtype=np.float64, device=device))
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


# ---------------------------------------------------------------- no_grad and detach
def test_no_grad_context_manager_builds_nothing(device):
    x = leaf([1.0, 2.0], device)
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = (x * 2.0).exp().sum()
    assert tl.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_no_grad_decorator_and_restore_after_error(device):
    x = leaf([1.0, 2.0], device)

    @tl.no_grad()
    def step():
        return x * x

    assert not step().requires_grad and tl.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), tl.no_grad():
        raise ZeroDivisionError
    assert tl.is_grad_enabled() and (x * x).requires_grad


def test_enable_grad_records_again_inside_no_grad(device):
    x = leaf([1.0, 2.0], device)
    with tl.no_grad():
        with tl.enable_grad():
            assert tl.is_grad_enabled()
            y = (x * x).sum()
        assert not tl.is_grad_enabled() and not (x * x).requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])

    @tl.enable_grad()
    def recorded():
        return x * 3

    @tl.enable_grad  # PyTorch's decorators work without parentheses too
    def also_recorded():
        return x * 3

    with tl.no_grad():
        assert recorded().requires_grad and also_recorded().requires_grad and not tl.is_grad_enabled()
    with pytest.raises(ZeroDivisionError), tl.no_grad(), tl.enable_grad():
        raise ZeroDivisionError
    assert tl.is_grad_enabled()


def test_inference_mode_and_no_grad_forms(device):
    x = leaf([1.0, 2.0], device)

    @tl.no_grad
    def bare():
        return x * x

    @tl.inference_mode()
    def inferred():
        return x * x

    @tl.inference_mode
    def inferred_bare():
        return x * x

    assert not any(f().requires_grad for f in (bare, inferred, inferred_bare)) and tl.is_grad_enabled()
    assert bare.__name__ == "bare"
    with tl.inference_mode():
        assert not tl.is_grad_enabled() and not (x * x).requires_grad
    with tl.inference_mode(False):  # leaves the setting as it is
        assert tl.is_grad_enabled()
    with tl.no_grad(), tl.inference_mode(False):
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()
    with pytest.raises(TypeError, match="inference_mode: mode must be True or False"):
        tl.inference_mode("yes")

    @tl.no_grad()
    def countdown(n):  # calls itself through the decorator: each call restores what it found
        return countdown(n - 1) if n else tl.is_grad_enabled()

    assert countdown(3) is False and tl.is_grad_enabled()


def test_detach_cuts_the_graph(device):
    x = leaf([1.0, -3.0], device)
    d = x.detach()
    assert not d.requires_grad and d.grad is None and d.is_leaf
    x.data[0] = 7.0  # the same storage on every device: an in-place write shows through d
    np.testing.assert_array_equal(d.numpy(), [7.0, -3.0])
    x.data[0] = 1.0
    (x * x.detach()).sum().backward()  # the detached factor is a constant: d/dx = x
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -3.0])


# ---------------------------------------------------------------- deep graphs and freeing
def test_chain_of_10000_ops_backward(device):
    x = leaf([1.0, 2.0], device)
    y = x
    for _ in range(5000):
        y = (y * 1.0001) + 0.5  # 10,000 nodes: backward must not recurse
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**5000] * 2, rtol=1e-9)


def test_dropping_a_deep_unused_graph_is_fine(device):
    y = leaf([1.0], device)
    first = weakref.ref(y)
    for _ in range(10000):
        y = y + 1.0
    np.testing.assert_array_equal(y.numpy(), [10001.0])
    middle, last = first(), weakref.ref(y)
    assert middle is not None and middle.requires_grad  # the chain holds the leaf alive
    del middle
    gc.disable()  # reference counting alone must release the whole chain
    try:
        del y  # releasing a long chain must not overflow the C stack
        assert last() is None and first() is None
    finally:
        gc.enable()


def test_graph_is_freed_after_backward(device):
    x = leaf([1.0, 2.0, 3.0], device)
    gc.disable()  # prove reference counting alone releases the graph (no cycles)
    try:
        h = x.exp()
        ref = weakref.ref(h)
        loss = (h * h).sum()
        del h
        assert ref() is not None  # still held by the graph
        loss.backward()
        assert ref() is None
    finally:
        gc.enable()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


@pytest.mark.parametrize("x_first", [True, False])
def test_second_backward_fails_before_touching_gradients(device, x_first):
    x = leaf([1.0, 2.0], device)
    h = x * 2.0
    (h * 3.0).sum().backward()
    before = x.grad.numpy().copy()
    terms = [x.sum(), (h * 5.0).sum()]  # the second reaches the freed node h
    with pytest.raises(RuntimeError, match="already freed"):
        (terms[0] + terms[1] if x_first else terms[1] + terms[0]).backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)


def test_retain_graph_allows_a_second_backward(device):
    x = leaf([1.0, 2.0], device)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


# ---------------------------------------------------------------- backward errors
def test_non_scalar_backward_needs_grad(device):
    y = leaf(np.ones((2, 3)), device) * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_grad_of_wrong_shape_raises(device):
    y = leaf(np.ones((2, 3)), device) * 2.0
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(tl.Tensor(np.ones((3, 2)), device=device))


# ---------------------------------------------------------------- the Function API
class Spy(tl.Function):
    """x * y that records which gradients the engine asked for."""

    calls: ClassVar[list] = []

    def forward(self, x, y, scale=1.0):
        self.x, self.y, self.scale = x, y, scale
        return x * y * scale

    def backward(self, grad):
        Spy.calls.append(self.needs_input_grad)
        gx = grad * self.y * self.scale if self.needs_input_grad[0] else None
        gy = grad * self.x * self.scale if self.needs_input_grad[1] else None
        return gx, gy  # broadcast shapes: the engine reduces them


def test_needs_input_grad_skips_unneeded_gradients(device):
    Spy.calls = []
    x = leaf([[1.0, 2.0]], device)
    c = tl.Tensor([[3.0], [4.0]], dtype=np.float64, device=device)
    Spy.apply(x, c, scale=2.0).sum().backward()
    assert Spy.calls == [(True, False)] and c.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [[14.0, 14.0]])  # summed from the (2, 2) broadcast
    out = Spy.apply(c, c)
    assert not out.requires_grad and out._ctx is None  # no input needs grad: no graph


def test_gradient_dtype_follows_the_input(device):
    x = leaf([1.0, 2.0], device, dtype=np.float32)
    y = x.double() * tl.Tensor([1.0, 3.0], dtype=np.float64, device=device)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 3.0])


def test_backward_uses_forward_values_after_data_is_replaced(device):
    x = tl.Tensor([1.0, 2.0, 3.0], dtype=np.float64, device=device)
    w = leaf(np.ones((3, 2)), device)
    out = x @ w  # 1-D @ 2-D
    w.data = w.data * 2  # an optimizer may rebind .data between forward and backward
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.outer([1.0, 2.0, 3.0], [1.0, 1.0]))


# ---------------------------------------------------------------- non-smooth points (documented rule)
def test_max_ties_share_the_gradient(device):
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], device)
    x.amax(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3] * 3])
    y = leaf([1.0, 3.0, 3.0], device)
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 0, 0])
    z = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], device)
    (z.max() + 10 * z[1].min() + 100 * z[0].amin()).backward()  # without a dim: shared, as PyTorch's
    np.testing.assert_allclose(z.grad.numpy(), [[100, 0.5, 0.5], [0, 0, 10]])
    w = leaf([2.0, 5.0, 2.0], device)
    w.min().backward()
    np.testing.assert_allclose(w.grad.numpy(), [0.5, 0, 0.5])


def test_max_and_min_along_a_dim_send_the_gradient_to_the_returned_index(device):
    """PyTorch's max(dim)/min(dim): the first index on ties, and only it receives the gradient."""
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 0.0, 5.0]], device)
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0, 2] and values.tolist() == [3, 2, 5]
    low = x.min(dim=1)
    assert low.indices.tolist() == [0, 0, 0] and low.values.tolist() == [1, 2, 0]
    (values * leaf([1.0, 10.0, 100.0], device) + low.values).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 1, 0], [11, 0, 0], [1, 0, 100]])


def test_maximum_minimum_ties_split_equally(device):
    x, y = leaf([1.0, 2.0], device), leaf([1.0, 0.0], device)
    (x.maximum(y) + x.minimum(y) * 10.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5 + 5.0, 1.0])
    np.testing.assert_allclose(y.grad.numpy(), [0.5 + 5.0, 10.0])


def test_kinks_at_zero_and_clip_bounds(device):
    x = leaf([0.0, 0.0, 0.0, 0.0], device)
    (x.relu() + x.abs() + x.leaky_relu(0.1) + x.elu(0.5)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.1 + 0.5] * 4)  # the negative side's slopes
    z = leaf([-1.0, 0.0, 1.0], device)
    z.clip(-1.0, 1.0).sum().backward()  # the bounds themselves pass the gradient
    np.testing.assert_allclose(z.grad.numpy(), [1.0, 1.0, 1.0])


# ---------------------------------------------------------------- retain_grad (PyTorch's)
def test_retain_grad_keeps_a_non_leaf_gradient(device):
    x = tl.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    w = tl.tensor([3.0, 1.0, -2.0], device=device)
    h = x.tanh()
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * w).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), w.numpy())  # d(sum h w)/dh = w
    np.testing.assert_allclose(x.grad.numpy(), w.numpy() * (1 - np.tanh(x.numpy()) ** 2), rtol=1e-6)
    assert h.grad.device == device


def test_retained_gradients_add_up_over_backward_passes_and_are_their_own():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    h = x + 0.0  # Add hands its gradient on unchanged: h.grad must not be x.grad's memory
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * 2 * np.array([1.0, 2.0]))
    h.grad.data[0] = 100.0
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_a_retained_gradient_of_a_scalar_is_an_array(device):
    x = tl.tensor([1.0, 2.0], device=device, requires_grad=True)
    s = x.sum()
    s.retain_grad()
    (s * 3.0).backward()  # NumPy computes 0-d products as scalars
    assert s.grad.shape == () and s.grad.item() == 3.0
    s.grad.data += 1.0  # its own writable array
    assert s.grad.item() == 4.0 and s.grad.device == device


def test_retain_grad_on_a_leaf_does_nothing_and_needs_requires_grad():
    x = tl.tensor([1.0], requires_grad=True)
    x.retain_grad()
    assert not x.retains_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.tensor([1.0]).retain_grad()


def test_retain_grad_forgets_a_collected_tensor():
    x = tl.tensor([1.0], requires_grad=True)
    before = len(engine._retaining)
    h = x * 2
    h.retain_grad()
    assert len(engine._retaining) == before + 1
    del h
    gc.collect()
    assert len(engine._retaining) == before


def test_retained_gradient_has_a_graph_with_create_graph():
    x = tl.tensor([1.5], dtype=tl.float64, requires_grad=True)
    h = x * x
    h.retain_grad()
    (h * h).sum().backward(create_graph=True)  # dL/dh = 2h = 2x^2, whose d/dx is 4x
    assert h.grad.requires_grad
    (gx,) = tl.autograd.grad(h.grad.sum(), x)
    np.testing.assert_allclose(gx.numpy(), [6.0])
