"""L2, L1 and elastic-net penalties over a model's weights (the lecture's R(W))."""
import numpy as np
import pytest
from tinygrad_lite.nn import regularization as R

import tinygrad_lite as tl
from tinygrad_lite import nn


def _model(device):
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4, device=device), nn.BatchNorm1d(4, device=device),
                         nn.PReLU(4, device=device), nn.Linear(4, 2, device=device))


def _weights_np(model):
    return [model[0].weight.numpy().astype(np.float64), model[3].weight.numpy().astype(np.float64)]


def test_only_weights_are_regularized(device):
    m = _model(device)
    assert [id(p) for p in R.weights(m)] == [id(m[0].weight), id(m[3].weight)]


@pytest.mark.parametrize("kind", ["l2", "l1", "elastic_net"])
def test_penalty_values_and_gradients(device, kind):
    m = _model(device)
    beta = 0.3
    ws = _weights_np(m)
    value = {"l2": sum((w**2).sum() for w in ws), "l1": sum(np.abs(w).sum() for w in ws),
             "elastic_net": sum((beta * w**2 + np.abs(w)).sum() for w in ws)}[kind]
    grad = {"l2": lambda w: 2 * w, "l1": np.sign, "elastic_net": lambda w: 2 * beta * w + np.sign(w)}[kind]
    lam = 0.01
    loss = R.regularization_loss(m, lam, kind=kind, beta=beta)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), lam * value, rtol=1e-5)
    loss.backward()
    for layer, w in zip((m[0], m[3]), ws):
        np.testing.assert_allclose(layer.weight.grad.numpy(), lam * grad(w), rtol=1e-5, atol=1e-8)
        assert layer.bias.grad is None
    assert m[1].weight.grad is None and m[1].bias.grad is None and m[2].weight.grad is None


def test_penalty_functions_and_explicit_parameters(device):
    m = _model(device)
    ws = _weights_np(m)
    np.testing.assert_allclose(nn.l2_penalty(m).item(), sum((w**2).sum() for w in ws), rtol=1e-5)
    np.testing.assert_allclose(nn.l1_penalty(m).item(), sum(np.abs(w).sum() for w in ws), rtol=1e-5)
    np.testing.assert_allclose(nn.elastic_net_penalty(m, beta=2.0).item(),
                               sum((2 * w**2 + np.abs(w)).sum() for w in ws), rtol=1e-5)
    # an iterable of tensors is used as given: here every parameter, biases and gamma/beta included
    everything = sum((p.numpy().astype(np.float64) ** 2).sum() for p in m.parameters())
    np.testing.assert_allclose(nn.l2_penalty(m.parameters()).item(), everything, rtol=1e-5)


def test_gradcheck_of_penalties():
    w = tl.Tensor([[0.5, -1.5], [2.0, -0.25]], dtype="float64", requires_grad=True)
    b = tl.Tensor([0.3, -0.7], dtype="float64", requires_grad=True)
    for kind in ("l2", "l1", "elastic_net"):
        assert tl.gradcheck(lambda x, y, k=kind: R.regularization_loss([x, y], 0.5, k, beta=0.7), w, b)


def test_shared_weight_counted_once():
    a = nn.Linear(2, 2)
    b = nn.Linear(2, 2)
    b.weight = a.weight
    m = nn.Sequential(a, b)
    w = a.weight.numpy().astype(np.float64)
    np.testing.assert_allclose(nn.l2_penalty(m).item(), (w**2).sum(), rtol=1e-6)


def test_regularization_errors():
    m = _model("cpu")
    with pytest.raises(ValueError, match="kind"):
        R.regularization_loss(m, 0.1, kind="l3")
    with pytest.raises(ValueError, match="regularization_loss: lam must be a finite number >= 0"):
        R.regularization_loss(m, -1.0)
    with pytest.raises(ValueError, match="no weights"):
        nn.l2_penalty(nn.BatchNorm1d(3))
