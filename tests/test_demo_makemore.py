"""demos/makemore.py in quick mode shows the direction of each of its claims, on each device.

Expected values come from arithmetic written out here in plain NumPy (the bigram counts and
their losses from the names themselves, ln 27), never from a previous run's output.
"""
from __future__ import annotations

import importlib
import itertools
import json
import math
import string
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_help_shows_every_default

from tinygrad_lite.data import CharVocab, load_names

pytestmark = pytest.mark.slow  # the demo trains: `pytest -m "not slow"` leaves it out

DEMOS = Path(__file__).resolve().parent.parent / "demos"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LN27 = math.log(27)


def load_demo(monkeypatch):
    monkeypatch.syspath_prepend(str(DEMOS))
    return importlib.import_module("makemore")


def bigram_losses() -> dict:
    """The counting bigram of makemore part 1 from the names themselves: every pair of
    consecutive characters of '.' + name + '.', counts + 1, normalized per row; the mean
    negative log-likelihood on the training and validation names, and the unsmoothed
    (maximum-likelihood) training loss, below which no bigram model's training loss can go."""
    names = load_names()
    vocab = CharVocab.from_words(names.train)
    n = np.zeros((27, 27))
    for w in names.train:
        chars = ["."] + list(w) + ["."]
        for a, b in itertools.pairwise(chars):
            n[vocab.stoi[a], vocab.stoi[b]] += 1
    p = (n + 1) / (n + 1).sum(axis=1, keepdims=True)
    mle = n / n.sum(axis=1, keepdims=True)

    def nll(words, probs) -> float:
        logp = [math.log(probs[vocab.stoi[a], vocab.stoi[b]])
                for w in words for a, b in zip("." + w, w + ".")]
        return -float(np.mean(logp))

    return {"train": nll(names.train, p), "val": nll(names.val, p), "mle": nll(names.train, mle)}


@pytest.fixture(scope="module")
def expected():
    return bigram_losses()


def test_makemore_shows_its_claims(device, tmp_path, monkeypatch, expected):
    demo = load_demo(monkeypatch)
    r = demo.main(["--quick", "--out", str(tmp_path), "--device", device])
    assert json.loads((tmp_path / "results.json").read_text())["quick"] is True

    # 1. counting bigram: the demo's losses are the ones counted here
    b = r["bigram"]
    assert b["counting train loss"] == pytest.approx(expected["train"], abs=1e-6)
    assert b["counting val loss"] == pytest.approx(expected["val"], abs=1e-6)
    assert b["unsmoothed bigram train loss (lower bound)"] == pytest.approx(expected["mle"], abs=1e-6)
    # The neural bigram: gradient descent on a convex loss approaches the unsmoothed optimum
    # from above (float32 arithmetic: 1e-5 of slack), and the unsmoothed optimum lies
    # counting - mle = 7e-4 below the smoothed counts (computed above). 2e-3 nats (0.08% of
    # the loss) is "the same loss": the smoothing alone moves it by 7e-4, while a model that
    # had learned a different bigram table would differ by far more (a uniform row costs ~1).
    assert b["neural train loss"] >= expected["mle"] - 1e-5
    assert abs(b["neural train loss"] - expected["train"]) < 2e-3
    assert abs(b["neural val loss"] - expected["val"]) < 2e-3
    # the count-weighted loss over the 27 one-hot inputs is the mean over the examples
    assert b["neural: count-weighted loss over the 27 inputs"] == pytest.approx(b["neural train loss"], abs=1e-5)
    assert b["max |softmax(W) - N / row sum|"] < 0.02  # each softmax row is that row's normalized counts
    assert b["corr(W, log(N + 1)), rows centered"] > 0.95  # W = log counts + a constant per row

    # 2. initialization: N(0, 1) weights start far above ln 27, the fixed init within 10%
    init = r["init"]
    assert init["expected"] == pytest.approx(LN27)
    inits = init["inits"]
    assert abs(inits["fixed"]["initial_loss"] - LN27) <= 0.1 * LN27 and inits["fixed"]["within_10%"]
    assert inits["naive"]["initial_loss"] > 2 * LN27 and not inits["naive"]["within_10%"]
    assert inits["fixed"]["saturated"] < inits["naive"]["saturated"]
    for naive, fixed in zip(r["layers"]["naive"], r["layers"]["fixed"]):  # every layer of the deep net
        assert fixed["saturated"] < naive["saturated"]
    # the library default (PyTorch's, gain 1/sqrt(3) < 1): the tanh outputs shrink layer by layer
    stds = [row["std"] for row in r["layers"]["default"]]
    assert all(a > b for a, b in itertools.pairwise(stds)), stds
    assert r["overfit"]["final_loss"] < 0.05 and r["overfit"]["train_acc"] == 1.0

    # every trained model beats the bigram on validation names and is far below uniform (ln 27)
    for key in ("mlp", "mlp_bn", "transformer"):
        assert r[key]["val_loss"] < expected["val"], key
        assert math.isfinite(r[key]["train_loss"])
    assert [row["model"] for row in r["summary"]] == ["bigram (counts)", "bigram (neural)", "MLP",
                                                      "MLP + batch norm", "Transformer"]
    for model, names in r["samples"].items():
        assert len(names) == 10, model
        assert all(set(n) <= set(string.ascii_lowercase) for n in names), (model, names)

    assert len(r["files"]) == 3
    for f in map(Path, r["files"]):
        assert f.parent == tmp_path and f.suffix == ".png"
        data = f.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, f


def test_help_shows_every_default(monkeypatch):
    assert_help_shows_every_default(load_demo(monkeypatch).build_parser())
