"""Shared fixtures: every device-generic test runs on each device."""
import os

# The tests multiply small matrices, for which BLAS threads only add contention (on a busy
# 2-core machine they spin and make some tests 10-100x slower). Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

from tinygrad_lite import backend

DEVICES = [
    "cpu",
    "strict",
    pytest.param("cuda", marks=pytest.mark.skipif(not backend.is_available("cuda"),
                                                  reason="CuPy with a usable GPU is not available")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
