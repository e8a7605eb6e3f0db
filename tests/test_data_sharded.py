"""ShardedLoader: disjoint, equal shards of one shared order, which together are the single
process's batches with the batch size times the number of ranks."""
from __future__ import annotations

import numpy as np
import pytest

from tinygrad_lite.data import DataLoader, ShardedLoader


def batches(loader) -> list[np.ndarray]:
    return [xb.numpy()[:, 0].astype(int) for xb, _ in loader]


def data(n: int):
    return np.arange(n, dtype=np.float32)[:, None], np.arange(n)


@pytest.mark.parametrize("n", [48, 50, 53, 7])
@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("shuffle", [True, False])
def test_ranks_together_take_the_single_process_batches(n, size, shuffle):
    b = 4
    x, y = data(n)
    ranks = [batches(ShardedLoader(x, y, b, r, size, shuffle=shuffle, seed=11)) for r in range(size)]
    single = batches(DataLoader(x, y, size * b, shuffle=shuffle, seed=11))
    single = [w for w in single if len(w) >= size]  # a last batch smaller than that is left out
    assert {len(r) for r in ranks} == {len(single)}, "every rank takes the same number of steps"
    for i, whole in enumerate(single):
        pieces = [r[i] for r in ranks]
        assert len({len(p) for p in pieces}) == 1, "equal batches on every rank"
        joined = np.concatenate(pieces)
        # the global batch of step i, less at most size - 1 leftovers of a last, smaller one
        assert len(joined) == len(whole) - len(whole) % size
        np.testing.assert_array_equal(joined, whole[:len(joined)])
    seen = np.concatenate([np.concatenate(r) for r in ranks])
    assert len(seen) == len(set(seen.tolist())) == n - (n % (size * b)) % size  # disjoint
    if n % size == 0:
        assert sorted(seen.tolist()) == list(range(n))  # every example, once


def test_each_epoch_is_a_new_shared_order_and_drop_last_drops_the_small_global_batch():
    x, y = data(50)
    loaders = [ShardedLoader(x, y, 4, r, 2, seed=3, drop_last=True) for r in range(2)]
    first = [np.concatenate(batches(ld)) for ld in loaders]
    second = [np.concatenate(batches(ld)) for ld in loaders]
    assert all(len(f) == 48 // 2 for f in first) and len(loaders[0]) == 6
    assert not np.array_equal(first[0], second[0])
    assert set(first[0].tolist()).isdisjoint(first[1].tolist())
    assert set(second[0].tolist()).isdisjoint(second[1].tolist())


def test_a_saved_position_resumes_only_on_as_many_ranks():
    x, y = data(40)
    loader = ShardedLoader(x, y, 4, 1, 2, seed=0)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    assert state["world_size"] == 2
    again = ShardedLoader(x, y, 4, 1, 2, seed=99)
    again.load_state_dict(state)
    # the rest of epoch 0 of rank 1's shard, in the saved seed's order
    np.testing.assert_array_equal(np.concatenate(batches(again)), loader.order(0)[4:])
    with pytest.raises(ValueError, match=r"run on 2 rank\(s\), this one has 3; resume it on 2"):
        ShardedLoader(x, y, 4, 1, 3, seed=0).load_state_dict(state)


def test_bad_arguments_are_named():
    x, y = data(3)
    with pytest.raises(ValueError, match="rank"):
        ShardedLoader(x, y, 2, 2, 2)
    with pytest.raises(ValueError, match="world_size"):
        ShardedLoader(x, y, 2, 0, 0)
    with pytest.raises(ValueError, match="3 examples cannot give each of 4 ranks one"):
        ShardedLoader(x, y, 2, 0, 4)
