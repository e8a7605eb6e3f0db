"""Shared fixtures: every device-generic test runs on each device."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
