"""The lecture's sanity checks, the diagnosis of curves, the PNG figures and the main demo."""
import math
import os
import sys

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import Standardize, load_digits
from tinygrad_lite.train import (
    History,
    InitialLossWarning,
    check_initial_loss,
    diagnose,
    overfit_small_subset,
    plot_first_layer_weights,
    plot_history,
    weight_grid,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEMOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demos")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return Standardize().fit_transform(d.x_train), d.y_train


def small_mlp(seed, device="cpu", std=0.01):
    """The lecture's "small random weights": N(0, std^2), zero biases."""
    tl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 50), nn.ReLU(), nn.Linear(50, 10)).to(device)
    for p in model.parameters():
        nn.init.normal_(p, 0.0, std) if p.ndim == 2 else nn.init.zeros_(p)
    return model


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
def history(losses, train_acc, val_acc, lr=0.01):
    h = History()
    n = len(losses)
    for i, v in enumerate(losses):
        h.log_iteration(v, 0.0, lr, (i + 1) / n * len(train_acc))
    for e, (a, b) in enumerate(zip(train_acc, val_acc), 1):
        h.log_epoch(e, (losses[-1], a), (losses[-1], b), lr, float(e))
    return h


DECREASING = list(np.linspace(2.3, 0.3, 100))


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


# ---------------------------------------------------------------- figures
def assert_png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE and len(data) > 2000
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
        assert im.size[0] > 100 and im.size[1] > 100


def test_plot_history_writes_png(tmp_path):
    h = history(DECREASING + [float("nan")], [0.5, 0.8], [0.45, 0.7])
    assert_png(plot_history(h, tmp_path / "sub" / "curves.png"))
    with pytest.raises(ValueError, match="no iterations"):
        plot_history(History(), tmp_path / "empty.png")


def test_weight_grid_puts_one_scaled_tile_per_unit():
    w = np.arange(5 * 6, dtype=np.float64).reshape(5, 6) ** 2  # 5 units of 2x3 pixels
    grid = weight_grid(w, (2, 3), pad=1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1)  # 2 rows x 3 columns of (2+1)x(3+1), plus the outer pad
    for k in range(5):
        r, c = divmod(k, 3)
        tile = grid[1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c]
        expect = (w[k] - w[k].min()) / (w[k].max() - w[k].min())
        np.testing.assert_allclose(tile, expect.reshape(2, 3))
    assert np.all(grid[:, 0] == 1.0) and np.all(grid[4:, 9:] == 1.0)  # padding and the empty slot
    with pytest.raises(ValueError, match="pixels"):
        weight_grid(w, (2, 2))


def test_plot_history_shows_a_constant_lr_as_constant(tmp_path):
    from tinygrad_lite.train import read_png_data

    h = history(DECREASING, [0.5, 0.8], [0.45, 0.7], lr=0.01)
    data = read_png_data(plot_history(h, tmp_path / "curves.png"))
    # the whole axis from 0: no zoom into float noise around 0.01
    assert data["lr_constant"] and data["axes"]["lr"]["ylim"] == [0.0, 0.02]
    assert data["lr_title"] == "learning rate (constant, 0.01)"
    h.iter_lr[50:] = [0.005] * 50
    data = read_png_data(plot_history(h, tmp_path / "decayed.png"))
    assert not data["lr_constant"] and data["lr_title"] == "learning rate"


def test_plot_first_layer_weights_writes_png(tmp_path):
    from tinygrad_lite.train import read_png_data

    path = plot_first_layer_weights(small_mlp(5), tmp_path / "w.png")  # 64 inputs: 8x8 tiles
    assert_png(path)
    data = read_png_data(path)  # a colour bar and a caption say what the grey levels mean
    assert data["colorbar"] == ["tile min", "mid", "tile max"] and "smallest weight" in data["caption"]
    assert data["units"] == 50 and data["image_shape"] == [8, 8]
    from PIL import Image

    with Image.open(path) as im:  # the colour bar's column runs from black (bottom) to white (top)
        img = np.asarray(im.convert("L"), dtype=float)
    x0, y0, x1, y1 = data["axes"]["colorbar"]["box"]
    col = int((x0 + x1) / 2 * img.shape[1])
    top, bottom = int((1 - y1) * img.shape[0]) + 2, int((1 - y0) * img.shape[0]) - 2
    assert img[top, col] > 240 and img[bottom, col] < 15
    with pytest.raises(ValueError, match="image_shape"):
        plot_first_layer_weights(np.zeros((4, 10)), tmp_path / "bad.png")


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
