"""Weights that travel: state-dict keys and shapes equal PyTorch's, and models move between
tinygrad_lite and PyTorch through .safetensors files with the same outputs.

The layout table is written from PyTorch's documentation (each layer's attributes and their
shapes); where PyTorch is importable the same layers built with torch.nn are compared too.
The round trips run PyTorch when it is importable; without it, fixtures written once by
PyTorch (tests/fixtures/make_torch_fixtures.py) are loaded and their stored outputs compared.
"""
from __future__ import annotations

import numpy as np
import pytest
from helpers import FIXTURES, PYTORCH_MODELS

import tinygrad_lite as tl
from tinygrad_lite import nn

# layer (built from either library's nn) -> its state dict as PyTorch documents it
LAYOUTS = {
    "Linear": (lambda m: m.Linear(3, 4), [("weight", (4, 3)), ("bias", (4,))]),
    "Linear-nobias": (lambda m: m.Linear(3, 4, bias=False), [("weight", (4, 3))]),
    "Conv2d": (lambda m: m.Conv2d(2, 4, 3), [("weight", (4, 2, 3, 3)), ("bias", (4,))]),
    "Conv2d-groups": (lambda m: m.Conv2d(2, 4, (2, 3), groups=2, bias=False), [("weight", (4, 1, 2, 3))]),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(5), [("weight", (5,)), ("bias", (5,)), ("running_mean", (5,)),
                                                  ("running_var", (5,)), ("num_batches_tracked", ())]),
    "BatchNorm2d": (lambda m: m.BatchNorm2d(3), [("weight", (3,)), ("bias", (3,)), ("running_mean", (3,)),
                                                  ("running_var", (3,)), ("num_batches_tracked", ())]),
    "BatchNorm1d-noaffine": (lambda m: m.BatchNorm1d(5, affine=False),
                             [("running_mean", (5,)), ("running_var", (5,)), ("num_batches_tracked", ())]),
    "LayerNorm": (lambda m: m.LayerNorm((4, 5)), [("weight", (4, 5)), ("bias", (4, 5))]),
    "LayerNorm-noaffine": (lambda m: m.LayerNorm(4, elementwise_affine=False), []),
    "Embedding": (lambda m: m.Embedding(10, 3), [("weight", (10, 3))]),
    "PReLU": (lambda m: m.PReLU(), [("weight", (1,))]),
    "PReLU-channels": (lambda m: m.PReLU(4), [("weight", (4,))]),
    "Sequential": (lambda m: m.Sequential(m.Linear(2, 3), m.ReLU(), m.Linear(3, 1)),
                   [("0.weight", (3, 2)), ("0.bias", (3,)), ("2.weight", (1, 3)), ("2.bias", (1,))]),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_state_dict_keys_and_shapes_are_pytorchs(name):
    build, want = LAYOUTS[name]
    got = [(k, tuple(v.shape)) for k, v in build(nn).state_dict().items()]
    assert got == want
    dtypes = {k: v.dtype for k, v in build(nn).state_dict().items()}
    assert all(d == (np.int64 if k.endswith("num_batches_tracked") else np.float32) for k, d in dtypes.items())


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_the_layout_table_is_what_pytorch_builds(name):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the table alone is checked")
    build, want = LAYOUTS[name]
    assert [(k, tuple(v.shape)) for k, v in build(torch.nn).state_dict().items()] == want


def _eval_output(model, x: np.ndarray) -> np.ndarray:
    model.eval()
    with tl.no_grad():
        return model(tl.Tensor(x)).numpy()


def _trained(name: str):
    """A tinygrad_lite model whose batch-norm statistics moved away from their start."""
    build, shape = PYTORCH_MODELS[name]
    tl.manual_seed(1)
    model = build(nn)
    for _ in range(3):
        model(tl.randn(*shape) * 2 + 0.5)
    return model


@pytest.mark.parametrize("name", list(PYTORCH_MODELS))
def test_a_model_saved_here_gives_the_same_outputs_in_pytorch(name, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (the fixture test runs instead)")
    from safetensors.torch import load_file

    build, shape = PYTORCH_MODELS[name]
    model = _trained(name)
    path = tmp_path / f"{name}.safetensors"
    nn.save(model, path)
    theirs = build(torch.nn)
    theirs.load_state_dict(load_file(path))  # strict: every key and shape must match
    theirs.eval()
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_eval_output(model, x), want, rtol=1e-6, atol=1e-6)
    assert int(theirs[1].num_batches_tracked) == 3


@pytest.mark.parametrize("name", list(PYTORCH_MODELS))
def test_a_model_saved_by_pytorch_gives_the_same_outputs_here(name, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (the fixture test runs instead)")
    from safetensors.torch import save_file

    build, shape = PYTORCH_MODELS[name]
    torch.manual_seed(3)
    theirs = build(torch.nn)
    with torch.no_grad():
        for _ in range(3):
            theirs(torch.randn(*shape) * 2 + 0.5)
    theirs.eval()
    path = tmp_path / f"{name}.safetensors"
    save_file(theirs.state_dict(), path)
    model = build(nn)
    assert model.load_state_dict(nn.load(path)) == ([], [])
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_eval_output(model, x), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(PYTORCH_MODELS))
def test_pytorch_fixture_weights_give_pytorchs_stored_outputs(name):
    """Runs without PyTorch: weights and outputs PyTorch wrote once (make_torch_fixtures.py)."""
    build, _ = PYTORCH_MODELS[name]
    model = build(nn)
    state = nn.load(FIXTURES / f"torch_{name}.safetensors")
    assert nn.load_metadata(FIXTURES / f"torch_{name}.safetensors")["model"] == name
    assert model.load_state_dict(state) == ([], [])
    assert float(state["1.running_var"].mean()) != 1.0  # the statistics of training, not the init
    io = nn.load(FIXTURES / f"torch_{name}_io.safetensors")
    np.testing.assert_allclose(_eval_output(model, io["x"]), io["y"], rtol=1e-6, atol=1e-6)
