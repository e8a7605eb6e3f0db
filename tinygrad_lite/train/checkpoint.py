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


def load_checkpoint(path: str | os.PathLike, device: str | None = None) -> dict:
    """Read a checkpoint written by ``save_checkpoint``. Arrays return to the device they
    were saved from, or to ``device`` when given."""
    path = Path(path)
    arrays = load_arrays(path)
    if _META not in arrays:
        raise ValueError(f"load_checkpoint: {path} has no {_META} entry; not a tinygrad_lite checkpoint")
    meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    return _decode(meta["state"], arrays, device)


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


def _decode(obj, arrays: dict, device: str | None):
    if isinstance(obj, list):
        return [_decode(v, arrays, device) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "__array__" in obj:
        host = arrays[obj["__array__"]]
        if obj["kind"] == "scalar":
            return host[()]
        dev = device or obj["device"]
        data = backend.to_device(host, dev, dtype=host.dtype)
        return Tensor(data, device=dev) if obj["kind"] == "tensor" else data
    if "__float__" in obj:
        return decode_float(obj["__float__"], "checkpoint")
    if "__tuple__" in obj:
        return tuple(_decode(v, arrays, device) for v in obj["__tuple__"])
    if "__items__" in obj:
        return {_decode(k, arrays, device): _decode(v, arrays, device) for k, v in obj["__items__"]}
    return {k: _decode(v, arrays, device) for k, v in obj.items()}
