"""Saving and loading state dicts, atomically and without pickle: ``.safetensors`` or ``.npz``.

The file's suffix chooses the format. ``save`` writes through
``tinygrad_lite.files.atomic_write``: a crash mid-save leaves the previous file as it was.
A damaged, truncated or foreign file raises ValueError naming the file and what is wrong.

- ``.safetensors``: the format PyTorch, JAX, NumPy and the Hugging Face tools read, through
  the ``safetensors`` package's NumPy API. It holds no code, only a JSON header and the raw
  bytes. State-dict keys and shapes follow PyTorch's layouts, so PyTorch's
  ``model.load_state_dict(safetensors.torch.load_file(path))`` takes a file written here, and
  ``load`` takes one written by PyTorch. The header's metadata records the library version
  (``tinygrad_lite.version``), each key's NumPy dtype name in the saved order
  (``tinygrad_lite.dtypes``), ``format: pt`` (what Hugging Face tools look for: the tensors
  are in PyTorch's layout) and any string-to-string ``metadata`` the caller passes
  (``load_metadata`` reads it back). float16/32/64, the integer types and bool are kept;
  bfloat16 and float8 files are refused by name (NumPy has no such dtype). The format has no
  checksum: a truncated or malformed file is named, a flipped bit in the data is not (the
  ``.npz`` archive's CRC catches that).
- ``.npz`` (any other name): what ``numpy.savez`` writes (one ``<key>.npy`` entry per key),
  so ``numpy.load`` reads it too. ``load`` reads the zip entries itself and strips exactly one
  ``.npy``: ``numpy.load`` looks names up with and without the suffix, so a key ``"a.npy"``
  next to a key ``"a"`` would come back wrong. Arrays are read with ``allow_pickle=False``,
  so a crafted file cannot run code.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
import zlib

import numpy as np  # files live on the host: state is written and read as host NumPy arrays
import safetensors.numpy

from tinygrad_lite import backend
from tinygrad_lite.files import atomic_write
from tinygrad_lite.tensor import Tensor
from tinygrad_lite.version import __version__

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


def is_safetensors(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a ``.safetensors`` file (the suffix chooses the format)."""
    return os.fspath(path).lower().endswith(".safetensors")


def save(state, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write a state dict (or a Module's) to ``path``, atomically: ``.safetensors`` when the
    name ends so, else an ``.npz`` archive.

    The name is used as given (no suffix is appended). Arrays are stored with their dtypes;
    values may be Tensors or arrays on any device. ``metadata`` (strings to strings) goes
    into a safetensors file's header; an ``.npz`` archive has no place for it.
    """
    arrays = _host_arrays(state)
    if is_safetensors(path):
        # the package writes an array's memory as it lies: Fortran-ordered or strided arrays
        # must be laid out in C order first (np.ascontiguousarray would make 0-d arrays 1-d)
        arrays = {k: a if a.flags.c_contiguous else a.copy(order="C") for k, a in arrays.items()}
        payload = safetensors.numpy.save(arrays, metadata=_header_metadata(arrays, metadata))
        with atomic_write(path) as f:
            f.write(payload)
        return
    if metadata is not None:
        raise ValueError(f"save: {os.fspath(path)!r}: metadata is kept in .safetensors files only; "
                         "name the file *.safetensors or leave metadata out")
    with atomic_write(path) as f:
        _write_npz(f, arrays)


_OWN = "tinygrad_lite."  # the metadata keys this library writes


def _header_metadata(arrays: dict, metadata: dict | None) -> dict[str, str]:
    out = {"format": "pt", f"{_OWN}version": __version__,
           f"{_OWN}dtypes": json.dumps({k: a.dtype.name for k, a in arrays.items()})}
    for k, v in (metadata or {}).items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"save: metadata must map strings to strings (safetensors' header), got "
                            f"{k!r}: {type(v).__name__}")
        if k in (f"{_OWN}version", f"{_OWN}dtypes"):
            raise ValueError(f"save: metadata key {k!r} is written by save itself (the library's own entries)")
        out[k] = v
    return out


_NPY_MAGIC = np.lib.format.MAGIC_PREFIX
_PICKLE_PROTO = b"\x80"  # pickles of protocol 2 and later start with the PROTO opcode
# what zipfile and numpy's .npy reader raise on damaged bytes: a bad offset fails a seek
# (OSError), a flipped flag bit makes an entry look encrypted or oddly compressed
_DAMAGED = (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error, NotImplementedError, RuntimeError)


def load(path: str | os.PathLike) -> dict:
    """Read a state dict written by ``save`` (or by PyTorch, for ``.safetensors``): name ->
    host NumPy array, in the saved order.

    Pass it to ``Module.load_state_dict``, which moves the arrays to the model's device.
    Pickled content is refused (ValueError), so loading cannot run code; so is a damaged
    or foreign file. A missing file raises FileNotFoundError.
    """
    name = os.fspath(path)
    if is_safetensors(name):
        return _load_safetensors(name)[0]
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


def load_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata in a ``.safetensors`` file's header: what ``save(..., metadata=)`` put
    there, and the library's own ``tinygrad_lite.*`` entries (absent in files from elsewhere)."""
    name = os.fspath(path)
    if not is_safetensors(name):
        raise ValueError(f"load_metadata: {name!r}: only .safetensors files carry metadata")
    return _load_safetensors(name)[1]


# safetensors dtype names -> NumPy dtypes; those NumPy lacks are refused by name
_ST_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
              "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
              "F16": np.float16, "F32": np.float32, "F64": np.float64}
_ST_REFUSED = {"BF16": "bfloat16", "F8_E4M3": "float8 (e4m3)", "F8_E5M2": "float8 (e5m2)"}
_ST_HEADER_MAX = 100_000_000  # the safetensors limit on the JSON header


def _load_safetensors(name: str) -> tuple[dict, dict]:
    """(arrays in the saved order, header metadata). The header is checked before the
    package reads the data, so that each kind of damage gets its own named error."""
    with open(name, "rb") as f:
        raw = f.read()
    where = f"load: {name!r}"
    if len(raw) < 8:
        raise ValueError(f"{where}: {len(raw)} bytes, too short for a .safetensors file (truncated?)")
    size = int.from_bytes(raw[:8], "little")
    if size > min(_ST_HEADER_MAX, len(raw) - 8):
        raise ValueError(f"{where}: the header claims {size} bytes but the file has {len(raw) - 8} after "
                         "its length; truncated, or not a .safetensors file")
    try:
        header = json.loads(raw[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{where}: the header is not valid JSON ({e}); damaged, or not a .safetensors "
                         "file") from e
    if not isinstance(header, dict):
        raise ValueError(f"{where}: the header is a {type(header).__name__}, not a JSON object")  # noqa: TRY004
    metadata = header.pop("__metadata__", None) or {}
    data_size = len(raw) - 8 - size
    for key, entry in header.items():
        _check_entry(where, key, entry, data_size)
    try:
        arrays = safetensors.numpy.load(raw)
    except Exception as e:  # SafetensorError: damage the checks above did not name
        raise ValueError(f"{where}: damaged .safetensors file ({e})") from e
    order = _saved_order(metadata, arrays)
    # copies: the package's arrays may share one read-only buffer
    return {k: np.array(arrays[k]) for k in order}, metadata


def _check_entry(where: str, key: str, entry, data_size: int) -> None:
    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= set(entry):
        raise ValueError(f"{where}: entry {key!r} is not a tensor description ({entry!r}); damaged file")
    dtype = entry["dtype"]
    if dtype in _ST_REFUSED:
        raise ValueError(f"{where}: entry {key!r} is {_ST_REFUSED[dtype]} ({dtype}), which NumPy has no dtype "
                         "for; convert it before saving (in PyTorch: model.float())")
    if dtype not in _ST_DTYPES:
        raise ValueError(f"{where}: entry {key!r} has dtype {dtype!r}, not one of {sorted(_ST_DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)
            and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(n, int) for n in offsets)):
        raise ValueError(f"{where}: entry {key!r} has a malformed shape {shape!r} or offsets {offsets!r}")
    begin, end = offsets
    needed = math.prod(shape) * np.dtype(_ST_DTYPES[dtype]).itemsize
    if not 0 <= begin <= end <= data_size or end - begin != needed:
        raise ValueError(f"{where}: entry {key!r} declares shape {shape} of {dtype} ({needed} bytes) at bytes "
                         f"{begin}..{end} of {data_size}; the file is truncated or damaged")


def _saved_order(metadata: dict, arrays: dict) -> list:
    """The keys in the order they were saved (this library records it), else sorted."""
    try:
        order = list(json.loads(metadata.get(f"{_OWN}dtypes", "{}")))
    except (json.JSONDecodeError, TypeError):
        order = []
    return order if sorted(order) == sorted(arrays) else sorted(arrays)


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
