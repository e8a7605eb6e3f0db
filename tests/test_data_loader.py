"""DataLoader: coverage, batch sizes, determinism, resume; sample_batch."""
import numpy as np
import pytest

from tinygrad_lite import Tensor
from tinygrad_lite.data import DataLoader, sample_batch

N = 103


def data():
    """Example i has features (i, -i) and label i, so alignment of x and y is checkable."""
    idx = np.arange(N)
    return np.stack([idx, -idx], axis=1).astype(np.float32), idx.astype(np.int64)


def epoch_labels(loader):
    return [yb.numpy() for _, yb in loader]


@pytest.mark.parametrize("shuffle", [False, True])
def test_each_example_once_per_epoch(device, shuffle):
    x, y = data()
    loader = DataLoader(x, y, batch_size=10, shuffle=shuffle, seed=1, device=device)
    assert len(loader) == 11
    for _ in range(2):
        sizes, seen = [], []
        for xb, yb in loader:
            assert isinstance(xb, Tensor) and xb.device == device and yb.device == device
            assert xb.dtype == np.float32 and yb.dtype == np.int64
            xs, ys = xb.numpy(), yb.numpy()
            np.testing.assert_array_equal(xs, np.stack([ys, -ys], axis=1))
            sizes.append(len(ys))
            seen.extend(ys.tolist())
        assert sizes == [10] * 10 + [3]
        assert sorted(seen) == list(range(N))
        assert (seen == list(range(N))) == (not shuffle)


def test_drop_last():
    x, y = data()
    loader = DataLoader(x, y, batch_size=10, shuffle=True, seed=0, drop_last=True)
    batches = epoch_labels(loader)
    assert len(loader) == len(batches) == 10 and all(len(b) == 10 for b in batches)
    seen = np.concatenate(batches)
    assert len(np.unique(seen)) == 100
    empty = DataLoader(x[:5], y[:5], batch_size=10, drop_last=True)
    assert len(empty) == 0
    for e in (1, 2):  # an epoch of no batches still counts once
        assert epoch_labels(empty) == [] and empty.state_dict()["epoch"] == e


def test_seeded_and_new_order_each_epoch():
    x, y = data()
    a = DataLoader(x, y, 16, shuffle=True, seed=7)
    b = DataLoader(x, y, 16, shuffle=True, seed=7)
    c = DataLoader(x, y, 16, shuffle=True, seed=8)
    ea = [np.concatenate(epoch_labels(a)) for _ in range(3)]
    eb = [np.concatenate(epoch_labels(b)) for _ in range(3)]
    ec = np.concatenate(epoch_labels(c))
    for u, v in zip(ea, eb, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(ea[0], ea[1]) and not np.array_equal(ea[1], ea[2])
    assert not np.array_equal(ea[0], ec)
    # epoch e's order is the documented permutation
    np.testing.assert_array_equal(ea[2], np.random.default_rng((7, 2)).permutation(N))


def test_resume_equals_uninterrupted():
    x, y = data()
    reference = DataLoader(x, y, 8, shuffle=True, seed=3)
    want = np.concatenate([np.concatenate(epoch_labels(reference)) for _ in range(3)])

    first = DataLoader(x, y, 8, shuffle=True, seed=3)
    got = np.concatenate(epoch_labels(first)).tolist()
    for i, (_, yb) in enumerate(first):
        got.extend(yb.numpy().tolist())
        if i == 4:
            state = first.state_dict()
            break
    assert state == {"seed": 3, "epoch": 1, "batch": 5}
    resumed = DataLoader(x, y, 8, shuffle=True, seed=99)
    resumed.load_state_dict(state)
    for _ in range(2):
        got.extend(np.concatenate(epoch_labels(resumed)).tolist())
    np.testing.assert_array_equal(got, want)


def test_break_starts_a_new_epoch_and_end_of_epoch_state():
    x, y = data()
    loader = DataLoader(x, y, 50, shuffle=True, seed=0)
    next(iter(loader))
    assert loader.state_dict()["batch"] == 1
    full = np.concatenate(epoch_labels(loader))
    np.testing.assert_array_equal(full, np.random.default_rng((0, 1)).permutation(N))
    assert loader.state_dict() == {"seed": 0, "epoch": 2, "batch": 0}
    # a state saved after the last batch resumes at the next epoch
    loader.load_state_dict({"seed": 0, "epoch": 4, "batch": 3})
    np.testing.assert_array_equal(np.concatenate(epoch_labels(loader)),
                                  np.random.default_rng((0, 5)).permutation(N))


def test_unseeded_shuffle_records_its_seed():
    x, y = data()
    a = DataLoader(x, y, 10, shuffle=True)
    b = DataLoader(x, y, 10, shuffle=True)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(np.concatenate(epoch_labels(a)), np.concatenate(epoch_labels(b)))


def test_accepts_tensors_and_lists(device):
    x, y = data()
    loader = DataLoader(Tensor(x, device=device), y.tolist(), batch_size=N, device=device)
    (xb, yb), = list(loader)
    np.testing.assert_array_equal(xb.numpy(), x)
    np.testing.assert_array_equal(yb.numpy(), y)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"batch_size": 0}, ValueError, "DataLoader: batch_size must be an integer >= 1, got 0"),
    ({"batch_size": 2.5}, TypeError, "DataLoader: batch_size must be an integer >= 1, got 2.5"),
    ({"batch_size": 4, "y": np.zeros(3)}, ValueError, "same number of examples"),
    ({"batch_size": 4, "device": "tpu"}, ValueError, "unknown device"),
])
def test_loader_errors(kwargs, error, message):
    x, y = data()
    args = {"x": x, "y": y, **kwargs}
    with pytest.raises(error, match=message):
        DataLoader(**args)


def test_sample_batch(device):
    x, y = data()
    xb, yb = sample_batch(x, y, 16, np.random.default_rng(5), device=device)
    want = np.random.default_rng(5).choice(N, size=16, replace=False)
    np.testing.assert_array_equal(yb.numpy(), want)
    np.testing.assert_array_equal(xb.numpy(), x[want])
    assert xb.device == device and yb.dtype == np.int64
    rng = np.random.default_rng(1)
    first, second = sample_batch(x, y, 16, rng)[1].numpy(), sample_batch(x, y, 16, rng)[1].numpy()
    assert not np.array_equal(first, second)  # the generator advances between calls
    np.testing.assert_array_equal(sample_batch(x, y, 4, 9)[1].numpy(), sample_batch(x, y, 4, 9)[1].numpy())
    assert len(sample_batch(x[:3], y[:3], 10, 0, replace=True)[1]) == 10
    with pytest.raises(ValueError, match="without replacement"):
        sample_batch(x[:3], y[:3], 10, 0)


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_never_share_memory_with_the_callers_arrays(device, shuffle):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    for xb, yb in DataLoader(x, y, batch_size=4, shuffle=shuffle, seed=0, device=device):
        xb.data += 100
        yb.data += 100
    xs, ys = sample_batch(x, y, 3, np.random.default_rng(0), device=device)
    xs.data += 100
    ys.data += 100
    np.testing.assert_array_equal(x, np.arange(12, dtype=np.float32).reshape(6, 2))
    np.testing.assert_array_equal(y, np.arange(6))
