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


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_checkpoint_round_trip_keeps_types_and_devices(tmp_path, device, suffix):
    xp = tl.backend.get_xp(device)
    state = {"t": tl.Tensor([1.5, 2.5], device=device), "a": xp.arange(3), "n": np.float32(0.5),
             "ints": {0: {"buf": np.ones(2)}, 7: None}, "tup": (0.9, 0.999), "nan": math.nan,
             "nested": [{"s": "x", "b": True}],
             "model": {"w": tl.Tensor([[0.1, -0.2]], device=device), "a0": xp.arange(2), "step": np.int64(4)}}
    back = load_checkpoint(save_checkpoint(tmp_path / f"c{suffix}", state))
    assert back["model"]["w"].tolist() == state["model"]["w"].tolist() and back["model"]["w"].device == device
    assert tl.backend.to_numpy(back["model"]["a0"]).tolist() == [0, 1] and back["model"]["step"] == 4
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


# ---------------------------------------------------------------- weights (.safetensors) + JSON
def _pair(tmp_path, device="cpu"):
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.BatchNorm1d(4, device=device))
    opt_state = {0: {"momentum_buffer": tl.randn(4, 3, device=device).data}}
    path = save_checkpoint(tmp_path / "ckpt.safetensors", {"model": model.state_dict(), "optimizer": opt_state,
                                                           "epoch": 2})
    return model, opt_state, path


def test_the_weights_file_is_a_plain_state_dict_and_the_rest_is_json(tmp_path, device):
    model, opt_state, path = _pair(tmp_path, device)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.json", "ckpt.safetensors"]
    weights = nn.load(path)  # what PyTorch's load_file would give: the model's keys, nothing else
    assert list(weights) == list(model.state_dict())
    assert nn.load_metadata(path)["tinygrad_lite.checkpoint"] == "ckpt.json"
    side = json.loads((tmp_path / "ckpt.json").read_text())
    assert side["format"] == FORMAT and side["weights"]["file"] == "ckpt.safetensors"
    back = load_checkpoint(path)
    assert back["epoch"] == 2
    np.testing.assert_array_equal(tl.backend.to_numpy(back["optimizer"][0]["momentum_buffer"]),
                                  tl.backend.to_numpy(opt_state[0]["momentum_buffer"]))
    for k, v in model.state_dict().items():
        assert back["model"][k].dtype == v.dtype and back["model"][k].device == device
        np.testing.assert_array_equal(back["model"][k].numpy(), v.numpy())


def test_a_pair_from_two_different_saves_is_refused(tmp_path):
    _, _, path = _pair(tmp_path)
    side = (tmp_path / "ckpt.json").read_bytes()
    nn.save({"0.weight": np.zeros((4, 3), np.float32)}, path)  # new weights, old JSON: a torn save
    _raises(path, "ckpt.json was written for other weights", "interrupted")
    (tmp_path / "ckpt.json").write_bytes(side)
    (tmp_path / "ckpt.json").unlink()
    _raises(path, "has no ckpt.json beside it")
    with pytest.raises(FileNotFoundError, match="absent.safetensors"):
        load_checkpoint(tmp_path / "absent.safetensors")


@pytest.mark.parametrize("entry, parts", [
    ({"dtype": "<f4", "shape": [3], "base64": "AAAA"}, ["array 'a0'", "do not hold shape (3,)"]),
    ({"dtype": "<f4", "shape": [1], "base64": "not base64!"}, ["array 'a0' is malformed"]),
    ({"dtype": "|O", "shape": [1], "base64": "AAAAAAAAAAA="}, ["array 'a0'"]),
    ({"shape": [1]}, ["array 'a0' is malformed"]),
])
def test_damaged_inline_arrays_are_named(tmp_path, entry, parts):
    _, _, path = _pair(tmp_path)
    side = tmp_path / "ckpt.json"
    meta = json.loads(side.read_text())
    meta["arrays"]["a0"] = entry
    side.write_text(json.dumps(meta))
    with pytest.raises(ValueError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"load_checkpoint: {side}: ")  # the damaged file: the JSON
    assert all(part in str(err.value) for part in parts), str(err.value)
