"""Files the library writes: atomically, and JSON in one strict form.

Every file (model and optimizer state, checkpoints, training history, search results,
figures, demo results) goes through ``atomic_write``: the content goes to a temporary
file in the target's folder, is flushed to disk, then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash, a kill, a full disk or an
exception mid-write leaves the previous file as it was, and the temporary file is
removed whenever the write fails in this process.

JSON is written strictly (no ``NaN`` tokens, which most JSON readers reject): a
non-finite float becomes the string "nan", "inf" or "-inf" (``encode_float``) and
``decode_float`` reads it back; NumPy scalars and arrays become Python numbers and lists.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _umask() -> int:
    # os.umask can only be read by setting it; done once, before any thread of the user's runs
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None,
                 newline: str | None = None) -> Iterator:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` holds the old content or all
    of the new, never part of it. The parent folder is created if needed."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what a plain open() would
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # makes the rename itself durable; directories cannot be opened this way on Windows
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encode_float(v):
    """A float for strict JSON: non-finite ones as "nan", "inf", "-inf"; anything else as is."""
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def decode_float(v, where: str = "JSON", other_strings: bool = False):
    """The inverse of ``encode_float`` for a field that holds a number (or None); with
    ``other_strings``, for a field that may also hold strings, which pass unchanged."""
    if isinstance(v, str):
        if v not in _NONFINITE:
            if other_strings:
                return v
            raise ValueError(f"{where}: expected a number, got the string {v!r}")
        return _NONFINITE[v]
    return v


def to_json(obj, default: Callable | None = None):
    """``obj`` with NumPy scalars and arrays as Python values, tuples as lists, paths as
    strings and non-finite floats encoded; other objects go to ``default`` (else TypeError)."""
    if isinstance(obj, dict):
        return {str(k): to_json(v, default) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v, default) for v in obj]
    if isinstance(obj, (np.generic, np.ndarray)):
        return to_json(obj.tolist(), default)
    if isinstance(obj, float):
        return encode_float(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if default is None:
        raise TypeError(f"to_json: cannot write an object of type {type(obj).__name__} as JSON")
    return to_json(default(obj), default)


def write_json(path: str | os.PathLike, obj, indent: int | None = 1, default: Callable | None = None) -> Path:
    """Write ``obj`` (through ``to_json``) to ``path`` atomically as strict JSON; returns the path.

    The text is made before the file is touched, so an unserializable value leaves the
    previous file intact."""
    text = json.dumps(to_json(obj, default), indent=indent, allow_nan=False)
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return Path(path)


def read_json(path: str | os.PathLike):
    """The JSON value in ``path``; ValueError naming the file if it is not valid JSON."""
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{os.fspath(path)!r} is not valid JSON ({e})") from e


__all__ = ["atomic_write", "decode_float", "encode_float", "read_json", "to_json", "write_json"]
