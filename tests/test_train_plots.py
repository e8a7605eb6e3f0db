"""The figures of a training run: the training curves and the first-layer weights, read back from
the PNG (the diagnostics' figures are tested with their numbers, in test_train_diagnostics.py)."""
import numpy as np
import pytest
from helpers import DECREASING, assert_png, history, small_mlp

from tinygrad_lite.train import History, plot_first_layer_weights, plot_history, weight_grid


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
