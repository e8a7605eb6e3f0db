"""How the DataLoader makes one batch of examples: PyTorch's ``default_collate`` (and, for
``batch_size=None``, ``default_convert``), rule for rule.

``default_collate(batch)``, ``batch`` a list of examples of one structure, by the first one's type:

- Tensor: ``stack`` (a new first axis of the batch);
- NumPy array: as tensors, stacked (strings and objects are refused); NumPy scalar: a tensor of
  its dtype;
- Python float: a float64 tensor (PyTorch's rule: ``torch.tensor(batch, dtype=torch.float64)``,
  not the default float32); Python int: int64; bool: bool (an int whose batch is read by the
  ``Tensor`` constructor, so ints mixed with floats give float32, as ``torch.tensor``);
- str and bytes: the batch as it is (inside a tuple, list or dict: a tuple of them, as PyTorch);
- dict (any Mapping): the same keys, each collated over the batch;
- namedtuple: the same type, each field collated; tuple: a list of the collated positions (as
  PyTorch: ``for x, y in loader`` unpacks it); list: a list, each position collated; sequences
  of unequal lengths are refused.

Tensors are made on the default device (``tl.set_default_device``); a batch of tensors stays on
theirs.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from ... import backend
from ...factory import as_tensor
from ...tensor import Tensor, stack

ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_numpy(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and not isinstance(x, (np.str_, np.bytes_))


def _tensor(array):
    """A NumPy array as a tensor on the default device (no copy on "cpu")."""
    return as_tensor(array, device=backend.get_default_device())


def default_collate(batch):
    """One batch from ``batch``, a list of examples (see the module's docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch)
    if _is_numpy(elem):
        if elem.dtype.kind in "OSUV":
            raise TypeError(ERROR.format(elem.dtype))
        if isinstance(elem, np.ndarray):
            return default_collate([_tensor(b) for b in batch])
        return _tensor(np.asarray(batch))  # NumPy scalars keep their dtype
    if isinstance(elem, float):
        return Tensor(batch, dtype=np.float64)
    if isinstance(elem, numbers.Integral):
        return Tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:  # a mapping type that cannot be built from a dict
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of equal size")
        return [default_collate(s) for s in zip(*batch)]
    raise TypeError(ERROR.format(type(elem)))


def default_convert(data):
    """One example as tensors without a batch axis (what ``DataLoader(batch_size=None)`` yields):
    NumPy arrays and scalars become tensors; dicts, namedtuples, tuples and lists are converted
    element by element; anything else (tensors, Python numbers, strings) is kept."""
    if _is_numpy(data) and data.dtype.kind not in "OSUV":
        return _tensor(data)
    if isinstance(data, Mapping):
        out = {key: default_convert(v) for key, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
