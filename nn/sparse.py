"""Embedding: a lookup table of learned vectors, one row per index (word, token, category)
(``nn.functional.embedding``)."""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int, check_real
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .functional import _padding_idx
from .module import Module, Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``, PyTorch's
    ``Embedding``: ``Embedding(n, d)(indices)`` has shape indices.shape + (d,).

    ``weight`` (n, d) starts N(0, 1), as PyTorch's. With ``padding_idx`` that row starts at
    zero and is never updated by gradients (it marks padding in variable-length sequences).
    With ``max_norm``, each looked-up row whose ``norm_type``-norm exceeds it is rescaled in
    place to that norm before the lookup (``nn.functional.embedding``), as PyTorch's.
    Indices must be integers in [0, n) (TypeError, ValueError otherwise). PyTorch's
    ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        self.padding_idx = _padding_idx("Embedding", padding_idx, num_embeddings)
        self.max_norm = None if max_norm is None else check_real("Embedding", "max_norm", max_norm, 0.0)
        self.norm_type = check_real("Embedding", "norm_type", norm_type, 0.0, low_open=True, finite=False)
        self.weight = Parameter(factory.randn(num_embeddings, embedding_dim, dtype=dtype, device=device))
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0) -> Embedding:
        """An Embedding whose weight is a copy of the 2-D ``embeddings``; ``freeze`` (default)
        makes it not require grad, so optimizers leave it as it is."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            got = embeddings.shape if isinstance(embeddings, Tensor) else type(embeddings).__name__
            raise ValueError(f"Embedding.from_pretrained: expected embeddings of shape "
                             f"(num_embeddings, embedding_dim), got {got}")
        n, d = embeddings.shape
        layer = cls(n, d, padding_idx, max_norm, norm_type, device=embeddings.device, dtype=embeddings.dtype)
        layer.weight.data = embeddings.data.copy()  # the padding row too: PyTorch keeps it as given
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx, self.max_norm, self.norm_type)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            pad += f", max_norm={self.max_norm}" + ("" if self.norm_type == 2.0 else f", norm_type={self.norm_type}")
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

