"""gradcheck checks every input: a wrong gradient planted in any one input is found and named."""
import re

import numpy as np
import pytest
from helpers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn

# four inputs of different shapes (all 2-D with both sides > 1, so that a transposed
# gradient is wrong for each of them): out = tanh(D A B C), of shape (2, 2)
SHAPES = [(2, 2), (2, 3), (3, 4), (4, 2)]


def _plant(kind, g):
    """``g`` made wrong the way a buggy backward would make it."""
    if kind == "scale":
        return 2.0 * g
    if kind == "sign":
        return -g
    if kind == "transposed":  # the right numbers in the wrong layout
        return np.ascontiguousarray(g.T).reshape(g.shape)
    if kind == "missing":
        return None
    raise AssertionError(kind)


class Chain(tl.Function):
    """tanh(D @ A @ B @ C) with a correct backward, except for input ``planted`` (if any)."""

    planted: tuple | None = None  # (input index, error kind)

    def forward(self, d, a, b, c):
        self.d, self.a, self.b, self.c = d, a, b, c
        self.out = np.tanh(d @ a @ b @ c)
        return self.out

    def backward(self, grad):
        d, a, b, c = self.d, self.a, self.b, self.c
        g = grad * (1 - self.out * self.out)
        grads = [g @ (a @ b @ c).T, d.T @ g @ (b @ c).T, (d @ a).T @ g @ c.T, (d @ a @ b).T @ g]
        if Chain.planted is not None:
            k, kind = Chain.planted
            grads[k] = _plant(kind, grads[k])
        return tuple(gx if need else None for gx, need in zip(grads, self.needs_input_grad))


@pytest.fixture
def planted():
    def plant(k, kind):
        Chain.planted = None if k is None else (k, kind)
    yield plant
    Chain.planted = None


def _inputs(requires=(True, True, True, True), seed=0):
    rng = np.random.default_rng(seed)
    return [tl.Tensor(rng.uniform(-1, 1, s), dtype=np.float64, requires_grad=r) for s, r in zip(SHAPES, requires)]


def _failing_input(exc_info) -> int:
    found = re.findall(r"\binput (\d+) \(shape", str(exc_info.value))
    assert len(found) == 1, str(exc_info.value)
    return int(found[0])


def test_correct_backward_passes(planted):
    planted(None, None)
    assert tl.gradcheck(Chain.apply, *_inputs()) is True


@pytest.mark.parametrize("kind", ["scale", "sign", "transposed", "missing"])
@pytest.mark.parametrize("k", range(len(SHAPES)))
def test_wrong_gradient_of_any_input_is_named(planted, k, kind):
    planted(k, kind)
    with pytest.raises(tl.GradcheckError) as exc_info:
        tl.gradcheck(Chain.apply, *_inputs())
    assert _failing_input(exc_info) == k
    assert exc_info.value.input == k
    assert f"(shape {SHAPES[k]})" in str(exc_info.value)
    assert exc_info.value.skipped == []
    # the other inputs' gradients are right: with input k left out, the check passes
    requires = [j != k for j in range(len(SHAPES))]
    assert tl.gradcheck(Chain.apply, *_inputs(requires)) is True


@pytest.mark.parametrize("k", range(len(SHAPES)))
def test_only_the_planted_input_fails_when_checked_alone(planted, k):
    planted(k, "scale")
    for j in range(len(SHAPES)):
        requires = [i == j for i in range(len(SHAPES))]
        if j == k:
            with pytest.raises(tl.GradcheckError) as exc_info:
                tl.gradcheck(Chain.apply, *_inputs(requires))
            assert _failing_input(exc_info) == k
        else:
            assert tl.gradcheck(Chain.apply, *_inputs(requires)) is True


def test_inputs_without_grad_are_named_as_not_checked(planted):
    planted(2, "sign")
    with pytest.raises(tl.GradcheckError) as exc_info:
        tl.gradcheck(Chain.apply, *_inputs((True, False, True, False)))
    message = str(exc_info.value)
    assert _failing_input(exc_info) == 2
    assert "inputs 1, 3 do not require grad: not checked" in message
    assert exc_info.value.skipped == [1, 3]
    with pytest.raises(tl.GradcheckError, match=r"input 0 does not require grad: not checked"):
        tl.gradcheck(Chain.apply, *_inputs((False, True, True, True)))
    # a planted error in an input that is not checked is (rightly) not reported
    assert tl.gradcheck(Chain.apply, *_inputs((True, True, False, True))) is True


def test_non_tensor_inputs_are_named_as_not_checked():
    x = tl.Tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)

    def bad(t, scale):
        return BadSquare.apply(t) * scale

    with pytest.raises(tl.GradcheckError, match=r"input 0 .*input 1 is not a Tensor: not checked"):
        tl.gradcheck(bad, x, 3.0)


def test_nothing_to_check_raises_value_error(planted):
    planted(0, "scale")
    with pytest.raises(ValueError, match="check nothing"):
        tl.gradcheck(Chain.apply, *_inputs((False, False, False, False)))
    with pytest.raises(ValueError, match="check nothing"):
        tl.gradcheck(lambda: tl.ones(2))


# ---------------------------------------------------------------- one wrong element
class OneWrongElement(tl.Function):
    """x * w for x, w of shape (4, 5); with ``wrong``, w's gradient is 1% too large at [2, 3]
    only: far outside that element's tolerance, but inside the tolerance of the average error."""

    def forward(self, x, w, wrong):
        self.x, self.w, self.wrong = x, w, wrong
        return x * w

    def backward(self, grad):
        gw = grad * self.x  # a new array: it may be changed before it is returned
        if self.wrong:
            gw[2, 3] *= 1.01
        return grad * self.w, gw


def test_a_gradient_wrong_at_one_element_of_a_larger_input_is_named_with_its_index():
    rng = np.random.default_rng(5)
    x, w = (tl.Tensor(rng.uniform(0.5, 1.5, (4, 5)), dtype=np.float64, requires_grad=True) for _ in range(2))
    assert tl.gradcheck(lambda a, b: OneWrongElement.apply(a, b, wrong=False), x, w)
    with pytest.raises(tl.GradcheckError) as exc_info:
        tl.gradcheck(lambda a, b: OneWrongElement.apply(a, b, wrong=True), x, w)
    assert exc_info.value.input == 1 and _failing_input(exc_info) == 1
    assert "input 1 (shape (4, 5)) at index (2, 3):" in str(exc_info.value)


# ---------------------------------------------------------------- a module's parameter
class BadSquare(tl.Function):
    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return grad * self.x  # should be 2x


class ScaleShift(tl.Function):
    """x * w + b (w, b of shape (C,)), with the weight's gradient wrong when ``bad_weight``."""

    bad_weight = False

    def forward(self, x, w, b):
        self.x, self.w = x, w
        return x * w + b

    def backward(self, grad):
        gx = grad * self.w
        gw = (grad * self.x).sum(axis=0)
        if ScaleShift.bad_weight:
            gw = gw * 0.5
        return gx, gw, grad.sum(axis=0)


class Affine(nn.Module):
    def __init__(self, c):
        super().__init__()
        rng = np.random.default_rng(3)
        self.weight = nn.Parameter(tl.Tensor(rng.uniform(0.5, 1.5, c), dtype=np.float64))
        self.bias = nn.Parameter(tl.Tensor(rng.uniform(-1, 1, c), dtype=np.float64))

    def forward(self, x):
        return ScaleShift.apply(x, self.weight, self.bias).tanh()


@pytest.fixture
def bad_weight():
    ScaleShift.bad_weight = True
    yield
    ScaleShift.bad_weight = False


def _x(requires_grad=True):
    return tl.Tensor(np.random.default_rng(4).uniform(-1, 1, (5, 3)), dtype=np.float64,
                     requires_grad=requires_grad)


def test_module_gradcheck_passes_for_a_correct_module():
    assert module_gradcheck(Affine(3), _x())


def test_wrong_parameter_gradient_is_reported_with_its_input_index(bad_weight):
    module = Affine(3)
    assert [n for n, _ in module.named_parameters()] == ["weight", "bias"]  # inputs 1 and 2
    with pytest.raises(tl.GradcheckError) as exc_info:
        module_gradcheck(module, _x())
    assert _failing_input(exc_info) == 1 and "(shape (3,))" in str(exc_info.value)
    # the input x itself need not require grad: it is named as not checked
    with pytest.raises(tl.GradcheckError) as exc_info:
        module_gradcheck(module, _x(requires_grad=False))
    assert _failing_input(exc_info) == 1
    assert "input 0 does not require grad: not checked" in str(exc_info.value)


# ---------------------------------------------------------------- on every device
def test_gradcheck_catches_a_wrong_gradient_on_every_device(device):
    x = tl.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, device=device)
    with pytest.raises(tl.GradcheckError, match=r"input 0 \(shape \(2, 2\)\)"):
        tl.gradcheck(BadSquare.apply, x)


def test_gradcheck_accepts_non_contiguous_inputs(device):
    a = np.arange(1.0, 7.0).reshape(2, 3).T  # a transposed (non C-contiguous) view
    x = tl.Tensor(a, requires_grad=True, device=device)
    y = tl.Tensor(a + 1.0, device=device)  # no grad: passed through unchanged
    assert tl.gradcheck(lambda p, q: (p * p * q).sum(), x, y)
    np.testing.assert_array_equal(x.numpy(), a)  # inputs are not modified
