"""The losses (modules and functional forms) against plain-NumPy transcriptions of the lecture's
and PyTorch's documented formulas and float64 finite differences: cross-entropy, hinge, MSE,
BCE with logits, L1, SmoothL1, Huber and BCE; label validation and bad input. Cross-entropy's
and NLL's PyTorch options: tests/test_nn_cross_entropy.py.
"""
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


def np_bce_with_logits(x, t):
    return np.logaddexp(0, x) - x * t  # = -[t log s(x) + (1 - t) log(1 - s(x))]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(x=hnp.arrays(np.float64, (3, 2), elements=st.floats(-30, 30)),
       t=hnp.arrays(np.float64, (3, 2), elements=st.floats(0, 1)))
def test_bce_with_logits(device, reduction, x, t):
    xt = tl.Tensor(x, device=device, requires_grad=True)
    tt = tl.Tensor(t, device=device, requires_grad=True)
    out = nn.BCEWithLogitsLoss(reduction)(xt, tt)
    np.testing.assert_allclose(out.numpy(), _reduce(np_bce_with_logits(x, t), reduction), rtol=1e-10, atol=1e-12)
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


# ---------------------------------------------------------------- L1, SmoothL1, Huber and BCE (PyTorch's)
def np_smooth_l1(d, beta):
    return np.where(np.abs(d) < beta, 0.5 * d * d / beta, np.abs(d) - 0.5 * beta) if beta else np.abs(d)


def np_huber(d, delta):
    return np.where(np.abs(d) < delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))


def np_bce(x, t, w=1.0):
    """PyTorch's BCELoss: -w [t log x + (1 - t) log(1 - x)], each log clamped at -100 (log(1 - x)
    as log1p(-x), as PyTorch computes it)."""
    with np.errstate(divide="ignore"):
        return -w * (t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))


pairs = st.integers(1, 4).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, (n, 3), elements=st.floats(-5, 5)),
    hnp.arrays(np.float64, (n, 3), elements=st.floats(-5, 5))))


def away_from_kinks(shape, kinks, seed=0):
    """(x, target) whose differences stay 0.05 away from the points where a loss changes formula,
    so that central differences see one smooth piece."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=shape)
    d = rng.uniform(-3, 3, size=shape)
    for k in kinks:
        d = np.where(np.abs(np.abs(d) - k) < 0.05, d + 0.1 * np.sign(d + 1e-9), d)
    return t + d, t


# ---------------------------------------------------------------- regression losses
@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(data=pairs, beta=st.sampled_from([0.0, 0.5, 1.0, 2.5]))
def test_regression_losses_match_the_formulas(device, reduction, data, beta):
    a, b = data
    x = tl.Tensor(a, device=device)
    d = a - b
    np.testing.assert_allclose(nn.L1Loss(reduction)(x, b).numpy(), _reduce(np.abs(d), reduction), rtol=1e-12)
    np.testing.assert_allclose(nn.SmoothL1Loss(reduction, beta=beta)(x, b).numpy(),
                               _reduce(np_smooth_l1(d, beta), reduction), rtol=1e-12, atol=1e-15)
    delta = beta or 1.0
    np.testing.assert_allclose(nn.HuberLoss(reduction, delta=delta)(x, tl.Tensor(b, device=device)).numpy(),
                               _reduce(np_huber(d, delta), reduction), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss, kinks", [
    (lambda a, b: F.l1_loss(a, b), [0.0]),
    (lambda a, b: F.smooth_l1_loss(a, b, beta=0.7), [0.0, 0.7]),
    (lambda a, b: F.smooth_l1_loss(a, b, "none", beta=0.0), [0.0]),
    (lambda a, b: F.huber_loss(a, b, "sum", delta=1.3), [0.0, 1.3]),
])
def test_regression_losses_gradcheck(device, loss, kinks):
    x, t = away_from_kinks((3, 4), kinks)
    assert tl.gradcheck(loss, tl.Tensor(x, device=device, requires_grad=True),
                        tl.Tensor(t, device=device, requires_grad=True))


def test_huber_is_delta_times_smooth_l1_and_the_gradients_are_bounded(device):
    x, t = away_from_kinks((5, 2), [0.0, 2.0], seed=1)
    x = tl.Tensor(x, device=device, requires_grad=True)
    h = F.huber_loss(x, t, "none", delta=2.0)
    s = F.smooth_l1_loss(x, t, "none", beta=2.0)
    np.testing.assert_allclose(h.numpy(), 2.0 * s.numpy(), rtol=1e-12)
    # the point of both: linear beyond delta, so an outlier's gradient is at most delta
    big = tl.Tensor([1e6, -1e6, 0.5], device=device, requires_grad=True)
    F.huber_loss(big, [0.0, 0.0, 0.0], "sum", delta=2.0).backward()
    np.testing.assert_allclose(big.grad.numpy(), [2.0, -2.0, 0.5])
    l1 = tl.Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    F.l1_loss(l1, [1.0, 0.0, 5.0], "sum").backward()
    np.testing.assert_allclose(l1.grad.numpy(), [0.0, 1.0, -1.0])  # sign(0) = 0, as PyTorch


# ---------------------------------------------------------------- BCELoss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(data=st.integers(1, 4).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, (n, 2), elements=st.floats(0, 1)),
    hnp.arrays(np.float64, (n, 2), elements=st.floats(0, 1)))))
def test_bce_matches_the_formula(device, reduction, data):
    x, t = data
    w = np.array([0.5, 2.0])  # broadcast over the rows: one weight per column
    got = nn.BCELoss(tl.Tensor(w, dtype="float64"), reduction=reduction)(tl.Tensor(x, device=device), t)
    np.testing.assert_allclose(got.numpy(), _reduce(np_bce(x, t, w), reduction), rtol=1e-12, atol=1e-300)
    assert np.isfinite(got.numpy()).all()  # the clamp keeps x = 0 and x = 1 finite


def test_bce_gradcheck_in_both_arguments(device):
    rng = np.random.default_rng(2)
    x = tl.Tensor(rng.uniform(0.05, 0.95, (3, 4)), device=device, requires_grad=True)
    t = tl.Tensor(rng.uniform(0, 1, (3, 4)), device=device, requires_grad=True)
    w = rng.uniform(0.5, 2.0, (3, 1))
    assert tl.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w), x, t)
    assert tl.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), x, t)


def test_bce_at_the_boundaries_is_clamped_like_pytorch(device):
    x = tl.Tensor([0.0, 1.0, 0.0, 1.0], device=device, requires_grad=True)
    loss = F.binary_cross_entropy(x, [1.0, 0.0, 0.0, 1.0], reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, 0.0, 0.0])
    loss.sum().backward()
    # (x - t) / max(x (1 - x), 1e-12): huge but finite where wrong, 0 where right
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12, 0.0, 0.0])


def test_bce_of_sigmoid_equals_bce_with_logits(device):
    z = np.linspace(-6, 6, 9)
    t = np.linspace(0, 1, 9)
    zt = tl.Tensor(z, device=device)
    a = F.binary_cross_entropy(zt.sigmoid(), t)
    b = F.binary_cross_entropy_with_logits(zt, t)
    assert a.item() == pytest.approx(b.item(), rel=1e-9)
    assert "BCELoss(weight=<(2,)>, reduction='sum')" == repr(nn.BCELoss(tl.ones(2), reduction="sum"))


def test_float32_stays_float32(device):
    x = tl.Tensor([[0.2, 0.7]], device=device, requires_grad=True)
    for loss in (nn.L1Loss(), nn.SmoothL1Loss(), nn.HuberLoss(), nn.BCELoss()):
        out = loss(x, [[0.0, 1.0]])
        out.backward()
        assert out.dtype == np.float32 and x.grad.dtype == np.float32, loss
        x.grad = None


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, text", [
    (lambda: F.l1_loss(tl.zeros(2, 3), np.zeros((3, 2))), ValueError, r"l1_loss: target shape \(3, 2\) differs"),
    (lambda: F.smooth_l1_loss(tl.zeros(2), [0.0, 0.0], beta=-1.0), ValueError, "smooth_l1_loss: beta"),
    (lambda: F.huber_loss(tl.zeros(2), [0.0, 0.0], delta=0.0), ValueError, "huber_loss: delta"),
    (lambda: F.huber_loss(tl.zeros(2), [0.0, 0.0], reduction="avg"), ValueError, "reduction"),
    (lambda: F.l1_loss(np.zeros(2), [0.0, 0.0]), TypeError, "must be a Tensor"),
    (lambda: nn.SmoothL1Loss(beta="1"), TypeError, "SmoothL1Loss: beta"),
    (lambda: nn.HuberLoss(delta=math.inf), ValueError, "HuberLoss: delta"),
    (lambda: nn.L1Loss(size_average=True), TypeError, "size_average"),
    (lambda: F.binary_cross_entropy(tl.Tensor([0.5, 1.5]), [0.0, 1.0]), ValueError,
     r"input values must be probabilities in \[0, 1\] \(apply sigmoid first"),
    (lambda: F.binary_cross_entropy(tl.Tensor([0.5, math.nan]), [0.0, 1.0]), ValueError, "probabilities"),
    (lambda: F.binary_cross_entropy(tl.Tensor([0.5, 0.5]), [0.0, 2.0]), ValueError, "target values must be"),
    (lambda: F.binary_cross_entropy(tl.Tensor([0.5, 0.5]), [0.0, 1.0], [1.0, 2.0, 3.0]), ValueError,
     r"weight of shape \(3,\) does not broadcast"),
    (lambda: nn.BCELoss(object()), TypeError, "BCELoss: weight"),
    (lambda: nn.BCELoss(pos_weight=1.0), TypeError, "pos_weight"),
])
def test_bad_input_names_the_problem(call, error, text):
    with pytest.raises(error, match=text):
        call()
