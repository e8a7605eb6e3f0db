"""nn.save / nn.load: .npz round trip, atomic writes, no pickle."""
import os
import pickle
import zipfile

import numpy as np
import pytest
import tinygrad_lite.nn.serialization as ser

import tinygrad_lite as tl
from tinygrad_lite import nn


def _model(seed, device="cpu"):
    tl.manual_seed(seed)
    m = nn.Sequential(nn.Linear(3, 5, device=device), nn.BatchNorm1d(5, device=device), nn.ReLU(),
                      nn.Linear(5, 2, bias=False, device=device))
    m.register_buffer("steps", tl.full((1,), 7, dtype="int64", device=device))
    return m


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())


def test_save_load_round_trip(device, tmp_path):
    src = _model(0, device)
    src(tl.randn(4, 3, device=device))  # running statistics differ from their init
    path = tmp_path / "model.npz"
    nn.save(src, path)
    arrays = nn.load(path)
    assert set(arrays) == set(src.state_dict())
    assert arrays["steps"].dtype == np.int64 and arrays["0.weight"].dtype == np.float32
    dst = _model(1, device)
    dst.load_state_dict(arrays)
    _assert_same_state(src, dst)
    assert all(t.device == device for t in dst.parameters())
    # the archive is a plain .npz that NumPy reads with pickle disabled
    with np.load(path, allow_pickle=False) as raw:
        np.testing.assert_array_equal(raw["0.weight"], src[0].weight.numpy())


def test_save_accepts_a_state_dict_and_keeps_the_exact_name(tmp_path):
    path = tmp_path / "weights.bin"
    nn.save({"a": np.arange(3), "b": tl.ones(2, 2)}, str(path))
    assert sorted(os.listdir(tmp_path)) == ["weights.bin"]
    got = nn.load(path)
    np.testing.assert_array_equal(got["a"], np.arange(3))
    np.testing.assert_array_equal(got["b"], np.ones((2, 2), np.float32))
    with pytest.raises(TypeError):
        nn.save([1, 2], path)
    with pytest.raises(TypeError):
        nn.save({"obj": np.array([object()])}, path)


def _crash_midway(fileobj, arrays):
    """A writer that dies after writing part of the archive."""
    fileobj.write(b"PK\x03\x04 partial archive")
    raise OSError("disk full (simulated)")


@pytest.mark.parametrize("how", ["writer", "array"])
def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch, how):
    path = tmp_path / "model.npz"
    good = _model(0)
    nn.save(good, path)
    before = path.read_bytes()
    if how == "writer":
        monkeypatch.setattr(ser, "_write_npz", _crash_midway)
    else:  # the real writer, failing on the third array it writes
        calls, real = [], np.lib.format.write_array

        def failing(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise OSError("crash while writing (simulated)")
            return real(*args, **kwargs)

        monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(OSError, match="simulated"):
        nn.save(_model(1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    restored = _model(2)
    restored.load_state_dict(nn.load(path))
    _assert_same_state(good, restored)


_RAN = []


def _payload():
    _RAN.append("code ran")


class _Evil:
    def __reduce__(self):
        return (_payload, ())


def test_load_refuses_pickle(tmp_path):
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil()))
    with pytest.raises(ValueError, match="pickle"):
        nn.load(raw)
    packed = tmp_path / "evil.npz"
    np.savez(packed, w=np.array([_Evil()], dtype=object))  # savez pickles object arrays
    with pytest.raises(ValueError, match="pickle"):
        nn.load(packed)
    assert _RAN == []


def test_load_rejects_a_lone_array(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match="single array"):
        nn.load(path)


def test_archive_layout_is_numpy_npz(tmp_path):
    path = tmp_path / "m.npz"
    nn.save({"layer.weight": np.eye(2, dtype=np.float32)}, path)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["layer.weight.npy"]
