"""``torch.utils.data`` for tinygrad_lite: datasets, samplers and a DataLoader with PyTorch's
signatures and meaning, so that a PyTorch input pipeline runs with its imports changed.

    from tinygrad_lite.utils.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    for xb, yb in loader:
        ...

One file per part, as ``torch.utils.data``: ``dataset`` (Dataset, TensorDataset), ``sampler``
(Sampler, SequentialSampler, RandomSampler, BatchSampler), ``collate`` (default_collate,
default_convert), ``dataloader`` (DataLoader). Shuffling draws from the library's seeded
generator (``tl.manual_seed`` reproduces it) unless a ``generator`` (a NumPy Generator or an int
seed) is given. ``tinygrad_lite.data.DataLoader`` batches host arrays with these samplers.
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import Dataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler", "SequentialSampler",
           "TensorDataset", "default_collate", "default_convert"]
