"""Measuring a model: the mean loss and accuracy on a data set, in eval mode without a graph.

Shared by the fit loop (its validation numbers), the lecture's sanity checks, the diagnostics
and the learning-rate finder, with the two helpers each of them reads its arguments with:
``model_device`` (where the model's parameters live) and ``as_loader`` (an (x, y) pair of
arrays, or any loader, as batches of tensors).
"""
from __future__ import annotations

from collections.abc import Callable

from ..autograd import no_grad
from ..data.loader import DataLoader
from ..nn.module import eval_mode
from ..tensor import Tensor

EVAL_BATCH_SIZE = 1024  # evaluation holds no graph, so bigger batches only save Python overhead


def model_device(model) -> str:
    """The device of the model's first parameter."""
    for p in model.parameters():
        return p.device
    raise ValueError(f"{type(model).__name__} has no parameters: nothing to train")


def as_loader(data, batch_size: int, shuffle: bool, seed: int | None, device: str):
    """``data`` as an iterable of (x, y) tensor batches: an (x, y) pair of arrays becomes a
    ``DataLoader``; anything else iterable with a length is used as it is."""
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"expected data as an (x, y) pair, got a sequence of {len(data)} items")
        return DataLoader(data[0], data[1], batch_size, shuffle=shuffle, seed=seed, device=device)
    if not hasattr(data, "__iter__") or not hasattr(data, "__len__"):
        raise TypeError(f"expected an (x, y) pair or a loader, got {type(data).__name__}")
    return data


def count_correct(scores: Tensor, y: Tensor) -> int:
    """Examples whose highest score is their label: sum_i [argmax_j s_ij == y_i]."""
    return int((scores.data.argmax(axis=1) == y.data).sum())


def evaluate(model, loss_fn: Callable, data, batch_size: int = EVAL_BATCH_SIZE,
             device: str | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``data`` ((x, y) or a loader).

    Runs in eval mode (dropout off, batch norm on running statistics) under ``no_grad``
    and restores the previous mode. The loss is averaged over examples, assuming
    ``loss_fn`` returns the batch mean: ``L = sum_b n_b L_b / sum_b n_b``.
    """
    loader = as_loader(data, batch_size, False, None, device or model_device(model))
    total = correct = seen = 0.0
    with eval_mode(model), no_grad():
        for xb, yb in loader:
            scores = model(xb)
            n = len(yb)
            total += float(loss_fn(scores, yb).item()) * n
            correct += count_correct(scores, yb)
            seen += n
    if not seen:
        raise ValueError("evaluate: the data holds no examples")
    return total / seen, correct / seen
