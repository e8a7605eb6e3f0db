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
    assert np.all(grid[:, 0] == 0.5) and np.all(grid[4:, 9:] == 0.5)  # mid-grey padding and empty slot
    assert np.all(weight_grid(w, (2, 3), fill=0.25)[:, 0] == 0.25)
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


def test_first_layer_tiles_sit_on_a_neutral_grey_frame(tmp_path):
    """The padding between tiles is mid grey in the PNG's pixels, so a tile's white and black
    pixels both stand out from it (a white frame hid every white pixel on a tile's edge)."""
    from PIL import Image

    from tinygrad_lite.train import read_png_data

    w = np.zeros((4, 16))  # 4 units of 4x4 pixels on a 2x2 grid: tiles of 5x5 with the padding
    w[:, :8], w[:, 8:] = 1.0, -1.0  # top half of each tile white, bottom half black
    path = plot_first_layer_weights(w, tmp_path / "w.png")
    data = read_png_data(path)
    assert data["padding_gray"] == 0.5 and "grey frame is padding" in data["caption"]
    with Image.open(path) as im:
        img = np.asarray(im.convert("L"), dtype=float)
    x0, y0, x1, y1 = data["axes"]["tiles"]["box"]
    side = 2 * 5 + 1  # the grid is 11 x 11 cells

    def pixel(r, c):  # the centre of grid cell (row r, column c), counted from the top left
        return img[int((1 - y1 + (r + 0.5) / side * (y1 - y0)) * img.shape[0]),
                   int((x0 + (c + 0.5) / side * (x1 - x0)) * img.shape[1])]

    frame = [pixel(r, c) for r in range(side) for c in (0, 5, 10)] + [pixel(5, c) for c in range(side)]
    assert all(100 < v < 155 for v in frame), frame  # mid grey: neither white nor black
    assert pixel(1, 1) > 240 and pixel(4, 4) < 15  # a tile's white top row and black bottom row
