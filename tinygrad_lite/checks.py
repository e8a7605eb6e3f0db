"""The validation vocabulary: the library's argument checks, in one message format, and the
normalisation of shape and axis arguments, PyTorch's keyword spellings (``pytorch_kwargs``) included.

    check_int("Linear", "in_features", 0)          # ValueError: Linear: in_features must be
                                                   #   an integer >= 1, got 0
    check_real("SGD", "lr", -1.0, low=0.0)         # ValueError: ... must be a finite number >= 0
    check_probability("Dropout", "p", "0.5")       # TypeError: ... must be a number in [0, 1], got '0.5'
    check_choice("fit", "monitor", "acc", MONITORS)

A value of the wrong type raises TypeError, a value of the right type outside its range
ValueError; both say ``"{owner}: {name} must be {what}, got {value!r}"``. Each returns the
value as a plain Python ``int``/``float`` (NumPy scalars are accepted), so callers store
numbers that never promote float32 arrays.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Iterable

from numpy import bool_ as np_bool


class DimensionError(IndexError, ValueError):
    """A dim (axis) out of range for a tensor: PyTorch's IndexError ("Dimension out of range"), and a
    ValueError as the library raised before, so that ``except ValueError`` still catches it."""


class ShapeError(RuntimeError, ValueError):
    """Operand shapes that do not fit (``a @ b``, ``mm``, ``bmm``, ``unflatten``): PyTorch's
    RuntimeError ("shapes cannot be multiplied"), and a ValueError as the library raised before."""


class IndexBoundsError(RuntimeError, IndexError):
    """An index value out of bounds for the dim it indexes (``gather``, ``scatter_add``,
    ``take_along_axis``): PyTorch's RuntimeError ("index 5 is out of bounds for dimension 1"), and an
    IndexError as the library raised before."""


def _fail(error: type, owner: str, name: str, what: str, value) -> Exception:
    return error(f"{owner}: {name} must be {what}, got {value!r}")


def check_int(owner: str, name: str, value, low: int | None = 1, high: int | None = None) -> int:
    """``value`` as an int with ``low <= value <= high`` (None: no bound); bools are refused."""
    what = "an integer" + _interval(-math.inf if low is None else low, math.inf if high is None else high,
                                    False, False)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError, owner, name, what, value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _fail(ValueError, owner, name, what, value)
    return int(value)


def check_real(owner: str, name: str, value, low: float = -math.inf, high: float = math.inf, *,
               low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float inside the interval from ``low`` to ``high`` (closed unless
    ``low_open``/``high_open``). NaN is always refused, infinities unless ``finite=False``."""
    what = ("a finite number" if finite else "a number") + _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(TypeError, owner, name, what, value)
    v = float(value)
    above = v > low if low_open else v >= low  # NaN fails both comparisons
    below = v < high if high_open else v <= high
    if not (above and below) or (finite and not math.isfinite(v)):
        raise _fail(ValueError, owner, name, what, value)
    return v


def check_probability(owner: str, name: str, value, *, high_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (or [0, 1) with ``high_open``)."""
    return check_real(owner, name, value, 0.0, 1.0, high_open=high_open)


def check_bool(owner: str, name: str, value) -> bool:
    """``value`` as a bool; only ``True``/``False`` (and NumPy's bools) are taken, so that a
    flag given a number or a string (``centered="no"``, which is truthy) is refused."""
    if not isinstance(value, (bool, np_bool)):
        raise _fail(TypeError, owner, name, "True or False", value)
    return bool(value)


def check_choice(owner: str, name: str, value, options: Iterable):
    """``value`` itself, if it is one of ``options``."""
    options = tuple(options)
    if value not in options:
        raise _fail(ValueError, owner, name, f"one of {options}", value)
    return value


def check_float_input(owner: str, x, weight=None) -> None:
    """The one check of a layer's input dtype: ``x`` (a tensor) must hold floats, and of
    ``weight``'s dtype when a weight is given. PyTorch refuses both an integer input and a float64
    batch into a float32 layer ("mat1 and mat2 must have the same dtype") where NumPy would
    promote silently (to float64: slower, and a model that trains in another precision)."""
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: expected a float input, got dtype {x.dtype}; convert it with x.float()")
    if weight is not None and x.dtype != weight.dtype:
        fix = {"float32": "x.float()", "float64": "x.double()"}.get(weight.dtype.name, f"x.to('{weight.dtype}')")
        raise TypeError(f"{owner}: input of dtype {x.dtype} for a weight of dtype {weight.dtype} (PyTorch: mat1 and "
                        f"mat2 must have the same dtype); convert the input with {fix}, or the model to the "
                        "input's dtype")


def varargs(args) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both as ``(2, 3)``: shapes and axes may come either way."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def axes_arg(axis, ndim: int) -> tuple | None:
    """An int, a tuple or None as a sorted tuple of non-negative axes of an ``ndim``-d tensor
    (None stays None: all axes). An axis out of range is a ``DimensionError`` (an IndexError, as
    PyTorch's, and a ValueError); a repeated axis a ValueError."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            n = max(ndim, 1)  # PyTorch's message counts a 0-d tensor's dims 0 and -1
            raise DimensionError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got "
                                 f"{a}): axis {a} is out of range for a tensor of {ndim} dimensions")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis} repeats an axis")
    return tuple(sorted(out))


def axis_arg(axis, ndim: int) -> int:
    """One axis (an int) normalised as ``axes_arg`` does; a tuple here would silently drop axes."""
    if not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an int here, got {axis!r}")
    return axes_arg(axis, ndim)[0]


# PyTorch's keyword -> the library's (NumPy's): translated here and nowhere else
PYTORCH_KEYWORDS = {"dim": "axis", "keepdim": "keepdims", "start_dim": "start_axis", "end_dim": "end_axis"}


def pytorch_kwargs(fn=None, /, **renames):
    """Decorator: ``fn`` also takes PyTorch's keyword spellings, ``dim=`` for ``axis=``,
    ``keepdim=`` for ``keepdims=``, ``start_dim=``/``end_dim=`` for ``start_axis=``/``end_axis=``,
    and ``renames`` (``@pytorch_kwargs(correction="ddof")``); only those naming a parameter of
    ``fn`` are translated. Passing both spellings is a TypeError naming them; any other unknown
    keyword reaches ``fn``, whose TypeError names it. The docstring gets a line saying so."""
    if fn is None:
        return lambda f: pytorch_kwargs(f, **renames)
    params = inspect.signature(fn).parameters
    known = {**PYTORCH_KEYWORDS, **renames}
    table = {theirs: ours for theirs, ours in known.items() if ours in params}
    if not table:  # a decorator that translates nothing is a mistake where it is applied
        raise TypeError(f"pytorch_kwargs: {fn.__qualname__} takes none of {sorted(known.values())}")

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs and not table.keys().isdisjoint(kwargs):  # the common call has no kwargs at all
            for theirs, ours in table.items():
                if theirs in kwargs:
                    if ours in kwargs:
                        raise TypeError(f"{fn.__qualname__}: got both {theirs}= and {ours}=, the same "
                                        "argument in PyTorch's and NumPy's spelling; pass one")
                    kwargs[ours] = kwargs.pop(theirs)
        return fn(*args, **kwargs)

    spellings = ", ".join(f"``{theirs}=`` for ``{ours}=``" for theirs, ours in table.items())
    doc = inspect.cleandoc(fn.__doc__ or "")
    wrapper.__doc__ = f"{doc}\n\nPyTorch's spelling is accepted too: {spellings}."
    return wrapper


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    if low == -math.inf and high == math.inf:
        return ""
    if high == math.inf:
        return f" {'>' if low_open else '>='} {low:g}"
    if low == -math.inf:
        return f" {'<' if high_open else '<='} {high:g}"
    return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


__all__ = ["DimensionError", "IndexBoundsError", "ShapeError", "axes_arg", "axis_arg", "check_bool", "check_choice", "check_float_input", "check_int", "check_probability",
           "check_real", "pytorch_kwargs", "varargs"]
