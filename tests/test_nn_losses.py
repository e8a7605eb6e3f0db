"""Losses against plain-NumPy transcriptions and finite differences; label validation."""
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
REDUCTIONS = ["mean", "sum", "none"]


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


@st.composite
def scores_and_labels(draw, lo=-20.0, hi=20.0):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    s = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(lo, hi)))
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return s, y


def np_cross_entropy(s, y):
    """-log softmax(s)_y, as the lecture writes it, in float64 with the max shifted out."""
    z = s - s.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y)), y])


def np_hinge(s, y, margin=1.0):
    out = np.zeros(len(y))
    for i in range(len(y)):
        for j in range(s.shape[1]):
            if j != y[i]:
                out[i] += max(0.0, s[i, j] - s[i, y[i]] + margin)
    return out


# ---------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(data=scores_and_labels())
def test_cross_entropy_matches_numpy_and_gradcheck(device, reduction, data):
    s, y = data
    t = tl.Tensor(s, device=device, requires_grad=True)
    out = nn.CrossEntropyLoss(reduction)(t, tl.Tensor(y, device=device))
    np.testing.assert_allclose(out.numpy(), _reduce(np_cross_entropy(s, y), reduction), rtol=1e-9, atol=1e-12)
    assert tl.gradcheck(lambda a: F.cross_entropy(a, y, reduction), t)


def test_cross_entropy_gradient_is_softmax_minus_onehot(device):
    rng = np.random.default_rng(0)
    s, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    t = tl.Tensor(s, device=device, requires_grad=True)
    F.cross_entropy(t, y).backward()
    p = np.exp(s) / np.exp(s).sum(1, keepdims=True)
    np.testing.assert_allclose(t.grad.numpy(), (p - np.eye(3)[y]) / 4, rtol=1e-12)


def test_cross_entropy_equal_logits_is_ln_c(device):
    for c in (2, 10, 37):
        logits = tl.zeros(8, c, device=device) + 3.5
        loss = F.cross_entropy(logits, np.arange(8) % c)
        assert loss.dtype == np.float32
        assert abs(loss.item() - math.log(c)) < 1e-6
    assert round(F.cross_entropy(tl.zeros(1, 10, device=device), [3]).item(), 3) == 2.303  # lecture: 2.302...


def test_cross_entropy_is_stable_for_huge_logits(device):
    s = tl.Tensor([[1e3, 0.0, -1e3], [-1e3, -1e3, 1e3]], device=device, requires_grad=True)
    loss = F.cross_entropy(s, [1, 0], reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e3, 2e3], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(s.grad.numpy(), [[1, -1, 0], [-1, 0, 1]], atol=1e-6)
    assert s.grad.dtype == np.float32


# ---------------------------------------------------------------- hinge
@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(data=scores_and_labels(), margin=st.sampled_from([1.0, 0.5]))
def test_hinge_matches_the_lecture(device, reduction, data, margin):
    s, y = data
    t = tl.Tensor(s, device=device)
    out = nn.HingeLoss(margin, reduction)(t, y)
    np.testing.assert_allclose(out.numpy(), _reduce(np_hinge(s, y, margin), reduction), rtol=1e-12, atol=1e-12)


def test_hinge_equal_scores_is_c_minus_one(device):
    for c in (2, 10):
        assert nn.HingeLoss()(tl.full((6, c), 0.7, device=device), np.arange(6) % c).item() == c - 1


def test_hinge_gradcheck(device):
    # every margin s_j - s_y + 1 is at least 0.5 away from the kink at 0
    s = np.array([[0.0, 0.3, 2.1, -1.2], [1.5, -0.6, 0.9, 3.0], [0.6, 0.6 + 1.5, -3.0, 1.2]])
    t = tl.Tensor(s, device=device, requires_grad=True)
    y = np.array([1, 3, 0])
    assert tl.gradcheck(lambda a: F.hinge_loss(a, y), t)
    assert tl.gradcheck(lambda a: F.hinge_loss(a, y, reduction="none"), t)


# ---------------------------------------------------------------- MSE and BCE
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse(device, reduction):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    x = tl.Tensor(a, device=device, requires_grad=True)
    np.testing.assert_allclose(nn.MSELoss(reduction)(x, b).numpy(), _reduce((a - b) ** 2, reduction), rtol=1e-12)
    target = tl.Tensor(b, device=device, requires_grad=True)
    assert tl.gradcheck(lambda u, v: F.mse_loss(u, v, reduction), x, target)
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(x, np.zeros((4, 3)))


def np_bce(x, t):
    return np.logaddexp(0, x) - x * t  # = -[t log s(x) + (1 - t) log(1 - s(x))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(x=hnp.arrays(np.float64, (3, 2), elements=st.floats(-30, 30)),
       t=hnp.arrays(np.float64, (3, 2), elements=st.floats(0, 1)))
def test_bce_with_logits(device, reduction, x, t):
    xt = tl.Tensor(x, device=device, requires_grad=True)
    tt = tl.Tensor(t, device=device, requires_grad=True)
    out = nn.BCEWithLogitsLoss(reduction)(xt, tt)
    np.testing.assert_allclose(out.numpy(), _reduce(np_bce(x, t), reduction), rtol=1e-10, atol=1e-12)
    assert tl.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction), xt, tt)


def test_bce_stable_and_smooth_at_zero(device):
    x = tl.Tensor([-1e3, 0.0, 0.0, 1e3], device=device, requires_grad=True)
    t = [1.0, 1.0, 0.25, 0.0]
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [1e3, math.log(2), math.log(2), 1e3], rtol=1e-6)
    loss.sum().backward()
    # dL/dx = sigmoid(x) - t, also at x = 0 where max(x, 0) and |x| have kinks
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, -0.5, 0.25, 1.0], atol=1e-6)
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("loss", [F.cross_entropy, F.hinge_loss])
@pytest.mark.parametrize("labels, error, text", [
    ([0, 1, 3], ValueError, "label 3 is out of range for 3 classes"),
    ([0, -1, 2], ValueError, "label -1 is out of range"),
    ([[0], [1], [2]], ValueError, r"shape \(3,\)"),
    ([0, 1], ValueError, r"shape \(3,\)"),
    ([0.0, 1.0, 2.0], TypeError, "integer"),
    ([True, False, True], TypeError, "integer"),
])
def test_bad_labels_raise_naming_the_problem(device, loss, labels, error, text):
    s = tl.zeros(3, 3, device=device)
    with pytest.raises(error, match=text) as info:
        loss(s, labels)
    assert loss.__name__ in str(info.value)


def test_bad_scores_and_reduction():
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        F.cross_entropy(tl.zeros(3), [0, 1, 2])
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss("avg")
    with pytest.raises(ValueError, match="reduction"):
        F.hinge_loss(tl.zeros(2, 2), [0, 1], reduction="max")
