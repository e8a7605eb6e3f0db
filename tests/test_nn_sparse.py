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
    (lambda e: nn.Embedding(4, 2, max_norm=1.0), TypeError, "max_norm"),
    (lambda e: nn.Embedding.from_pretrained(tl.zeros(3)), ValueError, "from_pretrained"),
])
def test_embedding_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call(nn.Embedding(4, 2))
