"""Factories, seeding and the conversions between tensors and arrays (tinygrad_lite.factory):
PyTorch's ``tensor``, ``linspace``, ``empty``, and the discrete draws (``randint``, ``randperm``,
``multinomial``: values, frequencies within binomial standard deviations, seeded reproducibility)."""
from __future__ import annotations

import importlib
import inspect
import itertools

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend, factory


def test_constant_factories(device):
    cases = [(tl.zeros(2, 3, device=device), np.zeros((2, 3))), (tl.ones((4,), device=device), np.ones(4)),
             (tl.full((2, 2), 7.5, device=device), np.full((2, 2), 7.5)), (tl.eye(3, device=device), np.eye(3)),
             (tl.arange(0.0, 1.0, 0.25, device=device), [0, 0.25, 0.5, 0.75])]
    for t, expected in cases:
        assert t.dtype == np.float32 and t.device == device and not t.requires_grad
        np.testing.assert_array_equal(t.numpy(), expected)
    a = tl.arange(5, device=device)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    z = tl.zeros(3, dtype=np.float64, device=device, requires_grad=True)
    assert z.dtype == np.float64 and z.requires_grad and z.is_leaf


def test_like_factories(device):
    t = tl.Tensor(np.ones((2, 3)), device=device)  # float64
    for like in (tl.zeros_like(t), tl.ones_like(t), tl.full_like(t, 2.0), tl.rand_like(t), tl.randn_like(t)):
        assert like.shape == (2, 3) and like.dtype == np.float64 and like.device == device
    np.testing.assert_array_equal(tl.full_like(t, 2.0).numpy(), np.full((2, 3), 2.0))


def test_random_factories_distribution(device):
    tl.manual_seed(0)
    u, n = tl.rand(20000, device=device), tl.randn(100, 200, device=device)
    assert u.dtype == np.float32 and n.shape == (100, 200) and n.device == device
    u, n = u.numpy(), n.numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    with pytest.raises(TypeError, match="float"):
        tl.rand(2, dtype=np.int64, device=device)


def test_manual_seed_determinism(device):
    def draw(seed):
        tl.manual_seed(seed)
        return np.concatenate([tl.rand(5, device=device).numpy(), tl.randn(5, device=device).numpy()])

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    tl.manual_seed(3)
    first = tl.rand(5, device=device).numpy()
    assert not np.array_equal(first, tl.rand(5, device=device).numpy())  # the stream moves on


def test_rng_state_round_trip(device):
    tl.manual_seed(11)
    tl.rand(3, device=device)
    state = backend.get_rng_state()
    a = tl.randn(4, device=device).numpy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(tl.randn(4, device=device).numpy(), a)


def test_float32_and_float64_draws_are_numpys_streams():
    """The draws are NumPy's default_rng(seed) streams, in the dtype asked for (seeds stay valid)."""
    for dtype in (np.float32, np.float64):
        tl.manual_seed(5)
        u, n = tl.rand(3, 4, dtype=dtype).numpy(), tl.randn(6, dtype=dtype).numpy()
        rng = np.random.default_rng(5)
        np.testing.assert_array_equal(u, rng.random((3, 4), dtype=dtype))
        np.testing.assert_array_equal(n, rng.standard_normal(6, dtype=dtype))
        assert u.dtype == n.dtype == dtype


def test_float16_draws_are_float32_draws_cast():
    """NumPy's generators refuse float16: draw in float32, then cast (uniform ones floored to
    multiples of 2^-11, PyTorch's half-precision grid, since rounding could give 1.0)."""
    tl.manual_seed(8)
    u, n = tl.rand(4000, dtype=np.float16).numpy(), tl.randn(50, dtype="float16").numpy()
    rng = np.random.default_rng(8)
    np.testing.assert_array_equal(u, np.floor(rng.random(4000, dtype=np.float32) * 2048) / 2048)
    np.testing.assert_array_equal(n, rng.standard_normal(50, dtype=np.float32).astype(np.float16))
    assert u.dtype == n.dtype == np.float16


def test_float16_random_factories(device):
    tl.manual_seed(0)
    u, n = tl.rand(20000, dtype=np.float16, device=device), tl.randn(100, 200, dtype=np.float16, device=device)
    assert u.dtype == n.dtype == np.float16 and u.device == n.device == device
    u, n = u.numpy().astype(np.float64), n.numpy().astype(np.float64)
    # P(u32 >= 1 - 2^-12) = 2^-12: a plain cast would give about five 1.0s among 20000
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    t = tl.zeros(3, 5, dtype=np.float16, device=device)
    for like in (tl.rand_like(t), tl.randn_like(t)):
        assert like.shape == (3, 5) and like.dtype == np.float16 and like.device == device
        assert np.isfinite(like.numpy()).all()


# ---------------------------------------------------------------- as_tensor and to_numpy
def test_as_tensor_shares_memory_with_an_array_on_its_device(device):
    a = backend.to_device(np.arange(6, dtype=np.float32).reshape(2, 3), device)
    t = tl.as_tensor(a)
    assert t.data is a and t.device == device and not t.requires_grad and t.is_leaf
    a[0, 0] = 42.0  # shared, as torch.as_tensor: the tensor sees the write
    assert t.numpy()[0, 0] == 42.0
    assert tl.as_tensor(t) is t and tl.as_tensor(t, dtype=np.float32, device=device) is t


def test_as_tensor_converts_what_it_cannot_share(device):
    a = np.arange(3, dtype=np.float64)
    t = tl.as_tensor(a, dtype=np.float32, device=device)
    assert t.dtype == np.float32 and t.device == device and t.data is not a
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])
    assert tl.as_tensor([1, 2], device=device).dtype == np.int64
    other = "strict" if device != "strict" else "cpu"
    moved = tl.as_tensor(t, device=other)
    assert moved.device == other and backend.device_of(moved.data) == other
    np.testing.assert_array_equal(moved.numpy(), t.numpy())


def test_to_numpy_takes_tensors_arrays_and_lists(device):
    t = tl.Tensor([[1.0, 2.0]], device=device)
    for value in (t, t.data, [[1.0, 2.0]]):
        out = tl.to_numpy(value)
        assert type(out) is np.ndarray
        np.testing.assert_array_equal(out, [[1.0, 2.0]])


# ---------------------------------------------------------------- PyTorch's factories
def test_tensor_is_pytorchs_factory(device):
    t = tl.tensor([[1, 2], [3, 4.5]], device=device, requires_grad=True)
    assert type(t) is tl.Tensor and t.dtype == np.float32 and t.shape == (2, 2) and t.device == device
    assert t.requires_grad and t.is_leaf
    assert tl.tensor(3, device=device).dtype == np.int64 and tl.tensor([True], device=device).dtype == np.bool_
    assert tl.tensor([1, 2], dtype=tl.float64, device=device).dtype == np.float64
    a = np.zeros(2)
    t = tl.tensor(a, device=device)
    a[0] = 1.0
    assert t.tolist() == [0.0, 0.0] and t.dtype == np.float64  # a copy, keeping the array's dtype
    with pytest.raises(TypeError, match="only float tensors can require grad"):
        tl.tensor([1, 2], requires_grad=True)


def test_the_name_tensor_is_the_factory_and_the_module_keeps_its_full_name():
    assert tl.tensor is factory.tensor and tl.tensor.__doc__.startswith("A new tensor")
    module = importlib.import_module("tinygrad_lite.tensor")  # as `from tinygrad_lite.tensor import Tensor`
    assert inspect.ismodule(module) and module.Tensor is tl.Tensor


@pytest.mark.parametrize("start, end, steps", [(0, 1, 5), (-1, 1, 1), (0, 1, 0), (2.5, -3.0, 7), (-5, 5, 100)])
def test_linspace(device, start, end, steps):
    t = tl.linspace(start, end, steps, device=device)
    assert t.dtype == np.float32 and t.shape == (steps,) and t.device == device and not t.requires_grad
    np.testing.assert_allclose(t.numpy(), np.linspace(start, end, steps), rtol=1e-6, atol=1e-6)
    if steps > 1:  # both ends exactly, as PyTorch's
        assert t.numpy()[0] == np.float32(start) and t.numpy()[-1] == np.float32(end)
    assert tl.linspace(start, end, steps, dtype=tl.float64, device=device).dtype == np.float64


def test_linspace_forms_and_checks(device):
    ints = tl.linspace(0, 10, 4, dtype=tl.long, device=device)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 3, 6, 10]  # torch.linspace(0, 10, 4, dtype=int64)
    assert tl.linspace(tl.tensor(0.0), tl.tensor(1.0), 3, device=device).tolist() == [0.0, 0.5, 1.0]
    assert tl.linspace(0, 1, 3, requires_grad=True).requires_grad
    with pytest.raises(ValueError, match="linspace: steps must be an integer >= 0"):
        tl.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="linspace: steps"):
        tl.linspace(0, 1, 2.0)


def test_empty(device):
    t = tl.empty(2, 3, device=device)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.device == device and not t.requires_grad
    assert tl.empty((4,), dtype=tl.long, device=device).dtype == np.int64
    assert tl.empty(2, requires_grad=True, device=device).requires_grad


# ---------------------------------------------------------------- discrete random draws
def _binomial_ok(counts, n, probs, sds=5):
    """Each count within ``sds`` binomial standard deviations of n p (exactly 0 where p is 0)."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.all(np.abs(counts - n * probs) <= sds * np.sqrt(n * probs * (1 - probs)))


def _draws(device, seed):
    tl.manual_seed(seed)
    weights = tl.tensor(np.arange(1.0, 11.0), device=device)
    return [tl.randint(0, 100, (20,), device=device).numpy(), tl.randperm(20, device=device).numpy(),
            weights.multinomial(30, replacement=True).numpy(), tl.stack([weights, weights]).multinomial(6).numpy()]


def test_discrete_draws_are_reproduced_by_the_seed(device):
    first, again, other = _draws(device, 3), _draws(device, 3), _draws(device, 4)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)
    tl.manual_seed(3)
    assert not np.array_equal(tl.randint(0, 100, (20,), device=device).numpy(),
                              tl.randint(0, 100, (20,), device=device).numpy())  # the stream moves on
    state = backend.get_rng_state()
    after = tl.randperm(20, device=device).numpy()
    backend.set_rng_state(state)
    np.testing.assert_array_equal(tl.randperm(20, device=device).numpy(), after)


def test_cpu_and_strict_draw_the_same_numbers():
    for a, b in zip(_draws("cpu", 5), _draws("strict", 5)):
        np.testing.assert_array_equal(a, b)


def test_randint(device):
    tl.manual_seed(0)
    n = 21000
    t = tl.randint(3, 10, (n,), device=device)
    assert t.dtype == np.int64 and t.device == device and t.shape == (n,) and not t.requires_grad
    values = t.numpy()
    assert values.min() == 3 and values.max() == 9
    assert _binomial_ok(np.bincount(values - 3, minlength=7), n, [1 / 7] * 7)
    assert tl.randint(5, (2, 3), device=device).shape == (2, 3)  # randint(high, size)
    assert tl.randint(5, size=(4,), device=device).numpy().max() < 5
    assert set(tl.randint(low=-3, high=-1, size=(200,), device=device).tolist()) == {-3, -2}
    assert tl.randint(0, 2, 5, device=device).shape == (5,)
    floats = tl.randint(0, 4, (50,), dtype=tl.float32, device=device)
    assert floats.dtype == np.float32 and set(floats.tolist()) <= {0.0, 1.0, 2.0, 3.0}
    with pytest.raises(ValueError, match="randint: low must be < high"):
        tl.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="randint: missing size"):
        tl.randint(10)
    with pytest.raises(TypeError, match="randint: low must be an integer"):
        tl.randint(0.5, 2, (1,))


def test_randperm(device):
    tl.manual_seed(0)
    p = tl.randperm(50, device=device)
    assert p.dtype == np.int64 and p.device == device and sorted(p.tolist()) == list(range(50))
    assert tl.randperm(0, device=device).shape == (0,) and tl.randperm(4, dtype=tl.int32).dtype == np.int32
    n = 3000  # every order of 3 elements equally likely
    orders = [tuple(tl.randperm(3, device=device).tolist()) for _ in range(n)]
    perms = list(itertools.permutations(range(3)))
    assert _binomial_ok(np.array([orders.count(q) for q in perms]), n, [1 / 6] * 6)
    with pytest.raises(ValueError, match="randperm: n must be an integer >= 0"):
        tl.randperm(-1)


def test_multinomial_with_replacement_draws_in_proportion_to_the_weights(device):
    probs = np.array([0.1, 0.0, 0.2, 0.3, 0.4])
    tl.manual_seed(0)
    n = 20000
    draws = tl.multinomial(tl.tensor(probs * 7, device=device), n, replacement=True)  # weights need no sum of 1
    assert draws.shape == (n,) and draws.dtype == np.int64 and draws.device == device
    counts = np.bincount(draws.numpy(), minlength=5)
    assert counts[1] == 0 and _binomial_ok(counts, n, probs)  # weight 0: never
    rows = tl.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 3.0]], device=device).multinomial(4000, True).numpy()
    assert rows.shape == (2, 4000) and (rows[0] == 0).all()  # each row its own distribution
    assert _binomial_ok(np.bincount(rows[1], minlength=3), 4000, [0.0, 0.25, 0.75])


def test_multinomial_without_replacement_draws_one_by_one_among_those_left(device):
    w = np.array([1.0, 2.0, 3.0, 4.0])
    tl.manual_seed(1)
    n = 4000
    rows = tl.tensor(np.tile(w, (n, 1)), device=device).multinomial(4).numpy()  # n independent rows
    assert rows.shape == (n, 4) and (np.sort(rows, axis=1) == np.arange(4)).all()  # no index repeats
    assert _binomial_ok(np.bincount(rows[:, 0], minlength=4), n, w / w.sum())  # the first: w / sum(w)
    after3 = rows[rows[:, 0] == 3, 1]  # the second, once 3 is drawn: among the rest, w / (sum(w) - w[3])
    assert _binomial_ok(np.bincount(after3, minlength=4), len(after3), np.append(w[:3] / 6, 0.0))
    z = tl.tensor([0.0, 1.0, 1.0], device=device).multinomial(3).tolist()
    assert z[2] == 0 and sorted(z[:2]) == [1, 2]  # weight 0 only after the others, as torch's [2, 1, 0]
    assert tl.tensor([1.0, 1.0], device=device).multinomial(1).shape == (1,)


def test_multinomial_checks_its_weights(device):
    ok = tl.tensor([0.5, 0.5], device=device)
    cases = [(lambda: tl.ones(2, 2, 2, device=device).multinomial(1), ValueError, "1-d or 2-d"),
             (lambda: tl.tensor(1.0, device=device).multinomial(1), ValueError, "1-d or 2-d"),
             (lambda: tl.tensor([1, 1], device=device).multinomial(1), TypeError, "must be floats"),
             (lambda: tl.tensor([-1.0, 1.0], device=device).multinomial(1), ValueError, "inf, nan or a number < 0"),
             (lambda: tl.tensor([1.0, np.inf], device=device).multinomial(1), ValueError, "inf, nan"),
             (lambda: tl.tensor([1.0, np.nan], device=device).multinomial(1), ValueError, "inf, nan"),
             (lambda: tl.tensor([[1.0, 0.0], [0.0, 0.0]], device=device).multinomial(1, True), ValueError,
              "sums to 0"),
             (lambda: ok.multinomial(0), ValueError, "num_samples must be an integer >= 1"),
             (lambda: ok.multinomial(3), ValueError, "cannot draw 3 samples without replacement from 2"),
             (lambda: ok.multinomial(1, replacement="yes"), TypeError, "replacement must be True or False")]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()
    assert ok.multinomial(5, replacement=True).shape == (5,)


def test_factories_and_draws_match_pytorch():
    torch = pytest.importorskip("torch")
    for start, end, steps in [(0, 1, 5), (2.5, -3.0, 7), (-5, 5, 100), (0, 10, 4)]:
        np.testing.assert_allclose(tl.linspace(start, end, steps).numpy(), torch.linspace(start, end, steps).numpy(),
                                   rtol=1e-6, atol=1e-6)
    assert tl.linspace(0, 10, 4, dtype=tl.long).tolist() == torch.linspace(0, 10, 4, dtype=torch.int64).tolist()
    for ours, theirs in [(tl.randint(3, 10, (2, 3)), torch.randint(3, 10, (2, 3))), (tl.randperm(5), torch.randperm(5)),
                         (tl.multinomial(tl.ones(2, 4), 3), torch.multinomial(torch.ones(2, 4), 3)),
                         (tl.empty(2, 3), torch.empty(2, 3)), (tl.tensor([1, 2.5]), torch.tensor([1, 2.5]))]:
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    for bad in ([-1.0, 1.0], [0.0, 0.0], [1.0, float("inf")]):
        with pytest.raises(RuntimeError):
            torch.multinomial(torch.tensor(bad), 1, True)
        with pytest.raises(ValueError):
            tl.multinomial(tl.tensor(bad), 1, True)
    assert torch.multinomial(torch.tensor([0.0, 1.0, 1.0]), 3).tolist()[2] == 0  # what the test above expects
