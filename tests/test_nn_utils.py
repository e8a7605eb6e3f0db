"""nn.utils.clip_grad_norm_ / clip_grad_value_ against NumPy transcriptions of PyTorch's
definitions."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn


def with_grads(device, grads, dtype="float64"):
    """Parameters whose .grad are the given arrays."""
    params = []
    for g in grads:
        p = nn.Parameter(tl.zeros(*np.shape(g), dtype=dtype, device=device))
        p.grad = tl.Tensor(np.asarray(g), dtype=dtype, device=device)
        params.append(p)
    return params


def np_total_norm(grads, p):
    """PyTorch's total norm: the p-norm of the vector of the per-tensor p-norms."""
    flat = np.concatenate([np.ravel(g) for g in grads])
    return np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)


GRADS = [np.array([[3.0, -4.0], [1.0, 0.5]]), np.array([12.0, -0.25, 2.0]), np.array(-7.0)]


# ---------------------------------------------------------------- clip_grad_norm_
@pytest.mark.parametrize("norm_type", [2, 2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e3])
def test_clip_grad_norm_matches_pytorchs_definition(device, norm_type, max_norm):
    params = with_grads(device, GRADS)
    p = math.inf if norm_type == "inf" else float(norm_type)
    total = np_total_norm(GRADS, p)
    grads_before = [q.grad for q in params]
    out = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(out, tl.Tensor) and out.shape == () and out.device == device
    assert out.item() == pytest.approx(total, rel=1e-12)  # the norm before clipping
    coef = min(1.0, max_norm / (total + 1e-6))
    for q, g, before in zip(params, GRADS, grads_before):
        np.testing.assert_allclose(q.grad.numpy(), g * coef, rtol=1e-12)
        assert q.grad is before  # the same gradient tensors, their values replaced
    after = np_total_norm([q.grad.numpy() for q in params], p)
    assert after <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_skips_missing_grads_and_takes_one_tensor(device):
    a, b = with_grads(device, [np.array([3.0, 4.0]), np.array([1.0])])
    b.grad = None
    c = nn.Parameter(tl.zeros(2, device=device))
    assert nn.utils.clip_grad_norm_([a, b, c], 1.0).item() == pytest.approx(5.0)
    assert b.grad is None and c.grad is None
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    assert nn.utils.clip_grad_norm_(a, 10.0).item() == pytest.approx(1.0, rel=1e-5)  # one tensor
    assert nn.utils.clip_grad_norm_([c], 1.0).item() == 0.0  # nothing to clip


def test_clip_grad_norm_on_a_model_generator_and_float16(device):
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.ReLU(), nn.Linear(4, 2, device=device))
    (model(tl.randn(5, 3, device=device)) ** 2).sum().backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    total = nn.utils.clip_grad_norm_(model.parameters(), 0.01)  # a generator, as PyTorch's examples pass
    assert total.item() == pytest.approx(np_total_norm(grads, 2), rel=1e-5)
    assert total.dtype == np.float32
    # float16: a sum of squares in float16 would overflow (300^2 > 65504); the norm is taken wider
    (h,) = with_grads(device, [np.full(4, 300.0)], dtype="float16")
    assert nn.utils.clip_grad_norm_([h], 1.0).item() == pytest.approx(600.0)
    assert h.grad.dtype == np.float16 and np.isfinite(h.grad.numpy()).all()


def test_clip_grad_norm_nonfinite(device):
    params = with_grads(device, [np.array([1.0, math.nan]), np.array([2.0])])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 .* is non-finite"):
        nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[1].grad.numpy(), [2.0])  # untouched by the refusal
    assert math.isnan(nn.utils.clip_grad_norm_(params, 1.0).item())  # as PyTorch: scaled by nan
    assert np.isnan(params[1].grad.numpy()).all()
    inf = with_grads(device, [np.array([math.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(inf, 1.0, norm_type="inf", error_if_nonfinite=True)


# ---------------------------------------------------------------- clip_grad_value_
def test_clip_grad_value(device):
    params = with_grads(device, GRADS)
    assert nn.utils.clip_grad_value_(params, 2.0) is None
    for q, g in zip(params, GRADS):
        np.testing.assert_array_equal(q.grad.numpy(), np.clip(g, -2.0, 2.0))
    nn.utils.clip_grad_value_(params[0], 0.0)
    assert (params[0].grad.numpy() == 0).all()


@pytest.mark.parametrize("call, error, text", [
    (lambda ps: nn.utils.clip_grad_norm_(ps, -1.0), ValueError, "clip_grad_norm_: max_norm must be a finite number >= 0"),
    (lambda ps: nn.utils.clip_grad_norm_(ps, "1"), TypeError, "clip_grad_norm_: max_norm"),
    (lambda ps: nn.utils.clip_grad_norm_(ps, 1.0, norm_type=0), ValueError, "clip_grad_norm_: norm_type"),
    (lambda ps: nn.utils.clip_grad_norm_(ps, 1.0, norm_type="fro"), TypeError, "norm_type"),
    (lambda ps: nn.utils.clip_grad_norm_([ps[0], np.zeros(2)], 1.0), TypeError, "must be Tensors, got a ndarray"),
    (lambda ps: nn.utils.clip_grad_norm_(3.0, 1.0), TypeError, "a Tensor or an iterable of Tensors"),
    (lambda ps: nn.utils.clip_grad_norm_(ps, 1.0, foreach=True), TypeError, "foreach"),
    (lambda ps: nn.utils.clip_grad_value_(ps, -0.5), ValueError, "clip_grad_value_: clip_value"),
    (lambda ps: nn.utils.clip_grad_value_(ps, None), TypeError, "clip_grad_value_: clip_value"),
])
def test_clip_bad_input(call, error, text):
    params = with_grads("cpu", GRADS)
    with pytest.raises(error, match=text):
        call(params)
    np.testing.assert_array_equal(params[0].grad.numpy(), GRADS[0])  # nothing changed
