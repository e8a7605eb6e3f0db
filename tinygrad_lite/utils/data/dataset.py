"""Datasets, as ``torch.utils.data``: ``Dataset`` (the base of map-style data sets) and
``TensorDataset`` (examples along the first axis of tensors)."""
from __future__ import annotations

from ...tensor import Tensor


class Dataset:
    """A map-style data set: subclass it and define ``__getitem__(i)`` (example ``i``, anything
    ``default_collate`` takes: tensors, arrays, numbers, tuples, dicts) and ``__len__`` (the
    number of examples), as PyTorch's ``Dataset``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Example ``i`` is ``tuple(t[i] for t in tensors)``: tensors with the same first axis (the
    examples), as PyTorch's ``TensorDataset``."""

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes Tensors, got {type(t).__name__}: wrap it, tl.tensor(x)")
            if t.ndim == 0:
                raise ValueError("TensorDataset: a 0-d tensor has no first axis of examples")
        if any(t.shape[0] != tensors[0].shape[0] for t in tensors):
            raise ValueError("TensorDataset: size mismatch between tensors, their first axes differ: "
                             f"shapes {[t.shape for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]
