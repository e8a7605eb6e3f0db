"""Demos 6-9 of the lecture in quick mode: each must show the direction of its claim.

Expected values come from the lecture's update rules and closed forms written out here in
plain NumPy, never from the demos' own output.
"""
import functools
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demos"))

import dropout
import hyperparameter_search as hps
import minibatch_size
import optimizers

from tinygrad_lite.hparam import LogUniform, random_search


def quick(module, tmp_path, *extra):
    return module.main(["--quick", "--out", str(tmp_path), *extra])


# ---------------------------------------------------------------- 6. dropout
def test_dropout_shrinks_the_train_validation_gap(tmp_path):
    r = quick(dropout, tmp_path)
    assert r["none"]["train_acc"] >= 0.99  # the model is big enough to overfit
    assert r["none"]["gap"] > 0.03
    assert r["dropout"]["gap"] < r["none"]["gap"]
    assert (tmp_path / "dropout.png").stat().st_size > 0


# ---------------------------------------------------------------- 7. optimizers
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


def test_optimizers_claims(tmp_path):
    r = quick(optimizers, tmp_path)
    steps = r["steps_to_target"]
    lrs = optimizers.SURFACES[0].lrs
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

    decay = r["decay"]
    for d in decay.values():
        assert math.isclose(d["gain"], d["objective_no_decay"] / d["objective_decay"])
    assert decay["momentum"]["gain"] > decay["adam"]["gain"]

    assert (tmp_path / "optimizers_trajectories.png").stat().st_size > 0
    with Image.open(tmp_path / "optimizers_trajectories.gif") as gif:
        assert gif.n_frames >= 2


# ---------------------------------------------------------------- 8. mini-batch size
def test_smaller_batches_converge_in_fewer_epochs(tmp_path):
    r = quick(minibatch_size, tmp_path)
    n, epochs = r["n_train"], r["epochs"]
    sizes = [run["batch_size"] for run in r["runs"]]
    assert sizes == sorted(sizes) and len(sizes) == 7
    for run in r["runs"]:
        assert run["updates"] == math.ceil(n / run["batch_size"]) * epochs
        assert len(run["epoch_time"]) == epochs
    final = np.array([run["loss"][-1] for run in r["runs"]])
    assert np.all(np.diff(final) > 0), final  # after the same epochs, loss grows with the batch
    assert (tmp_path / "minibatch_size.png").stat().st_size > 0


# ---------------------------------------------------------------- 9. hyperparameter search
def on_border(value: float, lo: float, hi: float, frac: float = 0.1) -> bool:
    u = (math.log10(value) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    return u <= frac or u >= 1 - frac


def test_hyperparameter_search_stages_and_border_warning(tmp_path):
    r = quick(hps, tmp_path)
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


def test_random_search_beats_grid_when_one_parameter_does_not_matter():
    b = hps.bergstra(40, seed=0)
    # The 3 x 3 grid's best in closed form: the bump at its best of x in {0, 0.5, 1}
    # plus the slope at y = 0.
    grid = [max(math.exp(-0.5 * ((x - p) / hps.PEAK_WIDTH) ** 2) for x in (0.0, 0.5, 1.0)) + 0.1
            for p in b["peaks"]]
    np.testing.assert_allclose(b["grid_best"], grid, rtol=1e-12)
    assert b["random_mean"] > b["grid_mean"]


def test_search_gives_the_same_trials_serially_and_on_a_process_pool():
    objective = functools.partial(hps.train_trial, max_train=300, epochs=2)
    space = {"lr": LogUniform(1e-3, 1e-1), "reg": LogUniform(1e-5, 1e-1)}
    serial = random_search(objective, space, 4, seed=5, quiet=True)
    pooled = random_search(objective, space, 4, seed=5, n_jobs=2, quiet=True)
    as_rows = [[(t.index, t.seed, t.params, t.score, t.metrics) for t in res.trials]
               for res in (serial, pooled)]
    assert as_rows[0] == as_rows[1]
    assert len({t.score for t in serial.trials}) > 1  # the trials really differ
