"""Checkpoints without pickle: one ``.npz`` holding the arrays plus a JSON description.

Written with ``nn.serialization.save`` (atomic: temporary file, then rename) and read
with ``nn.serialization.load`` (``allow_pickle=False``).

Any nesting of dicts, lists, tuples, numbers, strings, None, backend arrays and Tensors
is stored. Arrays go into the npz under generated keys; the JSON (itself stored in the
npz as UTF-8 bytes under ``__meta__``) keeps the structure and, for each array, whether it
was a Tensor or a NumPy scalar and which device it lived on, so that loading gives back
the same kinds of objects on the same devices (an optimizer's state on the "strict" or
"cuda" device must not come back as host NumPy arrays). Loading never unpickles.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np  # host-side serialisation only

from .. import backend
from ..files import decode_float, encode_float
from ..nn.serialization import load as load_arrays
from ..nn.serialization import save as save_arrays
from ..tensor import Tensor

_META = "__meta__"
FORMAT = "tinygrad_lite.checkpoint/1"


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (a nested dict) to ``path`` atomically (the name is used as given)."""
    arrays: dict = {}
    meta = {"format": FORMAT, "state": _encode(state, arrays)}
    arrays[_META] = np.frombuffer(json.dumps(meta, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    save_arrays(arrays, path)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, device: str | None = None, require: Iterable[str] = ()) -> dict:
    """Read a checkpoint written by ``save_checkpoint``. Arrays return to the device they
    were saved from, or to ``device`` when given. ``require`` names top-level keys the
    state must have (e.g. ``("model", "optimizer")``).

    A damaged file or inconsistent metadata raises ValueError naming the file and the bad
    entry; a missing file raises FileNotFoundError."""
    path = Path(path)
    arrays = load_arrays(path)
    meta = _read_meta(path, arrays)
    try:
        state = _Decoder(path, arrays, device).decode(meta["state"], "state")
    except RecursionError as e:  # as below: nesting that JSON parsed but decoding cannot follow
        raise ValueError(f"load_checkpoint: {path}: {_META} nests too deeply") from e
    require = list(require)
    if require and not isinstance(state, dict):
        raise ValueError(f"load_checkpoint: {path}: the state is a {type(state).__name__}, not a dict "
                         f"with keys {require}")
    missing = [k for k in require if k not in state]
    if missing:
        raise ValueError(f"load_checkpoint: {path}: the state lacks {missing} (it has {list(state)}); "
                         "not a checkpoint of this kind of run")
    return state


def _read_meta(path: Path, arrays: dict) -> dict:
    if _META not in arrays:
        raise ValueError(f"load_checkpoint: {path} has no {_META} entry; not a tinygrad_lite checkpoint")
    raw = arrays.pop(_META)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"load_checkpoint: {path}: {_META} must be 1-d uint8 (UTF-8 JSON), "
                         f"found {raw.dtype} of shape {raw.shape}")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"load_checkpoint: {path}: {_META} is not UTF-8 text ({e})") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"load_checkpoint: {path}: {_META} is not valid JSON ({e})") from e
    except RecursionError as e:  # crafted nesting far deeper than any state save_checkpoint writes
        raise ValueError(f"load_checkpoint: {path}: {_META} nests too deeply") from e
    if not isinstance(meta, dict):  # the file's content is wrong, not an argument's type
        raise ValueError(f"load_checkpoint: {path}: {_META} must be a JSON object, "  # noqa: TRY004
                         f"found {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    if "state" not in meta:
        raise ValueError(f"load_checkpoint: {path}: {_META} has no 'state' entry")
    return meta


def _encode(obj, arrays: dict):
    if isinstance(obj, Tensor):
        return _put(obj.data, arrays, kind="tensor", device=obj.device)
    dev = backend.device_of(obj)
    if dev is not None:
        kind = "scalar" if isinstance(obj, np.generic) else "array"
        return _put(obj, arrays, kind=kind, device=dev)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": encode_float(obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        # JSON keys are strings only: keep int keys (optimizer state by parameter index) exact
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"save_checkpoint: cannot store an object of type {type(obj).__name__}")


def _put(array, arrays: dict, kind: str, device: str) -> dict:
    key = f"a{len(arrays)}"
    arrays[key] = backend.to_numpy(array)
    return {"__array__": key, "kind": kind, "device": device}


# the marker objects _encode writes, by their exact key sets
_MARKERS = {
    frozenset({"__array__", "kind", "device"}): "__array__", frozenset({"__float__"}): "__float__",
    frozenset({"__tuple__"}): "__tuple__", frozenset({"__items__"}): "__items__",
}
_KINDS = ("tensor", "array", "scalar")


class _Decoder:
    """The inverse of ``_encode``, checking each marker object; ``where`` is the entry's
    path (``state['model']['0.weight']``), so an error names the bad entry."""

    def __init__(self, path: Path, arrays: dict, device: str | None):
        self.path, self.arrays, self.device = path, arrays, device

    def bad(self, where: str, what: str) -> ValueError:
        return ValueError(f"load_checkpoint: {self.path}: {where}: {what}; the file is damaged "
                          "or not written by save_checkpoint")

    def decode(self, obj, where: str):
        if isinstance(obj, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if not isinstance(obj, dict):
            return obj
        markers = [k for k in obj if k.startswith("__")]
        if not markers:
            return {k: self.decode(v, f"{where}[{k!r}]") for k, v in obj.items()}
        marker = _MARKERS.get(frozenset(obj))
        if marker is None:
            expected = [sorted(keys) for keys in _MARKERS if keys & set(markers)]
            raise self.bad(where, f"marker object with keys {sorted(obj)}, expected keys "
                           f"{expected[0] if expected else 'of a known marker'}")
        value = obj[marker]
        if marker == "__array__":
            return self.array(obj, where)
        if marker == "__float__":
            if not isinstance(value, str):
                raise self.bad(where, f"__float__ holds {value!r}, expected 'nan', 'inf' or '-inf'")
            return decode_float(value, f"load_checkpoint: {self.path}: {where}")
        if not isinstance(value, list):
            raise self.bad(where, f"{marker} holds a {type(value).__name__}, expected a list")
        if marker == "__tuple__":
            return tuple(self.decode(v, f"{where}[{i}]") for i, v in enumerate(value))
        return self.items(value, where)

    def array(self, obj: dict, where: str):
        key, kind, dev = obj["__array__"], obj["kind"], obj["device"]
        if not isinstance(key, str) or key not in self.arrays:
            raise self.bad(where, f"array {key!r} is missing from the archive")
        if kind not in _KINDS:
            raise self.bad(where, f"array kind {kind!r}, expected one of {_KINDS}")
        if dev not in backend.DEVICES:
            raise self.bad(where, f"device {dev!r}, expected one of {backend.DEVICES}")
        host = self.arrays[key]
        if kind == "scalar":
            if host.ndim != 0:
                raise self.bad(where, f"a scalar stored as an array of shape {host.shape}")
            return host[()]
        dev = self.device or dev
        data = backend.to_device(host, dev, dtype=host.dtype)
        return Tensor(data, device=dev) if kind == "tensor" else data

    def items(self, pairs: list, where: str) -> dict:
        out = {}
        for i, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.bad(f"{where}[item {i}]", f"__items__ entry {pair!r} is not a [key, value] pair")
            k = self.decode(pair[0], f"{where}[item {i}].key")
            try:
                hash(k)
            except TypeError as e:
                raise self.bad(f"{where}[item {i}]", f"unhashable key {k!r}") from e
            out[k] = self.decode(pair[1], f"{where}[{k!r}]")
        return out
