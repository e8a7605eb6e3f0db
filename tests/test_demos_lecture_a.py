"""Demos 1-5 of the lecture in quick mode: each run must show the direction of its claim.

The thresholds come from the lecture and from arithmetic (sigma' <= 1/4, sigma'(10) =
e^-10 / (1 + e^-10)^2 ~ 4.5e-5, a per-example gradient (a - t) a (1 - a) x has one sign
when x >= 0), never from a previous run's output.
"""
from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from pathlib import Path

import pytest

DEMOS = Path(__file__).resolve().parent.parent / "demos"
sys.path.insert(0, str(DEMOS))  # the demos import their shared `common` module by name

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_demo(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name: str, tmp_path, device: str) -> dict:
    return load_demo(name).main(["--quick", "--out", str(tmp_path), "--device", device])


def check_figures(results: dict, tmp_path) -> None:
    assert results["files"], "the demo wrote no figure"
    for f in map(Path, results["files"]):
        assert f.parent == tmp_path and f.suffix == ".png"
        data = f.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, f"{f} is not a non-empty PNG"


def test_activations(tmp_path, device):
    r = run_quick("activations", tmp_path, device)
    assert len(r["table"]) == 8
    for row in r["table"]:  # library f and autograd f' against the lecture's formulas
        assert row["max |f - lecture f|"] < 1e-5, row
        assert row["max |autograd f' - lecture f'|"] < 1e-5, row
    sat = r["saturation"]
    assert sat["max_derivative"] == pytest.approx(0.25, abs=1e-6) and sat["argmax_x"] == 0.0
    assert sat["d_at_0"] == pytest.approx(0.25, abs=1e-6)
    expected = math.exp(-10) / (1 + math.exp(-10)) ** 2
    for key in ("d_at_-10", "d_at_10"):
        assert sat[key] < 1e-4 and sat[key] == pytest.approx(expected, rel=1e-2)
    final = r["final_loss"]
    assert final["relu"] < final["tanh"] < final["sigmoid"]
    assert final["relu"] < 0.5 * final["sigmoid"]
    dead = r["dead"]
    for act in ("relu", "leaky_relu", "elu"):
        assert dead[act]["0.003"] < 0.02, "no unit should die at a normal learning rate"
    for lr, margin in (("0.03", 0.0), ("0.1", 0.1)):
        assert dead["relu"][lr] > dead["leaky_relu"][lr] + margin
        assert dead["relu"][lr] > dead["elu"][lr] + margin
    check_figures(r, tmp_path)


def test_zero_centering(tmp_path, device):
    r = run_quick("zero_centering", tmp_path, device)
    signs = r["signs"]
    # (a - t) a (1 - a) x_i has one sign whenever every x_i >= 0: exactly, for every example
    assert signs["raw pixels (>= 0)"]["examples"] == 1.0
    assert signs["sigmoid layer outputs (> 0)"]["examples"] == 1.0
    assert signs["zero-centered pixels"]["examples"] < 0.05
    assert signs["tanh layer outputs"]["examples"] < 0.05
    assert signs["raw pixels (>= 0)"]["batches"] > signs["zero-centered pixels"]["batches"]
    pos, cen = r["toy"]["positive x | SGD, one example"], r["toy"]["zero-centered x | SGD, one example"]
    assert pos["same-sign steps"] == 1.0 and cen["same-sign steps"] < 0.8
    assert pos["reversals"] > cen["reversals"]
    assert pos["length / displacement"] > 1.5 * cen["length / displacement"]
    check_figures(r, tmp_path)


def test_vanishing_gradients(tmp_path, device):
    r = run_quick("vanishing_gradients", tmp_path, device)
    for depth in (2, 3, 4):
        sig = r[f"bias_sigmoid_{depth}"]
        norms = sig["mean_norms"]
        assert all(a < b for a, b in itertools.pairwise(norms)), norms  # each earlier layer is slower
        assert sig["increasing_fraction"] == 1.0
        assert sig["ratio"] > 3.0  # about the 1/4 of sigma' per layer
        assert r[f"delta_sigmoid_{depth}"]["ratio"] > 3.0
        # no steady shrinkage with ReLU + He init or with batch norm
        assert 0.5 < r[f"bias_relu_he_{depth}"]["ratio"] < 2.0
        assert 0.5 < r[f"delta_relu_he_{depth}"]["ratio"] < 2.0
        assert 0.5 < r[f"delta_sigmoid_bn_{depth}"]["ratio"] < 2.0
    assert r["bias_sigmoid_4"]["mean_norms"][-1] > 30 * r["bias_sigmoid_4"]["mean_norms"][0]
    check_figures(r, tmp_path)


def test_preprocessing(tmp_path, device):
    r = run_quick("preprocessing", tmp_path, device)
    speed = r["speed"]
    assert speed["zero-centered"]["final_train_loss"] < 0.5 * speed["raw"]["final_train_loss"]
    assert speed["normalized"]["final_train_loss"] < speed["raw"]["final_train_loss"]
    steps = {row["inputs"]: row["steps to loss < 0.35"] for row in r["balance"]}
    assert isinstance(steps["normalized"], int), "normalized inputs must reach the target"
    assert isinstance(steps["zero-centered"], int) and steps["normalized"] < steps["zero-centered"]
    assert not isinstance(steps["raw"], int), "raw inputs on scales 3 and 0.3 should not get there"
    check_figures(r, tmp_path)


def test_batchnorm(tmp_path, device):
    bn = load_demo("batchnorm")
    r = bn.main(["--quick", "--out", str(tmp_path), "--device", device])
    acc = r["val_acc"]
    top = bn.LRS[-1]
    for std in bn.STDS:  # the largest learning rate: batch norm trains, the plain network does not
        assert acc[f"bn=True std={std:g} lr={top:g}"] > acc[f"bn=False std={std:g} lr={top:g}"] + 0.3
    worst = {row["batch norm"]: row for row in r["spread"]}
    for lr in bn.LRS[1:]:
        assert worst["yes"][f"worst @ lr {lr:g}"] > worst["no"][f"worst @ lr {lr:g}"] + 0.3
    assert worst["yes"]["cells >= 0.9"] >= worst["no"]["cells >= 0.9"]
    modes = r["modes"]
    assert modes["eval mode: max |scores alone - in one batch| / max |score|"] < 1e-5
    assert modes["train mode: max |scores in batches of 8 - in one batch| / max |score|"] > 1e-2
    assert modes["train mode, batch of 1"].startswith("ValueError")
    assert modes["running mean vs training-set mean (mean gap / mean std)"] < 0.25
    check_figures(r, tmp_path)
