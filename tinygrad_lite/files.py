"""Files the library writes: atomically, and JSON in one strict form.

Every file (model and optimizer state, checkpoints, training history, search results,
figures, demo results) goes through ``atomic_write``: the content goes to a temporary
file in the target's folder, is flushed to disk, then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash, a kill, a full disk or an
exception mid-write leaves the previous file as it was, and the temporary file is
removed whenever the write fails in this process. A killed process cannot remove its
temporary file; the next successful write of the same target does (see
``_remove_stale_temporaries``).

JSON is written strictly (no ``NaN`` tokens, which most JSON readers reject): a
non-finite float becomes the string "nan", "inf" or "-inf" (``encode_float``) and
``decode_float`` reads it back; NumPy scalars and arrays become Python numbers and lists.
"""
from __future__ import annotations

import json
import math
import os
import re
import socket
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
    # ".<name>.<host>-<pid>.<random>.tmp": hidden, named after the target and its writer
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_temp_prefix(path)}{os.getpid()}.", suffix=".tmp")
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
    _remove_stale_temporaries(path)


def _temp_prefix(path: Path) -> str:
    # a hash of the host name: in a folder shared between machines, a pid means
    # something only on the machine that wrote it
    host = zlib.crc32(socket.gethostname().encode("utf-8", "replace"))
    return f".{path.name}.{host:08x}-"


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files of ``path`` left by writers on this machine that died mid-write.

    Only a temporary whose writer pid no longer exists goes: one of a live process (a
    concurrent save, another thread of this process) or of another machine stays, and so
    does a dead writer's whose pid was reused (left, never wrongly removed)."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there, not probe it
        return
    # the random part has no dot, so "a"'s pattern cannot match a temporary of "a.1"
    pattern = re.compile(re.escape(_temp_prefix(path)) + r"(\d+)\.[^.]+\.tmp")
    try:
        names = os.listdir(path.parent)
    except OSError:  # cleaning is a courtesy: it never fails a save that succeeded
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _pid_alive(int(match.group(1))):
            with suppress(OSError):  # removed meanwhile by another saver, or not ours to remove
                os.unlink(path.parent / name)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0: checks the pid exists, sends nothing
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: alive, another user's; odd pids: leave alone
        pass
    return True


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
