"""Sampling from a language model: the next token from its scores, and text one token at a time.

    from tinygrad_lite.train import generate
    model.eval()
    ids = generate(lambda ctx: model(ctx[:, -block_size:])[:, -1, :],   # (B, T) -> (B, vocab) scores
                   tl.zeros((1, 1), dtype=tl.int64), max_new_tokens=200, temperature=0.8, top_k=10)
    print(vocab.decode(ids[0]))

The draws come from the device's generator (``tl.manual_seed``), through ``Tensor.multinomial``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..autograd import no_grad
from ..checks import check_int
from ..factory import as_tensor
from ..tensor import Tensor, concatenate, where


def sample_next(logits: Tensor, temperature: float = 1.0, top_k: int | None = None) -> Tensor:
    """One token id per row of ``logits`` (shape (B, vocab), or (vocab,) for one row), drawn from
    softmax(logits / temperature) restricted to the ``top_k`` largest scores (all when None).
    ``temperature`` 0 picks the largest score (greedy); below 1 sharpens, above 1 flattens.
    Returns int64 of shape (B,) (or a 0-d tensor for a 1-d input). Ties at the k-th score all stay."""
    if not isinstance(logits, Tensor) or logits.ndim not in (1, 2):
        raise ValueError(f"sample_next: logits must be a 1-d or 2-d Tensor (rows of scores), got "
                         f"{getattr(logits, 'shape', type(logits).__name__)}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature >= 0:
        raise ValueError(f"sample_next: temperature must be a number >= 0, got {temperature!r}")
    rows = logits.reshape(1, -1) if logits.ndim == 1 else logits
    with no_grad():
        rows = rows.float() if rows.dtype not in (np.float32, np.float64) else rows
        if top_k is not None:
            top_k = check_int("sample_next", "top_k", top_k, 1, rows.shape[1])
            kth = rows.topk(top_k, axis=1)[0][:, -1:]  # the k-th largest score of each row
            rows = where(rows < kth, float("-inf"), rows)
        if temperature == 0:
            ids = rows.argmax(axis=1)
        else:
            ids = (rows / temperature).softmax(axis=1).multinomial(1)[:, 0]
    return ids[0] if logits.ndim == 1 else ids


def generate(next_logits: Callable[[Tensor], Tensor], context, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, stop_token: int | None = None) -> Tensor:
    """Extend each row of ``context`` (int64 ids of shape (B, T)) by up to ``max_new_tokens`` ids:
    ``next_logits(ids)`` maps the ids so far to the next token's scores (B, vocab), and
    :func:`sample_next` draws from them. With ``stop_token``, a row that drew it keeps it from
    then on, and generation ends when every row has (the rows then differ in length up to their
    first ``stop_token``). Runs without recording a graph; put the model in ``eval()`` first
    (dropout and batch norm), as for any inference. Returns the ids, (B, T + new)."""
    max_new_tokens = check_int("generate", "max_new_tokens", max_new_tokens, 0)
    ids = context if isinstance(context, Tensor) else as_tensor(np.asarray(context, dtype=np.int64))
    if ids.ndim != 2:
        raise ValueError(f"generate: context must be 2-d (batch, time) ids, got shape {ids.shape}")
    done = None
    with no_grad():
        for _ in range(max_new_tokens):
            logits = next_logits(ids)
            if not isinstance(logits, Tensor) or logits.shape[:1] != ids.shape[:1] or logits.ndim != 2:
                raise ValueError(f"generate: next_logits must return scores of shape ({ids.shape[0]}, vocab), "
                                 f"got {getattr(logits, 'shape', type(logits).__name__)}")
            new = sample_next(logits, temperature, top_k)
            if stop_token is not None:
                new = new if done is None else where(done, stop_token, new)
                done = new == stop_token
            ids = concatenate([ids, new.reshape(-1, 1).to(ids.device)], axis=1)
            if done is not None and bool(done.all().item()):
                break
    return ids
