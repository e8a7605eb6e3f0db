"""Saving and loading state dicts as ``.npz`` archives, atomically and without pickle.

``save`` writes through ``tinygrad_lite.files.atomic_write``: a crash mid-save leaves
the previous file as it was. ``load`` reads with ``allow_pickle=False``, so a crafted
file cannot run code.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np  # files live on the host: state is written and read as host NumPy arrays

from tinygrad_lite import backend
from tinygrad_lite.files import atomic_write
from tinygrad_lite.tensor import Tensor

from .module import Module


def _host_arrays(state) -> dict:
    if isinstance(state, Module):
        state = state.state_dict()
    if not isinstance(state, dict):
        raise TypeError(f"save: expected a Module or a state dict, got {type(state).__name__}")
    out = {}
    for k, v in state.items():
        if not isinstance(k, str) or not k:
            raise TypeError(f"save: state dict keys must be non-empty strings, got {k!r}")
        v = v.data if isinstance(v, Tensor) else v
        out[k] = backend.to_numpy(v) if backend.device_of(v) else np.asarray(v)
        if out[k].dtype.hasobject:
            raise TypeError(f"save: {k!r} has dtype {out[k].dtype}; only numeric arrays are saved")
    return out


def _write_npz(fileobj, arrays: dict) -> None:
    """The archive as ``numpy.savez`` writes it (one ``<key>.npy`` per entry)."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)


def save(state, path: str | os.PathLike) -> None:
    """Write a state dict (or a Module's) to ``path`` as an ``.npz`` archive, atomically.

    The name is used as given (no ``.npz`` is appended). Arrays are stored with
    their dtypes; values may be Tensors or arrays on any device.
    """
    arrays = _host_arrays(state)
    with atomic_write(path) as f:
        _write_npz(f, arrays)


def load(path: str | os.PathLike) -> dict:
    """Read a state dict written by ``save``: name -> host NumPy array.

    Pass it to ``Module.load_state_dict``, which moves the arrays to the model's
    device. Pickled content is refused (ValueError), so loading cannot run code.
    """
    try:
        archive = np.load(os.fspath(path), allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"load: {os.fspath(path)!r} is not a pickle-free state-dict archive ({e})") from e
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a lone .npy: wrong content, not wrong type
        raise ValueError(f"load: {os.fspath(path)!r} holds a single array, not a state-dict (.npz) archive")  # noqa: TRY004
    with archive:
        try:
            return {k: archive[k] for k in archive.files}
        except ValueError as e:  # an object array inside the archive
            raise ValueError(f"load: {os.fspath(path)!r} contains pickled data, refused ({e})") from e
