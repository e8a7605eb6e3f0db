"""Helpers shared by the test modules (no test module imports another one): each section
below serves the tests of one part of the library."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import backend, nn

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- devices (the `device` fixture in conftest.py)
DEVICES = [
    "cpu",
    "strict",
    pytest.param("cuda", marks=pytest.mark.skipif(not backend.is_available("cuda"),
                                                  reason="CuPy with a usable GPU is not available")),
]


# ---------------------------------------------------------------- the import graph (docs/import_graph.py)
def _load_import_graph():
    """docs/import_graph.py, the one reader of the library's imports (the tests and the
    printed summary must not disagree)."""
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "docs" / "import_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


import_graph = _load_import_graph()
library_files = import_graph.library_files


# ---------------------------------------------------------------- modules
def module_gradcheck(module, *inputs):
    """Finite-difference check of a module's gradient w.r.t. its inputs and all its parameters."""
    names = [n for n, _ in module.named_parameters()]
    n_in = len(inputs)

    def fn(*args):
        return nn.functional_call(module, dict(zip(names, args[n_in:])), *args[:n_in])

    return tl.gradcheck(fn, *inputs, *module.parameters())


# ---------------------------------------------------------------- conv references
# Direct loops over the output positions in plain NumPy, independent of the library's im2col.
def conv_pads(padding, kh, kw, dy, dx):
    """(top, bottom, left, right) of a conv's ``padding``: a pair, "valid" or "same"."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        th, tw = dy * (kh - 1), dx * (kw - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    return padding[0], padding[0], padding[1], padding[1]


def conv2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """The 2-D convolution (cross-correlation) of (N, C, H, W) ``x`` and (O, C / groups, kh, kw) ``w``."""
    n, _, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sy, sx), (dy, dx) = stride, dilation
    top, bottom, left, right = conv_pads(padding, kh, kw, dy, dx)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dy * (kh - 1) - 1) // sy + 1
    ow = (wd + left + right - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((n, o, oh, ow))
    for b_ in range(n):
        for oc in range(o):
            first = (oc // (o // groups)) * cg  # the group's first input channel
            for y in range(oh):
                for x_ in range(ow):
                    total = 0.0 if b is None else b[oc]
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[oc, ci, i, j] * xp[b_, first + ci, y * sy + i * dy, x_ * sx + j * dx]
                    out[b_, oc, y, x_] = total
    return out


def conv_transpose2d_ref(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1,
                         dilation=(1, 1)):
    """The transposed convolution of (N, C, H, W) ``x`` and (C, O / groups, kh, kw) ``w`` as a direct
    scatter: full[n, o, y sy + i dy, x sx + j dx] += x[n, c, y, x] w[c, o', i, j] over the group's
    channels, ``padding`` cropped off each side, ``output_padding`` kept at the bottom and right."""
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    (sy, sx), (ph, pw), (oy, ox), (dy, dx) = stride, padding, output_padding, dilation
    full = np.zeros((n, og * groups, (h - 1) * sy + dy * (kh - 1) + 1 + oy, (wd - 1) * sx + dx * (kw - 1) + 1 + ox))
    cg = c // groups
    for b_ in range(n):
        for ci in range(c):
            first = (ci // cg) * og  # the group's first output channel
            for o in range(og):
                for y in range(h):
                    for x_ in range(wd):
                        for i in range(kh):
                            for j in range(kw):
                                full[b_, first + o, y * sy + i * dy, x_ * sx + j * dx] += x[b_, ci, y, x_] * w[ci, o, i, j]
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if b is None else out + b[:, None, None]


def pool_ref(x, kernel_size, stride, padding, reduce, fill, dilation=(1, 1)):
    """Pooling by ``reduce`` (np.max, np.mean) over each window of ``x`` padded with ``fill``; the
    window's taps ``dilation`` apart."""
    (kh, kw), (ph, pw), (dy, dx) = kernel_size, padding, dilation
    sy, sx = stride or kernel_size
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    span_h, span_w = dy * (kh - 1) + 1, dx * (kw - 1) + 1
    oh, ow = (xp.shape[2] - span_h) // sy + 1, (xp.shape[3] - span_w) // sx + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for y in range(oh):
        for x_ in range(ow):
            window = xp[:, :, y * sy:y * sy + span_h:dy, x_ * sx:x_ * sx + span_w:dx]
            out[:, :, y, x_] = reduce(window, axis=(2, 3))
    return out


def adaptive_ref(x, output_size):
    """Adaptive average pooling: bin k of n over a side of L spans [floor(k L / n), ceil((k + 1) L / n))."""
    (h, w), (oh, ow) = x.shape[2:], output_size
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(int(np.floor(i * h / oh)), int(np.ceil((i + 1) * h / oh)))
            cols = slice(int(np.floor(j * w / ow)), int(np.ceil((j + 1) * w / ow)))
            out[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return out


def window_side(draw, span: int, pad_total: int) -> int:
    """A drawn input side the window fits: at least span - pad_total, odd and even sizes alike."""
    low = max(1, span - pad_total)
    return draw(st.integers(low, low + 3))


# ---------------------------------------------------------------- op table (tests/test_ops.py, test_nn_conv.py, test_nn_pooling.py)
REAL = st.floats(-2, 2)


def arr(draw, shape, elements=REAL):
    """A float64 array of ``shape`` with values from ``elements`` (``draw`` of an ``st.composite``)."""
    return draw(hnp.arrays(np.float64, shape, elements=elements))


@dataclass(frozen=True)
class Op:
    """One row of an op table: the tinygrad_lite call, an independent reference and the strategy
    that draws its inputs."""

    name: str
    fn: Callable  # (*tensors, **params) -> Tensor
    ref: Callable  # (*float64 arrays, **params) -> array
    case: st.SearchStrategy
    check: dict = field(default_factory=dict)  # gradcheck tolerances
    casts: bool = False  # output dtype differs from the inputs' on purpose
    # inputs for the gradgradcheck row where the second derivative jumps at a point where the first
    # does not (softsign, celu at 0); None: ``case``
    twice: st.SearchStrategy | None = None


def check_op_twice(op: Op, device: str, data) -> None:
    """The gradgradcheck of one table row on one drawn case: its second derivatives (through a
    ``create_graph=True`` backward) against float64 central differences of the first."""
    arrays, params = data.draw(op.case if op.twice is None else op.twice, label="inputs, params")
    x64 = _tensors(arrays, device, np.float64)
    assert tl.gradgradcheck(lambda *xs: op.fn(*xs, **params), *x64, **op.check)


def _tensors(arrays, device, dtype):
    return [tl.Tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]


def _grads(xs):
    assert all(x.grad is not None for x in xs), "an input received no gradient"
    return [x.grad for x in xs]


def check_op(op: Op, device: str, data) -> None:
    """The checks of one table row on one drawn case (shared with the ConvNet ops' table)."""
    arrays, params = data.draw(op.case, label="inputs, params")
    expected = np.asarray(op.ref(*arrays, **params))

    # forward in float64 against the NumPy reference
    x64 = _tensors(arrays, device, np.float64)
    out = op.fn(*x64, **params)
    assert isinstance(out, tl.Tensor) and out.device == device and out.requires_grad
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-7, atol=1e-12)

    # gradient against float64 central differences
    assert tl.gradcheck(lambda *xs: op.fn(*xs, **params), *x64, **op.check)

    # float32 in, float32 out; every gradient has its input's shape and dtype
    v = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(tl.Tensor(v, dtype=out.dtype, device=device))
    x32 = _tensors(arrays, device, np.float32)
    out32 = op.fn(*x32, **params)
    assert out32.dtype == (out.dtype if op.casts else np.float32)
    out32.backward(tl.Tensor(v, dtype=out32.dtype, device=device))
    for a, g32, g64 in zip(arrays, _grads(x32), _grads(x64)):
        assert g32.shape == a.shape and g32.dtype == np.float32 and g32.device == device
        assert g64.shape == a.shape and g64.dtype == np.float64
        scale = 1 + np.abs(g64.numpy()).max(initial=0)
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=1e-3, atol=1e-4 * scale)


# ---------------------------------------------------------------- optimizers and the training toolkit
# (tests/test_train_*.py)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DECREASING = list(np.linspace(2.3, 0.3, 100))  # a loss curve that falls steadily


def assert_png(path):
    """``path`` is a PNG larger than 100 x 100 pixels that PIL can verify."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE and len(data) > 2000
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
        assert im.size[0] > 100 and im.size[1] > 100


def assert_help_shows_every_default(parser) -> None:
    """A demo's ``--help`` names every flag's default (its formatter, made wide enough for one
    line per flag)."""
    shared = parser.formatter_class
    parser.formatter_class = lambda prog: shared(prog, width=10_000, max_help_position=10_000)
    lines = {ln.split()[0].rstrip(","): ln for ln in parser.format_help().splitlines() if ln.lstrip().startswith("-")}
    for action in parser._actions:
        if action.dest != "help":
            line = lines[action.option_strings[0]]
            assert f"(default: {action.default})" in line, line


def history(losses, train_acc, val_acc, lr=0.01):
    """A ``train.History`` with ``losses`` per iteration, spread over one epoch per accuracy."""
    from tinygrad_lite.train import History

    h = History()
    n = len(losses)
    for i, v in enumerate(losses):
        h.log_iteration(v, 0.0, lr, (i + 1) / n * len(train_acc))
    for e, (a, b) in enumerate(zip(train_acc, val_acc), 1):
        h.log_epoch(e, (losses[-1], a), (losses[-1], b), lr, float(e))
    return h


def small_mlp(seed, device="cpu", std=0.01):
    """The lecture's "small random weights": N(0, std^2), zero biases (64 inputs, 10 classes)."""
    tl.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 50), nn.ReLU(), nn.Linear(50, 10)).to(device)
    for p in model.parameters():
        nn.init.normal_(p, 0.0, std) if p.ndim == 2 else nn.init.zeros_(p)
    return model


def tiny_fit(**kwargs):
    """Two epochs of ``train.fit`` on 64 random examples (also run in a child process on a terminal)."""
    from tinygrad_lite.train import fit

    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)).astype(np.float32), rng.integers(0, 2, 64)
    model = nn.Sequential(nn.Linear(4, 2))
    return fit(model, nn.CrossEntropyLoss(), tl.optim.SGD(model.parameters(), lr=0.1), (x, y), epochs=2,
               batch_size=16, seed=0, **kwargs)


# ---------------------------------------------------------------- PyTorch layouts (test_nn_pytorch_layouts.py)
# The same architectures built from either library's nn namespace (tinygrad_lite.nn mirrors
# torch.nn's names and arguments): weights saved by one load into the other.
def mlp_with_batchnorm(lib):
    return lib.Sequential(lib.Linear(8, 16), lib.BatchNorm1d(16), lib.ReLU(), lib.Dropout(0.3), lib.Linear(16, 4))


def lenet(lib):
    return lib.Sequential(lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
                          lib.Conv2d(4, 8, 3), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(), lib.Linear(8, 3))


PYTORCH_MODELS = {"mlp": (mlp_with_batchnorm, (5, 8)), "lenet": (lenet, (2, 1, 8, 8))}
FIXTURES = ROOT / "tests" / "fixtures"
