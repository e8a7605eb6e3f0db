"""demos/char_gpt.py: nanoGPT's character model trains in quick mode on each device, from the
loss of a uniform guess (ln of the vocabulary size: the weights start N(0, 0.02), so the
scores start near 0) to clearly lower, and writes its results, figure, sample and weights.
The text is written here, so the test needs no data folder; one more test reads tiny
Shakespeare when ../shared/data/tiny-shakespeare exists."""
from __future__ import annotations

import importlib
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_help_shows_every_default

import tinygrad_lite as tl

pytestmark = pytest.mark.slow  # it trains

ROOT = Path(__file__).resolve().parent.parent
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tiny-shakespeare" / "input.txt"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven", "wizards", "hex", "my", "jolly", "vat"]


def load_demo(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "demos"))
    return importlib.import_module("char_gpt")


@pytest.fixture
def small_text(tmp_path) -> Path:
    """About 8 KB of sentences of a few words: 34 distinct characters."""
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, 7)).capitalize() + "." for _ in range(180)]
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_quick_run_learns_and_writes_its_files(device, small_text, tmp_path, monkeypatch):
    demo = load_demo(monkeypatch)
    out = tmp_path / "out"
    r = demo.main(["--quick", "--text", str(small_text), "--device", device, "--out", str(out)])
    text = small_text.read_text(encoding="utf-8")
    vocab = sorted(set(text))
    assert r["vocab_size"] == len(vocab) and r["vocab"] == "".join(vocab)
    # a model whose scores are all about 0 is a uniform guess: ln(vocabulary size)
    assert r["initial_loss"]["train"] == pytest.approx(math.log(len(vocab)), rel=0.1)
    assert r["initial_loss"]["val"] == pytest.approx(math.log(len(vocab)), rel=0.1)
    assert r["final_train_loss"] < 0.75 * r["initial_loss"]["train"]
    assert r["final_val_loss"] < 0.75 * r["initial_loss"]["val"]
    assert len(r["train_losses"]) == r["iters"] == 30
    assert [e["iter"] for e in r["evals"]] == [0, 10, 20, 30]
    assert r["s_per_iter"] > 0 and r["time_s"] >= r["train_s"]
    # files: the numbers, the figure, the sample, the weights under nanoGPT's keys
    saved = json.loads((out / "results.json").read_text())
    assert saved["final_val_loss"] == pytest.approx(r["final_val_loss"])
    png = (out / "loss.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 2000
    sample = (out / "sample.txt").read_text(encoding="utf-8")
    assert sample == r["sample"] and len(sample) == demo.SAMPLE_CHARS and set(sample) <= set(vocab)
    state = tl.load(out / "model.safetensors")
    assert "transformer.h.0.attn.c_attn.weight" in state and "lm_head.weight" in state
    np.testing.assert_array_equal(state["lm_head.weight"], state["transformer.wte.weight"])  # tied


@pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"tiny Shakespeare not found at {SHAKESPEARE}")
def test_a_few_iterations_on_tiny_shakespeare(tmp_path, monkeypatch):
    demo = load_demo(monkeypatch)
    r = demo.main(["--data-dir", str(SHAKESPEARE.parent), "--iters", "6", "--eval-interval", "3",
                   "--eval-iters", "2", "--out", str(tmp_path)])
    assert r["vocab_size"] == 65 and r["characters"] == 1_115_394
    assert r["config"] == {"block_size": 64, "vocab_size": 65, "n_layer": 4, "n_head": 4, "n_embd": 128,
                           "dropout": 0.0, "bias": False}
    assert r["initial_loss"]["val"] == pytest.approx(math.log(65), rel=0.1)
    assert r["final_train_loss"] < r["initial_loss"]["train"]
    assert set(r["sample"]) <= set(r["vocab"])


def test_without_text_it_names_the_flags(tmp_path, monkeypatch):
    demo = load_demo(monkeypatch)
    monkeypatch.setattr(demo, "ROOT", tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="--data-dir.*--text"):
        demo.main(["--quick"])


def test_the_schedule_is_nanogpts(monkeypatch):
    demo = load_demo(monkeypatch)
    lr = [demo.lr_at(it, 1e-3, 1e-4, 100, 2000) for it in range(2101)]
    assert lr[0] == pytest.approx(1e-3 / 101) and lr[99] == pytest.approx(1e-3 * 100 / 101)
    assert lr[100] == pytest.approx(1e-3) and lr[1050] == pytest.approx(5.5e-4)
    assert lr[2000] == pytest.approx(1e-4) and lr[2100] == 1e-4
    assert all(a >= b for a, b in itertools.pairwise(lr[100:]))


def test_help_shows_every_default(monkeypatch):
    assert_help_shows_every_default(load_demo(monkeypatch).build_parser())
