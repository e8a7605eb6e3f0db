"""Utilities laid out like ``torch.utils``: ``data`` (``tinygrad_lite.utils.data``, the classes of
``torch.utils.data``: Dataset, TensorDataset, DataLoader, the samplers, default_collate)."""
from . import data

__all__ = ["data"]
