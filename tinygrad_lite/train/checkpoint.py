"""Checkpoints without pickle: the arrays plus a JSON description of the state.

Two layouts, chosen by the name:

- ``X.npz`` (any name but ``.safetensors``): one archive holding the arrays and the JSON
  (stored as UTF-8 bytes under ``__meta__``).
- ``X.safetensors``: the model's weights (``state["model"]``, a state dict) in a
  ``.safetensors`` file under their own keys, so PyTorch or any safetensors reader takes
  them as they are, and everything else (optimizer state, history, RNG, ...) in ``X.json``
  beside it, its few arrays inline (dtype, shape, base64 of the bytes: exact). Two files
  cannot be replaced in one step: the JSON, written second, records the SHA-256 of the
  weights file, and loading refuses a pair whose hashes disagree (a save interrupted between
  the two) instead of resuming from mixed epochs.

Both are written with ``nn.serialization.save`` / ``files.write_json`` (atomic: temporary
file, then rename) and read without unpickling.

Any nesting of dicts, lists, tuples, numbers, strings, None, backend arrays and Tensors
is stored. Arrays go into the npz under generated keys; the JSON (itself stored in the
npz as UTF-8 bytes under ``__meta__``) keeps the structure and, for each array, whether it
was a Tensor or a NumPy scalar and which device it lived on, so that loading gives back
the same kinds of objects on the same devices (an optimizer's state on the "strict" or
"cuda" device must not come back as host NumPy arrays). Loading never unpickles.
"""
from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np  # host-side serialisation only

from .. import backend
from ..data.fetch import sha256_of
from ..files import decode_float, encode_float, read_json, write_json
from ..nn.serialization import is_safetensors
from ..nn.serialization import load as load_arrays
from ..nn.serialization import save as save_arrays
from ..tensor import Tensor

_META = "__meta__"
FORMAT = "tinygrad_lite.checkpoint/1"


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write ``state`` (a nested dict) to ``path`` atomically (the name is used as given);
    for ``X.safetensors``, also ``X.json`` (see the module's docstring)."""
    arrays: dict = {}
    meta = {"format": FORMAT, "state": _encode(state, arrays)}
    if is_safetensors(path):
        return _save_pair(Path(path), meta, arrays)
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
    if is_safetensors(path):
        meta, arrays = _load_pair(path)
    else:
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


_WEIGHT = "weights:"  # array keys of the weights file; generated keys are "a<n>", so never clash


def _save_pair(path: Path, meta: dict, arrays: dict) -> Path:
    model = meta["state"].get("model") if isinstance(meta["state"], dict) else None
    weights = {}
    for k, marker in (model or {}).items():
        if isinstance(marker, dict) and "__array__" in marker and marker["kind"] != "scalar":
            weights[k] = arrays.pop(marker["__array__"])
            marker["__array__"] = _WEIGHT + k
    save_arrays(weights, path, metadata={"tinygrad_lite.checkpoint": _sidecar(path).name})
    meta["weights"] = {"file": path.name, "sha256": sha256_of(path)}
    meta["arrays"] = {k: {"dtype": a.dtype.str, "shape": list(a.shape),
                          "base64": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")}
                      for k, a in arrays.items()}
    write_json(_sidecar(path), meta, indent=None)
    return path


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _load_pair(path: Path) -> tuple[dict, dict]:
    side = _sidecar(path)
    if not side.exists():
        if not path.exists():
            raise FileNotFoundError(f"load_checkpoint: no checkpoint {path} (nor its {side.name})")
        raise ValueError(f"load_checkpoint: {path} has no {side.name} beside it: a plain weights file, "
                         "not a checkpoint (load it with nn.load)")
    meta = read_json(side)
    _check_meta(side, meta)
    weights = meta.get("weights")
    if not isinstance(weights, dict) or weights.get("sha256") != sha256_of(path):
        raise ValueError(f"load_checkpoint: {side} was written for other weights than {path} holds "
                         "(a save interrupted between the two files?); use an older checkpoint")
    arrays = {_WEIGHT + k: v for k, v in load_arrays(path).items()}
    inline = meta.get("arrays")
    if not isinstance(inline, dict):
        raise ValueError(f"load_checkpoint: {side}: 'arrays' must be an object of inline arrays")  # noqa: TRY004
    for key, entry in inline.items():
        arrays[key] = _inline_array(side, key, entry)
    return meta, arrays


def _inline_array(side: Path, key: str, entry) -> np.ndarray:
    where = f"load_checkpoint: {side}: array {key!r}"
    try:
        dtype, shape = np.dtype(entry["dtype"]), tuple(entry["shape"])
        data = base64.b64decode(entry["base64"], validate=True)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where} is malformed ({type(e).__name__}: {e})") from e
    if dtype.hasobject or not all(isinstance(n, int) and n >= 0 for n in shape) \
            or len(data) != math.prod(shape) * dtype.itemsize:
        raise ValueError(f"{where}: {len(data)} bytes do not hold shape {shape} of {dtype}; damaged")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


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
    _check_meta(path, meta)
    return meta


def _check_meta(path: Path, meta) -> None:
    if not isinstance(meta, dict):  # the file's content is wrong, not an argument's type
        raise ValueError(f"load_checkpoint: {path}: {_META} must be a JSON object, "  # noqa: TRY004
                         f"found {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise ValueError(f"load_checkpoint: {path} has format {meta.get('format')!r}, expected {FORMAT!r}")
    if "state" not in meta:
        raise ValueError(f"load_checkpoint: {path}: {_META} has no 'state' entry")


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
