"""CrossEntropyLoss with PyTorch's options (weight, ignore_index, label_smoothing, probability
targets, (C,) and (N, C, d1, ...) inputs) and NLLLoss, against loop-by-loop NumPy
transcriptions of PyTorch's documented formulas and float64 finite differences."""
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import nn

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
REDUCTIONS = ["mean", "sum", "none"]


# ---------------------------------------------------------------- references (plain NumPy, per element)
def np_log_softmax(v):
    """log softmax of one vector of class scores, max-shifted."""
    z = v - v.max()
    return z - math.log(np.exp(z).sum())


def rows_of(x, y):
    """(N, C, d1, ...) scores and (N, d1, ...) labels as a list of (scores of C classes, label) and
    the per-element shape; (C,) with a scalar label is one row."""
    if x.ndim == 1:
        return [(x, int(y))], ()
    out = [(x[(n, slice(None)) + idx], int(y[(n,) + idx]))
           for n in range(x.shape[0]) for idx in np.ndindex(*x.shape[2:])]
    return out, (x.shape[0],) + x.shape[2:]


def np_cross_entropy(x, y, w=None, ignore_index=-100, reduction="mean", eps=0.0, log_probs=False):
    """PyTorch's CrossEntropyLoss (NLLLoss with ``log_probs``) for class-index targets:
    l_n = (1 - eps) w_{y_n} (-logp_{n, y_n}) + eps / C sum_c w_c (-logp_{n, c}), 0 where y_n is
    ignored; mean = sum_n l_n / sum_n w_{y_n} over the n not ignored."""
    rows, shape = rows_of(np.asarray(x, float), np.asarray(y))
    c = rows[0][0].size
    w = np.ones(c) if w is None else np.asarray(w, float)
    losses, den = [], 0.0
    for v, label in rows:
        if label == ignore_index:
            losses.append(0.0)
            continue
        logp = v if log_probs else np_log_softmax(v)
        nll = -w[label] * logp[label]
        smooth = -sum(w[k] * logp[k] for k in range(c))
        losses.append((1 - eps) * nll + eps / c * smooth)
        den += w[label]
    losses = np.array(losses).reshape(shape)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / den if den else float("nan")


def np_soft_cross_entropy(x, t, w=None, reduction="mean", eps=0.0):
    """PyTorch's CrossEntropyLoss for probability targets: l_n = -sum_c w_c t'_{n, c} logp_{n, c},
    t' = (1 - eps) t + eps / C; mean over the N d1 ... elements, whatever the weights."""
    rows, shape = rows_of(np.asarray(x, float), np.zeros(np.asarray(x).shape[:1] + np.asarray(x).shape[2:]))
    trows, _ = rows_of(np.asarray(t, float), np.zeros(np.asarray(x).shape[:1] + np.asarray(x).shape[2:]))
    c = rows[0][0].size
    w = np.ones(c) if w is None else np.asarray(w, float)
    losses = np.array([-sum(w[k] * ((1 - eps) * tv[k] + eps / c) * np_log_softmax(v)[k] for k in range(c))
                       for (v, _), (tv, _) in zip(rows, trows)]).reshape(shape)
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()


@st.composite
def class_problems(draw, spatial=False):
    """(scores, labels, weight or None, ignore_index, label_smoothing) for (N, C) or (N, C, d)."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    shape = (n, c, draw(st.integers(1, 3))) if spatial else (n, c)
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=shape)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1, -1]))
    y = rng.integers(0, c, size=(n,) + shape[2:])
    if draw(st.booleans()):  # some labels replaced by ignore_index
        y = np.where(rng.random(y.shape) < 0.3, ignore_index, y)
    w = rng.uniform(0.2, 3.0, size=c) if draw(st.booleans()) else None
    eps = draw(st.sampled_from([0.0, 0.1, 0.35, 1.0]))
    return x, y, w, ignore_index, eps


# ---------------------------------------------------------------- values and gradients
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("spatial", [False, True])
@SETTINGS
@given(data=st.data())
def test_cross_entropy_options_match_the_reference(device, reduction, spatial, data):
    x, y, w, ignore_index, eps = data.draw(class_problems(spatial))
    t = tl.Tensor(x, device=device)
    got = nn.CrossEntropyLoss(None if w is None else tl.Tensor(w, dtype="float64", device=device),
                              ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)(t, y)
    want = np_cross_entropy(x, y, w, ignore_index, reduction, eps)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spatial", [False, True])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cross_entropy_options_gradcheck(device, spatial, data):
    x, y, w, ignore_index, eps = data.draw(class_problems(spatial))
    if (y == ignore_index).all():
        y = np.zeros_like(y)  # nan when all are ignored: covered on its own below
    t = tl.Tensor(x, device=device, requires_grad=True)
    for reduction in ("mean", "none"):
        assert tl.gradcheck(lambda a, r=reduction: F.cross_entropy(a, y, w, ignore_index=ignore_index, reduction=r,
                                                                   label_smoothing=eps), t)


def test_weight_changes_the_mean_denominator(device):
    x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
    y, w = np.array([0, 2, 1]), np.array([1.0, 2.0, 4.0])
    out = F.cross_entropy(tl.Tensor(x, device=device), y, w)
    per = [-np_log_softmax(x[i])[y[i]] for i in range(3)]
    # sum_i w_{y_i} l_i / sum_i w_{y_i} = (1 l0 + 4 l1 + 2 l2) / 7, not / 3
    assert out.item() == pytest.approx((per[0] + 4 * per[1] + 2 * per[2]) / 7, rel=1e-12)
    # equal weights, whatever their size, give the unweighted mean
    same = F.cross_entropy(tl.Tensor(x, device=device), y, np.full(3, 5.0))
    assert same.item() == pytest.approx(F.cross_entropy(tl.Tensor(x, device=device), y).item(), rel=1e-12)


def test_ignore_index_leaves_the_mean(device):
    x = np.random.default_rng(1).normal(size=(5, 4))
    y = np.array([1, -100, 3, -100, 0])
    kept = y != -100
    out = F.cross_entropy(tl.Tensor(x, device=device, requires_grad=True), y)
    plain = F.cross_entropy(tl.Tensor(x[kept], device=device), y[kept])
    assert out.item() == pytest.approx(plain.item(), rel=1e-12)  # the mean over 3, not 5
    none = F.cross_entropy(tl.Tensor(x, device=device), y, reduction="none").numpy()
    assert (none[~kept] == 0).all() and (none[kept] > 0).all()
    t = tl.Tensor(x, device=device, requires_grad=True)
    F.cross_entropy(t, y, ignore_index=-100).backward()
    assert (t.grad.numpy()[~kept] == 0).all()  # ignored rows get no gradient


def test_ignore_index_may_be_a_class(device):
    x = np.random.default_rng(2).normal(size=(4, 3))
    y = np.array([0, 1, 2, 1])
    out = F.cross_entropy(tl.Tensor(x, device=device), y, ignore_index=1)
    assert out.item() == pytest.approx(np_cross_entropy(x, y, ignore_index=1), rel=1e-12)
    assert out.item() == pytest.approx(F.cross_entropy(tl.Tensor(x[[0, 2]], device=device), [0, 2]).item())


def test_everything_ignored_gives_nan_and_a_zero_gradient(device):
    t = tl.Tensor(np.ones((2, 3)), device=device, requires_grad=True)
    out = F.cross_entropy(t, [-100, -100])
    assert math.isnan(out.item())
    out.backward()
    assert (t.grad.numpy() == 0).all()
    assert F.cross_entropy(t, [-100, -100], reduction="sum").item() == 0.0


def test_label_smoothing_equals_smoothed_probability_targets(device):
    x = np.random.default_rng(3).normal(size=(4, 5))
    y = np.array([0, 4, 2, 2])
    soft = 0.8 * np.eye(5)[y] + 0.2 / 5
    a = F.cross_entropy(tl.Tensor(x, device=device), y, label_smoothing=0.2)
    b = F.cross_entropy(tl.Tensor(x, device=device), soft)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    # eps = 1: the targets are uniform, the loss is the mean over classes of -log p
    full = F.cross_entropy(tl.Tensor(x, device=device), y, label_smoothing=1.0)
    assert full.item() == pytest.approx(np.mean([-np_log_softmax(v).mean() for v in x]), rel=1e-12)


def test_label_smoothing_with_weight_uses_the_weighted_denominator(device):
    x = np.array([[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]])
    y, w, eps = np.array([2, 0]), np.array([0.5, 1.0, 3.0]), 0.3
    lp = [np_log_softmax(v) for v in x]
    nll = (-3.0 * lp[0][2] - 0.5 * lp[1][0]) / 3.5
    smooth = sum(-(w * p).sum() for p in lp) / 3.5
    out = F.cross_entropy(tl.Tensor(x, device=device), y, w, label_smoothing=eps)
    assert out.item() == pytest.approx((1 - eps) * nll + eps / 3 * smooth, rel=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 3, 2, 2), (4,)])
@pytest.mark.parametrize("weighted", [False, True])
def test_probability_targets(device, reduction, shape, weighted):
    rng = np.random.default_rng(4)
    x = rng.normal(size=shape)
    t = rng.random(shape)
    t /= t.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    c = shape[0] if len(shape) == 1 else shape[1]
    w = rng.uniform(0.5, 2.0, c) if weighted else None
    for eps in (0.0, 0.25):
        got = F.cross_entropy(tl.Tensor(x, device=device), tl.Tensor(t, device=device), w, reduction=reduction,
                              label_smoothing=eps)
        want = np_soft_cross_entropy(x if len(shape) > 1 else x[None], t if len(shape) > 1 else t[None], w,
                                     reduction, eps)
        want = want if len(shape) > 1 or reduction != "none" else want[0]
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    xs = tl.Tensor(x, device=device, requires_grad=True)
    ts = tl.Tensor(t, device=device, requires_grad=True)  # the targets get a gradient too
    assert tl.gradcheck(lambda a, b: F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=0.1), xs, ts)


def test_spatial_input_is_per_element_classification(device):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    none = F.cross_entropy(tl.Tensor(x, device=device), y, reduction="none")
    assert none.shape == (2, 4, 5)
    flat = F.cross_entropy(tl.Tensor(x.transpose(0, 2, 3, 1).reshape(-1, 3), device=device), y.reshape(-1),
                           reduction="none")
    np.testing.assert_allclose(none.numpy().reshape(-1), flat.numpy(), rtol=1e-12)
    assert F.cross_entropy(tl.Tensor(x, device=device), y).item() == pytest.approx(flat.numpy().mean())
    t = tl.Tensor(x, device=device, requires_grad=True)
    assert tl.gradcheck(lambda a: F.cross_entropy(a, y), t)


def test_unbatched_input(device):
    x = np.array([0.5, -1.0, 2.0])
    out = F.cross_entropy(tl.Tensor(x, device=device), 2, reduction="none")
    assert out.shape == () and out.item() == pytest.approx(-np_log_softmax(x)[2])
    assert F.cross_entropy(tl.Tensor(x, device=device), tl.Tensor(2)).item() == pytest.approx(out.item())


def test_plain_case_keeps_the_fused_node_and_the_others_do_not(device):
    t = tl.Tensor(np.zeros((4, 3)), device=device, requires_grad=True)
    y = [0, 1, 2, 1]
    fused = "SoftmaxCrossEntropy"
    assert type(F.cross_entropy(t, y)._ctx).__name__ == fused
    assert type(nn.CrossEntropyLoss()(t, y)._ctx).__name__ == fused
    assert type(F.cross_entropy(t, y, ignore_index=5)._ctx).__name__ == fused  # nothing equals it
    assert type(F.cross_entropy(tl.Tensor(np.zeros((2, 3, 4)), device=device, requires_grad=True),
                                np.zeros((2, 4), int))._ctx).__name__ == fused
    for kwargs in ({"weight": [1.0, 2.0, 3.0]}, {"label_smoothing": 0.1}, {"ignore_index": 1}):
        assert type(F.cross_entropy(t, y, **kwargs)._ctx).__name__ != fused, kwargs


def test_old_positional_reduction_still_works(device):
    t = tl.Tensor(np.random.default_rng(6).normal(size=(3, 4)), device=device)
    y = [0, 3, 1]
    total = F.cross_entropy(t, y, reduction="sum").item()
    assert F.cross_entropy(t, y, "sum").item() == total
    assert nn.CrossEntropyLoss("sum")(t, y).item() == total
    with pytest.raises(TypeError, match="two reductions"):
        F.cross_entropy(t, y, "sum", reduction="none")


def test_weight_is_a_buffer_of_the_module(device):
    loss = nn.CrossEntropyLoss(tl.Tensor([1.0, 2.0, 3.0]), ignore_index=0, label_smoothing=0.1)
    assert list(loss.state_dict()) == ["weight"]
    loss.to(device)
    assert loss.weight.device == device
    assert "ignore_index=0" in repr(loss) and "label_smoothing=0.1" in repr(loss)
    assert nn.CrossEntropyLoss([1.0, 2.0]).weight.shape == (2,)  # a list becomes a tensor


# ---------------------------------------------------------------- NLLLoss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("spatial", [False, True])
@SETTINGS
@given(data=st.data())
def test_nll_loss_matches_the_reference(device, reduction, spatial, data):
    x, y, w, ignore_index, _ = data.draw(class_problems(spatial))
    logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    got = nn.NLLLoss(w, ignore_index=ignore_index, reduction=reduction)(tl.Tensor(logp, device=device), y)
    np.testing.assert_allclose(got.numpy(), np_cross_entropy(logp, y, w, ignore_index, reduction, log_probs=True),
                               rtol=1e-9, atol=1e-12)


def test_nll_of_log_softmax_is_cross_entropy_and_gradchecks(device):
    rng = np.random.default_rng(7)
    x, y, w = rng.normal(size=(4, 3)), np.array([2, -100, 0, 1]), np.array([1.0, 0.5, 2.0])
    t = tl.Tensor(x, device=device, requires_grad=True)
    a = F.nll_loss(t.log_softmax(1), y, w)
    assert a.item() == pytest.approx(F.cross_entropy(t, y, w).item(), rel=1e-12)
    # any values count as log-probabilities; the gradient is -w_{y_i} / den at (i, y_i)
    assert tl.gradcheck(lambda a: F.nll_loss(a, y, w), t)
    s = tl.Tensor(x, device=device, requires_grad=True)
    F.nll_loss(s, y, w).backward()
    expected = np.zeros((4, 3))
    expected[[0, 2, 3], [2, 0, 1]] = -w[[2, 0, 1]] / w[[2, 0, 1]].sum()
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-12)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, error, text", [
    (lambda x: F.cross_entropy(x, [0, 1, 4]), ValueError, "label 4 is out of range for 3 classes"),
    (lambda x: F.cross_entropy(x, [0, -5, 1], ignore_index=-4), ValueError, "label -5 is out of range"),
    (lambda x: F.cross_entropy(x, [0.0, 1.0, 2.0]), TypeError, "integer class indices"),
    (lambda x: F.cross_entropy(x, np.full((3, 2), 0.5)), TypeError, r"probabilities of the input's shape \(3, 3\)"),
    (lambda x: F.cross_entropy(x, [0, 1]), ValueError, r"labels of shape \(3,\)"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], [1.0, 2.0]), ValueError, r"weight of shape \(3,\)"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], "avg"), ValueError, "reduction"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], {"a": 1}), TypeError, "weight"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], label_smoothing="0.1"), TypeError, "label_smoothing"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], ignore_index=1.0), TypeError, "ignore_index"),
    (lambda x: F.cross_entropy(x, np.full((3, 3), 1 / 3), ignore_index=0), ValueError,
     "ignore_index is not supported for probability targets"),
    (lambda x: F.cross_entropy(x.numpy(), [0, 1, 2]), TypeError, "must be a Tensor"),
    (lambda x: F.cross_entropy(x[:0], []), ValueError, "no empty axis"),
    (lambda x: F.nll_loss(x, [0.0, 1.0, 2.0]), TypeError, "integer class indices"),
    (lambda x: F.nll_loss(x, [0, 1, 3]), ValueError, "nll_loss: label 3 is out of range"),
    (lambda x: F.cross_entropy(x, [0, 1, 2], size_average=True), TypeError, "size_average"),
    (lambda x: nn.CrossEntropyLoss(tl.ones(3, 3)), ValueError, r"CrossEntropyLoss: weight must have shape \(C,\)"),
    (lambda x: nn.NLLLoss(3.0), TypeError, "NLLLoss: weight"),
    (lambda x: nn.CrossEntropyLoss(label_smoothing=-0.1), ValueError, "CrossEntropyLoss: label_smoothing"),
    (lambda x: nn.CrossEntropyLoss(reduce=False), TypeError, "reduce"),
    (lambda x: nn.NLLLoss(ignore_index="x"), TypeError, "NLLLoss: ignore_index"),
])
def test_bad_input_names_the_problem(call, error, text):
    with pytest.raises(error, match=text):
        call(tl.zeros(3, 3))
