"""Diagnostic plots: confusion matrix and per-class accuracy, gradient norm per layer, activation
statistics. Each number is checked against a direct NumPy computation twice: as stored in the
PNG (read back from the file) and as drawn (bar heights and cell colours read from the pixels,
through the panel geometry the PNG stores)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.data import Standardize, load_digits
from tinygrad_lite.train import (
    ActivationMonitor,
    Callback,
    ConfusionMatrixMonitor,
    GradientNormMonitor,
    activation_statistics,
    confusion_matrix,
    fit,
    plot_activation_statistics,
    plot_confusion_matrix,
    plot_gradient_norms,
    read_png_data,
)
from tinygrad_lite.train.plots import BAR_COLOR, END_COLOR, START_COLOR


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    prep = Standardize().fit(d.x_train)
    return prep.transform(d.x_train), d.y_train, prep.transform(d.x_val), d.y_val


def mlp(hidden=16, act=nn.ReLU, seed=0):
    tl.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, hidden), act(), nn.Linear(hidden, 10))


def np_forward(model, x):
    """float64 scores of Linear -> ReLU -> Linear from the raw parameters."""
    w1, b1, w2, b2 = (p.numpy().astype(np.float64) for p in model.parameters())
    return np.maximum(x @ w1.T + b1, 0) @ w2.T + b2


# ---------------------------------------------------------------- reading a PNG back
def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int32)


def to_pixel(geom: dict, shape, x: float, y: float) -> tuple[int, int]:
    """(row, col) of data point (x, y) in the PNG, from the panel's stored box and limits."""
    h, w = shape[:2]
    x0, y0, x1, y1 = geom["box"]
    fx = _frac(x, geom["xlim"], geom["xscale"])
    fy = _frac(y, geom["ylim"], geom["yscale"])
    return round((1 - (y0 + fy * (y1 - y0))) * h), round((x0 + fx * (x1 - x0)) * w)


def _frac(v, lim, scale):
    f = (lambda t: np.log10(t)) if scale == "log" else (lambda t: t)
    return (f(v) - f(lim[0])) / (f(lim[1]) - f(lim[0]))


def bar_top(img: np.ndarray, geom: dict, x: float, color: str) -> float:
    """The data value at the top of the bar of ``color`` at data x: the highest pixel row of
    that colour in the column, mapped back through the panel's limits (0 when there is none)."""
    rgb = np.array(matplotlib.colors.to_rgb(color)) * 255
    h = img.shape[0]
    _, col = to_pixel(geom, img.shape, x, geom["ylim"][0])
    _, y0, _, y1 = geom["box"]
    top, bottom = int((1 - y1) * h), round((1 - y0) * h)
    rows = [r for r in range(top, bottom) if np.abs(img[r, col] - rgb).max() <= 12]
    if not rows:
        return geom["ylim"][0]
    frac = ((1 - rows[0] / h) - y0) / (y1 - y0)
    lo, hi = geom["ylim"]
    if geom["yscale"] == "log":
        return 10 ** (np.log10(lo) + frac * (np.log10(hi) - np.log10(lo)))
    return lo + frac * (hi - lo)


def pixel_tolerance(geom: dict, img: np.ndarray, rows: float = 2.0) -> float:
    """``rows`` pixel rows of the panel in its data units (linear panels)."""
    height = (geom["box"][3] - geom["box"][1]) * img.shape[0]
    return rows * (geom["ylim"][1] - geom["ylim"][0]) / height


# ---------------------------------------------------------------- confusion matrix
def test_confusion_matrix_counts_each_true_and_predicted_pair(digits):
    _, _, xv, yv = digits
    model = mlp()
    pred = np_forward(model, xv).argmax(axis=1)
    direct = np.zeros((10, 10), dtype=np.int64)
    for t, p in zip(yv, pred):
        direct[t, p] += 1
    cm = confusion_matrix(model, (xv, yv), batch_size=64)  # several batches
    np.testing.assert_array_equal(cm, direct)
    assert cm.sum() == len(yv)
    with pytest.raises(ValueError, match="num_classes"):
        confusion_matrix(model, (xv, yv), num_classes=5)


def test_confusion_matrix_plot_shows_the_counts_and_the_accuracies(digits, tmp_path):
    _, _, xv, yv = digits
    model = mlp()
    pred = np_forward(model, xv).argmax(axis=1)
    direct = np.zeros((10, 10))
    np.add.at(direct, (yv, pred), 1)
    accuracy = np.array([np.mean(pred[yv == c] == c) for c in range(10)])
    path = plot_confusion_matrix(confusion_matrix(model, (xv, yv)), tmp_path / "cm.png")
    data = read_png_data(path)
    np.testing.assert_array_equal(data["counts"], direct)
    np.testing.assert_allclose(data["per_class_accuracy"], accuracy, rtol=1e-12)
    assert data["accuracy"] == pytest.approx(np.mean(pred == yv))
    img = pixels(path)
    acc_geom = data["axes"]["accuracy"]
    drawn = [bar_top(img, acc_geom, c, BAR_COLOR) for c in range(10)]
    np.testing.assert_allclose(drawn, accuracy, atol=pixel_tolerance(acc_geom, img))
    # each cell's colour, read off the colour map, is the row-normalized count
    lut = colormaps["Blues"](np.linspace(0, 1, 256))[:, :3] * 255
    normalized = direct / direct.sum(axis=1, keepdims=True)
    for (i, j), expected in np.ndenumerate(normalized):
        r, c = to_pixel(data["axes"]["matrix"], img.shape, j - 0.35, i - 0.35)  # off the centred count
        value = np.argmin(np.abs(lut - img[r, c]).sum(axis=1)) / 255
        assert value == pytest.approx(expected, abs=0.01), (i, j)


def test_confusion_matrix_monitor_draws_every_epoch(digits, tmp_path):
    x, y, xv, yv = digits
    model = mlp()
    monitor = ConfusionMatrixMonitor((xv, yv), path=tmp_path / "cm.png")
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x[:300], y[:300]), epochs=2,
        quiet=True, seed=0, callbacks=[monitor])
    assert monitor.epochs == [1, 2] and len(monitor.matrices) == 2
    pred = np_forward(model, xv).argmax(axis=1)
    final = np.zeros((10, 10))
    np.add.at(final, (yv, pred), 1)
    np.testing.assert_array_equal(read_png_data(tmp_path / "cm.png")["counts"], final)
    assert read_png_data(tmp_path / "cm.png")["epoch"] == 2


# ---------------------------------------------------------------- gradient norms
def test_gradient_norm_monitor_records_each_layers_norm(digits, tmp_path):
    x, y, _, _ = digits
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    monitor, direct = GradientNormMonitor(), {"0.weight": [], "2.weight": []}
    for step in range(12):  # a hand-written loop calls the hook itself
        opt.zero_grad()
        xb, yb = tl.Tensor(x[step * 32:(step + 1) * 32]), tl.Tensor(y[step * 32:(step + 1) * 32])
        nn.CrossEntropyLoss()(model(xb), yb).backward()
        monitor.after_backward(model, step / 12)
        for name, p in model.named_parameters():
            if name in direct:
                direct[name].append(float(np.sqrt((p.grad.numpy().astype(np.float64) ** 2).sum())))
        opt.step()
    assert monitor.positions == [s / 12 for s in range(12)]
    for name, values in direct.items():
        np.testing.assert_allclose(monitor.norms[name], values, rtol=1e-12)
    path = plot_gradient_norms(monitor, tmp_path / "g.png", window=0.25)
    data = read_png_data(path)
    img = pixels(path)
    for i, (name, values) in enumerate(direct.items()):
        np.testing.assert_allclose(data["norms"][name], values, rtol=1e-12)
        start, end = np.mean(values[:3]), np.mean(values[-3:])
        assert data["start"][name] == pytest.approx(start) and data["end"][name] == pytest.approx(end)
        geom = data["axes"]["bars"]
        # log scale: two pixel rows are a factor (hi/lo)^(2/height)
        height = (geom["box"][3] - geom["box"][1]) * img.shape[0]
        factor = (geom["ylim"][1] / geom["ylim"][0]) ** (2 / height)
        for shift, color, expected in ((-0.2, START_COLOR, start), (0.2, END_COLOR, end)):
            drawn = bar_top(img, geom, i + shift, color)
            assert expected / factor <= drawn <= expected * factor, (name, drawn, expected)


class DirectNorms(Callback):
    """Computes the first layer's gradient norm itself, at the same hook."""

    def __init__(self):
        self.values = []

    def after_backward(self, model, position):
        g = model[0].weight.grad.numpy().astype(np.float64)
        self.values.append(float(np.sqrt((g * g).sum())))


def test_gradient_norm_monitor_during_fit(digits, tmp_path):
    x, y, _, _ = digits
    model = mlp()
    monitor, direct = GradientNormMonitor(path=tmp_path / "g.png"), DirectNorms()
    h = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x[:256], y[:256]),
            epochs=2, batch_size=64, quiet=True, seed=0, callbacks=[monitor, direct])
    assert monitor.positions == h.iter_epoch and len(direct.values) == h.iterations == 8
    np.testing.assert_allclose(monitor.norms["0.weight"], direct.values, rtol=1e-12)
    np.testing.assert_allclose(read_png_data(tmp_path / "g.png")["norms"]["0.weight"], direct.values, rtol=1e-12)
    every = GradientNormMonitor(which="bias", every=3)
    fit(mlp(), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), (x[:256], y[:256]),
        epochs=2, batch_size=64, quiet=True, seed=0, callbacks=[every])
    assert len(every.positions) == 3 and set(every.norms) == {"0.bias", "2.bias"}


# ---------------------------------------------------------------- activation statistics
def saturating_model():
    """Linear -> Sigmoid -> Linear -> ReLU -> Linear with large first weights (saturation) and
    three ReLU units whose bias is so negative that they never fire (dead)."""
    tl.manual_seed(1)
    model = nn.Sequential(nn.Linear(64, 12), nn.Sigmoid(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 10))
    with tl.no_grad():
        model[0].weight *= 6.0
        model[2].bias.data[:3] = -1e3
    return model


def test_activation_statistics_match_a_direct_computation(digits, tmp_path):
    _, _, xv, _ = digits
    model = saturating_model()
    w1, b1, w2, b2 = (p.numpy().astype(np.float64) for p in list(model.parameters())[:4])
    h1 = 1 / (1 + np.exp(-(xv @ w1.T + b1)))
    h2 = np.maximum(h1 @ w2.T + b2, 0)
    saturated = np.mean(h1 * (1 - h1) < 0.025)
    dead = np.mean((h2 <= 0).all(axis=0))
    assert dead >= 3 / 8 and 0.2 < saturated < 0.95  # the model does what it is built for
    stats = activation_statistics(model, xv)
    assert list(stats) == ["1", "3"]
    one = 1 / h1.size  # float32 against float64: an output right at the threshold may flip
    assert stats["1"].saturated == pytest.approx(saturated, abs=2 * one) and stats["1"].dead is None
    assert stats["3"].dead == dead and stats["3"].saturated is None
    assert stats["1"].mean == pytest.approx(h1.mean(), abs=1e-5) and stats["1"].std == pytest.approx(h1.std(), abs=1e-5)
    counts, _ = np.histogram(h1, bins=len(stats["1"].counts), range=(stats["1"].edges[0], stats["1"].edges[-1]))
    assert np.abs(counts - stats["1"].counts).sum() <= 4
    path = plot_activation_statistics(stats, tmp_path / "a.png")
    data = read_png_data(path)
    assert data["problem"] == {"1": stats["1"].saturated, "3": dead}
    assert data["problem_kind"] == {"1": "saturated", "3": "dead"}
    assert data["layers"]["1"]["counts"] == stats["1"].counts
    img = pixels(path)
    geom = data["axes"]["bars"]
    drawn = [bar_top(img, geom, k, BAR_COLOR) for k in range(2)]
    np.testing.assert_allclose(drawn, [saturated, dead], atol=pixel_tolerance(geom, img) + one)


def test_activation_monitor_during_fit_and_named_layers(digits, tmp_path):
    x, y, xv, _ = digits
    model = saturating_model()
    monitor = ActivationMonitor(xv[:100], path=tmp_path / "a.png")
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), (x[:256], y[:256]), epochs=3,
        quiet=True, seed=0, callbacks=[monitor])
    assert monitor.epochs == [1, 2, 3] and len(monitor.history) == 3
    data = read_png_data(tmp_path / "a.png")
    assert data["over_epochs"]["problem"]["3"] == [e["3"].dead for e in monitor.history]
    now = activation_statistics(model, xv[:100])
    assert data["problem"]["1"] == now["1"].saturated and data["epoch"] == 3
    linear = activation_statistics(model, xv[:100], layers=["0"])
    w1, b1 = (p.numpy().astype(np.float64) for p in list(model.parameters())[:2])
    assert linear["0"].mean == pytest.approx((xv[:100] @ w1.T + b1).mean(), abs=1e-4)
    with pytest.raises(ValueError, match="no modules"):
        activation_statistics(model, xv, layers=["9"])
    with pytest.raises(ValueError, match="no activation layer"):
        activation_statistics(nn.Sequential(nn.Linear(64, 3)), xv)


def test_callbacks_and_plots_refuse_what_they_cannot_use(digits, tmp_path):
    x, y, _, _ = digits
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"callbacks=\[monitor\]"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, quiet=True, callbacks=GradientNormMonitor())
    with pytest.raises(TypeError, match="after_backward"):
        fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=1, quiet=True, callbacks=[object()])
    with pytest.raises(ValueError, match="no step yet"):
        plot_gradient_norms(GradientNormMonitor(), tmp_path / "g.png")
    with pytest.raises(ValueError, match="no matrix yet"):
        plot_confusion_matrix(ConfusionMatrixMonitor((x, y)), tmp_path / "c.png")
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), tmp_path / "c.png")
    with pytest.raises(ValueError, match="holds no 'tinygrad_lite' data"):
        Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
        read_png_data(tmp_path / "plain.png")
