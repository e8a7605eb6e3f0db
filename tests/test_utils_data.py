"""tinygrad_lite.utils.data against torch.utils.data's documented semantics, transcribed: datasets,
samplers (orders, lengths, replacement, reproducibility), batching (shapes, drop_last, the
exclusive options) and default_collate's rules (tensors, arrays, numbers, tuples, dicts); the same
calls against PyTorch itself where it is installed."""
import collections

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend
from tinygrad_lite.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    default_collate,
    default_convert,
)

N = 10


class Squares(Dataset):
    """Example i is (i as a float32 array of shape (2,), i * i as a Python int)."""

    def __init__(self, n=N):
        self.n = n

    def __getitem__(self, i):
        return np.full(2, i, dtype=np.float32), i * i

    def __len__(self):
        return self.n


def labels(loader):
    return [yb.numpy().tolist() for _, yb in loader]


def epoch(loader):
    """One epoch's labels, in order, as one list."""
    return [v for _, yb in loader for v in yb.numpy().tolist()]


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_indexes_every_tensor_along_the_first_axis():
    x, y = tl.Tensor(np.arange(12.0).reshape(4, 3)), tl.Tensor(np.arange(4) * 10)
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.numpy().tolist() == [6.0, 7.0, 8.0] and yi.item() == 20
    assert ds.tensors == (x, y)


@pytest.mark.parametrize(("tensors", "error", "match"), [
    ((tl.zeros(3, 2), tl.zeros(4)), ValueError, "size mismatch"),
    ((), ValueError, "at least one"),
    ((np.zeros(3),), TypeError, "Tensors"),
    ((tl.Tensor(1.0),), ValueError, "0-d"),
])
def test_tensor_dataset_refuses_mismatched_sizes(tensors, error, match):
    with pytest.raises(error, match=match):
        TensorDataset(*tensors)


def test_dataset_subclasses_define_getitem():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__iter__"):
        iter(Sampler())


# ---------------------------------------------------------------- samplers
def test_sequential_sampler():
    s = SequentialSampler(range(7))
    assert list(s) == list(range(7)) and list(s) == list(range(7)) and len(s) == 7


def test_random_sampler_is_a_permutation_each_epoch_and_a_new_one_next_epoch():
    s = RandomSampler(range(50), generator=3)
    a, b = list(s), list(s)
    assert sorted(a) == sorted(b) == list(range(50)) and a != b and len(s) == 50
    assert all(type(i) is int for i in a)
    # the documented draw: the generator's permutation(n), one per epoch
    gen = np.random.default_rng(3)
    assert a == gen.permutation(50).tolist() and b == gen.permutation(50).tolist()


def test_random_sampler_takes_a_numpy_generator_and_advances_it():
    gen = np.random.default_rng(5)
    s = RandomSampler(range(8), generator=gen)
    first = list(s)
    assert first == np.random.default_rng(5).permutation(8).tolist()
    assert list(RandomSampler(range(8), generator=np.random.default_rng(5))) == first


def test_random_sampler_without_a_generator_follows_manual_seed():
    """As PyTorch, each epoch draws a seed from the library's generator: manual_seed repeats the
    orders, epochs differ, and the orders are not the same as an explicit seed's."""
    tl.manual_seed(0)
    s = RandomSampler(range(30))
    run = [list(s) for _ in range(3)]
    tl.manual_seed(0)
    again = [list(RandomSampler(range(30))) for _ in range(3)]
    assert run == again and run[0] != run[1] and all(sorted(r) == list(range(30)) for r in run)
    tl.manual_seed(1)
    assert list(RandomSampler(range(30))) != run[0]


def test_random_sampler_num_samples_without_replacement():
    """More than n: whole permutations one after another, then the start of one more; fewer:
    distinct indices."""
    s = RandomSampler(range(4), num_samples=10, generator=0)
    got = list(s)
    assert len(got) == len(s) == 10
    assert sorted(got[:4]) == sorted(got[4:8]) == [0, 1, 2, 3] and len(set(got[8:])) == 2
    few = list(RandomSampler(range(20), num_samples=5, generator=0))
    assert len(few) == 5 and len(set(few)) == 5


def test_random_sampler_with_replacement_draws_uniformly_with_repeats():
    s = RandomSampler(range(3), replacement=True, num_samples=600, generator=1)
    got = np.array(list(s))
    assert len(got) == len(s) == 600 and set(got.tolist()) == {0, 1, 2}
    counts = np.bincount(got, minlength=3)
    assert np.all(np.abs(counts - 200) < 60), counts  # about 600 / 3 each (sd ~ 11.5)
    assert got.tolist() == np.random.default_rng(1).integers(0, 3, size=600).tolist()
    assert len(list(RandomSampler(range(5), replacement=True, generator=0))) == 5  # default: n draws


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"replacement": 1}, TypeError, "replacement"),
    ({"num_samples": 0}, ValueError, "num_samples"),
    ({"num_samples": 2.5}, TypeError, "num_samples"),
    ({"generator": "seed"}, TypeError, "generator"),
])
def test_random_sampler_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomSampler(range(5), **kwargs)


def test_random_sampler_refuses_an_empty_data_source():
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler([])
    with pytest.raises(ValueError, match="empty"):
        list(RandomSampler([], num_samples=3))


def test_batch_sampler_pytorch_example():
    """torch.utils.data.BatchSampler's documented example."""
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    assert len(BatchSampler(range(9), 3, False)) == 3 and list(BatchSampler(range(2), 3, True)) == []
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="drop_last"):
        BatchSampler(range(3), 2, None)


# ---------------------------------------------------------------- DataLoader
def test_batches_shapes_and_dtypes(device):
    backend.set_default_device(device)
    try:
        batches = list(DataLoader(Squares(), batch_size=4))
    finally:
        backend.set_default_device("cpu")
    assert len(batches) == 3
    for k, (xb, yb) in enumerate(batches):
        rows = list(range(4 * k, min(4 * k + 4, N)))
        assert xb.shape == (len(rows), 2) and xb.dtype == np.float32 and xb.device == device
        assert yb.dtype == np.int64 and yb.device == device and yb.numpy().tolist() == [i * i for i in rows]
        np.testing.assert_array_equal(xb.numpy(), np.repeat(np.array(rows, dtype=np.float32)[:, None], 2, axis=1))


def test_default_batch_size_is_one_and_len_counts_batches():
    loader = DataLoader(Squares(5))
    assert loader.batch_size == 1 and len(loader) == 5
    assert [b[1].shape for b in loader] == [(1,)] * 5
    assert len(DataLoader(Squares(), batch_size=3)) == 4
    assert len(DataLoader(Squares(), batch_size=3, drop_last=True)) == 3


def test_drop_last_drops_the_short_batch():
    got = labels(DataLoader(Squares(), batch_size=4, drop_last=True))
    assert got == [[0, 1, 4, 9], [16, 25, 36, 49]]


def test_shuffle_covers_every_example_in_a_new_order_each_epoch():
    ds = TensorDataset(tl.Tensor(np.arange(40.0)[:, None]), tl.Tensor(np.arange(40)))
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=2)
    e1, e2 = epoch(loader), epoch(loader)
    assert sorted(e1) == sorted(e2) == list(range(40)) and e1 != e2
    # the same generator seed, the same epochs; tl.manual_seed does it without one
    again = DataLoader(ds, batch_size=8, shuffle=True, generator=2)
    assert epoch(again) == e1 and epoch(again) == e2
    tl.manual_seed(4)
    a = epoch(DataLoader(ds, batch_size=8, shuffle=True))
    tl.manual_seed(4)
    assert epoch(DataLoader(ds, batch_size=8, shuffle=True)) == a
    assert epoch(DataLoader(ds, batch_size=8)) == list(range(40))  # no shuffle: in order


def test_a_sampler_decides_the_order():
    loader = DataLoader(Squares(), batch_size=2, sampler=[3, 1, 4])
    assert labels(loader) == [[9, 1], [16]] and len(loader) == 2
    loader = DataLoader(Squares(), batch_size=4, sampler=RandomSampler(Squares(), replacement=True,
                                                                         num_samples=12, generator=0))
    assert len(loader) == 3 and sum(len(b) for b in labels(loader)) == 12


def test_batch_sampler_and_no_batching():
    loader = DataLoader(Squares(), batch_sampler=[[0, 2], [5]])
    assert labels(loader) == [[0, 4], [25]] and len(loader) == 2 and loader.batch_size is None
    single = list(DataLoader(Squares(3), batch_size=None))  # default_convert: no batch axis
    assert len(single) == 3 and single[2][0].shape == (2,) and single[2][1] == 4
    assert isinstance(single[2][0], tl.Tensor) and isinstance(single[2], list)


def test_collate_fn_and_getitems():
    loader = DataLoader(Squares(), batch_size=4, collate_fn=lambda batch: [y for _, y in batch])
    assert list(loader) == [[0, 1, 4, 9], [16, 25, 36, 49], [64, 81]]

    class Batched(Squares):
        def __getitems__(self, indices):  # a whole batch at once, as PyTorch's fetcher asks for it
            self.asked.append(list(indices))
            return [self[i] for i in indices]

    ds = Batched(5)
    ds.asked = []
    assert labels(DataLoader(ds, batch_size=2)) == [[0, 1], [4, 9], [16]]
    assert ds.asked == [[0, 1], [2, 3], [4]]


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"sampler": [0, 1], "shuffle": True}, ValueError, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_sampler": [[0]], "sampler": [0]}, ValueError, "batch_sampler option is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, ValueError, "batch_size=None"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"num_workers": -1}, ValueError, "num_workers"),
])
def test_loader_refuses_what_pytorch_refuses(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(Squares(), **kwargs)


def test_workers_and_pinned_memory_change_nothing():
    plain = labels(DataLoader(Squares(), batch_size=3))
    assert labels(DataLoader(Squares(), batch_size=3, num_workers=2, pin_memory=True,
                             persistent_workers=True)) == plain


# ---------------------------------------------------------------- default_collate
Point = collections.namedtuple("Point", "x y")


def test_collate_stacks_tensors_and_arrays():
    out = default_collate([tl.Tensor([1.0, 2.0]), tl.Tensor([3.0, 4.0])])
    assert out.shape == (2, 2) and out.numpy().tolist() == [[1, 2], [3, 4]] and out.dtype == np.float32
    out = default_collate([np.ones((2, 3), dtype=np.float16), np.zeros((2, 3), dtype=np.float16)])
    assert out.shape == (2, 2, 3) and out.dtype == np.float16
    assert default_collate([np.array(1.5), np.array(2.5)]).dtype == np.float64  # 0-d arrays
    scalars = default_collate([np.float32(1), np.float32(2)])  # NumPy scalars keep their dtype
    assert scalars.dtype == np.float32 and scalars.shape == (2,)
    assert default_collate([np.int32(1)]).dtype == np.int32


def test_collate_numbers_follow_pytorch_dtypes():
    """Python floats give float64 (PyTorch's rule, not the default float32), ints int64, bools bool."""
    floats = default_collate([0.5, 1.5])
    assert floats.dtype == np.float64 and floats.numpy().tolist() == [0.5, 1.5]
    assert default_collate([1, 2]).dtype == np.int64 and default_collate([True, False]).dtype == np.bool_
    assert default_collate([1, 2.5]).dtype == np.float32  # read as torch.tensor([1, 2.5])


def test_collate_structures():
    tuples = default_collate([(1, 2.0, "a"), (3, 4.0, "b")])
    assert isinstance(tuples, list) and len(tuples) == 3  # a tuple gives a list, as PyTorch
    assert tuples[0].numpy().tolist() == [1, 3] and tuples[1].dtype == np.float64 and tuples[2] == ("a", "b")
    lists = default_collate([[1, 2], [3, 4]])  # transposed, not a 2 x 2 tensor
    assert [t.numpy().tolist() for t in lists] == [[1, 3], [2, 4]]
    dicts = default_collate([{"a": 1, "b": np.ones(2)}, {"a": 2, "b": np.zeros(2)}])
    assert set(dicts) == {"a", "b"} and dicts["a"].numpy().tolist() == [1, 2] and dicts["b"].shape == (2, 2)
    ordered = default_collate([collections.OrderedDict(z=1.0), collections.OrderedDict(z=2.0)])
    assert type(ordered) is collections.OrderedDict
    points = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert type(points) is Point and points.x.numpy().tolist() == [1, 3] and points.y.dtype == np.float64
    nested = default_collate([{"p": (np.zeros(3, dtype=np.float32), 0)}] * 4)
    assert nested["p"][0].shape == (4, 3) and nested["p"][1].numpy().tolist() == [0] * 4


@pytest.mark.parametrize(("batch", "error", "match"), [
    ([np.array(["a"])], TypeError, "found <U1"),
    ([object()], TypeError, "found <class 'object'>"),
    ([[1, 2], [3]], RuntimeError, "equal size"),
])
def test_collate_refuses_what_pytorch_refuses(batch, error, match):
    with pytest.raises(error, match=match):
        default_collate(batch)


def test_default_convert_makes_tensors_without_batching():
    out = default_convert((np.ones(2), 1, 2.0, "a"))
    assert isinstance(out, list) and isinstance(out[0], tl.Tensor) and out[0].dtype == np.float64
    assert out[1:] == [1, 2.0, "a"]
    assert default_convert({"k": np.float32(3)})["k"].dtype == np.float32


# ---------------------------------------------------------------- the data group: one mechanism
def test_the_array_loader_walks_these_samplers():
    """tinygrad_lite.data.DataLoader's epoch order is a sampler of this module."""
    from tinygrad_lite.data import DataLoader as ArrayLoader

    loader = ArrayLoader(np.zeros((23, 2)), np.arange(23), batch_size=5, shuffle=True, seed=9)
    sampler = loader.sampler(4)  # a RandomSampler drawing from default_rng((seed, epoch)), once
    assert isinstance(sampler, RandomSampler) and list(sampler) == loader.order(4).tolist()
    assert loader.order(4).tolist() == np.random.default_rng((9, 4)).permutation(23).tolist()
    assert isinstance(ArrayLoader(np.zeros((3, 1)), np.arange(3), 2).sampler(0), SequentialSampler)
    assert [yb.numpy().tolist() for _, yb in loader] == list(BatchSampler(loader.sampler(0), 5, False))


# ---------------------------------------------------------------- against PyTorch itself
def test_the_same_calls_in_pytorch():
    torch = pytest.importorskip("torch")
    tud = pytest.importorskip("torch.utils.data")

    def same(ours, theirs):
        if isinstance(theirs, torch.Tensor):
            assert isinstance(ours, tl.Tensor) and ours.shape == tuple(theirs.shape)
            assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        elif isinstance(theirs, dict):
            assert type(ours) is type(theirs) and set(ours) == set(theirs)
            for k in theirs:
                same(ours[k], theirs[k])
        elif isinstance(theirs, (list, tuple)):
            assert type(ours) is type(theirs) and len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                same(a, b)
        else:
            assert ours == theirs

    batches = [[1.5, 2.5], [1, 2], [True, False], [1, 2.5], [np.float32(1), np.float32(2)],
               [np.array(1.5), np.array(2.5)], [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
               [(1, 2.0, "a"), (3, 4.0, "b")], [[1, 2], [3, 4]], [Point(1, 2.0), Point(3, 4.0)],
               [{"a": 1, "b": np.ones(2)}, {"a": 2, "b": np.zeros(2)}], ["x", "y"]]
    for batch in batches:
        same(default_collate(batch), tud.default_collate(batch))
    same(default_convert((np.ones(2), 1, 2.0, "a")), tud.default_convert((np.ones(2), 1, 2.0, "a")))
    for b, drop in ((3, False), (3, True), (5, False), (20, True)):
        assert list(BatchSampler(range(10), b, drop)) == list(tud.BatchSampler(range(10), b, drop))
    ours = DataLoader(Squares(), batch_size=4, drop_last=False)
    theirs = tud.DataLoader(Squares(), batch_size=4, drop_last=False)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        same(a, b)
    for kwargs in ({"num_samples": 25}, {"replacement": True, "num_samples": 7}, {}):
        assert len(RandomSampler(range(10), **kwargs)) == len(tud.RandomSampler(range(10), **kwargs))
