"""The lecture's sanity checks, the diagnosis of curves and the main demo."""
import math
import os
import sys

import numpy as np
import pytest
from helpers import DECREASING, assert_png, history, small_mlp

from tinygrad_lite import nn, optim
from tinygrad_lite.data import Standardize, load_digits
from tinygrad_lite.train import (
    History,
    InitialLossWarning,
    check_initial_loss,
    diagnose,
    overfit_small_subset,
)

DEMOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demos")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return Standardize().fit_transform(d.x_train), d.y_train


# ---------------------------------------------------------------- initial loss
def test_initial_softmax_loss_is_ln_10(digits, device):
    check = check_initial_loss(small_mlp(0, device), nn.CrossEntropyLoss(), *digits)
    assert check.expected == pytest.approx(math.log(10)) and check.num_classes == 10
    assert check.measured == pytest.approx(math.log(10), abs=0.01) and check.ok


def test_initial_hinge_loss_is_c_minus_1(digits):
    check = check_initial_loss(small_mlp(1), nn.HingeLoss(), *digits)
    assert check.expected == 9.0 and check.measured == pytest.approx(9.0, abs=0.05) and check.ok


def test_initial_loss_warns_for_large_weights(digits):
    with pytest.warns(InitialLossWarning, match="expected 2.30"):
        check = check_initial_loss(small_mlp(2, std=1.0), nn.CrossEntropyLoss(), *digits)
    assert not check.ok and check.measured > 3.0


# ---------------------------------------------------------------- overfitting 20 examples
def test_overfit_small_subset_reaches_100_percent(digits):
    x, y = digits[0][:20], digits[1][:20]
    model = small_mlp(3, std=0.1)
    check = overfit_small_subset(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                                 x, y, num_examples=20, max_iters=500)
    w1, b1, w2, b2 = (p.numpy().astype(np.float64) for p in model.parameters())
    scores = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    assert check.reached and check.train_acc == 1.0 and np.all(scores.argmax(axis=1) == y)
    assert 1 <= check.iterations < 500 and f"after {check.iterations} iterations" in check.message


def test_overfit_small_subset_reports_failure_and_refuses_weight_decay(digits):
    model = small_mlp(4)
    check = overfit_small_subset(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0),
                                 *digits, max_iters=5)
    assert not check.reached and check.iterations == 5 and check.train_acc < 1.0
    with pytest.raises(ValueError, match="regularization off"):
        overfit_small_subset(model, nn.CrossEntropyLoss(),
                             optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-3), *digits)
    with pytest.raises(ValueError, match="max_iters"):
        overfit_small_subset(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                             *digits, max_iters=0)


# ---------------------------------------------------------------- diagnosis


@pytest.mark.parametrize("losses, train, val, code", [
    ([2.3, 2.0, 1.5, 9.0, float("nan")], [0.3], [0.3], "lr_too_high"),
    (list(np.geomspace(2.3, 500.0, 100)), [0.1], [0.1], "lr_too_high"),
    (list(2.3 - 0.001 * np.sin(np.arange(100))), [0.11], [0.1], "lr_too_low"),
    (DECREASING, [0.80, 1.00], [0.75, 0.80], "overfitting"),
    (DECREASING, [0.50, 0.60], [0.49, 0.58], "train_longer"),
    (list(np.linspace(2.3, 1.0, 50)) + [1.0] * 50, [0.50, 0.60], [0.49, 0.58], "underfitting"),
    (DECREASING, [0.90, 0.98], [0.88, 0.96], "ok"),
])
def test_diagnose_names_the_problem(losses, train, val, code):
    findings = diagnose(history(losses, train, val))
    assert [f.code for f in findings] == [code]


def test_diagnose_messages_give_the_lectures_remedy():
    nan = diagnose(history([2.3, float("nan")], [0.1], [0.1], lr=3.0))[0].message
    assert "iteration 2" in nan and "lr 3" in nan and "too high" in nan
    assert "increase the regularization" in diagnose(history(DECREASING, [1.0], [0.7]))[0].message
    short = diagnose(history(DECREASING, [0.6], [0.6]))[0].message
    assert "train longer" in short and "increase the model capacity" not in short
    plateau = list(np.linspace(2.3, 1.0, 50)) + [1.0] * 50
    settled = diagnose(history(plateau, [0.6], [0.6]))
    assert [f.code for f in settled] == ["underfitting"] and "train longer" not in settled[0].message
    assert "increase the model capacity" in settled[0].message
    # a slow fall under batch noise (the main demo's quick run: 2.25 -> 2.08 in 40 iterations)
    rng = np.random.default_rng(0)
    noisy = list(np.linspace(2.25, 2.08, 40) + rng.normal(0, 0.03, 40))
    assert [f.code for f in diagnose(history(noisy, [0.3], [0.38]))] == ["train_longer"]


# ---------------------------------------------------------------- the main demo
def test_train_mlp_quick_writes_its_files(tmp_path):
    sys.path.insert(0, DEMOS)
    try:
        import train_mlp
    finally:
        sys.path.remove(DEMOS)
    out = tmp_path / "run"
    results = train_mlp.main(["--quick", "--quiet", "--out", str(out)])
    for name in ("history.json", "history.png", "first_layer_weights.png", "checkpoint.npz",
                 "best.npz", "results.json"):
        assert (out / name).stat().st_size > 0
    assert_png(out / "history.png")
    assert_png(out / "first_layer_weights.png")
    h = History.load(out / "history.json")
    assert h.epochs == results["epochs"] == 2 and results["error"] is None
    # an accuracy on the test split: a whole number of its examples right, well above chance
    y_test = train_mlp.scaffold.load_data(train_mlp.build_parser().parse_args(["--quick"])).y_test
    n_right = results["test_acc"] * len(y_test)
    assert abs(n_right - round(n_right)) < 1e-6, (results["test_acc"], len(y_test))
    assert results["test_acc"] > 2 / len(np.unique(y_test))
    # two epochs of a still-falling loss: too short to blame the capacity
    assert results["findings"] == ["train_longer"]
    assert results["initial_loss_ok"] and results["overfit_reached"]
