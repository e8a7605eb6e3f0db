"""The character GPT of demos/char_gpt.py moves to and from PyTorch (nanoGPT's model, written
again in benchmarks/text.py) through the library's safetensors files, under nanoGPT's keys,
and both compute the same logits and the same loss gradients from the same weights."""
from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn

ROOT = Path(__file__).resolve().parent.parent
torch = pytest.importorskip("torch", reason="PyTorch is not installed: the GPT round trip needs it")


@pytest.fixture(scope="module")
def text():
    """benchmarks/text.py (the PyTorch twin) and, through it, demos/char_gpt.py. sys.path is
    restored after the module's tests: left with benchmarks/ on it, a later process spawned
    from this one (Dask's workers) imported benchmarks/distributed.py as ``distributed``."""
    with pytest.MonkeyPatch.context() as mp:
        for folder in ("benchmarks", "demos"):
            mp.syspath_prepend(str(ROOT / folder))
        yield importlib.import_module("text")


SMALL = {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 8, "vocab_size": 11}
NANOGPT_KEYS = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
                "transformer.h.0.ln_2.weight", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_proj.weight"]
GRAD_KEYS = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.attn.c_attn.weight",
             "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.attn.c_proj.weight", "transformer.ln_f.weight"]


def batch(seed: int = 5, b: int = 3, t: int = 8):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, SMALL["vocab_size"], (b, t)), rng.integers(0, SMALL["vocab_size"], (b, t)))


def both_ways(model, twin, x, y):
    """(tl logits, tl loss, tl grads by key) and the same from the twin."""
    logits, loss = model(tl.Tensor(x), tl.Tensor(y))
    model.zero_grad()
    loss.backward()
    params = dict(model.named_parameters())
    ours = (logits.numpy(), loss.item(), {k: params[k].grad.numpy() for k in GRAD_KEYS})
    t_logits, t_loss = twin(torch.from_numpy(x), torch.from_numpy(y))
    twin.zero_grad()
    t_loss.backward()
    t_params = dict(twin.named_parameters())
    theirs = (t_logits.detach().numpy(), t_loss.item(), {k: t_params[k].grad.numpy() for k in GRAD_KEYS})
    return ours, theirs


def assert_same(ours, theirs, rtol, atol):
    np.testing.assert_allclose(ours[0], theirs[0], rtol=rtol, atol=atol)
    assert ours[1] == pytest.approx(theirs[1], rel=rtol, abs=atol)
    for k in GRAD_KEYS:
        np.testing.assert_allclose(ours[2][k], theirs[2][k], rtol=rtol, atol=atol, err_msg=k)


def test_state_dict_keys_are_nanogpts_in_its_order(text):
    model = text.tl_gpt(seed=0, **SMALL)
    twin = text.torch_gpt_class(torch)(model.config)
    keys = list(model.state_dict())
    assert keys == list(twin.state_dict())  # the tied head too: lm_head.weight, as PyTorch lists it
    assert keys[:len(NANOGPT_KEYS)] == NANOGPT_KEYS and keys[-1] == "lm_head.weight"
    for k, v in model.state_dict().items():
        assert tuple(v.shape) == tuple(twin.state_dict()[k].shape), k
    # the head is the token embedding: one parameter, counted once
    assert model.lm_head.weight is model.transformer.wte.weight
    assert len(list(model.parameters())) == len(list(twin.parameters()))


def test_a_gpt_saved_here_loads_in_pytorch_with_equal_logits_and_gradients(text, tmp_path):
    from safetensors.torch import load_file

    model = text.tl_gpt(seed=1, **SMALL).double()
    path = tmp_path / "gpt.safetensors"
    tl.save(model, path)
    twin = text.torch_gpt_class(torch)(model.config).double()
    assert not twin.load_state_dict(load_file(path)).missing_keys  # strict: every key and shape
    assert twin.lm_head.weight is twin.transformer.wte.weight
    ours, theirs = both_ways(model, twin, *batch())
    assert_same(ours, theirs, rtol=1e-9, atol=1e-12)


def test_a_gpt_saved_by_pytorch_loads_here_with_equal_logits_and_gradients(text, tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(2)
    twin = text.torch_gpt_class(torch)(text.char_gpt.GPTConfig(**SMALL)).double()
    with torch.no_grad():  # away from the init, so that LayerNorm weights are not all 1
        for p in twin.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path / "gpt.safetensors"
    # safetensors refuses tensors that share memory (the tied head): one copy per key
    save_file({k: v.detach().clone().contiguous() for k, v in twin.state_dict().items()}, path)
    model = text.char_gpt.GPT(text.char_gpt.GPTConfig(**SMALL)).double()
    assert model.load_state_dict(nn.load(path)) == ([], [])
    ours, theirs = both_ways(model, twin, *batch(seed=6))
    assert_same(ours, theirs, rtol=1e-9, atol=1e-12)


def test_float32_steps_agree_as_the_benchmark_checks(text):
    """In float32 (where the library's GELU takes its fast erfc fit) the first three AdamW steps
    of the benchmark's GPT agree with PyTorch's to float32 rounding."""
    impls, data = text.make_impls(torch, "gpt")
    losses = text.first_losses(impls, data)
    np.testing.assert_allclose(losses["tinygrad_lite"], losses["torch"], rtol=1e-5)
    assert losses["tinygrad_lite"][0] == pytest.approx(np.log(65), rel=0.05)  # N(0, 0.02) weights: near uniform

