"""tl.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against float64 finite
differences, closed forms (quadratic forms, logistic regression's Hessian) and PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import nn

AF = tl.autograd.functional


def t64(a, device="cpu", requires_grad=False):
    return tl.Tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, device=device, requires_grad=requires_grad)


def numeric_jacobian(f, x0, eps=1e-6):
    """d f / d x by central differences, shape f.shape + x.shape (f maps arrays to arrays)."""
    out = np.asarray(f(x0))
    jac = np.zeros(out.shape + x0.shape)
    for j in np.ndindex(x0.shape):
        d = np.zeros_like(x0)
        d[j] = eps
        jac[(...,) + j] = (np.asarray(f(x0 + d)) - np.asarray(f(x0 - d))) / (2 * eps)
    return jac


def smooth(x):
    return (x.sin() * x.exp()).reshape(2, 3) @ t64([[1.0, -2.0], [0.5, 0.3], [2.0, 1.0]], x.device)


def smooth_np(x):
    return (np.sin(x) * np.exp(x)).reshape(2, 3) @ np.array([[1.0, -2.0], [0.5, 0.3], [2.0, 1.0]])


def test_jacobian_vjp_and_jvp_against_finite_differences(device):
    rng = np.random.default_rng(0)
    x0, u, v = rng.standard_normal(6), rng.standard_normal((2, 2)), rng.standard_normal(6)
    jac = numeric_jacobian(smooth_np, x0)
    got = AF.jacobian(smooth, t64(x0, device))
    assert got.shape == (2, 2, 6) and not got.requires_grad
    np.testing.assert_allclose(got.numpy(), jac, atol=1e-7)
    out, vj = AF.vjp(smooth, t64(x0, device), t64(u, device))
    np.testing.assert_allclose(out.numpy(), smooth_np(x0))
    np.testing.assert_allclose(vj.numpy(), np.einsum("ij,ijk->k", u, jac), atol=1e-7)
    out, jv = AF.jvp(smooth, t64(x0, device), t64(v, device))
    np.testing.assert_allclose(jv.numpy(), jac @ v, atol=1e-7)


def test_hessian_and_hvp_of_a_quadratic_form_are_exact(device):
    rng = np.random.default_rng(1)
    a, b, x0, v = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4)

    def f(x):  # x^T A x / 2 + b^T x: H = (A + A^T) / 2
        return 0.5 * (x @ (t64(a, device) @ x)) + (t64(b, device) * x).sum()

    sym = (a + a.T) / 2
    np.testing.assert_allclose(AF.hessian(f, t64(x0, device)).numpy(), sym, atol=1e-12)
    _, hv = AF.hvp(f, t64(x0, device), t64(v, device))
    np.testing.assert_allclose(hv.numpy(), sym @ v, atol=1e-12)
    _, vh = AF.vhp(f, t64(x0, device), t64(v, device))
    np.testing.assert_allclose(vh.numpy(), v @ sym, atol=1e-12)


def test_logistic_regression_hessian_is_x_t_diag_p_1_minus_p_x():
    rng = np.random.default_rng(2)
    x, y, w0 = rng.standard_normal((20, 3)), rng.integers(0, 2, 20).astype(np.float64), rng.standard_normal(3)

    def loss(w):
        return F.binary_cross_entropy_with_logits(t64(x) @ w, t64(y), reduction="sum")

    p = 1 / (1 + np.exp(-x @ w0))
    np.testing.assert_allclose(AF.hessian(loss, t64(w0)).numpy(), x.T @ np.diag(p * (1 - p)) @ x, atol=1e-10)
    grad = AF.jacobian(loss, t64(w0))
    np.testing.assert_allclose(grad.numpy(), x.T @ (p - y), atol=1e-10)


def test_several_inputs_and_outputs_give_nested_tuples():
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal(3), rng.standard_normal(2)

    def f(a, b):
        return (a.sum() * b).exp(), a * 2

    jac = AF.jacobian(f, (t64(a0), t64(b0)))
    assert [[j.shape for j in row] for row in jac] == [[(2, 3), (2, 2)], [(3, 3), (3, 2)]]
    np.testing.assert_allclose(jac[1][0].numpy(), 2 * np.eye(3))
    np.testing.assert_allclose(jac[1][1].numpy(), 0)  # unused: zeros
    np.testing.assert_allclose(jac[0][0].numpy(), numeric_jacobian(lambda a: np.exp(a.sum() * b0), a0), atol=1e-7)
    h = AF.hessian(lambda a, b: (a.sum() * b).sin().sum(), (t64(a0), t64(b0)))
    assert [[t.shape for t in row] for row in h] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    np.testing.assert_allclose(h[0][1].numpy(), h[1][0].numpy().T, atol=1e-12)
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        AF.jacobian(lambda a, b: a * 2, (t64(a0), t64(b0)), strict=True)


def test_create_graph_lets_the_result_be_differentiated_again():
    x = t64([0.5, 1.0], requires_grad=True)
    _, hv = AF.hvp(lambda z: (z ** 4).sum(), x, t64([1.0, 1.0]), create_graph=True)  # 12 x^2
    (g,) = tl.autograd.grad(hv.sum(), x)  # 24 x
    np.testing.assert_allclose(g.numpy(), 24 * x.numpy())
    _, hv = AF.hvp(lambda z: (z ** 4).sum(), x, t64([1.0, 1.0]))
    assert not hv.requires_grad


def mlp_with_batch_norm(seed):
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 4), nn.BatchNorm1d(4),
                         nn.GELU(), nn.Linear(4, 2)).double()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hvp_of_random_mlps_with_batch_norm_matches_finite_differences(seed, device):
    """H v of the loss in all parameters equals the central difference of the gradient along v."""
    model = mlp_with_batch_norm(seed).to(device)
    rng = np.random.default_rng(seed)
    x, y = t64(rng.standard_normal((8, 3)), device), tl.tensor(rng.integers(0, 2, 8), device=device)
    params = [p.detach() for p in model.parameters()]
    names = [n for n, _ in model.named_parameters()]
    vs = [t64(rng.standard_normal(p.shape), device) for p in params]

    def loss(*ps):
        return F.cross_entropy(nn.functional_call(model, dict(zip(names, ps)), x), y)

    _, hv = AF.hvp(loss, tuple(params), tuple(vs))

    def gradient(shift):
        ps = [t64(p.numpy() + shift * v.numpy(), device, requires_grad=True) for p, v in zip(params, vs)]
        return [g.numpy() for g in tl.autograd.grad(loss(*ps), ps)]

    eps = 1e-5
    numeric = [(a - b) / (2 * eps) for a, b in zip(gradient(eps), gradient(-eps))]
    for got, want in zip(hv, numeric):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-7)
    assert max(np.abs(w).max() for w in numeric) > 1e-3  # a real curvature


def test_hessian_of_an_mlp_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x, w1, w2 = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal((2, 4))

    def f(lib, F_, v):
        w = v.reshape(4, 3)
        return (F_.softplus(F_.linear(lib.tensor(x), w)) @ lib.tensor(w2).T).pow(2).mean()

    ours = AF.hessian(lambda v: f(tl, F, v), t64(w1.ravel())).numpy()
    theirs = torch.autograd.functional.hessian(lambda v: f(torch, torch.nn.functional, v),
                                               torch.tensor(w1.ravel())).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    v = rng.standard_normal(12)
    _, jv = AF.jvp(lambda z: (z.reshape(4, 3) @ t64(x).T).tanh(), t64(w1.ravel()), t64(v))
    _, jv_t = torch.autograd.functional.jvp(lambda z: (z.reshape(4, 3) @ torch.tensor(x).T).tanh(),
                                            torch.tensor(w1.ravel()), torch.tensor(v))
    np.testing.assert_allclose(jv.numpy(), jv_t.numpy(), rtol=1e-10, atol=1e-12)


def test_errors_name_the_function():
    x = t64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="v is needed"):
        AF.vjp(lambda z: z * 2, x)
    with pytest.raises(ValueError, match="shapes"):
        AF.hvp(lambda z: (z * z).sum(), x, t64([1.0]))
    with pytest.raises(RuntimeError, match="one-element"):
        AF.hessian(lambda z: z * z, x)
    with pytest.raises(TypeError, match="must be a Tensor"):
        AF.jacobian(lambda z: z, [1.0])
