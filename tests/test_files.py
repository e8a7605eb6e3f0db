"""The one atomic file writer and the JSON codec (tinygrad_lite.files), by fault injection.

Every file the library writes goes through ``atomic_write``: a failure at any point
(an exception mid-write, an unserializable value, a size limit, a killed process)
must leave the previous file intact, and the writer's temporary file must not stay.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lite.files import atomic_write, decode_float, encode_float, read_json, to_json, write_json


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_write_that_raises_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_write(path) as f:
        f.write(b"new, half written")
        raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_a_successful_write_replaces_the_file_with_a_plain_files_permissions(tmp_path):
    path = tmp_path / "sub" / "state.bin"  # the folder is created
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new" and _leftovers(path.parent) == []
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_data_and_then_the_rename_reach_the_disk(tmp_path, monkeypatch):
    """Durability, which the fault tests above cannot see: the temporary's bytes are fsynced
    before it is renamed over the target (else a power cut can leave an empty file under the
    new name), and the folder after it (else the rename itself can be lost)."""
    path = tmp_path / "state.bin"
    path.write_bytes(b"old")
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        calls.append(("fsync", (st.st_dev, st.st_ino)))
        real_fsync(fd)

    def replace(src, dst):
        st = os.stat(src)
        calls.append(("replace", (st.st_dev, st.st_ino), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic_write(path) as f:
        f.write(b"new")
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"], calls
    assert calls[0][1] == calls[1][1] and calls[1][2] == str(path)  # the file fsynced is the one renamed
    folder = os.stat(tmp_path)
    assert calls[2][1] == (folder.st_dev, folder.st_ino)  # then its folder
    assert path.read_bytes() == b"new"


def test_an_unserializable_value_leaves_the_json_file_untouched(tmp_path):
    path = tmp_path / "h.json"
    write_json(path, {"a": 1})
    with pytest.raises(TypeError, match="object"):
        write_json(path, {"a": object()})
    assert read_json(path) == {"a": 1} and _leftovers(tmp_path) == []


def test_a_file_size_limit_mid_write_keeps_the_old_file(tmp_path):
    """RLIMIT_FSIZE stands in for a full disk: the write fails with EFBIG part-way through."""
    path = tmp_path / "big.bin"
    path.write_bytes(b"old")
    code = f"""
import resource, signal
from tinygrad_lite.files import atomic_write
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get an OSError instead of being killed
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    with atomic_write({str(path)!r}) as f:
        f.write(b"x" * 100_000)
except OSError as e:
    print("failed:", e.errno)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "failed: 27" in out.stdout, out.stdout + out.stderr  # EFBIG
    assert path.read_bytes() == b"old" and _leftovers(tmp_path) == []


_WRITER = """
import os, signal, sys
from tinygrad_lite.files import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write(b"half")
    f.flush()
    print("writing", flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()  # a live writer: holds its temporary file until told to finish
    f.write(b" and the rest")
"""


def _killed_writer(path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _WRITER, str(path), "kill"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == -signal.SIGKILL and "writing" in out.stdout, out.stderr


def test_a_process_killed_mid_write_leaves_the_old_file_until_the_next_save_cleans_up(tmp_path):
    path, other = tmp_path / "ckpt.bin", tmp_path / "ckpt.bin.bak"  # "other" shares the name's start
    path.write_bytes(b"old")
    _killed_writer(path)
    _killed_writer(other)
    assert path.read_bytes() == b"old" and not other.exists()
    # a kill cannot clean up: what stays is one hidden temporary per target, named after it
    left = _leftovers(tmp_path)
    assert len(left) == 2 and sum(n.startswith(".ckpt.bin.bak.") for n in left) == 1, left
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
    # the next successful save of the same target removes the dead writer's temporary, and only it
    assert len(_leftovers(tmp_path)) == 1 and _leftovers(tmp_path)[0].startswith(".ckpt.bin.bak."), left
    with atomic_write(other) as f:
        f.write(b"bak")
    assert _leftovers(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["ckpt.bin", "ckpt.bin.bak"]


def test_a_live_writers_temporary_is_not_removed(tmp_path):
    path = tmp_path / "state.bin"
    live = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), "live"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline() == "writing\n"
        theirs = _leftovers(tmp_path)
        assert len(theirs) == 1
        with atomic_write(path) as f:  # a concurrent save of the same target
            f.write(b"mine")
        assert path.read_bytes() == b"mine" and _leftovers(tmp_path) == theirs
        live.communicate("go\n", timeout=60)
    finally:
        live.kill()
        live.wait()
    assert live.returncode == 0 and path.read_bytes() == b"half and the rest" and _leftovers(tmp_path) == []


def test_json_is_strict_and_non_finite_floats_round_trip(tmp_path):
    value = {"loss": [1.5, math.nan, math.inf, -math.inf], "n": np.int64(3), "x": np.float32(0.5),
             "arr": np.arange(3), "t": (1, 2), "path": tmp_path, "none": None}
    path = write_json(tmp_path / "r.json", value)
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    back = read_json(path)
    assert back["loss"][:1] == [1.5] and back["loss"][1:] == ["nan", "inf", "-inf"]
    decoded = [decode_float(v) for v in back["loss"]]
    assert decoded[0] == 1.5 and math.isnan(decoded[1]) and decoded[2:] == [math.inf, -math.inf]
    assert back["n"] == 3 and back["x"] == 0.5 and back["arr"] == [0, 1, 2] and back["t"] == [1, 2]
    assert back["path"] == str(tmp_path) and back["none"] is None


def test_codec_edges():
    assert encode_float(2.0) == 2.0 and encode_float("a") == "a"
    with pytest.raises(ValueError, match="History.loss: expected a number, got the string 'oops'"):
        decode_float("oops", "History.loss")
    assert decode_float("oops", other_strings=True) == "oops"
    assert to_json({1: {2}}, default=sorted) == {"1": [2]}


def test_read_json_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json.*not valid JSON"):
        read_json(bad)
