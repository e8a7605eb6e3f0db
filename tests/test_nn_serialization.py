"""nn.save / nn.load: .npz and .safetensors round trips, atomic writes, no pickle, damaged files named."""
import io
import json
import os
import pickle
import re
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


def test_every_key_round_trips_exactly(tmp_path):
    """Keys that look like archive names ("a.npy" next to "a", "/" inside) come back as saved."""
    want = {"a": np.ones(1), "a.npy": np.zeros(1), "a.npy.npy": np.full(1, 2.0), "b/c": np.arange(2),
            "/lead": np.arange(3), "b": np.arange(4), ".npy": np.full(2, 5), "unicodé ключ": np.eye(2),
            "sp ace": np.int8(3)}
    path = tmp_path / "keys.npz"
    nn.save(want, path)
    got = nn.load(path)
    assert list(got) == list(want)
    for k, v in want.items():
        assert got[k].dtype == np.asarray(v).dtype and got[k].shape == np.shape(v), k
        np.testing.assert_array_equal(got[k], v, err_msg=k)


def test_zero_dim_and_fortran_arrays_keep_shape_and_values(tmp_path):
    want = {"count": np.array(7, dtype=np.int64), "scalar": np.float32(0.5),
            "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "strided": np.arange(10)[::3]}
    path = tmp_path / "shapes.npz"
    nn.save(want, path)
    got = nn.load(path)
    assert {k: v.shape for k, v in got.items()} == {"count": (), "scalar": (), "fortran": (2, 3), "strided": (4,)}
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)


@pytest.mark.parametrize("key", ["nul\0byte", "back\\slash"])
def test_keys_a_zip_name_cannot_hold_are_refused(tmp_path, key):
    path = tmp_path / "m.npz"
    with pytest.raises(ValueError, match=re.escape(f"save: state dict key {key!r} contains a NUL or backslash")):
        nn.save({key: np.ones(1)}, path)
    assert not path.exists()


def _saved(tmp_path) -> bytes:
    path = tmp_path / "good.npz"
    nn.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2)}, path)
    return path.read_bytes()


@pytest.mark.parametrize("what", ["empty", "garbage", "half", "no-end-record", "one-byte"])
def test_damaged_archive_raises_value_error_naming_the_file(tmp_path, what):
    good = _saved(tmp_path)
    data = {"empty": b"", "garbage": b"hello, not an archive" * 10, "half": good[: len(good) // 2],
            "no-end-record": good[:-22], "one-byte": good[:1]}[what]
    path = tmp_path / "model.npz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="not a valid .npz file") as err:
        nn.load(path)
    assert str(err.value).startswith(f"load: {str(path)!r}: ")


def test_every_truncation_raises_value_error_naming_the_file(tmp_path):
    good = _saved(tmp_path)
    path = tmp_path / "cut.npz"
    for n in range(len(good)):
        path.write_bytes(good[:n])
        with pytest.raises(ValueError) as err:
            nn.load(path)
        assert str(path) in str(err.value), n


def test_damaged_entry_names_the_file_and_the_entry(tmp_path):
    good = bytearray(_saved(tmp_path))
    at = good.index(np.arange(6, dtype=np.float32).tobytes())  # the stored data of "w"
    good[at + 5] ^= 0xFF  # a flipped bit that only the CRC check can see
    path = tmp_path / "flip.npz"
    path.write_bytes(bytes(good))
    with pytest.raises(ValueError, match="entry 'w'") as err:
        nn.load(path)
    assert str(path) in str(err.value)


def test_foreign_entries_are_named(tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not an array")
    with pytest.raises(ValueError, match=r"entry 'readme.txt' is not a \.npy array") as err:
        nn.load(path)
    assert str(path) in str(err.value)


def test_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        nn.load(tmp_path / "nothing.npz")


def test_entry_shorter_than_its_header_says(tmp_path):
    npy = io.BytesIO()
    np.lib.format.write_array(npy, np.arange(10.0))
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as zf:  # a valid zip whose entry lost its last 7 values
        zf.writestr("w.npy", npy.getvalue()[:-56])
    with pytest.raises(ValueError, match=re.escape("entry 'w' declares shape (10,) of float64 (80 bytes) "
                                                   "but holds 24 bytes")) as err:
        nn.load(path)
    assert str(path) in str(err.value)


def test_reads_archives_written_by_numpy_savez(tmp_path):
    path = tmp_path / "np.npz"
    np.savez(path, **{"0.weight": np.eye(2), "b": np.arange(3, dtype=np.int16)})
    got = nn.load(path)
    assert list(got) == ["0.weight", "b"] and got["b"].dtype == np.int16
    np.testing.assert_array_equal(got["0.weight"], np.eye(2))


# ---------------------------------------------------------------- .safetensors
def _safetensors_bytes(entries: dict, metadata: dict | None = None) -> bytes:
    """A .safetensors file built by hand from the format's specification (8-byte little-endian
    header size, the JSON header, the raw little-endian bytes), independent of the package."""
    header, data = {}, b""
    for key, (dtype, array) in entries.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[key] = {"dtype": dtype, "shape": list(np.shape(array)), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode("utf-8")
    return len(text).to_bytes(8, "little") + text + data


ALL_DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i8": np.int8, "i16": np.int16,
              "i32": np.int32, "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
              "u64": np.uint64, "bool": np.bool_}


def test_safetensors_round_trip_keeps_dtypes_shapes_values_and_order(tmp_path):
    rng = np.random.default_rng(0)
    want = {f"z.{name}": (rng.standard_normal((2, 3)) * 50).astype(dt) for name, dt in ALL_DTYPES.items()}
    want |= {"a.count": np.array(7, dtype=np.int64), "a.fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
             "a.strided": np.arange(10, dtype=np.float32)[::3], "a.empty": np.zeros((0, 4), np.float32)}
    path = tmp_path / "all.safetensors"
    nn.save(want, path)
    got = nn.load(path)
    assert list(got) == list(want)  # the saved order, although the format stores by dtype and name
    for k, v in want.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
        np.testing.assert_array_equal(got[k], v, err_msg=k)
        got[k][...] = 0  # writable arrays, each its own
    assert nn.load(path)["z.f32"].any()


def test_safetensors_model_round_trip_and_metadata(device, tmp_path):
    src = _model(0, device)
    src(tl.randn(4, 3, device=device))
    path = tmp_path / "model.safetensors"
    nn.save(src, path, metadata={"epochs": "3", "note": "digits"})
    dst = _model(1, device)
    dst.load_state_dict(nn.load(path))
    _assert_same_state(src, dst)
    meta = nn.load_metadata(path)
    assert meta["epochs"] == "3" and meta["note"] == "digits" and meta["format"] == "pt"
    assert meta["tinygrad_lite.version"] == tl.__version__
    assert json.loads(meta["tinygrad_lite.dtypes"]) == {k: v.dtype.name for k, v in src.state_dict().items()}


def test_safetensors_reads_a_file_written_from_the_specification(tmp_path):
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "spec.safetensors"
    path.write_bytes(_safetensors_bytes({"w": ("F32", w), "n": ("I64", np.array(5)), "h": ("F16", np.ones(2, np.float16))}))
    got = nn.load(path)
    assert list(got) == ["h", "n", "w"]  # no recorded order: sorted
    np.testing.assert_array_equal(got["w"], w)
    assert got["n"].shape == () and got["n"] == 5 and got["h"].dtype == np.float16
    assert nn.load_metadata(path) == {}
    # and what this library writes is what the specification says
    nn.save({"w": w}, path)
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    assert header["w"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert raw[8 + size :] == w.tobytes()


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "F8_E5M2"])
def test_safetensors_dtypes_numpy_lacks_are_refused_by_name(tmp_path, dtype):
    path = tmp_path / "bf.safetensors"
    path.write_bytes(_safetensors_bytes({"w": (dtype, np.zeros(4, np.uint16 if dtype == "BF16" else np.uint8))}))
    name = {"BF16": "bfloat16", "F8_E4M3": "float8", "F8_E5M2": "float8"}[dtype]
    with pytest.raises(ValueError, match=rf"load: {re.escape(repr(str(path)))}: entry 'w' is {name}"):
        nn.load(path)


def test_safetensors_metadata_must_be_strings_and_not_the_librarys_keys(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="metadata must map strings to strings"):
        nn.save({"a": np.ones(1)}, path, metadata={"epochs": 3})
    with pytest.raises(ValueError, match="'tinygrad_lite.version'.*the library's own"):
        nn.save({"a": np.ones(1)}, path, metadata={"tinygrad_lite.version": "9"})
    with pytest.raises(ValueError, match=r"metadata is kept in \.safetensors files only"):
        nn.save({"a": np.ones(1)}, tmp_path / "m.npz", metadata={"a": "b"})
    with pytest.raises(ValueError, match="only .safetensors files carry metadata"):
        nn.load_metadata(tmp_path / "m.npz")
    assert not any(tmp_path.iterdir())


def _saved_safetensors(tmp_path) -> bytes:
    path = tmp_path / "good.safetensors"
    nn.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2)}, path)
    return path.read_bytes()


def test_safetensors_every_truncation_raises_value_error_naming_the_file(tmp_path):
    good = _saved_safetensors(tmp_path)
    path = tmp_path / "cut.safetensors"
    for n in range(len(good)):
        path.write_bytes(good[:n])
        with pytest.raises(ValueError) as err:
            nn.load(path)
        assert str(err.value).startswith(f"load: {str(path)!r}: "), n


@pytest.mark.parametrize("what, message", [
    ("empty", "too short"), ("garbage", "header claims"), ("npz", "header claims"),
    ("bad-json", "not valid JSON"), ("not-object", "not a JSON object"), ("offsets", "truncated or damaged"),
    ("dtype", "has dtype 'C64'"), ("entry", "not a tensor description")])
def test_safetensors_damaged_files_are_named(tmp_path, what, message):
    good = _saved_safetensors(tmp_path)
    w = np.arange(6, dtype=np.float32)
    text = b'{"w": {"dtype": "F32", "shape": [6], "data_offsets": [0, 24]'
    data = {"empty": b"", "garbage": b"hello, not a safetensors file" * 4, "npz": _saved(tmp_path),
            "bad-json": len(text).to_bytes(8, "little") + text + w.tobytes(),
            "not-object": b"\x02\x00\x00\x00\x00\x00\x00\x00[]",
            "offsets": _safetensors_bytes({"w": ("F32", w)})[:-4],
            "dtype": _safetensors_bytes({"w": ("C64", w)}),
            "entry": good.replace(b'"dtype"', b'"dtypo"')}[what]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as err:
        nn.load(path)
    assert str(err.value).startswith(f"load: {str(path)!r}: ")


def test_tl_save_and_load_are_torch_save_and_load(tmp_path):
    """``tl.save``/``tl.load`` are ``nn.save``/``nn.load`` (PyTorch's ``torch.save``/``torch.load`` names)."""
    assert tl.save is nn.save and tl.load is nn.load
    model = nn.Linear(3, 2)
    tl.save(model.state_dict(), tmp_path / "model.npz")
    again = nn.Linear(3, 2)
    again.load_state_dict(tl.load(tmp_path / "model.npz"))
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(model.parameters(), again.parameters()))
