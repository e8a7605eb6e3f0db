"""Sampling from a language model: the distribution ``sample_next`` draws from (softmax of the
scaled scores, cut to the top k), and ``generate``'s loop and stop rule."""
import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite.train import generate, sample_next


def frequencies(logits, n=20000, **kwargs) -> np.ndarray:
    rows = tl.tensor(np.tile(np.asarray(logits, np.float32), (n, 1)))
    ids = sample_next(rows, **kwargs).numpy()
    return np.bincount(ids, minlength=len(logits)) / n


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_draws_follow_the_tempered_softmax(temperature):
    tl.manual_seed(0)
    logits = np.array([2.0, 1.0, 0.0, -1.0])
    p = softmax(logits / temperature)
    f = frequencies(logits, temperature=temperature)
    # 5 standard errors of a binomial frequency over 20,000 draws
    np.testing.assert_array_less(np.abs(f - p), 5 * np.sqrt(p * (1 - p) / 20000) + 1e-12)


def test_top_k_keeps_only_the_k_largest_renormalized():
    tl.manual_seed(1)
    logits = np.array([0.5, 3.0, -2.0, 2.0, 1.0])
    f = frequencies(logits, top_k=2)
    p = np.zeros(5)
    p[[1, 3]] = softmax(logits[[1, 3]])
    assert f[[0, 2, 4]].sum() == 0
    np.testing.assert_array_less(np.abs(f - p), 5 * np.sqrt(p * (1 - p) / 20000) + 1e-12)


def test_greedy_and_top_1_pick_the_largest(device):
    logits = tl.tensor([[0.0, 5.0, 1.0], [9.0, 1.0, 2.0]], device=device)
    assert sample_next(logits, temperature=0).tolist() == [1, 0]
    assert sample_next(logits, top_k=1).tolist() == [1, 0]
    one = sample_next(tl.tensor([0.0, -1.0, 4.0], device=device), temperature=0)
    assert one.shape == () and one.item() == 2 and one.device == device


@pytest.mark.parametrize("kwargs, error, match", [
    ({"temperature": -1.0}, ValueError, "temperature"), ({"temperature": True}, ValueError, "temperature"),
    ({"top_k": 0}, ValueError, "top_k"), ({"top_k": 4}, ValueError, "top_k"), ({"top_k": 1.5}, TypeError, "top_k"),
])
def test_sample_next_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_next(tl.tensor([[0.0, 1.0, 2.0]]), **kwargs)


def test_sample_next_wants_rows_of_scores():
    with pytest.raises(ValueError, match="1-d or 2-d"):
        sample_next(tl.zeros((2, 2, 2)))


def counting_model(vocab: int):
    """Scores that make token (last + 1) % vocab certain: greedy and sampled runs agree."""
    def next_logits(ids):
        last = ids.numpy()[:, -1]
        scores = np.full((len(last), vocab), -1e4, np.float32)
        scores[np.arange(len(last)), (last + 1) % vocab] = 0.0
        return tl.tensor(scores, device=ids.device)
    return next_logits


def test_generate_extends_each_row(device):
    ctx = tl.tensor([[0], [3]], dtype=tl.int64, device=device)
    out = generate(counting_model(5), ctx, max_new_tokens=6)
    assert out.shape == (2, 7) and out.device == device and out.dtype == tl.int64
    assert out.tolist() == [[0, 1, 2, 3, 4, 0, 1], [3, 4, 0, 1, 2, 3, 4]]
    assert generate(counting_model(5), ctx, max_new_tokens=0).tolist() == [[0], [3]]


def test_generate_stops_each_row_at_the_stop_token():
    # row 0 reaches 0 (the stop token) after 4 draws, row 1 after 1: row 1 then keeps 0,
    # and the loop ends once both have stopped, long before max_new_tokens
    out = generate(counting_model(5), [[1], [4]], max_new_tokens=100, stop_token=0)
    assert out.tolist() == [[1, 2, 3, 4, 0], [4, 0, 0, 0, 0]]


def test_generate_records_no_graph():
    w = tl.randn(3, 3, requires_grad=True)
    out = generate(lambda ids: w[ids[:, -1]], [[0]], max_new_tokens=3)
    assert not out.requires_grad and w.grad is None


def test_generate_checks_the_model_output():
    with pytest.raises(ValueError, match=r"shape \(2, vocab\)"):
        generate(lambda ids: tl.zeros((3, 4)), [[0], [1]], max_new_tokens=1)
    with pytest.raises(ValueError, match="2-d"):
        generate(counting_model(3), [0, 1], max_new_tokens=1)


def test_uniform_scores_give_every_token():
    tl.manual_seed(2)
    f = frequencies(np.zeros(8), n=8000)
    assert np.all(np.abs(f - 1 / 8) < 5 * math.sqrt(1 / 8 * 7 / 8 / 8000))
