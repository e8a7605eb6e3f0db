"""Factories, seeding and the conversions between tensors and arrays (tinygrad_lite.factory)."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend


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
