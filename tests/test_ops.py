"""The op table: every differentiable op against an independent reference and float64 finite
differences, and the checks that keep the places an op touches in step.

Each row names an op, the tinygrad_lite call, an independent NumPy reference and a strategy
that draws its inputs (shapes, broadcast pairs, axes, keepdims, values); the rows come in the
sections of tinygrad_lite/ops.py. Values stay away from kinks and ties where an op is not smooth
(a grid of distinct values for max/min/maximum/clip, sort, topk, the max-norm and std; |x| >= 0.1
for abs/relu-like ops; integers and halves for the rounding family, whose gradient is 0; +-3 for
hardswish, 0 and 6 for relu6) and positive where an op needs it (log, sqrt, pow bases). For
every row and device the test checks the forward values (float64), the gradient
(``tl.gradcheck`` in float64), the second derivatives (``tl.gradgradcheck``, ``test_op_twice``;
``Op.twice`` draws its inputs where the second derivative has a kink of its own: softsign and celu
at 0), and in float32 that the output and every gradient keep the
inputs' shape and dtype and agree with the float64 gradient (``helpers.check_op``, shared with
the ConvNet ops' rows in tests/test_nn_conv.py and tests/test_nn_pooling.py). PyTorch's keyword spellings (``dim=``,
``keepdim=``, ``min=``) get rows of their own. References for PyTorch-only ops are written from
PyTorch's documented definitions as loops over positions. The ops without a gradient (floor_divide,
the bitwise and logical ops) have a table of their own, ``GRAPH_FREE``: values, dtypes, no graph.

The checks at the end (docs/extending.md lists the places): every primitive Function of
``tinygrad_lite.ops`` has a row, every Tensor method named like a NumPy function is in the
NumPy-protocol table, every activation Function has an ``nn`` Module and an ``nn.functional``
form, and ops.py and the Tensor class keep their sections in one order.
"""
from __future__ import annotations

import ast
import inspect
import math
import re

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F
from helpers import REAL, Op, arr, check_op, check_op_twice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl
from tinygrad_lite import nn, ops

tensor = inspect.getmodule(tl.Tensor)  # the module tinygrad_lite/tensor.py (tl.tensor is PyTorch's factory)

# ---------------------------------------------------------------- value domains
POS = st.floats(0.2, 2)
AWAY0 = st.floats(0.1, 2) | st.floats(-2, -0.1)  # |x| >= 0.1: away from the kink at 0
DENOM = st.floats(0.5, 2) | st.floats(-2, -0.5)
SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
SHAPE1 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def away(*kinks, lo=-3.0, hi=3.0, gap=0.05):
    """Floats in [lo, hi] at least ``gap`` from every kink."""
    return st.floats(lo, hi).filter(lambda v: all(abs(v - k) > gap for k in kinks))


# remainder and fmod jump where the quotient is an integer: 1.6 (k + f) with f in [0.1, 0.4] or
# [0.6, 0.9] divided by +-1.6 or +-0.8 is at least 0.1 from one (f, 2f), both signs on both sides
DIVIDENDS = st.builds(lambda k, f: 1.6 * (k + f), st.integers(-2, 1), st.floats(0.1, 0.4) | st.floats(0.6, 0.9))
DIVISORS = st.sampled_from([0.8, 1.6, -0.8, -1.6])
# no integer (floor, ceil, trunc jump there) and no half (round jumps there) within 0.05
NO_JUMPS = st.floats(-3, 3).filter(lambda v: abs(v - round(v)) > 0.05
                                   and abs(abs(v - math.floor(v)) - 0.5) > 0.05)


# ---------------------------------------------------------------- hard cases, mixed in
# Random shapes rarely combine a broadcast leading axis with an inner size-1 axis, a
# 3-D cyclic permutation or a size-0 axis: each strategy below draws from a fixed list
# of such cases about half the time (the first entry is Hypothesis' first example).
HARD_PAIRS = [  # leading + inner size-1 broadcasting, both ways round; batch size 1; size 0
    ((3, 1, 2), (4, 3, 2, 2)),
    ((4, 3, 2, 2), (3, 1, 2)),
    ((1, 3, 1), (2, 1, 1, 4)),
    ((2, 1, 3), (1, 4, 1)),
    ((1, 2), (3, 1, 1)),
    ((1,), (1, 3)),
    ((2, 0, 1), (1, 3)),
    ((0, 1), (2, 1, 3)),
]
HARD_SHAPES = [(1, 3), (2, 0, 3), (0,), (1, 1, 2), (3, 1, 2)]  # batch size 1, size 0, inner 1
PERMS3 = [(1, 2, 0), (2, 0, 1), (0, 2, 1), (2, 1, 0), (1, 0, 2), (0, 1, 2)]  # cyclic first


def pairs(general):
    return st.one_of(st.sampled_from(HARD_PAIRS), general.map(lambda s: s.input_shapes))


def shapes(general, hard=HARD_SHAPES):
    return st.one_of(st.sampled_from(hard), general)


def signed(shape):
    """Values of alternating sign (negative first), none near 0: -1.5, 0.5, -1.3, 0.7, ..."""
    k = np.arange(int(np.prod(shape)), dtype=np.float64)
    return (np.where(k % 2 == 0, -1.5 + (k % 7) / 10, 0.5 + (k % 5) / 10)).reshape(shape)


def distinct(draw, shape, offset=0.0):
    """Values on the grid k/10 + offset, all different: no ties within 0.1 of each other."""
    size = int(np.prod(shape))
    ks = draw(st.permutations(range(-30, 31)))[:size]
    return np.array(ks, dtype=np.float64).reshape(shape) / 10 + offset


def axis_arg(draw, ndim, none=True, tuples=True):
    options = ([st.none()] if none else []) + ([hnp.valid_tuple_axes(ndim)] if tuples else [])
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return draw(st.one_of(options))


# ---------------------------------------------------------------- input strategies
# Each returns (list of float64 arrays that become tensors, dict of keyword parameters).
@st.composite
def unary(draw, elements=REAL, shape=shapes(SHAPE), **params):  # noqa: B008 (a strategy, built once)
    return [arr(draw, draw(shape), elements)], {k: draw(v) for k, v in params.items()}


@st.composite
def binary(draw, ex=REAL, ey=REAL):
    sx, sy = draw(pairs(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)))
    return [arr(draw, sx, ex), arr(draw, sy, ey)], {}


@st.composite
def with_scalar(draw, ex=REAL, ec=REAL, host_array=False):
    """One tensor and a Python float ``c`` (or a host NumPy array of a broadcast shape)."""
    sx, sc = draw(pairs(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)))
    c = arr(draw, sc, ec) if host_array else draw(ec)
    return [arr(draw, sx, ex)], {"c": c}


@st.composite
def division_case(draw, scalar=None):
    """A broadcast pair (dividend, divisor) from DIVIDENDS and DIVISORS, or one of them a Python
    float ``c`` (``scalar`` "divisor" or "dividend"): no quotient near an integer."""
    sx, sy = draw(pairs(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)))
    if scalar == "divisor":
        return [arr(draw, sx, DIVIDENDS)], {"c": draw(DIVISORS)}
    if scalar == "dividend":
        return [arr(draw, sy, DIVISORS)], {"c": draw(DIVIDENDS)}
    return [arr(draw, sx, DIVIDENDS), arr(draw, sy, DIVISORS)], {}


@st.composite
def no_ties(draw, n=2, offset=0.05):
    """Broadcast pair with x on the grid k/10 and y on k/10 + offset: never equal."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=3)).input_shapes
    return [distinct(draw, s, offset * i) for i, s in enumerate(shapes)], {}


@st.composite
def reduction(draw, elements=REAL, ties=False, empty=False):
    # size-0 axes only where the reduction is defined on them (sum: empty=True); max has no ties
    hard = HARD_SHAPES if empty else [(1, 3), (1, 1, 2), (3, 1, 2)]
    shape = draw(SHAPE if ties else shapes(SHAPE, hard))
    x = distinct(draw, shape) if ties else arr(draw, shape, elements)
    return [x], {"axis": axis_arg(draw, len(shape)), "keepdims": draw(st.booleans())}


@st.composite
def along_axis(draw):
    shape = draw(SHAPE1)
    return [arr(draw, shape)], {"axis": axis_arg(draw, len(shape), none=False, tuples=False)}


@st.composite
def matmul_case(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3))
    return [arr(draw, s) for s in shapes.input_shapes], {}


@st.composite
def clip_case(draw):
    x = distinct(draw, draw(SHAPE), offset=0.05)
    lo, hi = sorted(draw(st.integers(-15, 15)) / 10 for _ in range(2))
    return [x], {"lo": draw(st.sampled_from([lo, None])), "hi": draw(st.sampled_from([hi, None]))}


@st.composite
def where_case(draw, scalar_y=False):
    sc, sx, sy = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3)).input_shapes
    cond = draw(hnp.arrays(np.bool_, sc))
    xs = [arr(draw, sx)] + ([] if scalar_y else [arr(draw, sy)])
    return xs, {"cond": cond}


@st.composite
def reshape_case(draw):
    shape = draw(shapes(SHAPE))
    size = int(np.prod(shape))
    target = draw(st.sampled_from([(size,), (-1,), shape[::-1], (1,) + shape, (size, 1), (1, -1)]))
    return [arr(draw, shape)], {"shape": target}


@st.composite
def permute_case(draw):
    if draw(st.booleans()):  # every permutation of 3 axes, on distinct sides
        return [arr(draw, (2, 3, 4))], {"axes": draw(st.sampled_from(PERMS3))}
    shape = draw(SHAPE)
    return [arr(draw, shape)], {"axes": tuple(draw(st.permutations(range(len(shape)))))}


@st.composite
def all_perms3(draw):
    """One (2, 3, 4) input, mixed-sign (fixed) or drawn: the row applies all 6 permutations."""
    return [signed((2, 3, 4)) if draw(st.booleans()) else arr(draw, (2, 3, 4))], {}


def _perms(x, transpose):
    return [transpose(x, p).reshape(-1) for p in PERMS3]


@st.composite
def all_pairs(draw):
    """Every pair of HARD_PAIRS in one example, values mixed-sign (fixed) or drawn."""
    fixed = draw(st.booleans())
    return [signed(s) if fixed else arr(draw, s) for pair in HARD_PAIRS for s in pair], {}


BINOPS = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y]


def _pairs(xs):
    return [BINOPS[i % 3](xs[2 * i], xs[2 * i + 1]).reshape(-1) for i in range(len(xs) // 2)]


@st.composite
def expand_case(draw):
    """A shape that broadcasts to ``target``: a suffix of it with some sides set to 1."""
    target = draw(SHAPE)
    suffix = target[draw(st.integers(0, len(target))):]
    shape = tuple(draw(st.sampled_from([1, n])) for n in suffix)
    return [arr(draw, shape)], {"shape": target}


@st.composite
def squeeze_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2))
    ones = [i for i, n in enumerate(shape) if n == 1]
    axis = draw(st.none() | st.lists(st.sampled_from(ones), unique=True).map(tuple)) if ones else None
    if axis and len(axis) == 1 and draw(st.booleans()):
        axis = axis[0] - len(shape)  # a single negative int
    return [arr(draw, shape)], {"axis": axis}


@st.composite
def squeeze_any_case(draw):
    """PyTorch's squeeze(dim): dims of any size (those not of size 1 stay), an int or a tuple."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=2))
    dims = draw(hnp.valid_tuple_axes(len(shape), min_size=1))
    return [arr(draw, shape)], {"dims": dims[0] if len(dims) == 1 and draw(st.booleans()) else dims}


@st.composite
def unsqueeze_case(draw):
    shape = draw(SHAPE)
    return [arr(draw, shape)], {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def flatten_case(draw):
    shape = draw(SHAPE1)
    return [arr(draw, shape)], {"start_axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def unflatten_case(draw):
    """An axis of size 1 to 12 and sizes multiplying up to it, one of them -1 at times."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shape = list(draw(SHAPE))
    axis = draw(st.integers(0, len(shape)))
    shape.insert(axis, math.prod(sizes))
    if draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    axis -= draw(st.sampled_from([0, len(shape)]))  # negative axes too
    return [arr(draw, tuple(shape))], {"axis": axis, "sizes": tuple(sizes)}


def _unflatten_ref(x, axis, sizes):
    """PyTorch's documented unflatten: the shape with axis replaced by sizes, a -1 inferred."""
    axis %= x.ndim
    known = math.prod(m for m in sizes if m != -1)
    sizes = tuple(x.shape[axis] // known if m == -1 else m for m in sizes)
    return x.reshape(x.shape[:axis] + sizes + x.shape[axis + 1:])


@st.composite
def scalar_dim_case(draw):
    """A 0-d tensor and dim 0 or -1, both of which PyTorch takes for softmax and log_softmax."""
    return [arr(draw, ())], {"axis": draw(st.sampled_from([0, -1]))}


@st.composite
def dot_case(draw):
    n = draw(st.integers(1, 4))
    return [arr(draw, (n,)), arr(draw, (n,))], {}


def _dot_ref(x, y):
    return np.asarray(sum(a * b for a, b in zip(x, y)))  # PyTorch's definition: the sum of products


@st.composite
def concat_case(draw):
    shape = list(draw(SHAPE1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        shape[axis] = draw(st.integers(1, 3))
        xs.append(arr(draw, tuple(shape)))
    return xs, {"axis": axis}


@st.composite
def stack_case(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    xs = [arr(draw, shape) for _ in range(draw(st.integers(1, 3)))]
    return xs, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def basic_index(draw):
    shape = draw(SHAPE)
    idx = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    return [arr(draw, shape)], {"idx": idx}


@st.composite
def int_array_index(draw):
    shape = draw(SHAPE1)
    result = hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)
    return [arr(draw, shape)], {"idx": draw(hnp.integer_array_indices(shape, result_shape=result))}


@st.composite
def mixed_index(draw):
    """A list of repeated row indices on axis 0 combined with ``...``, ``None`` or a slice."""
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))
    n = min(shape[:2])  # the rows index axis 0 or axis 1
    rows = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
    return [arr(draw, shape)], {"rows": rows, "form": draw(st.sampled_from(range(3)))}


MIXED = [lambda r: (r, Ellipsis, None), lambda r: (slice(None, None, -1), r), lambda r: (None, r, slice(1, None))]


def mixed_index_tl(x, rows, form):
    index = tl.Tensor(rows, device=x.device)  # an int64 index tensor on the device
    return x[tuple(index if i is rows else i for i in MIXED[form](rows))]


@st.composite
def mask_index(draw):
    shape = draw(SHAPE1)
    return [arr(draw, shape)], {"mask": draw(hnp.arrays(np.bool_, shape))}


@st.composite
def along(draw, shape=SHAPE1, distinct_values=False, **params):
    """One tensor and an int axis (plus ``params``)."""
    s = draw(shape)
    x = distinct(draw, s) if distinct_values else arr(draw, s)
    return [x], {"axis": draw(st.integers(-len(s), len(s) - 1)), **{k: draw(v) for k, v in params.items()}}


@st.composite
def pair(draw, ex=REAL, ey=REAL):
    sx, sy = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    return [arr(draw, sx, ex), arr(draw, sy, ey)], {}


@st.composite
def cumsum_case(draw):
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"axis": draw(st.none() | st.integers(-len(s), len(s) - 1)) if s else None}


@st.composite
def std_case(draw):
    s = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))  # >= 2 values reduced
    axis = draw(st.none() | st.integers(-len(s), len(s) - 1) | hnp.valid_tuple_axes(len(s), min_size=1))
    ddof = draw(st.sampled_from([0, 1]))
    return [distinct(draw, s)], {"axis": axis, "keepdims": draw(st.booleans()), "ddof": ddof}


@st.composite
def var_case(draw, unbiased=False):
    """std_case without ``ddof`` (the default correction, 1), or with ``unbiased`` (a bool) instead."""
    xs, p = draw(std_case())
    ddof = p.pop("ddof")
    return xs, {**p, "unbiased": bool(ddof)} if unbiased else p


@st.composite
def distinct_case(draw):
    """One tensor of values on the grid k/10, all different (no ties for max and min)."""
    return [distinct(draw, draw(SHAPE))], {}


@st.composite
def distinct_magnitudes(draw):
    """Values with all |x| different and >= 0.05: the max-norm has no ties and abs no kink."""
    s = draw(SHAPE1)
    mags = np.array(draw(st.permutations(range(30)))[:int(np.prod(s))]).reshape(s) / 10 + 0.05
    x = mags * draw(hnp.arrays(np.int64, s, elements=st.sampled_from([-1, 1])))
    return [x], {"axis": axis_arg(draw, len(s)), "keepdims": draw(st.booleans())}


@st.composite
def flip_case(draw):
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"axis": axis_arg(draw, len(s))}


@st.composite
def pad_case(draw):
    s = draw(shapes(SHAPE1, [(1, 3), (2, 0, 3), (0,)]))
    w = st.integers(0, 2)
    form = draw(st.sampled_from(["int", "pair", "per_axis", "dict"]))
    if form == "int":
        width = draw(w)
        pad_width, widths = width, [(width, width)] * len(s)
    elif form == "pair":
        pad_width = (draw(w), draw(w))
        widths = [pad_width] * len(s)
    elif form == "per_axis":
        pad_width = widths = [(draw(w), draw(w)) for _ in s]
    else:
        axes = draw(st.sets(st.integers(0, len(s) - 1)))
        pad_width = {a - len(s) if draw(st.booleans()) else a: (draw(w), draw(w)) for a in axes}
        widths = [(0, 0)] * len(s)
        for a, pair in pad_width.items():
            widths[a % len(s)] = pair
    return [arr(draw, s)], {"pad_width": pad_width, "widths": widths,
                            "value": draw(st.sampled_from([0, 0.5, -1.5]))}


@st.composite
def flatten_range_case(draw):
    s = draw(SHAPE1)
    start, end = sorted(draw(st.integers(0, len(s) - 1)) for _ in range(2))
    neg = draw(st.booleans())
    return [arr(draw, s)], {"start": start - len(s) if neg else start, "end": end - len(s) if neg else end}


@st.composite
def expand_minus_one(draw):
    """A target with -1 for some of the tensor's own sides, and new leading axes."""
    s = draw(SHAPE)
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    target = lead + tuple(draw(st.sampled_from([-1, n] if n > 1 else [-1, 1, 3])) for n in s)
    resolved = lead + tuple(n if t == -1 else t for n, t in zip(s, target[len(lead):]))
    return [arr(draw, s)], {"shape": target, "resolved": resolved}


@st.composite
def two_axes(draw):
    s = draw(SHAPE1)
    axes = st.integers(-len(s), len(s) - 1)
    return [arr(draw, s)], {"a": draw(axes), "b": draw(axes)}


@st.composite
def triangle_case(draw):
    s = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))
    return [arr(draw, s)], {"k": draw(st.integers(-3, 3))}


@st.composite
def split_case(draw, kind):
    (x,), p = draw(along())
    n = x.shape[p["axis"]]
    if kind == "size":
        p["size"] = draw(st.integers(1, 4))
        p["sizes"] = sizes_of(n, p["size"])
    elif kind == "sections":
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        p["sizes"] = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    else:
        p["chunks"] = draw(st.integers(1, 4))
        p["sizes"] = sizes_of(n, -(-n // p["chunks"]))
    return [x], p


@st.composite
def narrow_case(draw):
    (x,), p = draw(along())
    n = x.shape[p["axis"]]
    p["start"] = draw(st.integers(-n, n - 1))
    p["length"] = draw(st.integers(0, n - p["start"] % n))
    return [x], p


@st.composite
def repeat_case(draw, counts=False):
    s = draw(shapes(SHAPE1, [(1, 3), (2, 0, 3)]))
    axis = draw(st.none() | st.integers(-len(s), len(s) - 1))
    n = int(np.prod(s)) if axis is None else s[axis]
    r = [draw(st.integers(0, 3)) for _ in range(n)] if counts and n > 1 else draw(st.integers(0, 3))
    return [arr(draw, s)], {"repeats": r, "axis": axis}


@st.composite
def repeat_sizes_case(draw):
    """PyTorch's repeat: one size per dim, or more (new leading dims); 0 included."""
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"sizes": tuple(draw(st.lists(st.integers(0, 2), min_size=len(s), max_size=len(s) + 2)))}


@st.composite
def tile_case(draw):
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"reps": tuple(draw(st.lists(st.integers(0, 2), max_size=4)))}


@st.composite
def take_case(draw):
    """x and indices that broadcast against each other outside ``axis``, repeats and negatives included."""
    base = draw(SHAPE1)
    axis = draw(st.integers(0, len(base) - 1))
    xs = tuple(n if a == axis else draw(st.sampled_from([n, 1])) for a, n in enumerate(base))
    ishape = tuple(draw(st.integers(1, 4)) if a == axis else draw(st.sampled_from([n, 1]))
                   for a, n in enumerate(base))
    n = xs[axis]
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(-n, n - 1)))
    return [arr(draw, xs)], {"indices": index, "axis": axis - len(base) if draw(st.booleans()) else axis}


def _index_shape(draw, shape, axis):
    """1 to 4 along ``axis``, no larger than ``shape`` elsewhere (PyTorch's gather and scatter_add)."""
    return tuple(draw(st.integers(1, 4)) if a == axis else draw(st.integers(1, n))
                 for a, n in enumerate(shape))


@st.composite
def gather_case(draw):
    """PyTorch's rules: index as many axes, no side larger than x's outside ``axis``, values in [0, n)."""
    xs = draw(SHAPE1)
    axis = draw(st.integers(0, len(xs) - 1))
    ishape = _index_shape(draw, xs, axis)
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, xs[axis] - 1)))
    return [arr(draw, xs)], {"axis": axis, "index": index}


@st.composite
def scatter_case(draw):
    xs = draw(SHAPE1)
    axis = draw(st.integers(0, len(xs) - 1))
    ishape = _index_shape(draw, xs, axis)
    sshape = tuple(m + draw(st.integers(0, 1)) for m in ishape)  # src may be larger than index
    index = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, xs[axis] - 1)))
    return [arr(draw, xs), arr(draw, sshape)], {"axis": axis, "index": index}


@st.composite
def topk_case(draw):
    (x,), p = draw(along(distinct_values=True, largest=st.booleans()))
    p["k"] = draw(st.integers(0, x.shape[p["axis"]]))
    return [x], p


@st.composite
def roll_case(draw, dims=False):
    """Shifts (negative and beyond the size included) with no dims (any shape, 0-d too), or a tuple
    of dims (an axis may come twice) with a shift each."""
    s = draw(shapes(SHAPE1 if dims else SHAPE))
    shift = st.integers(-4, 4)
    if not dims:
        return [arr(draw, s)], {"shifts": draw(shift)}
    axes = tuple(draw(st.lists(st.integers(-len(s), len(s) - 1), min_size=1, max_size=3)))
    return [arr(draw, s)], {"shifts": tuple(draw(shift) for _ in axes), "dims": axes}


@st.composite
def index_select_case(draw):
    """PyTorch's index_select: a 1-D index (repeats included) or a 0-d one, values in [0, n)."""
    s = draw(SHAPE1)
    axis = draw(st.integers(-len(s), len(s) - 1))
    n = s[axis]
    index = draw(hnp.arrays(np.int64, draw(st.sampled_from([(), (1,), (3,), (5,)])), elements=st.integers(0, n - 1)))
    return [arr(draw, s)], {"axis": axis, "index": index}


@st.composite
def masked_fill_case(draw, tensor_value=False):
    """A bool mask that broadcasts against x (either may be the larger), and a value: a number, or
    a 0-d tensor that is an input of its own."""
    sx, sm = draw(pairs(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)))
    mask = draw(hnp.arrays(np.bool_, sm))
    if tensor_value:
        return [arr(draw, sx), arr(draw, ())], {"mask": mask}
    return [arr(draw, sx)], {"mask": mask, "value": draw(st.sampled_from([0.0, -1.5, 2.25]))}


@st.composite
def mm_case(draw, batched=False):
    n, m, p = (draw(st.integers(1, 3)) for _ in range(3))
    b = (draw(st.integers(1, 3)),) if batched else ()
    return [arr(draw, b + (n, m)), arr(draw, b + (m, p))], {}


# (equation, operand shapes, the same with letters for NumPy's einsum where it differs: NumPy refuses
# '...' left out of an explicit output, which PyTorch sums over, and size-1 '...' axes to broadcast)
EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)], None),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 4, 2)], None),  # attention scores
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)], None),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)], None),
    ("bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)], None),  # bilinear
    ("i,j->ij", [(3,), (2,)], None),
    ("i,i", [(3,), (3,)], None),  # implicit: a dot product
    ("ji", [(2, 3)], None),  # implicit: alphabetical order, a transpose
    ("ij->", [(2, 3)], None),
    ("ij->j", [(2, 3)], None),
    ("ii", [(3, 3)], None),  # the trace
    ("ii->i", [(3, 3)], None),  # the diagonal
    ("iij,j->i", [(2, 2, 3), (3,)], None),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)], None),  # broadcast batch axes
    ("b...,b...->b", [(2, 1, 3), (2, 4, 3)], "bij,bij->b"),  # a size-1 axis broadcast
    ("...i->i", [(2, 3, 4)], "abi->i"),
    ("Ab,bA->A", [(2, 3), (3, 2)], None),  # upper-case letters
]


@st.composite
def einsum_case(draw):
    eq, shapes_, ref_eq = draw(st.sampled_from(EINSUMS))
    return [arr(draw, s) for s in shapes_], {"eq": eq, "ref_eq": ref_eq or eq}


# ---------------------------------------------------------------- references
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _flatten(x, start_axis):
    start = start_axis % x.ndim
    return x.reshape(x.shape[:start] + (int(np.prod(x.shape[start:])),))


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[float])(x)


def gelu_ref(x):
    return x * 0.5 * _erfc(-x / math.sqrt(2))


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def gather_ref(x, axis, index):
    """PyTorch's gather: out[p] = x[p with p[axis] replaced by index[p]]."""
    out = np.empty(index.shape)
    for p in np.ndindex(index.shape):
        src = list(p)
        src[axis] = index[p]
        out[p] = x[tuple(src)]
    return out


def scatter_add_ref(x, src, axis, index):
    """PyTorch's scatter_add: out[p with p[axis] replaced by index[p]] += src[p]."""
    out = x.copy()
    for p in np.ndindex(index.shape):
        dst = list(p)
        dst[axis] = index[p]
        out[tuple(dst)] += src[p]
    return out


def pieces_ref(x, axis, sizes):
    """The pieces of the given sizes along ``axis``, piece i times i + 1, flattened and joined."""
    starts = np.cumsum([0] + sizes)
    return np.concatenate([np.take(x, range(s, s + k), axis).reshape(-1) * (i + 1)
                           for i, (s, k) in enumerate(zip(starts, sizes))])


def pieces_tl(parts):
    return tl.concatenate([p.reshape(-1) * (i + 1) for i, p in enumerate(parts)], 0)


def sizes_of(n, size):
    """Pieces of ``size`` with a shorter last one, as PyTorch's split documents."""
    return [min(size, n - s) for s in range(0, n, size)] or [0]


def _flatten_ref(x, start, end):
    s, e = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def _sorted_ref(x, axis, descending):
    out = np.sort(x, axis=axis)
    return np.flip(out, axis) if descending else out


def _topk_ref(x, axis, largest, k):
    return np.take(_sorted_ref(x, axis, largest), range(k), axis)


# PyTorch's meanings of the names NumPy uses otherwise, from PyTorch's documentation
def _var_ref(x, axis=None, keepdims=False, ddof=1, unbiased=None):
    """torch.var: sum((x - mean)^2) / (N - correction), N the number of elements reduced; correction
    1 by default, ``unbiased`` True for 1 and False for 0."""
    correction = ddof if unbiased is None else int(unbiased)
    axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    d = x - x.mean(axis=axes, keepdims=True)
    return (d * d).sum(axis=axes, keepdims=keepdims) / (math.prod(x.shape[a] for a in axes) - correction)


def _max_dim_ref(x, axis, keepdims, largest=True):
    """torch.max(x, dim, keepdim) (torch.min with ``largest=False``) as values + indices: each row's
    largest value and its position along ``dim``, found by a loop over the rows."""
    moved = np.moveaxis(x, axis, -1)
    values, indices = np.empty(moved.shape[:-1]), np.empty(moved.shape[:-1])
    for p in np.ndindex(moved.shape[:-1]):
        row = list(moved[p])
        best = max(row) if largest else min(row)
        values[p], indices[p] = best, row.index(best)  # the first one, as PyTorch's on ties
    out = values + indices
    return np.expand_dims(out, axis) if keepdims else out


def _tiled_ref(x, sizes):
    """torch.Tensor.repeat: x viewed with leading dims of 1 up to len(sizes) dims, then
    out[i_0, ..., i_k] = x[i_0 mod n_0, ..., i_k mod n_k] over (sizes[j] n_j) positions per dim."""
    x = x.reshape((1,) * (len(sizes) - x.ndim) + x.shape)
    return x[np.ix_(*[np.arange(r * n) % n for r, n in zip(sizes, x.shape)])] if sizes else x


def _squeeze_ref(x, dims):
    """torch.squeeze(x, dims): the listed dims of size 1 removed, the others left."""
    dims = {d % x.ndim for d in ((dims,) if isinstance(dims, int) else dims)}
    return x.reshape(tuple(n for d, n in enumerate(x.shape) if not (d in dims and n == 1)))


def _remainder_ref(x, y):
    """torch.remainder: x - x.div(y, rounding_mode="floor") y, with the sign of the divisor."""
    return x - np.floor(x / y) * y


def _fmod_ref(x, y):
    """torch.fmod (C's fmod): x - trunc(x / y) y, with the sign of the dividend."""
    return x - np.trunc(x / y) * y


def _values_and_indices(result):
    """max(dim)'s (values, indices) as one tensor that the table can check: values + indices."""
    return result.values + result.indices


# ---------------------------------------------------------------- the table, in the sections of tinygrad_lite/ops.py
OPS = [
    # arithmetic
    Op("add", lambda x, y: x + y, np.add, binary()),
    Op("sub", lambda x, y: x - y, np.subtract, binary()),
    Op("mul", lambda x, y: x * y, np.multiply, binary()),
    Op("div", lambda x, y: x / y, np.divide, binary(REAL, DENOM)),
    Op("pow", lambda x, y: x**y, np.power, binary(POS, REAL)),
    Op("add_scalar", lambda x, c: x + c, lambda x, c: x + c, with_scalar()),
    Op("radd_scalar", lambda x, c: c + x, lambda x, c: c + x, with_scalar()),
    Op("sub_scalar", lambda x, c: x - c, lambda x, c: x - c, with_scalar()),
    Op("rsub_scalar", lambda x, c: c - x, lambda x, c: c - x, with_scalar()),
    Op("mul_scalar", lambda x, c: x * c, lambda x, c: x * c, with_scalar()),
    Op("rmul_scalar", lambda x, c: c * x, lambda x, c: c * x, with_scalar()),
    Op("mul_np_float64", lambda x, c: np.float64(c) * x * np.float64(c), lambda x, c: c * x * c, with_scalar()),
    Op("div_scalar", lambda x, c: x / c, lambda x, c: x / c, with_scalar(REAL, DENOM)),
    Op("rdiv_scalar", lambda x, c: c / x, lambda x, c: c / x, with_scalar(DENOM, REAL)),
    Op("pow_scalar", lambda x, c: x**c, lambda x, c: np.power(x, c), with_scalar(POS, REAL)),
    Op("pow_int", lambda x, c: x**c, lambda x, c: np.power(x, c), unary(c=st.sampled_from([2, 3]))),
    # integer-valued float exponents (x ** 3.0 of tanh-GELU) take the multiplication path; negative bases
    Op("pow_int_float", lambda x, c: x**c, lambda x, c: np.power(x, c),
       unary(c=st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, np.float32(3.0)]))),
    Op("pow_neg_int_float", lambda x, c: x**c, lambda x, c: np.power(x, c),
       unary(DENOM, c=st.sampled_from([-1.0, -2.0, -3.0, -4.0]))),
    Op("rpow_scalar", lambda x, c: c**x, lambda x, c: np.power(c, x), with_scalar(REAL, POS)),
    # host arrays keep their dtype (float64 here), as NumPy and PyTorch promote; gradients do not
    Op("rsub_host_array", lambda x, c: c - x, lambda x, c: c - x, with_scalar(host_array=True), casts=True),
    Op("radd_host_array", lambda x, c: c + x, lambda x, c: c + x, with_scalar(host_array=True), casts=True),
    Op("neg", lambda x: -x, np.negative, unary()),
    Op("neg_method", lambda x: x.neg(), lambda x: -x, unary()),
    Op("negative_method", lambda x: x.negative(), lambda x: -x, unary()),
    Op("broadcast_pairs", lambda *xs: tl.concatenate(_pairs(xs), 0),
       lambda *xs: np.concatenate(_pairs(xs), 0), all_pairs()),
    Op("add_alpha", lambda x, y: x.add(y, alpha=-2.5), lambda x, y: x - 2.5 * y, pair()),
    Op("sub_alpha", lambda x, y: x.sub(y, alpha=0.5), lambda x, y: x - 0.5 * y, pair()),
    Op("mul_method", lambda x, y: x.mul(y), np.multiply, pair()),
    Op("div_method", lambda x, y: x.div(y), np.divide, pair(REAL, DENOM)),
    Op("pow_method", lambda x, y: x.pow(y), np.power, pair(POS, REAL)),
    Op("remainder", lambda x, y: x % y, _remainder_ref, division_case()),
    Op("remainder_method", lambda x, y: x.remainder(y), _remainder_ref, division_case()),
    Op("mod_scalar", lambda x, c: x % c, lambda x, c: _remainder_ref(x, c), division_case("divisor")),
    Op("rmod_scalar", lambda x, c: c % x, lambda x, c: _remainder_ref(c, x), division_case("dividend")),
    Op("np_mod", lambda x, y: np.mod(x, y), _remainder_ref, division_case()),
    Op("fmod", lambda x, y: x.fmod(y), _fmod_ref, division_case()),
    Op("fmod_scalar", lambda x, c: x.fmod(c), lambda x, c: _fmod_ref(x, c), division_case("divisor")),
    Op("np_fmod", lambda x, y: np.fmod(x, y), _fmod_ref, division_case()),
    # elementwise math
    Op("exp", lambda x: x.exp(), np.exp, unary()),
    Op("log", lambda x: x.log(), np.log, unary(POS)),
    Op("sqrt", lambda x: x.sqrt(), np.sqrt, unary(POS)),
    Op("abs", lambda x: x.abs(), np.abs, unary(AWAY0)),
    Op("abs_builtin", abs, np.abs, unary(AWAY0)),
    Op("sin", lambda x: x.sin(), np.sin, unary()),
    Op("cos", lambda x: x.cos(), np.cos, unary()),
    Op("tan", lambda x: x.tan(), np.tan, unary(st.floats(-1.2, 1.2))),
    Op("log1p", lambda x: x.log1p(), np.log1p, unary(st.floats(-0.8, 2))),
    Op("expm1", lambda x: x.expm1(), np.expm1, unary()),
    # the hyperbolic family against PyTorch's documented formulas; acosh from 1.2, atanh within +-0.8
    Op("sinh", lambda x: x.sinh(), lambda x: (np.exp(x) - np.exp(-x)) / 2, unary()),
    Op("cosh", lambda x: x.cosh(), lambda x: (np.exp(x) + np.exp(-x)) / 2, unary()),
    Op("asinh", lambda x: x.asinh(), lambda x: np.sign(x) * np.log(np.abs(x) + np.sqrt(x * x + 1)), unary()),
    Op("acosh", lambda x: x.acosh(), lambda x: np.log(x + np.sqrt(x * x - 1)), unary(st.floats(1.2, 3))),
    Op("atanh", lambda x: x.atanh(), lambda x: 0.5 * np.log((1 + x) / (1 - x)), unary(st.floats(-0.8, 0.8))),
    Op("np_sinh", np.sinh, lambda x: (np.exp(x) - np.exp(-x)) / 2, unary()),
    Op("np_arctanh", np.arctanh, lambda x: 0.5 * np.log((1 + x) / (1 - x)), unary(st.floats(-0.8, 0.8))),
    Op("log2", lambda x: x.log2(), np.log2, unary(POS)),
    Op("exp2", lambda x: x.exp2(), np.exp2, unary()),
    Op("rsqrt", lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), unary(POS)),
    Op("square", lambda x: x.square(), np.square, unary()),
    Op("maximum", lambda x, y: x.maximum(y), np.maximum, no_ties()),
    Op("minimum", lambda x, y: x.minimum(y), np.minimum, no_ties()),
    Op("tl_maximum", tl.maximum, np.maximum, no_ties()),
    Op("tl_minimum", tl.minimum, np.minimum, no_ties()),
    Op("maximum_scalar", lambda x: tl.maximum(0.05, x), lambda x: np.maximum(0.05, x), no_ties(1)),
    Op("clip", lambda x, lo, hi: x.clip(lo, hi), lambda x, lo, hi: np.clip(x, lo, hi), clip_case()),
    Op("clamp", lambda x, lo, hi: x.clamp(min=lo, max=hi), lambda x, lo, hi: np.clip(x, lo, hi), clip_case()),
    Op("clip_min_max", lambda x, lo, hi: x.clip(min=lo, max=hi), lambda x, lo, hi: np.clip(x, lo, hi),
       clip_case()),
    Op("where", lambda x, y, cond: tl.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y),
       where_case()),
    Op("where_scalar", lambda x, cond: tl.where(tl.Tensor(cond, device=x.device), x, 0.5),
       lambda x, cond: np.where(cond, x, 0.5), where_case(scalar_y=True)),
    # the rounding family: gradient 0 (gradcheck sees flat steps between the jumps)
    Op("floor", lambda x: x.floor(), np.floor, unary(NO_JUMPS)),
    Op("ceil", lambda x: x.ceil(), np.ceil, unary(NO_JUMPS)),
    Op("trunc", lambda x: x.trunc(), np.trunc, unary(NO_JUMPS)),
    Op("round", lambda x: x.round(), np.round, unary(NO_JUMPS)),
    Op("sign", lambda x: x.sign(), np.sign, unary(AWAY0)),
    # activations
    Op("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), unary(st.floats(-6, 6))),
    Op("tanh", lambda x: x.tanh(), np.tanh, unary()),
    Op("arctan", lambda x: x.arctan(), np.arctan, unary()),
    Op("relu", lambda x: x.relu(), lambda x: np.where(x > 0, x, 0.0), unary(AWAY0)),
    Op("leaky_relu", lambda x, s: x.leaky_relu(s), lambda x, s: np.where(x > 0, x, s * x),
       unary(AWAY0, s=st.sampled_from([0.01, 0.2]))),
    Op("elu", lambda x, a: x.elu(a), lambda x, a: np.where(x > 0, x, a * (np.exp(x) - 1)),
       unary(AWAY0, a=st.sampled_from([1.0, 0.5]))),
    Op("binary_step", lambda x: x.binary_step(), lambda x: np.where(x >= 0, 1.0, 0.0), unary(AWAY0)),
    Op("softplus", lambda x, beta: x.softplus(beta), lambda x, beta: np.logaddexp(0, beta * x) / beta,
       unary(beta=st.sampled_from([1.0, 0.5, 3.0]))),
    Op("softplus_threshold", lambda x: x.softplus(threshold=1.0),
       lambda x: np.where(x > 1, x, np.logaddexp(0, x)), unary(away(1.0, lo=-2, hi=2))),
    Op("gelu", lambda x: x.gelu(), gelu_ref, unary(st.floats(-6, 6))),
    Op("gelu_tanh", lambda x: x.gelu(approximate="tanh"), gelu_tanh_ref, unary(st.floats(-6, 6))),
    Op("silu", lambda x: x.silu(), lambda x: x / (1 + np.exp(-x)), unary(st.floats(-6, 6))),
    Op("swish", lambda x: x.swish(), lambda x: x / (1 + np.exp(-x)), unary()),
    Op("mish", lambda x: x.mish(), lambda x: x * np.tanh(np.logaddexp(0, x)), unary(st.floats(-6, 6))),
    Op("hardtanh", lambda x, b: x.hardtanh(*b), lambda x, b: np.clip(x, *b),
       unary(away(-1, 1, -0.5, 1.5), b=st.sampled_from([(-1.0, 1.0), (-0.5, 1.5)]))),
    Op("relu6", lambda x: x.relu6(), lambda x: np.minimum(np.maximum(x, 0), 6),
       unary(away(0, 6, lo=-8, hi=8))),
    Op("softsign", lambda x: x.softsign(), lambda x: x / (1 + np.abs(x)), unary(), twice=unary(AWAY0)),
    Op("celu", lambda x, a: x.celu(a), lambda x, a: np.where(x > 0, x, a * np.expm1(x / a)),
       unary(a=st.sampled_from([1.0, 0.5, 2.0])), twice=unary(AWAY0, a=st.sampled_from([1.0, 0.5, 2.0]))),
    Op("selu", lambda x: x.selu(), lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
       unary(AWAY0)),
    Op("hardswish", lambda x: x.hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6,
       unary(away(-3, 3, lo=-5, hi=5))),
    Op("softmax", lambda x, axis: x.softmax(axis), _softmax, along_axis()),
    Op("softmax_dim", lambda x, axis: x.softmax(dim=axis),
       lambda x, axis: np.exp(x - np.log(np.sum(np.exp(x), axis, keepdims=True))), along()),
    Op("log_softmax", lambda x, axis: x.log_softmax(axis), lambda x, axis: np.log(_softmax(x, axis)),
       along_axis()),
    Op("log_softmax_dim", lambda x, axis: x.log_softmax(dim=axis),
       lambda x, axis: x - np.log(np.sum(np.exp(x), axis, keepdims=True)), along()),
    # PyTorch: softmax of a 0-d tensor is 1 (log_softmax 0), dim 0 or -1 alike
    Op("softmax_0d", lambda x, axis: x.softmax(dim=axis), lambda x, axis: np.ones_like(x), scalar_dim_case()),
    Op("log_softmax_0d", lambda x, axis: x.log_softmax(axis), lambda x, axis: np.zeros_like(x),
       scalar_dim_case()),
    # reductions
    Op("sum", lambda x, **k: x.sum(**k), lambda x, **k: np.sum(x, **k), reduction(empty=True)),
    Op("sum_dim_keepdim", lambda x, axis, keepdims: x.sum(dim=axis, keepdim=keepdims),
       lambda x, **k: np.sum(x, **k), reduction(empty=True)),
    Op("mean", lambda x, **k: x.mean(**k), lambda x, **k: np.mean(x, **k), reduction()),
    Op("mean_dim_keepdim", lambda x, axis, keepdims: x.mean(dim=axis, keepdim=keepdims),
       lambda x, **k: np.mean(x, **k), reduction()),
    Op("var_correction_0", lambda x, **k: x.var(correction=0, **k), lambda x, **k: np.var(x, **k), reduction()),
    Op("std_ddof", lambda x, **k: x.std(**k), lambda x, **k: np.std(x, **k), std_case()),
    Op("var", lambda x, **k: x.var(**k), _var_ref, var_case()),
    Op("std", lambda x, **k: x.std(**k), lambda x, **k: np.sqrt(_var_ref(x, **k)), var_case()),
    Op("var_unbiased", lambda x, axis, keepdims, unbiased: x.var(axis, unbiased, keepdims), _var_ref,
       var_case(unbiased=True)),
    Op("std_unbiased_dim_keepdim",
       lambda x, axis, keepdims, unbiased: x.std(dim=axis, unbiased=unbiased, keepdim=keepdims),
       lambda x, **k: np.sqrt(_var_ref(x, **k)), var_case(unbiased=True)),
    Op("var_correction", lambda x, axis, keepdims, ddof: x.var(dim=axis, keepdim=keepdims, correction=ddof),
       _var_ref, std_case()),
    Op("std_correction", lambda x, axis, keepdims, ddof: x.std(dim=axis, keepdim=keepdims, correction=ddof),
       lambda x, **k: np.std(x, **k), std_case()),
    Op("amax", lambda x, **k: x.amax(**k), lambda x, **k: np.max(x, **k), reduction(ties=True)),
    Op("amax_dim_keepdim", lambda x, axis, keepdims: x.amax(dim=axis, keepdim=keepdims),
       lambda x, **k: np.max(x, **k), reduction(ties=True)),
    Op("amin", lambda x, **k: x.amin(**k), lambda x, **k: np.min(x, **k), reduction(ties=True)),
    Op("max", lambda x: x.max(), np.max, distinct_case()),
    Op("min", lambda x: x.min(), np.min, distinct_case()),
    Op("max_dim", lambda x, axis, keepdims: _values_and_indices(x.max(axis, keepdims)), _max_dim_ref,
       along(distinct_values=True, keepdims=st.booleans())),
    Op("min_dim_keepdim", lambda x, axis, keepdims: _values_and_indices(x.min(dim=axis, keepdim=keepdims)),
       lambda x, axis, keepdims: _max_dim_ref(x, axis, keepdims, largest=False),
       along(distinct_values=True, keepdims=st.booleans())),
    Op("max_other", lambda x, y: x.max(y), np.maximum, no_ties()),
    Op("min_other", lambda x, y: x.min(y), np.minimum, no_ties()),
    Op("prod", lambda x, **k: x.prod(**k), lambda x, **k: np.prod(x, **k),
       reduction(elements=st.floats(-2, 2) | st.just(0.0))),  # zeros: the gradient is exact there,
    Op("logsumexp", lambda x, **k: x.logsumexp(**k),
       lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)), reduction()),
    Op("norm2", lambda x, **k: x.norm(**k), lambda x, **k: np.sqrt(np.sum(x * x, **k)),
       reduction(elements=AWAY0)),
    Op("norm1", lambda x, **k: x.norm(1, **k), lambda x, **k: np.sum(np.abs(x), **k),
       reduction(elements=AWAY0)),
    Op("norm_inf", lambda x, **k: x.norm(math.inf, **k), lambda x, **k: np.max(np.abs(x), **k),
       distinct_magnitudes()),
    Op("norm_minus_inf", lambda x, **k: x.norm(-math.inf, **k), lambda x, **k: np.min(np.abs(x), **k),
       distinct_magnitudes()),
    Op("cumsum", lambda x, axis: x.cumsum(axis), lambda x, axis: np.cumsum(x, axis), cumsum_case()),
    # movement and shape
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshape_case()),
    Op("reshape_varargs", lambda x, shape: x.reshape(*shape), lambda x, shape: x.reshape(shape),
       reshape_case()),
    Op("view", lambda x, shape: x.view(*shape), lambda x, shape: x.reshape(shape), reshape_case()),
    Op("transpose", lambda x, a, b: x.transpose(a, b), lambda x, a, b: np.swapaxes(x, a, b), two_axes()),
    Op("transpose_dim0_dim1", lambda x, a, b: x.transpose(dim0=a, dim1=b), lambda x, a, b: np.swapaxes(x, a, b),
       two_axes()),
    Op("T", lambda x: x.T, lambda x: x.T, unary()),
    Op("permute", lambda x, axes: x.permute(axes), np.transpose, permute_case()),
    Op("permute_varargs", lambda x, axes: x.permute(*axes), np.transpose, permute_case()),
    Op("permute_all_3d", lambda x: tl.concatenate(_perms(x, lambda t, p: t.permute(p)), 0),
       lambda x: np.concatenate(_perms(x, np.transpose), 0), all_perms3()),
    Op("permute_varargs_all_3d", lambda x: tl.concatenate(_perms(x, lambda t, p: t.permute(*p)), 0),
       lambda x: np.concatenate(_perms(x, np.transpose), 0), all_perms3()),
    Op("swapaxes", lambda x, a, b: x.swapaxes(a, b), lambda x, a, b: np.swapaxes(x, a, b), two_axes()),
    Op("expand", lambda x, shape: x.expand(shape), np.broadcast_to, expand_case()),
    Op("broadcast_to", lambda x, shape: x.broadcast_to(*shape), np.broadcast_to, expand_case()),
    Op("expand_minus_one", lambda x, shape, resolved: x.expand(*shape),
       lambda x, shape, resolved: np.broadcast_to(x, resolved), expand_minus_one()),
    Op("squeeze", lambda x, axis: x.squeeze(axis), lambda x, axis: np.squeeze(x, axis), squeeze_case()),
    Op("squeeze_any_dims", lambda x, dims: x.squeeze(dims), _squeeze_ref, squeeze_any_case()),
    Op("unsqueeze", lambda x, axis: x.unsqueeze(axis), np.expand_dims, unsqueeze_case()),
    Op("flatten", lambda x, start_axis: x.flatten(start_axis), _flatten, flatten_case()),
    Op("flatten_start_end", lambda x, start, end: x.flatten(start, end), _flatten_ref, flatten_range_case()),
    Op("unflatten", lambda x, axis, sizes: x.unflatten(axis, sizes), _unflatten_ref, unflatten_case()),
    Op("unflatten_dim", lambda x, axis, sizes: x.unflatten(dim=axis, sizes=list(sizes)), _unflatten_ref,
       unflatten_case()),
    Op("flip", lambda x, axis: x.flip(axis), lambda x, axis: np.flip(x, axis), flip_case()),
    Op("pad", lambda x, pad_width, widths, value: x.pad(pad_width, constant_values=value),
       lambda x, pad_width, widths, value: np.pad(x, widths, constant_values=value), pad_case()),
    Op("tril", lambda x, k: x.tril(k), lambda x, k: np.tril(x, k), triangle_case()),
    Op("triu", lambda x, k: x.triu(k), lambda x, k: np.triu(x, k), triangle_case()),
    Op("concatenate", lambda *xs, axis: tl.concatenate(xs, axis),
       lambda *xs, axis: np.concatenate(xs, axis), concat_case()),
    Op("cat_dim", lambda *xs, axis: tl.cat(xs, dim=axis), lambda *xs, axis: np.concatenate(xs, axis),
       concat_case()),
    Op("stack", lambda *xs, axis: tl.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis), stack_case()),
    Op("stack_dim", lambda *xs, axis: tl.stack(xs, dim=axis), lambda *xs, axis: np.stack(xs, axis),
       stack_case()),
    Op("tile", lambda x, reps: x.tile(*reps), lambda x, reps: np.tile(x, reps), tile_case()),
    Op("repeat", lambda x, sizes: x.repeat(*sizes), _tiled_ref, repeat_sizes_case()),
    Op("repeat_tuple", lambda x, sizes: x.repeat(sizes), _tiled_ref, repeat_sizes_case()),
    Op("repeat_interleave_dim", lambda x, repeats, axis: x.repeat_interleave(repeats, dim=axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case()),
    Op("repeat_interleave_counts_axis", lambda x, repeats, axis: x.repeat_interleave(repeats, axis=axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case(counts=True)),
    Op("repeat_interleave", lambda x, repeats, axis: x.repeat_interleave(repeats, axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case(counts=True)),
    Op("split_size", lambda x, axis, size, sizes: pieces_tl(x.split(size, axis)),
       lambda x, axis, size, sizes: pieces_ref(x, axis, sizes), split_case("size")),
    Op("split_sections", lambda x, axis, sizes: pieces_tl(x.split(sizes, dim=axis)),
       lambda x, axis, sizes: pieces_ref(x, axis, sizes), split_case("sections")),
    Op("chunk", lambda x, axis, chunks, sizes: pieces_tl(x.chunk(chunks, axis)),
       lambda x, axis, chunks, sizes: pieces_ref(x, axis, sizes), split_case("chunk")),
    Op("narrow", lambda x, axis, start, length: x.narrow(axis, start, length),
       lambda x, axis, start, length: np.take(x, np.arange(length) + start % x.shape[axis], axis),
       narrow_case()),
    Op("roll", lambda x, shifts: x.roll(shifts), lambda x, shifts: np.roll(x, shifts), roll_case()),
    Op("roll_dims", lambda x, shifts, dims: x.roll(shifts, dims=dims),
       lambda x, shifts, dims: np.roll(x, shifts, dims), roll_case(dims=True)),
    Op("t", lambda x: x.t(), lambda x: x.T, unary(shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))),
    Op("pad_value", lambda x, pad_width, widths, value: x.pad(pad_width, value=value),
       lambda x, pad_width, widths, value: np.pad(x, widths, constant_values=value), pad_case()),
    # PyTorch's result dtype: an int tensor joins a float one in the float's dtype (NumPy: float64)
    Op("cat_tuple_with_ints", lambda x: tl.cat((x.reshape(-1), tl.arange(3, device=x.device)), dim=0),
       lambda x: np.concatenate([x.reshape(-1), np.arange(3)]), unary()),
    Op("stack_tuple_with_ints", lambda x: tl.stack((x, tl.ones(x.shape, dtype=np.int64, device=x.device)), -1),
       lambda x: np.stack([x, np.ones(x.shape)], -1), unary()),
    # indexing and sorting
    Op("getitem_basic", lambda x, idx: x[idx], lambda x, idx: x[idx], basic_index()),
    Op("getitem_int_arrays", lambda x, idx: x[idx], lambda x, idx: x[idx], int_array_index()),
    Op("getitem_mixed", mixed_index_tl, lambda x, rows, form: x[MIXED[form](rows)], mixed_index()),
    Op("getitem_mask", lambda x, mask: x[tl.Tensor(mask, device=x.device)], lambda x, mask: x[mask],
       mask_index()),
    Op("take_along_axis", lambda x, indices, axis: x.take_along_axis(indices, axis),
       lambda x, indices, axis: np.take_along_axis(x, indices, axis), take_case()),
    Op("gather", lambda x, axis, index: x.gather(axis, index), gather_ref, gather_case()),
    Op("gather_tensor_index",
       lambda x, axis, index: x.gather(dim=axis, index=tl.Tensor(index, device=x.device)),
       gather_ref, gather_case()),
    Op("scatter_add", lambda x, src, axis, index: x.scatter_add(axis, index, src), scatter_add_ref,
       scatter_case()),
    Op("sort", lambda x, axis, descending: x.sort(axis, descending).values, _sorted_ref,
       along(distinct_values=True, descending=st.booleans())),
    Op("topk", lambda x, axis, largest, k: x.topk(k, axis, largest).values, _topk_ref, topk_case()),
    Op("index_select", lambda x, axis, index: x.index_select(axis, index),
       lambda x, axis, index: np.take(x, np.atleast_1d(index), axis), index_select_case()),
    Op("index_select_dim", lambda x, axis, index: x.index_select(dim=axis, index=tl.tensor(index, device=x.device)),
       lambda x, axis, index: np.take(x, np.atleast_1d(index), axis), index_select_case()),
    Op("masked_fill", lambda x, mask, value: x.masked_fill(tl.tensor(mask, device=x.device), value),
       lambda x, mask, value: np.where(mask, value, x), masked_fill_case()),
    Op("masked_fill_tensor_value", lambda x, v, mask: x.masked_fill(mask, v),
       lambda x, v, mask: np.where(mask, v, x), masked_fill_case(tensor_value=True)),
    # matmul
    Op("matmul", lambda x, y: x @ y, np.matmul, matmul_case()),
    Op("matmul_method", lambda x, y: x.matmul(y), np.matmul, matmul_case()),
    Op("mm", lambda x, y: x.mm(y), np.matmul, mm_case()),
    Op("bmm", lambda x, y: x.bmm(y), np.matmul, mm_case(batched=True)),
    Op("dot", lambda x, y: x.dot(y), _dot_ref, dot_case()),
    Op("einsum", lambda *xs, eq, ref_eq: tl.einsum(eq, *xs), lambda *xs, eq, ref_eq: np.einsum(ref_eq, *xs),
       einsum_case()),
    Op("einsum_operand_list", lambda *xs, eq, ref_eq: tl.einsum(eq, list(xs)),
       lambda *xs, eq, ref_eq: np.einsum(ref_eq, *xs), einsum_case()),
    # conversion
    Op("clone", lambda x: x.clone(), np.copy, unary()),
    Op("contiguous", lambda x: x.contiguous(), np.copy, unary()),
    Op("float", lambda x: x.float().double(), lambda x: x.astype(np.float32).astype(np.float64), unary(),
       check={"eps": 1e-2}, casts=True),
    Op("double", lambda x: x.double(), lambda x: x, unary(), casts=True),
    # float16 rounds to 2^-9 near 2: a large step keeps the rounding out of the finite differences
    Op("half", lambda x: x.half().double(), lambda x: x.astype(np.float16).astype(np.float64), unary(),
       check={"eps": 0.25, "atol": 1e-2, "rtol": 1e-2}, casts=True),
    # through float32 and back: a large eps keeps float32 rounding out of the finite differences
    Op("astype", lambda x, dtype: x.astype(dtype).astype(np.float64),
       lambda x, dtype: x.astype(dtype).astype(np.float64),
       unary(dtype=st.sampled_from([np.float32, np.float64])), check={"eps": 1e-2}, casts=True),
]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_op(op, device, data):
    check_op(op, device, data)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_op_twice(op, device, data):
    """Every op is twice differentiable: gradgradcheck of its row (fewer cases: each costs a
    first-order backward per finite difference)."""
    check_op_twice(op, device, data)


class _Given:
    """In place of Hypothesis' ``data``: draws give one fixed value."""

    def __init__(self, value):
        self.value = value

    def draw(self, strategy, label=None):
        return self.value


@pytest.mark.parametrize("eq, operand_shapes, ref_eq", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_every_einsum_equation(device, eq, operand_shapes, ref_eq):
    """The einsum row draws one equation per example; here each runs, on fixed mixed-sign values."""
    row = next(op for op in OPS if op.name == "einsum")
    check_op(row, device, _Given(([signed(s) for s in operand_shapes], {"eq": eq, "ref_eq": ref_eq or eq})))


def test_the_table_has_one_row_per_name():
    assert len({op.name for op in OPS}) == len(OPS)


# ---------------------------------------------------------------- ops outside the graph
# No gradient, like the comparisons: floor_divide (PyTorch's has none: its backward raises), the
# bitwise ops (bool and integer tensors) and the logical ops (bool results). Each row runs on every
# device against an independent reference written with Python's operators, element by element,
# on inputs of one dtype drawn from the row's: the result has that dtype (bool for the logical
# ops), the device, and no graph even where a float input requires grad.
INTS = (np.int64, np.int32)
FLOATS = (np.float64, np.float32)
BITS = (np.bool_, *INTS)
ANY = BITS + FLOATS


def _elements(dtype, divisor=False):
    """Bools; integers in [-8, 8] (divisors without 0); floats on the grid k/4 in [-4, 4], divisors
    +-0.25, +-0.75, +-1.5, +-2 (each quotient an exact integer or at least 1/3 from one), 0 included."""
    if dtype == np.bool_:
        return st.booleans()
    if np.dtype(dtype).kind == "i":
        return st.integers(-3, 3).filter(bool) if divisor else st.integers(-8, 8)
    return st.sampled_from([0.25, 0.75, 1.5, 2.0, -0.25, -0.75, -1.5, -2.0]) if divisor else \
        st.integers(-16, 16).map(lambda k: k / 4)


@st.composite
def typed(draw, dtypes, n=2, scalar=False, divisor=None):
    """``n`` broadcast arrays of one dtype drawn from ``dtypes``, and with ``scalar`` a Python value
    ``c`` of their kind; ``divisor`` ("last" array or "c") has no 0 and, for floats, the divisors'
    values."""
    dtype = draw(st.sampled_from(dtypes))
    shapes_ = draw(pairs(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)))[:n]
    xs = [draw(hnp.arrays(dtype, s, elements=_elements(dtype, divisor == "last" and i == n - 1)))
          for i, s in enumerate(shapes_)]
    return xs, ({"c": draw(_elements(dtype, divisor == "c"))} if scalar else {})


def elementwise(fn, dtype=None):
    """The reference that applies Python's ``fn`` to each position (NumPy broadcasting, keyword
    parameters last), in the arrays' dtype (or ``dtype``)."""
    def ref(*xs, **params):
        out = np.vectorize(lambda *v: fn(*(a.item() if isinstance(a, np.generic) else a for a in v)),
                           otypes=[object])(*xs, *params.values())
        return np.asarray(out, dtype=dtype or np.result_type(*xs))
    return ref


FLOOR = elementwise(lambda a, b: math.floor(a / b))  # PyTorch's floor_divide: the quotient rounded down
GRAPH_FREE = [
    Op("floor_divide", lambda x, y: x // y, FLOOR, typed(INTS + FLOATS, divisor="last")),
    Op("floor_divide_method", lambda x, y: x.floor_divide(y), FLOOR, typed(INTS + FLOATS, divisor="last")),
    Op("floor_divide_scalar", lambda x, c: x // c, FLOOR, typed(INTS + FLOATS, n=1, scalar=True, divisor="c")),
    Op("rfloor_divide_scalar", lambda y, c: c // y, elementwise(lambda b, a: math.floor(a / b)),
       typed(INTS + FLOATS, n=1, scalar=True, divisor="last")),
    Op("np_floor_divide", lambda x, y: np.floor_divide(x, y), FLOOR, typed(INTS + FLOATS, divisor="last")),
    Op("and", lambda x, y: x & y, elementwise(lambda a, b: a & b), typed(BITS)),
    Op("or", lambda x, y: x | y, elementwise(lambda a, b: a | b), typed(BITS)),
    Op("xor", lambda x, y: x ^ y, elementwise(lambda a, b: a ^ b), typed(BITS)),
    Op("invert", lambda x: ~x, elementwise(lambda a: not a if isinstance(a, bool) else -a - 1), typed(BITS, n=1)),
    Op("rand_scalar", lambda x, c: c & x, elementwise(lambda a, c: c & a), typed(BITS, n=1, scalar=True)),
    Op("ror_scalar", lambda x, c: c | x, elementwise(lambda a, c: c | a), typed(BITS, n=1, scalar=True)),
    Op("rxor_scalar", lambda x, c: c ^ x, elementwise(lambda a, c: c ^ a), typed(BITS, n=1, scalar=True)),
    # a host array on the left goes through NumPy's ufunc (bitwise_and ...) to the Tensor operator
    Op("and_host_array", lambda x, y: y.numpy() & x, elementwise(lambda a, b: b & a), typed(BITS)),
    Op("np_bitwise_xor", lambda x, y: np.bitwise_xor(x, y), elementwise(lambda a, b: a ^ b), typed(BITS)),
    Op("np_invert", lambda x: np.invert(x), elementwise(lambda a: not a if isinstance(a, bool) else -a - 1),
       typed(BITS, n=1)),
    Op("logical_and", lambda x, y: x.logical_and(y), elementwise(lambda a, b: bool(a) and bool(b), bool),
       typed(ANY)),
    Op("logical_or", lambda x, y: x.logical_or(y), elementwise(lambda a, b: bool(a) or bool(b), bool),
       typed(ANY)),
    Op("logical_xor", lambda x, y: x.logical_xor(y), elementwise(lambda a, b: bool(a) != bool(b), bool),
       typed(ANY)),
    Op("logical_not", lambda x: x.logical_not(), elementwise(lambda a: not a, bool), typed(ANY, n=1)),
    Op("np_logical_not", lambda x: np.logical_not(x), elementwise(lambda a: not a, bool), typed(ANY, n=1)),
    Op("np_logical_and", lambda x, y: np.logical_and(x, y), elementwise(lambda a, b: bool(a) and bool(b), bool),
       typed(ANY)),
]


@pytest.mark.parametrize("op", GRAPH_FREE, ids=[op.name for op in GRAPH_FREE])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_graph_free_op(op, device, data):
    arrays, params = data.draw(op.case, label="inputs, params")
    expected = op.ref(*arrays, **params)
    xs = [tl.Tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = op.fn(*xs, **params)
    assert isinstance(out, tl.Tensor) and out.device == device
    assert not out.requires_grad and out.grad_fn is None
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)


def test_the_graph_free_table_has_one_row_per_name():
    assert len({op.name for op in GRAPH_FREE}) == len(GRAPH_FREE)


# ---------------------------------------------------------------- every place an op touches
SECTIONS = ("arithmetic", "elementwise math", "activations", "reductions", "movement and shape",
            "indexing and sorting", "matmul", "conversion")
SECTION_LINE = re.compile(r"^\s*# -{16,} (.+?)\s*$")
FUNCTIONS = sorted(name for name, c in vars(ops).items()
                   if isinstance(c, type) and issubclass(c, tl.Function) and c.__module__ == ops.__name__)


def sections(module, cls=None):
    """Section title -> the names defined under it, in order of appearance: each ``# ---- title``
    line of the module's source (inside ``cls`` if given) opens a section that runs to the next."""
    source = inspect.getsource(module)
    body = ast.parse(source).body
    if cls is not None:
        body = next(n for n in body if isinstance(n, ast.ClassDef) and n.name == cls).body
    heads = [(i, m.group(1)) for i, line in enumerate(source.splitlines(), 1) if (m := SECTION_LINE.match(line))]
    out: dict[str, list[str]] = {}
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue
        above = [title for line, title in heads if line < node.lineno]
        if above:
            out.setdefault(above[-1], []).extend(names)
    return out


def test_ops_and_the_tensor_class_keep_their_sections_in_one_order():
    assert list(sections(ops)) == list(SECTIONS)
    methods = sections(tensor, "Tensor")
    assert list(methods) == ["construction and properties", *SECTIONS, "in-place writes",
                             "Python and NumPy protocols"]
    for title, names in [("reductions", ["sum", "mean", "var", "std", "max", "min", "prod"]),
                         ("activations", ["relu", "sigmoid", "gelu", "softmax"]),
                         ("movement and shape", ["reshape", "transpose", "permute", "flatten"]),
                         ("indexing and sorting", ["__getitem__", "gather", "sort"])]:
        assert set(names) <= set(methods[title]), (title, sorted(set(names) - set(methods[title])))


def functions_run_by(op):
    """The names of the Functions in the graphs of ``op``'s results on a few drawn inputs, in float64
    and float32 (read with ``draw_graph``)."""
    made = set()

    @settings(max_examples=3, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        arrays, params = data.draw(op.case)
        for dtype in (np.float64, np.float32):
            out = op.fn(*[tl.Tensor(a, dtype=dtype, requires_grad=True) for a in arrays], **params)
            made.update(n.title for n in tl.draw_graph(out, values=0).nodes.values() if n.kind == "op")

    run()
    return made


def test_every_primitive_function_has_a_row():
    made = set().union(*(functions_run_by(op) for op in OPS))
    assert len(FUNCTIONS) > 40
    missing = sorted(set(FUNCTIONS) - made)
    assert not missing, f"primitive Functions of tinygrad_lite.ops that no op-table row runs: {missing}"


# Tensor methods named like a NumPy function that ``np.name(t)`` does not run (it sees the values
# through __array__, as any other NumPy function), and why
NUMPY_NAMED_BUT_NOT_DISPATCHED = {
    "sort": "PyTorch's meaning: (values, indices); numpy.sort gives the values",
    "split": "PyTorch's meaning: an int is the size of a piece; numpy.split's is the number of pieces",
    "astype": "numpy.astype (NumPy 2.1) takes copy= and device=, which Tensor.astype does not",
    "broadcast_to": "numpy.broadcast_to gives a read-only NumPy view; the tensor's is Tensor.expand",
    "dot": "PyTorch's meaning: 1-D tensors only; numpy.dot also multiplies matrices",
}


def numpy_named_methods():
    """name -> NumPy callable, for each public Tensor method whose name NumPy also has."""
    out = {}
    for name, member in vars(tl.Tensor).items():
        fn = getattr(np, name, None)
        if not name.startswith("_") and inspect.isfunction(member) and callable(fn) and not isinstance(fn, type):
            out[name] = fn
    return out


def test_every_numpy_named_method_is_in_the_numpy_protocol_table():
    named = numpy_named_methods()
    assert {"exp", "sum", "cumsum", "sort", "clip", "tile"} <= set(named)
    missing = []
    for name, fn in named.items():
        table = tensor.NUMPY_UFUNCS if isinstance(fn, np.ufunc) else tensor.NUMPY_FUNCTIONS
        listed = fn.__name__ in table  # NumPy's own name: np.abs is np.absolute, np.pow np.power
        if listed == (name in NUMPY_NAMED_BUT_NOT_DISPATCHED):
            missing.append(name)
    assert not missing, (f"NumPy-named Tensor methods neither in tensor.NUMPY_UFUNCS/NUMPY_FUNCTIONS nor "
                         f"listed as exceptions (or both): {missing}")
    assert set(NUMPY_NAMED_BUT_NOT_DISPATCHED) <= set(named)
    table = {**tensor.NUMPY_UFUNCS, **tensor.NUMPY_FUNCTIONS}
    assert [m for m in table.values() if not callable(getattr(tl.Tensor, m, None))] == []


# activation Functions that are a form of another activation: Function -> (Module, functional
# form, the keyword arguments that select it)
ACTIVATION_VARIANTS = {"GELUTanh": ("GELU", "gelu", {"approximate": "tanh"})}


def _flat(name):
    return name.replace("_", "").lower()


def test_every_activation_function_has_a_module_and_a_functional_form():
    modules = {_flat(n): n for n in dir(nn) if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)}
    forms = {_flat(n): n for n in dir(F) if not n.startswith("_") and inspect.isfunction(getattr(F, n))}
    activations = [n for n in sections(ops)["activations"] if n in FUNCTIONS]
    assert {"ReLU", "Sigmoid", "GELU", "GELUTanh"} <= set(activations)
    x = tl.Tensor(np.linspace(-2, 2, 7), requires_grad=True)
    missing = []
    for name in activations:
        module, form, kwargs = ACTIVATION_VARIANTS.get(name, (modules.get(_flat(name)), forms.get(_flat(name)), {}))
        if module is None or form is None:
            missing.append(f"{name} (nn.{module or '?'}, nn.functional.{form or '?'})")
            continue
        for out in (getattr(nn, module)(**kwargs)(x), getattr(F, form)(x, **kwargs)):
            assert name in {n.title for n in tl.draw_graph(out, values=0).nodes.values()}, (name, module, form)
    assert not missing, f"activation Functions without an nn Module or a functional form: {missing}"
