"""Gradients of gradients: ``backward(create_graph=True)``, ``tl.autograd.grad``, every nn
Function twice differentiable (gradgradcheck), exact batch-norm second derivatives, the errors
of a first-order-only Function, and PyTorch's numbers."""
from __future__ import annotations

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import nn

grad = tl.autograd.grad


def leaf(values, device="cpu", dtype=np.float64):
    return tl.Tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device, requires_grad=True)


def randn(rng, *shape, device="cpu"):
    return leaf(rng.standard_normal(shape), device)


# ---------------------------------------------------------------- the API
def test_grad_of_a_cubic_to_the_third_order(device):
    x = leaf([0.5, -2.0, 3.0], device)
    (g,) = grad((x ** 3).sum(), x, create_graph=True)  # 3x^2
    (h,) = grad(g.sum(), x, create_graph=True)  # 6x
    (t,) = grad(h.sum(), x)  # 6
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(t.numpy(), [6.0, 6.0, 6.0])
    assert g.requires_grad and h.requires_grad and not t.requires_grad


def test_backward_create_graph_gives_leaf_gradients_with_a_graph(device):
    x = leaf([0.3, -1.2], device)
    (x.exp() * x.sin()).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    first = x.grad
    (g2,) = grad(first.sum(), x)
    e, s, c = np.exp(x.numpy()), np.sin(x.numpy()), np.cos(x.numpy())
    np.testing.assert_allclose(first.numpy(), e * (s + c))
    np.testing.assert_allclose(g2.numpy(), 2 * e * c)


def test_grad_leaves_dot_grad_alone_and_takes_non_leaf_inputs():
    x = leaf([1.0, 2.0])
    y = x * x
    z = (y * 3).sum()
    gy, gx = grad(z, [y, x])
    np.testing.assert_allclose(gy.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    assert x.grad is None


def test_grad_outputs_several_outputs_and_allow_unused():
    x, u = leaf([1.0, 2.0]), leaf([5.0])
    a, b = x * 2, x * x
    gx, gu = grad([a, b], [x, u], grad_outputs=[tl.tensor([1.0, 1.0]), tl.tensor([1.0, 0.5])], allow_unused=True)
    np.testing.assert_allclose(gx.numpy(), [2 + 2.0, 2 + 2.0])
    assert gu is None
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        grad((x * 2).sum(), [x, u])
    with pytest.raises(RuntimeError, match="grad_outputs"):
        grad(x * 2, x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), tl.tensor([1.0]))


def test_grad_frees_the_graph_unless_retained_or_create_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    grad(y, x)
    with pytest.raises(RuntimeError, match="freed"):
        grad(y, x)
    y = (x * x).sum()
    grad(y, x, create_graph=True)
    grad(y, x)  # create_graph keeps the graph


def test_a_gradient_with_respect_to_grad_outputs():
    # g(v) = v^T J is linear in v: d(g . w)/dv = J w
    x, v = leaf([0.5, 1.5]), leaf([2.0, -1.0])
    y = x.exp()
    (g,) = grad(y, x, grad_outputs=v, create_graph=True)
    (gv,) = grad((g * tl.tensor([1.0, 3.0], dtype=np.float64)).sum(), v)
    np.testing.assert_allclose(gv.numpy(), np.exp(x.numpy()) * [1.0, 3.0])


def test_first_order_backward_builds_no_graph():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None


def test_create_graph_still_refuses_a_graph_changed_in_place():
    w = leaf([1.0, 2.0])
    y = (w * w).sum()
    with tl.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(create_graph=True)


# ---------------------------------------------------------------- custom Functions
class Cube(tl.Function):
    """x^3 written with xp-style operations only: twice differentiable for free."""

    def forward(self, x):
        self.x = x
        return x * x * x

    def backward(self, grad):
        return grad * 3 * self.x * self.x


class CubeByCopy(tl.Function):
    """Its forward uses an array method a Tensor does not have: differentiable only once."""

    def forward(self, x):
        self.x = x.copy()
        return x * x * x

    def backward(self, grad):
        return grad * 3 * self.x * self.x


class CubeMarked(Cube):
    once_differentiable = True


def test_a_custom_function_in_array_operations_is_twice_differentiable():
    x = leaf([0.5, -1.5])
    assert tl.gradgradcheck(Cube.apply, x)


@pytest.mark.parametrize("fn, pattern", [(CubeByCopy, "CubeByCopy is differentiable only once.*Tensors"),
                                         (CubeMarked, "CubeMarked is differentiable only once")])
def test_a_first_order_function_names_itself_when_differentiated_twice(fn, pattern):
    x = leaf([0.5, -1.5])
    (g,) = grad(fn.apply(x).sum(), x)  # first order: fine
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    with pytest.raises(RuntimeError, match=pattern):
        grad(fn.apply(x).sum(), x, create_graph=True)


def test_a_backward_returning_an_array_on_tensors_is_refused():
    class Constant(tl.Function):  # the gradient silently a constant: refused, never a wrong answer
        saves = False

        def forward(self, x):
            self.shape = x.shape
            return x * 2

        def backward(self, grad):
            return np.full(self.shape, 2.0)

    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="Constant.backward returned a ndarray, not a Tensor"):
        grad(Constant.apply(x).sum(), x, create_graph=True)


# ---------------------------------------------------------------- nn's Functions and composites
def _nn_cases(rng):
    x, w, b = randn(rng, 4, 3), randn(rng, 2, 3), randn(rng, 2)
    labels = np.array([0, 1, 1, 0])
    probs = leaf(rng.uniform(0.1, 0.9, (4, 2)))
    img, kernel = randn(rng, 2, 2, 5, 5), randn(rng, 3, 2, 3, 3)
    return {
        "linear": (lambda x, w, b: F.linear(x, w, b), (x, w, b)),
        "linear_3d": (lambda x, w: F.linear(x, w), (randn(rng, 2, 2, 3), w)),
        "cross_entropy_mean": (lambda z: F.cross_entropy(z, labels), (randn(rng, 4, 2),)),
        "cross_entropy_sum": (lambda z: F.cross_entropy(z, labels, reduction="sum"), (randn(rng, 4, 2),)),
        "cross_entropy_none": (lambda z: F.cross_entropy(z, labels, reduction="none"), (randn(rng, 4, 2),)),
        "cross_entropy_smoothing": (lambda z: F.cross_entropy(z, labels, label_smoothing=0.1), (randn(rng, 4, 2),)),
        "bce_with_logits": (lambda z, t: F.binary_cross_entropy_with_logits(z, t), (randn(rng, 4, 2), probs)),
        "bce": (lambda p, t: F.binary_cross_entropy(p, t), (probs, leaf(rng.uniform(0, 1, (4, 2))))),
        "mse": (lambda z, t: F.mse_loss(z, t), (randn(rng, 4, 2), randn(rng, 4, 2))),
        "layer_norm": (lambda z, g, b: F.layer_norm(z, (3,), g, b), (randn(rng, 4, 3), randn(rng, 3), randn(rng, 3))),
        "group_norm": (lambda z: F.group_norm(z, 2), (randn(rng, 2, 4, 3),)),
        "conv2d_padded_strided": (lambda x, k: F.conv2d(x, k, stride=2, padding=1), (img, kernel)),
        "conv1d": (lambda x, k: F.conv1d(x, k, padding=1), (randn(rng, 2, 2, 6), randn(rng, 3, 2, 3))),
        "max_pool_overlapping": (lambda x: F.max_pool2d(x, 3, stride=1, padding=1), (img,)),
        "avg_pool_padded": (lambda x: F.avg_pool2d(x, 2, padding=1), (img,)),
        "embedding": (lambda wt: F.embedding(tl.tensor([0, 2, 2]), wt), (randn(rng, 3, 2),)),
        "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                      (randn(rng, 2, 3, 2), randn(rng, 2, 3, 2), randn(rng, 2, 3, 2))),
    }


@pytest.mark.parametrize("name", sorted(_nn_cases(np.random.default_rng(0))))
def test_nn_functions_are_twice_differentiable(name, device):
    fn, inputs = _nn_cases(np.random.default_rng(1))[name]
    inputs = [tl.Tensor(t.numpy(), dtype=np.float64, device=device, requires_grad=True) for t in inputs]
    assert tl.gradgradcheck(fn, *inputs)


def _batch_norm(x, g, b):
    rm, rv = tl.zeros(x.shape[1], dtype=np.float64, device=x.device), tl.ones(x.shape[1], dtype=np.float64,
                                                                                device=x.device)
    return F.batch_norm(x, rm, rv, g, b, training=True)


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 2, 2)])
def test_batch_norm_second_derivatives_are_exact(shape, device):
    rng = np.random.default_rng(2)
    x, g, b = (leaf(rng.standard_normal(s), device) for s in (shape, shape[1:2], shape[1:2]))
    assert tl.gradgradcheck(_batch_norm, x, g, b)


def test_batch_norm_hessian_sees_the_variance_depend_on_the_batch():
    """The Hessian of sum(w * BN(x)) in x against finite differences of the gradient; with the
    inverse standard deviation held constant (DeZero's backward) it would be wrong."""
    rng = np.random.default_rng(3)
    x0, w = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))

    def f(x):
        return (_batch_norm(x, None, None) * tl.tensor(w)).sum()

    h = tl.autograd.functional.hessian(f, leaf(x0)).numpy().reshape(4, 4)
    eps, num = 1e-6, np.zeros((4, 4))
    for j in range(4):
        d = np.zeros((4, 1))
        d[j] = eps
        xp_, xm_ = leaf(x0 + d), leaf(x0 - d)
        num[:, j] = ((grad(f(xp_), xp_)[0] - grad(f(xm_), xm_)[0]).numpy().ravel()) / (2 * eps)
    np.testing.assert_allclose(h, num, atol=1e-6)
    assert np.abs(h).max() > 0.1  # a real curvature, not zeros


def test_dropout_is_twice_differentiable_with_its_mask_a_constant():
    x = leaf(np.random.default_rng(4).standard_normal((3, 4)))
    tl.manual_seed(0)
    y = F.dropout(x, 0.5)
    mask = (y.detach().numpy() != 0) * 2.0
    (g,) = grad((y * y).sum(), x, create_graph=True)  # 2 m^2 x
    np.testing.assert_allclose(g.numpy(), 2 * mask ** 2 * x.numpy())
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 2 * mask ** 2)


# ---------------------------------------------------------------- against PyTorch
def test_hessian_vector_product_of_an_mlp_loss_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    xs, ys = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    params = [rng.standard_normal(s) * 0.5 for s in [(5, 4), (5,), (3, 5), (3,)]]
    vs = [rng.standard_normal(p.shape) for p in params]

    def ours():
        ps = [leaf(p) for p in params]
        h = F.linear(tl.tensor(xs), ps[0], ps[1]).tanh()
        h = F.gelu(F.linear(h, ps[2], ps[3]))
        loss = F.cross_entropy(h, ys)
        gs = grad(loss, ps, create_graph=True)
        dot = sum((g * tl.tensor(v)).sum() for g, v in zip(gs, vs))
        return [t.numpy() for t in grad(dot, ps)]

    def theirs():
        ps = [torch.tensor(p, requires_grad=True) for p in params]
        h = torch.nn.functional.linear(torch.tensor(xs), ps[0], ps[1]).tanh()
        h = torch.nn.functional.gelu(torch.nn.functional.linear(h, ps[2], ps[3]))
        loss = torch.nn.functional.cross_entropy(h, torch.tensor(ys))
        gs = torch.autograd.grad(loss, ps, create_graph=True)
        dot = sum((g * torch.tensor(v)).sum() for g, v in zip(gs, vs))
        return [t.detach().numpy() for t in torch.autograd.grad(dot, ps)]

    for a, b in zip(ours(), theirs()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradient_penalty_of_a_conv_net_matches_pytorch():
    """d/dW of ||d loss / d x||^2 (a WGAN-GP-style gradient penalty) through conv, batch norm,
    max pooling and a linear layer."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x0 = rng.standard_normal((3, 1, 6, 6))
    k0, w0 = rng.standard_normal((2, 1, 3, 3)), rng.standard_normal((4, 18))

    def penalty(lib, F_, bn):
        x = lib.tensor(x0, requires_grad=True)
        k, w = lib.tensor(k0, requires_grad=True), lib.tensor(w0, requires_grad=True)
        h = F_.max_pool2d(F_.relu(bn(F_.conv2d(x, k, padding=1))), 2)
        out = F_.linear(h.reshape(3, 18), w).sum()
        (gx,) = lib.autograd.grad(out, x, create_graph=True)
        return lib.autograd.grad((gx * gx).sum(), [k, w])

    def bn_tl(z):
        return _batch_norm(z, None, None)

    def bn_torch(z):
        return torch.nn.functional.batch_norm(z, None, None, training=True)

    ours = [t.numpy() for t in penalty(tl, F, bn_tl)]
    theirs = [t.detach().numpy() for t in penalty(torch, torch.nn.functional, bn_torch)]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_a_module_can_be_differentiated_twice():
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()
    x = leaf(np.random.default_rng(7).standard_normal((5, 3)))
    (gx,) = grad(model(x).sum(), x, create_graph=True)
    (gx * gx).sum().backward()
    last_bias = model[3].bias  # d out / d x does not depend on it: no gradient, as in PyTorch
    assert last_bias.grad is None
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters() if p is not last_bias)


def test_gradgradcheck_catches_a_backward_whose_own_gradient_is_wrong():
    class CubeDetached(Cube):  # right first derivative, but x^2 taken as a constant in it
        def backward(self, grad):
            x = self.x.detach() if isinstance(self.x, tl.Tensor) else self.x
            return grad * 3 * x * x

    x = leaf([0.5, -1.5])
    assert tl.gradcheck(CubeDetached.apply, x)
    with pytest.raises(tl.GradcheckError, match="input 0"):
        tl.gradgradcheck(CubeDetached.apply, x)


def test_third_derivatives_against_finite_differences_of_the_second(device):
    """gradgradcheck of a gradient taken with create_graph: the third derivatives of a softmax,
    a tanh layer and batch norm, through the Tensor pass run twice."""
    rng = np.random.default_rng(8)
    x = tl.Tensor(rng.standard_normal((3, 2)), dtype=np.float64, device=device, requires_grad=True)

    def first(z):
        y = (F.log_softmax(z.tanh() * 2, -1) * _batch_norm(z, None, None)).sum()
        return grad(y, z, create_graph=True)[0]

    assert tl.gradgradcheck(first, x)
