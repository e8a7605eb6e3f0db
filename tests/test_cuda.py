"""``tl.cuda`` (tinygrad_lite.cuda), the calls of ``torch.cuda`` that scripts make: without a GPU they
report none and do nothing; the seeding of one device they use is checked on the devices every
machine has ("cpu" and "strict")."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import backend


def test_it_reports_the_cuda_device():
    available = backend.is_available("cuda")
    assert tl.cuda.is_available() is available
    assert tl.cuda.device_count() == (1 if available else 0)
    assert tl.cuda.synchronize() is None and backend.synchronize("cpu") is None  # nothing to wait for on cpu
    device = "cuda" if tl.cuda.is_available() else "cpu"  # the idiom, as with torch.cuda
    assert tl.zeros(2, device=device).device == device


def test_seeding_the_gpu_leaves_the_other_streams_as_they_were():
    tl.manual_seed(0)
    expected = tl.rand(6, dtype=np.float64).numpy()
    tl.manual_seed(0)
    first = tl.rand(3, dtype=np.float64).numpy()
    tl.cuda.manual_seed(123)
    tl.cuda.manual_seed_all(123)
    np.testing.assert_array_equal(np.concatenate([first, tl.rand(3, dtype=np.float64).numpy()]), expected)
    if tl.cuda.is_available():
        draws = []
        for _ in range(2):
            tl.cuda.manual_seed(7)
            draws.append(tl.rand(4, device="cuda").numpy())
        np.testing.assert_array_equal(*draws)
    else:  # no GPU: nothing was seeded, no generator made
        assert "cuda" not in backend.get_rng_state()["generators"]


def test_seed_device_seeds_that_device_only():
    tl.manual_seed(0)
    expected_cpu = tl.rand(6, dtype=np.float64).numpy()
    tl.manual_seed(0)
    first = tl.rand(3, dtype=np.float64, device="cpu").numpy()
    backend.seed_device("strict", 9)
    strict = tl.rand(4, dtype=np.float64, device="strict").numpy()
    np.testing.assert_array_equal(strict, np.random.default_rng(9).random(4))
    np.testing.assert_array_equal(np.concatenate([first, tl.rand(3, dtype=np.float64).numpy()]), expected_cpu)
    tl.manual_seed(0)  # every device again
    np.testing.assert_array_equal(tl.rand(4, dtype=np.float64, device="strict").numpy(),
                                  np.random.default_rng(0).random(4))
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        backend.seed_device("gpu", 1)
