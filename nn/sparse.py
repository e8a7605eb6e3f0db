"""Embedding: a lookup table of learned vectors, one row per index (word, token, category)."""
from __future__ import annotations

from tinygrad_lite import backend, factory
from tinygrad_lite.checks import check_int
from tinygrad_lite.tensor import Tensor, where

from .module import Module, Parameter


def _padding_idx(owner: str, padding_idx, num_embeddings: int) -> int | None:
    """``padding_idx`` in [-num_embeddings, num_embeddings) as a non-negative index, or None."""
    if padding_idx is None:
        return None
    p = check_int(owner, "padding_idx", padding_idx, low=-num_embeddings, high=num_embeddings - 1)
    return p % num_embeddings


def embedding(indices, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``indices`` (any
    shape): out[..., :] = weight[indices[...], :], of shape indices.shape + (embedding_dim,).

    The gradient of a row is the sum over the positions that picked it. Row ``padding_idx``
    (if given) is looked up as it is but receives no gradient, as PyTorch's.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"embedding: expected weight of shape (num_embeddings, embedding_dim), got {got}")
    n = weight.shape[0]
    idx = indices.data if isinstance(indices, Tensor) else indices
    if backend.device_of(idx) is None and not isinstance(idx, (list, tuple, int)):
        raise TypeError(f"embedding: indices must be a Tensor of integers, got {type(indices).__name__}")
    idx = backend.to_device(idx, weight.device)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}; "
                        "convert them with .astype('int64')")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"embedding: index {lo if lo < 0 else hi} is out of range for {n} embeddings "
                             f"(valid: 0..{n - 1})")
    out = weight[idx]
    if padding_idx is not None:
        padding_idx = _padding_idx("embedding", padding_idx, n)
        pad = idx == padding_idx
        if bool(pad.any()):  # the padding row's values, cut from the graph where it was picked
            out = where(pad[..., None], weight.detach()[idx], out)
    return out


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``, PyTorch's
    ``Embedding``: ``Embedding(n, d)(indices)`` has shape indices.shape + (d,).

    ``weight`` (n, d) starts N(0, 1), as PyTorch's. With ``padding_idx`` that row starts at
    zero and is never updated by gradients (it marks padding in variable-length sequences).
    Indices must be integers in [0, n) (TypeError, ValueError otherwise). PyTorch's
    ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = _padding_idx("Embedding", padding_idx, num_embeddings)
        self.weight = Parameter(factory.randn(num_embeddings, embedding_dim, dtype=dtype, device=device))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight is a copy of the 2-D ``embeddings``; ``freeze`` (default)
        makes it not require grad, so optimizers leave it as it is."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            got = embeddings.shape if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise ValueError(f"Embedding.from_pretrained: expected embeddings of shape "
                             f"(num_embeddings, embedding_dim), got {got}")
        n, d = embeddings.shape
        layer = cls(n, d, padding_idx, device=embeddings.device, dtype=embeddings.dtype)
        layer.weight.data = embeddings.data.copy()  # the padding row too: PyTorch keeps it as given
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, indices) -> Tensor:
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


__all__ = ["Embedding", "embedding"]
