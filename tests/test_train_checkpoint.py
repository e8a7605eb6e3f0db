"""Checkpoints: the round trip keeps types and devices; load_checkpoint on damaged files and
inconsistent metadata: always a ValueError that names the file and the bad entry (never KeyError,
AttributeError or a bare JSON error)."""
import json
import math
import re

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.train import load_checkpoint, save_checkpoint
from tinygrad_lite.train.checkpoint import FORMAT

META = "__meta__"  # where the module docstring says the JSON description is stored


def _write(path, meta, **arrays):
    """A checkpoint archive built by hand: ``meta`` (JSON text, bytes or an array) plus arrays."""
    if isinstance(meta, str):
        meta = meta.encode("utf-8")
    if isinstance(meta, bytes):
        meta = np.frombuffer(meta, dtype=np.uint8)
    nn.save({META: meta, **arrays}, path)
    return path


def _meta(state) -> str:
    return json.dumps({"format": FORMAT, "state": state})


def _raises(path, *parts, **kwargs):
    """load_checkpoint(path) raises ValueError whose message names the file and each part."""
    with pytest.raises(ValueError) as err:
        load_checkpoint(path, **kwargs)
    msg = str(err.value)
    assert str(path) in msg, msg
    for part in parts:
        assert part in msg, (part, msg)
    return msg


def test_a_valid_hand_built_checkpoint_loads(tmp_path):
    """The hand-built form used below is the real one: a correct one loads."""
    path = _write(tmp_path / "ok.npz", _meta({"w": {"__array__": "a0", "kind": "tensor", "device": "cpu"},
                                             "lr": {"__float__": "inf"}, "t": {"__tuple__": [1, 2]},
                                             "d": {"__items__": [[3, "x"]]}}), a0=np.ones(2, np.float32))
    got = load_checkpoint(path)
    assert isinstance(got["w"], tl.Tensor) and got["w"].tolist() == [1.0, 1.0]
    assert got["lr"] == float("inf") and got["t"] == (1, 2) and got["d"] == {3: "x"}


@pytest.mark.parametrize("what", ["empty", "garbage", "truncated"])
def test_damaged_file(tmp_path, what):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"w": tl.ones(3), "epoch": 2})
    good = path.read_bytes()
    path.write_bytes({"empty": b"", "garbage": b"\x00garbage" * 50, "truncated": good[: len(good) // 2]}[what])
    _raises(path, "not a valid .npz file")


@pytest.mark.parametrize("meta, parts", [
    (np.frombuffer(b"\xff\xfe{", np.uint8), [META, "UTF-8"]),
    ("{not json", [META, "not valid JSON"]),
    ("[1, 2]", [META, "JSON object"]),
    (np.array([1.5, 2.5]), [META, "uint8"]),
    (json.dumps({"format": FORMAT}), [META, "'state'"]),
    (json.dumps({"format": "someone.else/7", "state": {}}), ["format 'someone.else/7'", FORMAT]),
    (json.dumps({"state": {}}), ["format None", FORMAT]),
])
def test_bad_meta_names_the_file_and_the_problem(tmp_path, meta, parts):
    _raises(_write(tmp_path / "c.npz", meta), *parts)


@pytest.mark.parametrize("depth", [700, 100_000])  # deeper than decoding follows; than JSON parses
def test_meta_nested_too_deeply(tmp_path, depth):
    text = _meta(None).replace("null", "[" * depth + "]" * depth)
    _raises(_write(tmp_path / "deep.npz", text), META, "nests too deeply")


def test_missing_meta_entry(tmp_path):
    path = tmp_path / "plain.npz"
    nn.save({"w": np.ones(2)}, path)
    _raises(path, f"no {META} entry")


_ARR = {"__array__": "a0", "kind": "array", "device": "cpu"}


@pytest.mark.parametrize("state, parts", [
    ({"w": {"__array__": "a9", "kind": "tensor", "device": "cpu"}}, ["state['w']", "'a9'", "missing"]),
    ({"opt": [{"m": {"__array__": "a0", "device": "cpu"}}]}, ["state['opt'][0]['m']", "'kind'"]),
    ({"w": {**_ARR, "kind": "blob"}}, ["state['w']", "'blob'"]),
    ({"w": {**_ARR, "device": 5}}, ["state['w']", "device"]),
    ({"w": {**_ARR, "kind": "scalar"}}, ["state['w']", "scalar", "(2,)"]),
    ({"w": {"__array__": 3, "kind": "array", "device": "cpu"}}, ["state['w']", "3"]),
    ({"lr": {"__float__": "oops"}}, ["state['lr']", "'oops'"]),
    ({"lr": {"__float__": 0.5}}, ["state['lr']", "0.5"]),
    ({"betas": {"__tuple__": 3}}, ["state['betas']", "__tuple__"]),
    ({"by_id": {"__items__": [[1]]}}, ["state['by_id']", "__items__"]),
    ({"by_id": {"__items__": 7}}, ["state['by_id']", "__items__"]),
    ({"by_id": {"__items__": [[[1, 2], "x"]]}}, ["state['by_id']", "unhashable"]),
    ({"x": {"__weird__": 1}}, ["state['x']", "__weird__"]),
    ({"x": {**_ARR, "extra": 1}}, ["state['x']", "extra"]),
    ({"deep": [[[[{"__array__": "a0", "kind": "tensor"}]]]]}, ["state['deep'][0][0][0][0]", "'kind'"]),
])
def test_bad_state_entry_names_the_file_and_the_entry(tmp_path, state, parts):
    path = _write(tmp_path / "c.npz", _meta(state), a0=np.ones(2))
    _raises(path, *parts)


def test_require_names_missing_top_level_keys(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", {"model": {"w": tl.ones(2)}, "epoch": 3})
    assert load_checkpoint(path, require=("model", "epoch"))["epoch"] == 3
    msg = _raises(path, "'optimizer'", "'rng'", require=("model", "optimizer", "rng"))
    assert re.search(r"lacks \['optimizer', 'rng'\]", msg)
    _raises(_write(tmp_path / "list.npz", _meta([1, 2])), "not a dict", require=("model",))


def test_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.npz"):
        load_checkpoint(tmp_path / "absent.npz")


def test_checkpoint_round_trip_keeps_types_and_devices(tmp_path, device):
    xp = tl.backend.get_xp(device)
    state = {"t": tl.Tensor([1.5, 2.5], device=device), "a": xp.arange(3), "n": np.float32(0.5),
             "ints": {0: {"buf": np.ones(2)}, 7: None}, "tup": (0.9, 0.999), "nan": math.nan,
             "nested": [{"s": "x", "b": True}]}
    back = load_checkpoint(save_checkpoint(tmp_path / "c.npz", state))
    assert isinstance(back["t"], tl.Tensor) and back["t"].device == device
    assert back["t"].tolist() == [1.5, 2.5]
    assert tl.backend.device_of(back["a"]) == device and tl.backend.to_numpy(back["a"]).tolist() == [0, 1, 2]
    assert back["n"] == np.float32(0.5) and back["n"].dtype == np.float32
    assert set(back["ints"]) == {0, 7} and back["ints"][0]["buf"].tolist() == [1.0, 1.0]
    assert back["tup"] == (0.9, 0.999) and math.isnan(back["nan"])
    assert back["nested"] == [{"s": "x", "b": True}]
    (tmp_path / "plain.npz").write_bytes(b"not a zip file")
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "plain.npz")
