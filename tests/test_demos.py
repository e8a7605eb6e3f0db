"""Every demo in quick mode must show the direction of its lecture claim, on each device.

``CHECKS`` maps each demo to the function that checks its results; one parametrized test
runs the demo's ``main(["--quick", ...])`` and applies it. The thresholds come from the
lecture and from arithmetic (sigma' <= 1/4, sigma'(10) = e^-10 / (1 + e^-10)^2 ~ 4.5e-5, a
per-example gradient (a - t) a (1 - a) x has one sign when x >= 0, an initial softmax loss
of ln 10); expected values come from the lecture's update rules and closed forms written
out here in plain NumPy, never from a previous run's output.
"""
from __future__ import annotations

import functools
import importlib
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_help_shows_every_default
from PIL import Image

from tinygrad_lite.hparam import LogUniform, random_search

pytestmark = pytest.mark.slow  # every demo trains: `pytest -m "not slow"` leaves them out

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def load_demo(name: str, monkeypatch):
    """The demo module, imported by name from demos/ (where its ``import scaffold`` finds
    its neighbour): registered in sys.modules, so a process pool can pickle its functions."""
    monkeypatch.syspath_prepend(str(DEMOS))
    return importlib.import_module(name)


def assert_png(path) -> None:
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, f"{path} is not a non-empty PNG"


def check_figures(results: dict, out: Path) -> None:
    assert results["files"], "the demo wrote no figure"
    for f in map(Path, results["files"]):
        assert f.parent == out and f.suffix == ".png"
        assert_png(f)


# ---------------------------------------------------------------- activation functions
def check_activations(r: dict, demo, out: Path) -> None:
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
    check_figures(r, out)


# ---------------------------------------------------------------- zero-centering
def check_zero_centering(r: dict, demo, out: Path) -> None:
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
    check_figures(r, out)


# ---------------------------------------------------------------- vanishing gradients
def check_vanishing_gradients(r: dict, demo, out: Path) -> None:
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
    check_figures(r, out)


# ---------------------------------------------------------------- data preprocessing
def check_preprocessing(r: dict, demo, out: Path) -> None:
    speed = r["speed"]
    assert speed["zero-centered"]["final_train_loss"] < 0.5 * speed["raw"]["final_train_loss"]
    assert speed["normalized"]["final_train_loss"] < speed["raw"]["final_train_loss"]
    steps = {row["inputs"]: row["steps to loss < 0.35"] for row in r["balance"]}
    assert isinstance(steps["normalized"], int), "normalized inputs must reach the target"
    assert isinstance(steps["zero-centered"], int) and steps["normalized"] < steps["zero-centered"]
    assert not isinstance(steps["raw"], int), "raw inputs on scales 3 and 0.3 should not get there"
    check_figures(r, out)


# ---------------------------------------------------------------- batch normalization
def check_batchnorm(r: dict, demo, out: Path) -> None:
    acc = r["val_acc"]
    top = demo.LRS[-1]
    for std in demo.STDS:  # the largest learning rate: batch norm trains, the plain network does not
        assert acc[f"bn=True std={std:g} lr={top:g}"] > acc[f"bn=False std={std:g} lr={top:g}"] + 0.3
    worst = {row["batch norm"]: row for row in r["spread"]}
    for lr in demo.LRS[1:]:
        assert worst["yes"][f"worst @ lr {lr:g}"] > worst["no"][f"worst @ lr {lr:g}"] + 0.3
    assert worst["yes"]["cells >= 0.9"] >= worst["no"]["cells >= 0.9"]
    modes = r["modes"]
    assert modes["eval mode: max |scores alone - in one batch| / max |score|"] < 1e-5
    assert modes["train mode: max |scores in batches of 8 - in one batch| / max |score|"] > 1e-2
    assert modes["train mode, batch of 1"].startswith("ValueError")
    assert modes["running mean vs training-set mean (mean gap / mean std)"] < 0.25
    check_figures(r, out)


# ---------------------------------------------------------------- dropout
def check_dropout(r: dict, demo, out: Path) -> None:
    assert r["none"]["train_acc"] >= 0.99  # the model is big enough to overfit
    assert r["none"]["gap"] > 0.03
    assert r["dropout"]["gap"] < r["none"]["gap"]
    assert_png(out / "dropout.png")


# ---------------------------------------------------------------- optimizers
def steps_on_quadratic(lr: float, rho: float, x0=(-9.0, 1.5), target=1e-3, max_steps=1000):
    """The lecture's SGD (rho = 0) or momentum update, v = rho v + grad, x -= lr v, on
    f = 0.01 x^2 + y^2 in float64: the first step after which f <= target."""
    x, v = np.array(x0), np.zeros(2)
    h = np.array([0.02, 2.0])
    for t in range(max_steps + 1):
        if 0.5 * h @ (x * x) <= target:
            return t
        v = rho * v + h * x
        x = x - lr * v
    return None


def check_optimizers(r: dict, demo, out: Path) -> None:
    steps = r["steps_to_target"]
    lrs = demo.SURFACES[0].lrs
    sgd, momentum = steps_on_quadratic(lrs["sgd"], 0.0), steps_on_quadratic(lrs["momentum"], 0.9)
    assert sgd is not None and momentum is not None and momentum < sgd
    # float32 in the demo, float64 here: the crossing may move by a step.
    assert abs(steps["sgd"] - sgd) <= 1 and abs(steps["momentum"] - momentum) <= 1
    assert steps["momentum"] < steps["sgd"]

    # Adagrad's effective step lr / (sqrt(cache) + eps) never grows, and does shrink.
    quad = np.array(r["adagrad_effective_step_quadratic"])
    g0 = np.array([0.02 * -9.0, 2.0 * 1.5])  # first gradient: cache = g0^2 after one step
    np.testing.assert_allclose(quad[:, 0], lrs["adagrad"] / np.abs(g0), rtol=1e-5)
    for seq in (*quad, r["adagrad_effective_step_data"]):
        seq = np.asarray(seq)
        assert np.all(np.diff(seq) <= 0) and seq[-1] < seq[0]

    # Decay lowers SGD+momentum's final objective (a gain, no / with decay, above 1) and
    # matters more for it than for Adam.
    momentum, adam = r["decay"]["momentum"], r["decay"]["adam"]
    assert momentum["objective_decay"] < momentum["objective_no_decay"] and momentum["gain"] > 1.0
    assert momentum["gain"] > adam["gain"]

    assert_png(out / "optimizers_trajectories.png")
    with Image.open(out / "optimizers_trajectories.gif") as gif:
        assert gif.n_frames >= 2


# ---------------------------------------------------------------- mini-batch size
def check_minibatch_size(r: dict, demo, out: Path) -> None:
    n, epochs = r["n_train"], r["epochs"]
    sizes = [run["batch_size"] for run in r["runs"]]
    assert sizes == sorted(sizes) and len(sizes) == 7
    for run in r["runs"]:
        assert run["updates"] == math.ceil(n / run["batch_size"]) * epochs
        assert len(run["epoch_time"]) == epochs
    final = np.array([run["loss"][-1] for run in r["runs"]])
    assert np.all(np.diff(final) > 0), final  # after the same epochs, loss grows with the batch
    assert_png(out / "minibatch_size.png")


# ---------------------------------------------------------------- hyperparameter search
def on_border(value: float, lo: float, hi: float, frac: float = 0.1) -> bool:
    u = (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return u <= frac or u >= 1 - frac


def check_hyperparameter_search(r: dict, demo, out: Path) -> None:
    stages = r["stages"]
    assert list(stages) == ["coarse", "widened", "fine"]
    coarse = stages["coarse"]
    np.testing.assert_allclose(coarse["space_bounds"]["lr"], (1e-6, 1e-3))
    np.testing.assert_allclose(coarse["space_bounds"]["reg"], (1e-5, 1e5))
    # The lecture's lr range is too low for this setup: its best lies at the top edge.
    assert any(w.startswith("careful with best values on border: lr") and "upper edge" in w
               for w in coarse["warnings"])
    for st in stages.values():
        scores = [t["score"] for t in st["trials"]]
        assert st["best"]["score"] == max(scores)
        for name, (lo, hi) in st["space_bounds"].items():
            prefix = f"careful with best values on border: {name} ="
            flagged = any(w.startswith(prefix) for w in st["warnings"])
            assert flagged == on_border(st["best"][name], lo, hi)
    # The widened stage moved the flagged edge out by --extend (3) decades; the fine stage
    # lies inside the widened one.
    wide, fine = stages["widened"]["space_bounds"], stages["fine"]["space_bounds"]
    assert math.isclose(wide["lr"][1], 1.0) and math.isclose(wide["lr"][0], 1e-6)
    for name in fine:
        assert wide[name][0] <= fine[name][0] < fine[name][1] <= wide[name][1]
    assert stages["fine"]["best"]["score"] > coarse["best"]["score"]
    for name in stages:
        assert_png(out / f"hyperparameter_search_{name}.png")


# ---------------------------------------------------------------- the main demo
def check_train_mlp(r: dict, demo, out: Path) -> None:
    # babysitting step 1: small random weights give uniform scores, loss ln 10 (within 10%)
    assert r["expected_initial_loss"] == pytest.approx(math.log(10))
    assert abs(r["initial_loss"] - math.log(10)) <= 0.1 * math.log(10) and r["initial_loss_ok"]
    # step 2: the network can fit 20 examples exactly
    assert r["overfit_reached"] and r["overfit_train_acc"] == 1.0
    assert r["epochs"] == demo.QUICK_EPOCHS and r["error"] is None
    assert r["test_acc"] > 0.2, "2 epochs must already beat twice chance (1/10) on the test set"
    for name in ("history.png", "first_layer_weights.png"):
        assert_png(out / name)


def check_train_convnet(r: dict, demo, out: Path) -> None:
    assert abs(r["initial_loss"] - math.log(10)) <= 0.1 * math.log(10)  # default init: uniform-ish scores
    assert r["overfit_reached"] and r["error"] is None and r["epochs"] == demo.QUICK_EPOCHS
    assert r["test_acc"] > 0.5, "a few epochs on 400 digits must reach five times chance"
    for name in ("history.png", "filters_before.png", "filters_after.png"):
        assert_png(out / name)
    before, after = (np.asarray(Image.open(out / f"filters_{k}.png").convert("L"), dtype=float)
                     for k in ("before", "after"))
    assert before.shape == after.shape and np.abs(before - after).mean() > 1.0, "training changed no filter"


# ---------------------------------------------------------------- second order
def check_second_order(r: dict, demo, out: Path) -> None:
    check_figures(r, out)
    nt = r["newton"]
    # Newton converges quadratically: a few iterations; gradient descent at 1/L linearly
    assert nt["newton_iters"] is not None and nt["newton_iters"] <= 12
    assert nt["gd_iters"] is None or nt["gd_iters"] >= 10 * nt["newton_iters"]
    c = r["curvature"]
    # power iteration on hvp, the explicit Hessian, and a central difference of first-order
    # gradients along the top eigenvector (no second-order code) agree
    assert c["lambda_max_power"] == pytest.approx(c["lambda_max_explicit"], rel=1e-5)
    assert c["lambda_max_power"] == pytest.approx(c["lambda_max_fd"], rel=1e-4)
    assert c["lambda_max_explicit"] >= max(abs(c["lambda_min_explicit"]), 0) and c["lambda_max_power"] > 0
    assert c["lr_threshold"] == pytest.approx(2 / c["lambda_max_power"])
    runs = c["runs"].values()
    for run in runs:
        # below 2 / lambda_max the minimum is stable: the loss never rises; above, it is not: it rises
        assert run["rose"] == (run["factor"] > 1), run
        assert not run["diverged"] or run["factor"] > 1, run
        if run["factor"] < 1:  # and it keeps going down
            assert run["final"] <= run["start"], run
        elif not run["diverged"]:  # it never settles back: it oscillates above the minimum, where the
            assert run["final"] > run["start"], run  # curvature still forbids its lr
            assert run["lr"] > 2 / run["lambda_max_end"], run
    assert any(run["diverged"] for run in runs)  # far enough above, the loss explodes


CHECKS = {
    "activations": check_activations,
    "zero_centering": check_zero_centering,
    "vanishing_gradients": check_vanishing_gradients,
    "preprocessing": check_preprocessing,
    "batchnorm": check_batchnorm,
    "dropout": check_dropout,
    "optimizers": check_optimizers,
    "minibatch_size": check_minibatch_size,
    "hyperparameter_search": check_hyperparameter_search,
    "train_mlp": check_train_mlp,
    "train_convnet": check_train_convnet,
    "second_order": check_second_order,
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_demo_shows_its_claim(name, device, tmp_path, monkeypatch):
    demo = load_demo(name, monkeypatch)
    results = demo.main(["--quick", "--out", str(tmp_path), "--device", device])
    assert (tmp_path / "results.json").stat().st_size > 0
    CHECKS[name](results, demo, tmp_path)


@pytest.mark.parametrize("name", list(CHECKS))
def test_help_shows_every_default(name, monkeypatch):
    assert_help_shows_every_default(load_demo(name, monkeypatch).build_parser())


# ---------------------------------------------------------------- hyperparameter search, no demo run
def test_random_search_beats_grid_when_one_parameter_does_not_matter(monkeypatch):
    hps = load_demo("hyperparameter_search", monkeypatch)
    b = hps.bergstra(40, seed=0)
    # The 3 x 3 grid's best in closed form: the bump at its best of x in {0, 0.5, 1}
    # plus the slope at y = 0.
    grid = [max(math.exp(-0.5 * ((x - p) / hps.PEAK_WIDTH) ** 2) for x in (0.0, 0.5, 1.0)) + 0.1
            for p in b["peaks"]]
    np.testing.assert_allclose(b["grid_best"], grid, rtol=1e-12)
    assert b["random_mean"] > b["grid_mean"]


def test_search_gives_the_same_trials_serially_and_on_a_process_pool(monkeypatch):
    hps = load_demo("hyperparameter_search", monkeypatch)
    objective = functools.partial(hps.train_trial, max_train=300, epochs=2)
    space = {"lr": LogUniform(1e-3, 1e-1), "reg": LogUniform(1e-5, 1e-1)}
    serial = random_search(objective, space, 4, seed=5, quiet=True)
    pooled = random_search(objective, space, 4, seed=5, n_jobs=2, quiet=True)
    as_rows = [[(t.index, t.seed, t.params, t.score, t.metrics) for t in res.trials]
               for res in (serial, pooled)]
    assert as_rows[0] == as_rows[1]
    assert len({t.score for t in serial.trials}) > 1  # the trials really differ
