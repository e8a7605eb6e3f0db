"""Saving and loading state dicts as ``.npz`` archives, atomically and without pickle.

``save`` writes through ``tinygrad_lite.files.atomic_write``: a crash mid-save leaves
the previous file as it was. The archive is what ``numpy.savez`` writes (one
``<key>.npy`` entry per key), so ``numpy.load`` reads it too. ``load`` reads the zip
entries itself and strips exactly one ``.npy``: ``numpy.load`` looks names up with and
without the suffix, so a key ``"a.npy"`` next to a key ``"a"`` would come back wrong.
Arrays are read with ``allow_pickle=False``, so a crafted file cannot run code, and a
damaged file raises ValueError naming the file and what is wrong.
"""
from __future__ import annotations

import math
import os
import zipfile
import zlib

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
        _check_key(k)
        v = v.data if isinstance(v, Tensor) else v
        out[k] = backend.to_numpy(v) if backend.device_of(v) else np.asarray(v)
        if out[k].dtype.hasobject:
            raise TypeError(f"save: {k!r} has dtype {out[k].dtype}; only numeric arrays are saved")
    return out


def _check_key(key: str) -> None:
    # zipfile cuts a name at NUL and, on Windows, reads "\\" as "/": such keys would not come back
    if "\0" in key or "\\" in key:
        raise ValueError(f"save: state dict key {key!r} contains a NUL or backslash, which a zip entry "
                         "name cannot keep; rename the key")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"save: state dict key {key!r} is not valid Unicode ({e}); rename the key") from e


def _write_npz(fileobj, arrays: dict) -> None:
    """The archive as ``numpy.savez`` writes it (one ``<key>.npy`` per entry)."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", mode="w", force_zip64=True) as out:
                # as is: np.ascontiguousarray would turn a 0-d array into shape (1,)
                np.lib.format.write_array(out, array, allow_pickle=False)


def save(state, path: str | os.PathLike) -> None:
    """Write a state dict (or a Module's) to ``path`` as an ``.npz`` archive, atomically.

    The name is used as given (no ``.npz`` is appended). Arrays are stored with
    their dtypes; values may be Tensors or arrays on any device.
    """
    arrays = _host_arrays(state)
    with atomic_write(path) as f:
        _write_npz(f, arrays)


_NPY_MAGIC = np.lib.format.MAGIC_PREFIX
_PICKLE_PROTO = b"\x80"  # pickles of protocol 2 and later start with the PROTO opcode
# what zipfile and numpy's .npy reader raise on damaged bytes: a bad offset fails a seek
# (OSError), a flipped flag bit makes an entry look encrypted or oddly compressed
_DAMAGED = (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error, NotImplementedError, RuntimeError)


def load(path: str | os.PathLike) -> dict:
    """Read a state dict written by ``save``: name -> host NumPy array, in the saved order.

    Pass it to ``Module.load_state_dict``, which moves the arrays to the model's
    device. Pickled content is refused (ValueError), so loading cannot run code; so is
    a damaged or foreign file. A missing file raises FileNotFoundError.
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
        if head == _NPY_MAGIC:  # a lone .npy: wrong content, not wrong type
            raise ValueError(f"load: {name!r}: holds a single array, not a state-dict (.npz) archive")
        if head[:1] == _PICKLE_PROTO:
            raise ValueError(f"load: {name!r}: holds a pickle, refused (unpickling can run code)")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except _DAMAGED as e:
            raise ValueError(f"load: {name!r}: not a valid .npz file (truncated, or not written by "
                             f"tinygrad_lite.nn.save): {e}") from e
        with archive:
            out = {}
            for info in archive.infolist():
                key = _entry_key(info, name)
                if key in out:
                    raise ValueError(f"load: {name!r}: entry {key!r} appears twice; the file is damaged")
                out[key] = _read_entry(archive, info, key, name)
            return out


def _entry_key(info: zipfile.ZipInfo, name: str) -> str:
    if not info.filename.endswith(".npy"):
        raise ValueError(f"load: {name!r}: entry {info.filename!r} is not a .npy array; "
                         "not a state dict written by tinygrad_lite.nn.save")
    return info.filename[: -len(".npy")]


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, name: str) -> np.ndarray:
    """One entry's array. Its header is checked first: an object dtype would need pickle, and
    a size that disagrees with the entry means damage (caught before allocating for it)."""
    fmt = np.lib.format
    where = f"load: {name!r}: entry {key!r}"
    try:
        with archive.open(info) as member:
            version = fmt.read_magic(member)
            # version 3 differs from 2 only in the header's text encoding
            read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read_header(member)
            held = info.file_size - member.tell()
    except _DAMAGED as e:
        raise ValueError(f"{where} is damaged ({type(e).__name__}: {e})") from e
    if dtype.hasobject:
        raise ValueError(f"{where} holds pickled objects ({dtype}), refused (unpickling can run code)")
    needed = math.prod(shape) * dtype.itemsize
    if needed != held:
        raise ValueError(f"{where} declares shape {shape} of {dtype} ({needed} bytes) but holds "
                         f"{held} bytes; the file is damaged")
    try:
        with archive.open(info) as member:
            return fmt.read_array(member, allow_pickle=False)
    except _DAMAGED as e:  # e.g. a CRC mismatch: the data bytes were altered
        raise ValueError(f"{where} is damaged ({type(e).__name__}: {e})") from e
