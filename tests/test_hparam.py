"""tinygrad_lite.hparam: spaces, search, the lecture's output, coarse-to-fine and the border warning."""
import csv
import functools
import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lite.hparam import (
    Choice,
    LogUniform,
    SearchResult,
    Trial,
    Uniform,
    border_warnings,
    format_trial,
    grid_points,
    grid_search,
    narrow,
    random_search,
    widen,
)

SPACE = {"lr": LogUniform(1e-6, 1e-3), "reg": LogUniform(1e-5, 1e5), "act": Choice(["relu", "tanh"])}


# Module level, so that a process pool can pickle them.
def noisy_objective(params, seed):
    """Depends on the hyperparameters and on the trial's seed."""
    noise = np.random.default_rng(seed).random()
    return {"val_acc": float(noise * math.log10(params["lr"]) ** 2 % 1.0),
            "act_is_relu": params["act"] == "relu"}


def slow_first_objective(params, seed):
    # Early trials sleep longer, so on a pool later trials tend to finish first.
    time.sleep(0.02 * (1.0 - params["x"]))
    return 1.0 - params["x"]


def peaked(params, seed, center):
    """f(a, b) = g(a): b does not matter, g is a narrow bump at `center`."""
    return math.exp(-((params["a"] - center) / 0.03) ** 2)


def _quiet(fn, *args, **kwargs):
    return fn(*args, quiet=True, **kwargs)


def _rows(result):
    return [(t.index, t.params, t.score, t.metrics, t.seed) for t in result.trials]


# ---- spaces -----------------------------------------------------------------------------------
def test_loguniform_is_uniform_per_decade():
    n, space = 20000, LogUniform(1e-5, 1e5)
    rng = np.random.default_rng(99)
    x = np.array([space.sample(rng) for _ in range(n)])
    assert x.min() >= 1e-5 and x.max() <= 1e5
    counts = np.bincount(np.floor(np.log10(x)).astype(int) + 5, minlength=10)
    assert counts.size == 10
    sd = math.sqrt(n * 0.1 * 0.9)  # each decade holds Binomial(n, 1/10) samples
    assert np.all(np.abs(counts - n / 10) < 5 * sd), counts


def test_uniform_and_choice_frequencies():
    rng, n = np.random.default_rng(0), 10000
    x = np.array([Uniform(-2.0, 3.0).sample(rng) for _ in range(n)])
    assert x.min() >= -2 and x.max() <= 3
    counts = np.bincount(np.floor((x + 2) / 0.5).astype(int), minlength=10)
    assert np.all(np.abs(counts - n / 10) < 5 * math.sqrt(n * 0.09)), counts
    c = Choice(["a", "b", "c", "d"])
    picks = [c.sample(rng) for _ in range(n)]
    for o in c.options:
        assert abs(picks.count(o) - n / 4) < 5 * math.sqrt(n * 0.25 * 0.75)


def test_from_exponents_is_the_lecture_notation():
    assert LogUniform.from_exponents(-3, -6) == LogUniform(1e-6, 1e-3)
    assert LogUniform.from_exponents(-5, 5).describe() == "10**uniform(-5, 5)"


def test_grids():
    np.testing.assert_allclose(LogUniform(1e-4, 1e-1).grid(4), [1e-4, 1e-3, 1e-2, 1e-1], rtol=1e-12)
    g = LogUniform(2e-6, 5e-2).grid(7)
    np.testing.assert_allclose(np.diff(np.log10(g)), np.full(6, math.log10(5e-2 / 2e-6) / 6))
    assert g[0] == 2e-6 and g[-1] == 5e-2
    assert Uniform(0, 1).grid(5) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert Uniform(2, 4).grid(1) == [3.0]
    assert LogUniform(1e-4, 1e-2).grid(1) == pytest.approx([1e-3])
    assert Choice([32, 64, 128]).grid(2) == [32, 64, 128]


@pytest.mark.parametrize("kwargs, expect", [
    ({"points_per_dim": 3}, 3 * 3 * 2), ({"points_per_dim": 1}, 2),
    ({"n_trials": 18}, 18), ({"n_trials": 17}, 8), ({"n_trials": 50}, 50), ({"n_trials": 49}, 32),
])
def test_grid_point_counts(kwargs, expect):
    pts = grid_points(SPACE, **kwargs)
    assert len(pts) == expect
    assert len({tuple(p.values()) for p in pts}) == expect  # all distinct
    assert all(list(p) == ["lr", "reg", "act"] for p in pts)


def test_grid_budget_with_a_float_cube_root():
    space = {k: Uniform(0, 1) for k in "abc"}  # 27 ** (1/3) is not exactly 3.0 in floats
    assert len(grid_points(space, n_trials=27)) == 27
    assert len(grid_points(space, n_trials=26)) == 8


@pytest.mark.parametrize("make, err", [
    (lambda: LogUniform(0, 1), ValueError), (lambda: Uniform(1, 1), ValueError),
    (lambda: Uniform(0, float("inf")), ValueError), (lambda: Uniform("0", 1), TypeError),
    (lambda: Choice([]), ValueError), (lambda: Choice("abc"), TypeError),
    (lambda: Choice([1, 1]), ValueError), (lambda: Uniform(0, 1).sample(0), TypeError),
    (lambda: Uniform(0, 1).grid(0), ValueError),
    (lambda: grid_points(SPACE, points_per_dim=2, n_trials=4), ValueError),
    (lambda: grid_points(SPACE, n_trials=1), ValueError),
    (lambda: random_search(noisy_objective, {"lr": (1e-6, 1e-3)}, 3), TypeError),
    (lambda: random_search(noisy_objective, SPACE, 0), ValueError),
    (lambda: random_search(noisy_objective, SPACE, 2, executor=ThreadPoolExecutor(1), n_jobs=2),
     ValueError),
    (lambda: random_search(lambda p, s: {"loss": 1.0}, SPACE, 2, quiet=True), ValueError),
    (lambda: random_search(lambda p, s: "good", SPACE, 2, quiet=True), TypeError),
])
def test_user_mistakes_raise(make, err):
    with pytest.raises(err):
        make()


# ---- the lecture's output --------------------------------------------------------------------
def test_line_format_matches_the_lecture():
    t = Trial(index=0, params={"lr": 1.405206e-04, "reg": 4.793564e-01}, score=0.412)
    assert format_trial(t, 100) == "val_acc: 0.412000, lr: 1.405206e-04, reg: 4.793564e-01, (1 / 100)"
    t = Trial(index=2, params={"lr": 1e-3, "act": "relu", "hidden": 50}, score=0.5)
    assert format_trial(t, 9, "acc") == "acc: 0.500000, lr: 1.000000e-03, act: relu, hidden: 50, (3 / 9)"


def test_search_prints_lines_best_and_border_warning():
    out = []
    result = grid_search(lambda p, s: 1.0 - p["x"], {"x": Uniform(0, 1)}, 3, progress=out.append)
    assert out == [
        "val_acc: 1.000000, x: 0.000000e+00, (1 / 3)",
        "val_acc: 0.500000, x: 5.000000e-01, (2 / 3)",
        "val_acc: 0.000000, x: 1.000000e+00, (3 / 3)",
        "best: val_acc: 1.000000, x: 0.000000e+00, (1 / 3)",
        ("careful with best values on border: x = 0.000000e+00 lies within 10% of the lower edge of "
         "uniform(0, 1); consider widening it to uniform(-1, 1)"),
    ]
    assert result.lines() == out[:3]


def test_quiet_prints_nothing(capsys):
    random_search(noisy_objective, SPACE, 3, quiet=True)
    assert capsys.readouterr().out == ""
    random_search(noisy_objective, SPACE, 3)
    lines = capsys.readouterr().out.splitlines()
    assert [ln[-7:] for ln in lines if ln.startswith("val_acc: ")] == ["(1 / 3)", "(2 / 3)", "(3 / 3)"]
    assert sum(ln.startswith("best: val_acc: ") for ln in lines) == 1


# ---- executors and seeds ---------------------------------------------------------------------
def test_same_trials_serial_threads_and_processes():
    serial = _quiet(random_search, noisy_objective, SPACE, 8, seed=3)
    with ThreadPoolExecutor(max_workers=3) as ex:
        threads = _quiet(random_search, noisy_objective, SPACE, 8, seed=3, executor=ex)
    procs = _quiet(random_search, noisy_objective, SPACE, 8, seed=3, n_jobs=2)
    assert _rows(serial) == _rows(threads) == _rows(procs)
    assert [t.index for t in serial.trials] == list(range(8))
    assert len({t.seed for t in serial.trials}) == 8
    for t in serial.trials:  # the objective's metric comes back as computed from the trial's params
        assert t.metrics["act_is_relu"] is (t.params["act"] == "relu")
        assert t.metrics == noisy_objective(t.params, t.seed)


def test_results_come_back_in_trial_order_whatever_finishes_first():
    lines = []
    with ThreadPoolExecutor(max_workers=4) as ex:
        res = grid_search(slow_first_objective, {"x": Uniform(0, 1)}, 8, executor=ex,
                          progress=lines.append)
    assert [t.index for t in res.trials] == list(range(8))
    assert [t.params["x"] for t in res.trials] == Uniform(0, 1).grid(8)
    assert sorted(lines[:8]) == sorted(res.lines())


def test_seed_reproduces_and_changes_the_search():
    a = _quiet(random_search, noisy_objective, SPACE, 6, seed=0)
    b = _quiet(random_search, noisy_objective, SPACE, 6, seed=0)
    c = _quiet(random_search, noisy_objective, SPACE, 6, seed=1)
    assert _rows(a) == _rows(b)
    assert all(x.params["lr"] != y.params["lr"] and x.seed != y.seed for x, y in zip(a.trials, c.trials))
    # Trial i depends on the search seed and i only, not on how many trials there are.
    longer = _quiet(random_search, noisy_objective, SPACE, 10, seed=0)
    assert _rows(longer)[:6] == _rows(a)


def test_scores_metrics_and_direction():
    space = {"x": Uniform(0, 1)}
    res = grid_search(lambda p, s: float("nan") if p["x"] == 0.5 else p["x"], space, 5, quiet=True)
    assert res.trials[1].metrics == {"val_acc": 0.25}
    assert res.best.params["x"] == 1.0
    assert [t.params["x"] for t in res.ranked()][-1] == 0.5  # NaN ranks last
    low = grid_search(lambda p, s: {"loss": p["x"], "acc": 1 - p["x"]}, space, 5, metric="loss",
                      maximize=False, quiet=True)
    assert low.best.params["x"] == 0.0 and low.best.metrics == {"loss": 0.0, "acc": 1.0}


# ---- coarse-to-fine --------------------------------------------------------------------------
def _result(space, rows, maximize=True):
    trials = [Trial(index=i, params=p, score=s, seed=i) for i, (p, s) in enumerate(rows)]
    return SearchResult(trials, space, "val_acc", maximize)


def test_narrow_shrinks_around_the_best():
    space = {"lr": LogUniform(1e-6, 1e-3), "drop": Uniform(0, 1), "act": Choice(["relu", "tanh", "sig"])}
    good = [({"lr": 1e-5, "drop": 0.3, "act": "relu"}, 0.9), ({"lr": 1e-4, "drop": 0.5, "act": "tanh"}, 0.8),
            ({"lr": 3e-5, "drop": 0.4, "act": "relu"}, 0.7)]
    bad = [({"lr": 1e-6, "drop": 0.0, "act": "sig"}, 0.1), ({"lr": 1e-3, "drop": 1.0, "act": "sig"}, 0.2)]
    for maximize, rows in [(True, bad + good), (False, [(p, -s) for p, s in bad + good])]:
        new = narrow(space, _result(space, rows, maximize), top_k=3, margin=0.1)
        # log10 range [-5, -4] widened by 0.1 * 3 decades; drop [0.3, 0.5] by 0.1 * 1.
        assert new["lr"].lo == pytest.approx(10 ** -5.3) and new["lr"].hi == pytest.approx(10 ** -3.7)
        assert isinstance(new["lr"], LogUniform) and isinstance(new["drop"], Uniform)
        assert (new["drop"].lo, new["drop"].hi) == pytest.approx((0.2, 0.6))
        assert new["act"] == Choice(["relu", "tanh"])


def test_narrow_reproduces_the_lecture_stage():
    space = {"reg": LogUniform.from_exponents(-5, 5), "lr": LogUniform.from_exponents(-6, -3)}
    rows = [({"reg": 10 ** -3.0, "lr": 10 ** -3.7}, 0.48), ({"reg": 10 ** -1.0, "lr": 10 ** -3.2}, 0.44),
            ({"reg": 10 ** 3.0, "lr": 10 ** -5.5}, 0.08)]
    new = narrow(space, _result(space, rows), top_k=2, margin=0.1)
    assert new["reg"].scale_bounds == pytest.approx((-4, 0))
    assert new["lr"].scale_bounds == pytest.approx((-4, -3))  # clipped at the old upper edge


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-6, -3), st.floats(0, 1), st.floats(0, 1)), min_size=2, max_size=12),
       st.integers(1, 5), st.floats(0.01, 0.5))
def test_narrow_stays_inside_and_keeps_the_top(rows, top_k, margin):
    space = {"lr": LogUniform.from_exponents(-6, -3), "u": Uniform(0, 1)}
    res = _result(space, [({"lr": 10 ** e, "u": u}, s) for e, u, s in rows])
    new = narrow(space, res, top_k=top_k, margin=margin)
    for name, s in space.items():
        assert s.lo <= new[name].lo < new[name].hi <= s.hi
        assert new[name].hi - new[name].lo <= s.hi - s.lo
        for t in res.ranked()[:top_k]:
            assert new[name].lo * (1 - 1e-12) <= t.params[name] <= new[name].hi * (1 + 1e-12) + 1e-15


def test_border_warning_fires_at_the_edge_only():
    space = {"lr": LogUniform(1e-4, 1e-2), "drop": Uniform(0, 1), "act": Choice(["a", "b"])}

    def warn(lr, drop):
        return border_warnings(space, _result(space, [({"lr": lr, "drop": drop, "act": "a"}, 1.0),
                                                      ({"lr": 1e-3, "drop": 0.5, "act": "b"}, 0.0)]))
    assert warn(1e-3, 0.5) == []
    # 2e-4 is 1% of the way up linearly but 15% in log space: no warning.
    assert warn(2e-4, 0.45) == []
    # 8e-3 is 79% of the way up linearly but 95% in log space: on the border.
    assert warn(8e-3, 0.5) == [
        ("careful with best values on border: lr = 8.000000e-03 lies within 10% of the upper edge of "
         "10**uniform(-4, -2); consider widening it to 10**uniform(-4, -1)")]
    both = warn(1.1e-4, 0.97)
    assert len(both) == 2 and "10**uniform(-5, -2)" in both[0] and "lower edge" in both[0]
    assert "drop = 9.700000e-01" in both[1] and "uniform(0, 2)" in both[1]
    assert border_warnings(space, _result(space, [({"lr": 1e-3, "drop": 0.85, "act": "a"}, 1.0)]),
                           frac=0.2) == [
        ("careful with best values on border: drop = 8.500000e-01 lies within 20% of the upper edge "
         "of uniform(0, 1); consider widening it to uniform(0, 2)")]


def test_widen_moves_only_the_flagged_edges():
    space = {"lr": LogUniform(1e-4, 1e-2), "drop": Uniform(0, 1), "act": Choice(["a", "b"])}
    res = _result(space, [({"lr": 9e-3, "drop": 0.5, "act": "a"}, 1.0),
                          ({"lr": 1e-3, "drop": 0.5, "act": "b"}, 0.0)])
    wide = widen(space, res, extend=2.0)
    assert (wide["lr"].lo, wide["drop"], wide["act"]) == (1e-4, space["drop"], space["act"])
    assert math.isclose(wide["lr"].hi, 1.0)  # 10**(-2 + 2)
    central = _result(space, [({"lr": 1e-3, "drop": 0.5, "act": "a"}, 1.0)])
    assert widen(space, central) == space


# ---- saving and plotting ---------------------------------------------------------------------
def test_csv_and_json_round_trip(tmp_path):
    res = _quiet(random_search, noisy_objective, SPACE, 5, seed=7)
    res.to_json(tmp_path / "r.json")
    back = SearchResult.from_json(tmp_path / "r.json")
    assert back == res and back.best == res.best and back.space == SPACE
    res.to_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["index", "seed", "score", "act_is_relu", "val_acc", "lr", "reg", "act"]
    for row, t in zip(rows, res.trials, strict=True):
        assert int(row["index"]) == t.index and int(row["seed"]) == t.seed
        assert float(row["score"]) == t.score == float(row["val_acc"])
        assert float(row["lr"]) == t.params["lr"] and float(row["reg"]) == t.params["reg"]
        assert row["act"] == t.params["act"] and row["act_is_relu"] == str(t.params["act"] == "relu")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    res = _quiet(random_search, noisy_objective, SPACE, 12)
    path = tmp_path / "search.png"
    assert res.plot(path, title="coarse stage") == path
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    from PIL import Image
    with Image.open(path) as im:
        assert im.size == (1200, 340)  # three 4-inch panels at 100 dpi


# ---- random beats grid (Bergstra and Bengio) -------------------------------------------------
def test_random_search_beats_grid_when_one_parameter_does_not_matter():
    space = {"a": Uniform(0, 1), "b": Uniform(0, 1)}
    rand_best, grid_best = [], []
    for seed in range(20):
        center = np.random.default_rng(1000 + seed).uniform(0.05, 0.95)
        objective = functools.partial(peaked, center=center)
        rand_best.append(_quiet(random_search, objective, space, 9, seed=seed).best.score)
        grid_best.append(_quiet(grid_search, objective, space, n_trials=9).best.score)
    # 9 random trials try 9 values of a; the 3x3 grid only 3.
    assert np.mean(rand_best) > np.mean(grid_best) + 0.1, (np.mean(rand_best), np.mean(grid_best))
