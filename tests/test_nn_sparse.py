"""Embedding and ``nn.functional.embedding``: lookups against NumPy, the accumulated gradient of
repeated indices, padding_idx, init and from_pretrained, and bad input."""
import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn


# ---------------------------------------------------------------- Embedding
def test_embedding_lookup_and_accumulated_gradient(device):
    tl.manual_seed(0)
    emb = nn.Embedding(6, 3, device=device, dtype="float64")
    idx = np.array([[1, 4, 1], [0, 1, 5]])
    out = emb(tl.Tensor(idx, device=device))
    w = emb.weight.numpy()
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), w[idx])
    g = np.random.default_rng(2).normal(size=out.shape)
    (out * tl.Tensor(g, device=device)).sum().backward()
    expected = np.zeros_like(w)
    np.add.at(expected, idx, g)  # repeated indices add up
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-12)
    assert module_gradcheck(emb, tl.Tensor(idx, device=device))


def test_embedding_padding_idx_is_looked_up_but_never_learns(device):
    emb = nn.Embedding(5, 2, padding_idx=-1, device=device)  # -1: the last row, as PyTorch
    assert emb.padding_idx == 4 and (emb.weight.numpy()[4] == 0).all()
    emb.weight.data[4] = 7.0  # set by hand: still what a lookup returns
    idx = tl.Tensor([4, 2, 4, 0], device=device)
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy()[[0, 2]], 7.0)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[4] == 0).all() and (grad[2] == 1).all() and (grad[0] == 1).all() and (grad[[1, 3]] == 0).all()
    assert repr(emb) == "Embedding(5, 2, padding_idx=4)"


def test_embedding_init_and_from_pretrained(device):
    tl.manual_seed(1)
    w = nn.Embedding(1000, 50).weight.numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1), as PyTorch
    table = tl.Tensor(np.arange(6.0).reshape(3, 2), device=device)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad and frozen.weight.device == device
    np.testing.assert_array_equal(frozen(tl.Tensor([2, 0], device=device)).numpy(), [[4, 5], [0, 1]])
    table.data[0, 0] = 99.0  # a copy: the layer does not see later changes
    assert frozen.weight.numpy()[0, 0] == 0
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


@pytest.mark.parametrize("call, error, text", [
    (lambda e: e(tl.Tensor([0.0, 1.0])), TypeError, "embedding: indices must be integers"),
    (lambda e: e(tl.Tensor([0, 4])), ValueError, r"embedding: index 4 is out of range for 4 embeddings \(valid: 0\.\.3\)"),
    (lambda e: e(tl.Tensor([-1, 0])), ValueError, "index -1 is out of range"),
    (lambda e: e(np.array([0, 1])), TypeError, "not a Tensor"),
    (lambda e: F.embedding(tl.Tensor([0]), tl.zeros(4)), ValueError, r"weight of shape \(num_embeddings"),
    (lambda e: nn.Embedding(0, 3), ValueError, "Embedding: num_embeddings"),
    (lambda e: nn.Embedding(4, 2.5), TypeError, "Embedding: embedding_dim"),
    (lambda e: nn.Embedding(4, 2, padding_idx=4), ValueError, "Embedding: padding_idx"),
    (lambda e: nn.Embedding(4, 2, max_norm="1"), TypeError, "Embedding: max_norm"),
    (lambda e: nn.Embedding.from_pretrained(tl.zeros(3)), ValueError, "from_pretrained"),
])
def test_embedding_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call(nn.Embedding(4, 2))


# ---------------------------------------------------------------- the lookup's gradient, both paths
@pytest.mark.parametrize("rows, dim, shape", [(5, 3, (4, 7)), (27, 10, (32, 3)), (96, 2, (50,)),
                                              (97, 4, (6, 20)), (1000, 3, (300,)), (40, 1, (0,))])
def test_lookup_gradient_equals_np_add_at(device, rows, dim, shape):
    """Few rows take a one-hot product, many a sort and segment sums: both give np.add.at's sums."""
    rng = np.random.default_rng(rows)
    w = tl.Tensor(rng.normal(size=(rows, dim)).astype(np.float32), device=device, requires_grad=True)
    idx = rng.integers(0, min(rows, 7) if rows < 100 else rows, size=shape)  # many repeats
    g = rng.normal(size=shape + (dim,)).astype(np.float32)
    out = F.embedding(tl.Tensor(idx, device=device), w)
    out.backward(tl.Tensor(g, device=device))
    expected = np.zeros((rows, dim), np.float32)
    np.add.at(expected, idx, g)
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rows", [6, 500])
def test_index_gradient_negative_and_repeated_rows(device, rows):
    rng = np.random.default_rng(1)
    x = tl.Tensor(rng.normal(size=(rows, 2, 3)), device=device, requires_grad=True)
    idx = np.array([[0, -1, 2], [rows - 1, 0, 0]])  # -1 and rows - 1 are the same row
    g = rng.normal(size=(2, 3, 2, 3))
    x[tl.Tensor(idx, device=device)].backward(tl.Tensor(g, device=device))
    expected = np.zeros((rows, 2, 3))
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_padding_row_gets_no_gradient_on_the_sorted_path(device):
    emb = nn.Embedding(300, 2, padding_idx=7, device=device)
    emb(tl.Tensor([7, 3, 7, 299, 3], device=device)).sum().backward()
    grad = emb.weight.grad.numpy()
    assert (grad[7] == 0).all() and (grad[3] == 2).all() and (grad[299] == 1).all()
    assert grad.sum() == 6


# ---------------------------------------------------------------- max_norm
def np_renorm(w, idx, max_norm, norm_type):
    """PyTorch's embedding_renorm_: rows picked by idx with norm > max_norm scaled by max_norm / (norm + 1e-7)."""
    w = w.copy()
    for i in np.unique(idx):
        norm = np.abs(w[i]).max() if norm_type == np.inf else (np.abs(w[i]) ** norm_type).sum() ** (1 / norm_type)
        if norm > max_norm:
            w[i] *= max_norm / (norm + 1e-7)
    return w


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0), (0.3, float("inf"))])
def test_max_norm_renormalizes_the_looked_up_rows_in_place(device, max_norm, norm_type):
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=(6, 4)) * 2
    w0[5] *= 1e-3  # a small row is left as it is
    emb = nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type, device=device, dtype="float64")
    emb.weight.data[...] = w0
    idx = np.array([[1, 5, 1], [0, 3, 5]])
    out = emb(tl.Tensor(idx, device=device))
    expected = np_renorm(w0, idx, max_norm, norm_type)
    np.testing.assert_allclose(emb.weight.numpy(), expected, rtol=1e-12)  # the weight itself changed
    np.testing.assert_array_equal(emb.weight.numpy()[[2, 4]], w0[[2, 4]])  # rows not looked up are kept
    np.testing.assert_allclose(out.numpy(), expected[idx], rtol=1e-12)
    g = rng.normal(size=out.shape)
    (out * tl.Tensor(g, device=device)).sum().backward()
    grad = np.zeros_like(w0)
    np.add.at(grad, idx, g)  # the renorm is out of the graph: a plain lookup's gradient
    np.testing.assert_allclose(emb.weight.grad.numpy(), grad, rtol=1e-12)
    assert "max_norm=" in repr(emb)


def test_max_norm_gradcheck_and_errors(device):
    emb = nn.Embedding(5, 3, max_norm=10.0, device=device, dtype="float64")  # norms below 10: no change
    emb.weight.data[...] = np.random.default_rng(3).normal(size=(5, 3))
    assert module_gradcheck(emb, tl.Tensor(np.array([[1, 4, 1]]), device=device))
    with pytest.raises(ValueError, match="max_norm"):
        nn.Embedding(5, 3, max_norm=-1.0)
    with pytest.raises(ValueError, match="norm_type"):
        F.embedding(tl.Tensor([0]), tl.ones(2, 2), max_norm=1.0, norm_type=0.0)


def test_embedding_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    w0 = rng.normal(size=(200, 5)) * 2
    idx = rng.integers(0, 200, size=(8, 30))
    for kw in ({}, {"padding_idx": 3}, {"max_norm": 1.5}, {"max_norm": 0.7, "norm_type": 1.0, "padding_idx": 0}):
        theirs = torch.nn.Embedding(200, 5, **kw).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w0))
        ours = nn.Embedding(200, 5, **kw, dtype="float64")
        ours.load_state_dict({"weight": tl.Tensor(w0)})
        ty, oy = theirs(torch.tensor(idx)), ours(tl.Tensor(idx))
        g = rng.normal(size=oy.shape)
        ty.backward(torch.tensor(g))
        (oy * tl.Tensor(g)).sum().backward()
        np.testing.assert_allclose(oy.numpy(), ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
