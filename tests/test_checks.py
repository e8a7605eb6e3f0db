"""The validation vocabulary (tinygrad_lite.checks): the library's one message format."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_lite.checks import (
    DimensionError,
    IndexBoundsError,
    ShapeError,
    axes_arg,
    axis_arg,
    check_choice,
    check_int,
    check_probability,
    check_real,
)


@pytest.mark.parametrize("value, expected", [(1, 1), (np.int64(7), 7), (10, 10)])
def test_check_int_accepts_integers_in_range(value, expected):
    out = check_int("Op", "n", value, 1, 10)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value, error", [(0, ValueError), (11, ValueError), (-3, ValueError),
                                          (2.0, TypeError), ("3", TypeError), (True, TypeError), (None, TypeError)])
def test_check_int_refuses_with_one_message_format(value, error):
    with pytest.raises(error) as info:
        check_int("Op", "n", value, 1, 10)
    assert str(info.value) == f"Op: n must be an integer in [1, 10], got {value!r}"


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0, np.float32(0.25), 1])
def test_check_probability_accepts_the_closed_interval(value):
    out = check_probability("Dropout", "p", value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value, error", [(-0.1, ValueError), (1.5, ValueError), (math.nan, ValueError),
                                          ("0.5", TypeError), (None, TypeError), (False, TypeError)])
def test_check_probability_refuses(value, error):
    with pytest.raises(error, match=r"Dropout: p must be a finite number in \[0, 1\], got "):
        check_probability("Dropout", "p", value)
    with pytest.raises(ValueError, match=r"in \[0, 1\), got 1"):
        check_probability("Dropout", "p", 1.0, high_open=True)


def test_check_real_bounds_and_infinities():
    assert check_real("SGD", "lr", 0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -1"):
        check_real("SGD", "lr", -1, 0.0)
    with pytest.raises(ValueError, match="eps must be a finite number > 0, got 0"):
        check_real("BatchNorm1d", "eps", 0, 0.0, low_open=True)
    with pytest.raises(ValueError, match="finite"):
        check_real("Op", "x", math.inf)
    assert check_real("Op", "x", math.inf, finite=False) == math.inf
    with pytest.raises(ValueError):
        check_real("Op", "x", math.nan, finite=False)  # NaN is never in an interval


def test_check_choice():
    assert check_choice("fit", "monitor", "val_acc", ("val_acc", "val_loss")) == "val_acc"
    with pytest.raises(ValueError, match=r"fit: monitor must be one of \('val_acc', 'val_loss'\), got 'acc'"):
        check_choice("fit", "monitor", "acc", ("val_acc", "val_loss"))


def test_axis_arguments():
    assert axes_arg(None, 3) is None
    assert axes_arg(-1, 3) == (2,) and axes_arg((2, 0), 3) == (0, 2) and axes_arg(np.int64(1), 2) == (1,)
    assert axis_arg(-2, 3) == 1
    with pytest.raises(ValueError, match="axis 3 is out of range for a tensor of 3 dimensions"):
        axes_arg(3, 3)
    with pytest.raises(ValueError, match="repeats"):
        axes_arg((1, -2), 3)
    with pytest.raises(TypeError, match="axis must be an int"):
        axis_arg((0,), 2)


def test_an_axis_out_of_range_is_pytorchs_index_error_and_still_a_value_error():
    for call in (lambda: axes_arg(3, 3), lambda: axes_arg((0, -4), 3), lambda: axis_arg(1, 0), lambda: axis_arg(-2, 1)):
        with pytest.raises(DimensionError, match="Dimension out of range") as info:
            call()
        assert isinstance(info.value, IndexError) and isinstance(info.value, ValueError)
    with pytest.raises(DimensionError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        axis_arg(1, 0)  # a 0-d tensor has PyTorch's dims 0 and -1
    with pytest.raises(ValueError, match="repeats") as info:
        axes_arg((1, -2), 3)
    assert not isinstance(info.value, IndexError)  # a repeated axis is not an out-of-range one


def test_error_classes_are_pytorchs_and_the_librarys_earlier_ones():
    assert issubclass(DimensionError, IndexError) and issubclass(DimensionError, ValueError)
    assert issubclass(ShapeError, RuntimeError) and issubclass(ShapeError, ValueError)
    assert issubclass(IndexBoundsError, RuntimeError) and issubclass(IndexBoundsError, IndexError)
