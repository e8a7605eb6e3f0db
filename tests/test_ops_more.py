"""The op table, continued: the ops of ``math_methods``, ``shape_methods`` and ``torch_names``.

The same checks as tests/test_ops.py (``check_op``: forward in float64 against an independent
NumPy reference, float64 gradcheck, float32 shapes and dtypes), on cpu and strict. Values stay
away from kinks and jumps (integers and halves for the rounding family, whose gradient is 0,
+-3 for hardswish, 0 and 6 for relu6), and distinct where ties would make an op non-smooth
(sort, topk, max-norm, std). PyTorch's keyword spellings (``dim=``, ``keepdim=``, ``min=``)
get rows of their own. References for PyTorch-only ops are written from PyTorch's documented
definitions as loops over positions.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import (
    AWAY0,
    DENOM,
    POS,
    REAL,
    SHAPE,
    SHAPE1,
    Op,
    arr,
    check_op,
    clip_case,
    concat_case,
    distinct,
    reduction,
    reshape_case,
    shapes,
    stack_case,
    unary,
)
from test_ops import axis_arg as draw_axis

import tinygrad_lite as tl


# ---------------------------------------------------------------- value domains
def away(*kinks, lo=-3.0, hi=3.0, gap=0.05):
    """Floats in [lo, hi] at least ``gap`` from every kink."""
    return st.floats(lo, hi).filter(lambda v: all(abs(v - k) > gap for k in kinks))


# no integer (floor, ceil, trunc jump there) and no half (round jumps there) within 0.05
NO_JUMPS = st.floats(-3, 3).filter(lambda v: abs(v - round(v)) > 0.05
                                   and abs(abs(v - math.floor(v)) - 0.5) > 0.05)
SMALL = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


# ---------------------------------------------------------------- references
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


# ---------------------------------------------------------------- input strategies
@st.composite
def along(draw, shape=SHAPE1, distinct_values=False, **params):
    """One tensor and an int axis (plus ``params``)."""
    s = draw(shape)
    x = distinct(draw, s) if distinct_values else arr(draw, s)
    return [x], {"axis": draw(st.integers(-len(s), len(s) - 1)), **{k: draw(v) for k, v in params.items()}}


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
def distinct_magnitudes(draw):
    """Values with all |x| different and >= 0.05: the max-norm has no ties and abs no kink."""
    s = draw(SHAPE1)
    mags = np.array(draw(st.permutations(range(30)))[:int(np.prod(s))]).reshape(s) / 10 + 0.05
    x = mags * draw(hnp.arrays(np.int64, s, elements=st.sampled_from([-1, 1])))
    return [x], {"axis": draw_axis(draw, len(s)), "keepdims": draw(st.booleans())}


@st.composite
def flip_case(draw):
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"axis": draw_axis(draw, len(s))}


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
def tile_case(draw):
    s = draw(shapes(SHAPE))
    return [arr(draw, s)], {"reps": tuple(draw(st.lists(st.integers(0, 2), max_size=4)))}


@st.composite
def triangle_case(draw):
    s = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))
    return [arr(draw, s)], {"k": draw(st.integers(-3, 3))}


@st.composite
def topk_case(draw):
    (x,), p = draw(along(distinct_values=True, largest=st.booleans()))
    p["k"] = draw(st.integers(0, x.shape[p["axis"]]))
    return [x], p


@st.composite
def flatten_case(draw):
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
def pair(draw, ex=REAL, ey=REAL):
    sx, sy = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    return [arr(draw, sx, ex), arr(draw, sy, ey)], {}


def _flatten_ref(x, start, end):
    s, e = start % x.ndim, end % x.ndim
    return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def _sorted_ref(x, axis, descending):
    out = np.sort(x, axis=axis)
    return np.flip(out, axis) if descending else out


def _topk_ref(x, axis, largest, k):
    return np.take(_sorted_ref(x, axis, largest), range(k), axis)


# ---------------------------------------------------------------- the table
OPS = [
    # trigonometry, logs, powers
    Op("sin", lambda x: x.sin(), np.sin, unary()),
    Op("cos", lambda x: x.cos(), np.cos, unary()),
    Op("tan", lambda x: x.tan(), np.tan, unary(st.floats(-1.2, 1.2))),
    Op("log1p", lambda x: x.log1p(), np.log1p, unary(st.floats(-0.8, 2))),
    Op("expm1", lambda x: x.expm1(), np.expm1, unary()),
    Op("log2", lambda x: x.log2(), np.log2, unary(POS)),
    Op("exp2", lambda x: x.exp2(), np.exp2, unary()),
    Op("rsqrt", lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), unary(POS)),
    Op("square", lambda x: x.square(), np.square, unary()),
    # the rounding family: gradient 0 (gradcheck sees flat steps between the jumps)
    Op("floor", lambda x: x.floor(), np.floor, unary(NO_JUMPS)),
    Op("ceil", lambda x: x.ceil(), np.ceil, unary(NO_JUMPS)),
    Op("trunc", lambda x: x.trunc(), np.trunc, unary(NO_JUMPS)),
    Op("round", lambda x: x.round(), np.round, unary(NO_JUMPS)),
    Op("sign", lambda x: x.sign(), np.sign, unary(AWAY0)),
    # activations
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
    Op("softsign", lambda x: x.softsign(), lambda x: x / (1 + np.abs(x)), unary()),
    Op("celu", lambda x, a: x.celu(a), lambda x, a: np.where(x > 0, x, a * np.expm1(x / a)),
       unary(a=st.sampled_from([1.0, 0.5, 2.0]))),
    Op("selu", lambda x: x.selu(), lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
       unary(AWAY0)),
    Op("hardswish", lambda x: x.hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6,
       unary(away(-3, 3, lo=-5, hi=5))),
    # reductions
    Op("cumsum", lambda x, axis: x.cumsum(axis), lambda x, axis: np.cumsum(x, axis), cumsum_case()),
    Op("prod", lambda x, **k: x.prod(**k), lambda x, **k: np.prod(x, **k),
       reduction(elements=st.floats(-2, 2) | st.just(0.0))),  # zeros: the gradient is exact there
    Op("std", lambda x, **k: x.std(**k), lambda x, **k: np.std(x, **k), std_case()),
    Op("norm2", lambda x, **k: x.norm(**k), lambda x, **k: np.sqrt(np.sum(x * x, **k)),
       reduction(elements=AWAY0)),
    Op("norm1", lambda x, **k: x.norm(1, **k), lambda x, **k: np.sum(np.abs(x), **k),
       reduction(elements=AWAY0)),
    Op("norm_inf", lambda x, **k: x.norm(math.inf, **k), lambda x, **k: np.max(np.abs(x), **k),
       distinct_magnitudes()),
    Op("norm_minus_inf", lambda x, **k: x.norm(-math.inf, **k), lambda x, **k: np.min(np.abs(x), **k),
       distinct_magnitudes()),
    # shapes
    Op("flip", lambda x, axis: x.flip(axis), lambda x, axis: np.flip(x, axis), flip_case()),
    Op("pad", lambda x, pad_width, widths, value: x.pad(pad_width, constant_values=value),
       lambda x, pad_width, widths, value: np.pad(x, widths, constant_values=value), pad_case()),
    Op("tril", lambda x, k: x.tril(k), lambda x, k: np.tril(x, k), triangle_case()),
    Op("triu", lambda x, k: x.triu(k), lambda x, k: np.triu(x, k), triangle_case()),
    Op("flatten_start_end", lambda x, start, end: x.flatten(start, end), _flatten_ref, flatten_case()),
    Op("expand_minus_one", lambda x, shape, resolved: x.expand(*shape),
       lambda x, shape, resolved: np.broadcast_to(x, resolved), expand_minus_one()),
    Op("swapaxes", lambda x, a, b: x.swapaxes(a, b), lambda x, a, b: np.swapaxes(x, a, b), two_axes()),
    Op("tile", lambda x, reps: x.tile(*reps), lambda x, reps: np.tile(x, reps), tile_case()),
    Op("repeat", lambda x, repeats, axis: x.repeat(repeats, axis=axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case()),
    Op("repeat_counts", lambda x, repeats, axis: x.repeat(repeats, axis=axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case(counts=True)),
    Op("repeat_interleave", lambda x, repeats, axis: x.repeat_interleave(repeats, axis),
       lambda x, repeats, axis: np.repeat(x, repeats, axis), repeat_case(counts=True)),
    # pieces
    Op("split_size", lambda x, axis, size, sizes: pieces_tl(x.split(size, axis)),
       lambda x, axis, size, sizes: pieces_ref(x, axis, sizes), split_case("size")),
    Op("split_sections", lambda x, axis, sizes: pieces_tl(x.split(sizes, dim=axis)),
       lambda x, axis, sizes: pieces_ref(x, axis, sizes), split_case("sections")),
    Op("chunk", lambda x, axis, chunks, sizes: pieces_tl(x.chunk(chunks, axis)),
       lambda x, axis, chunks, sizes: pieces_ref(x, axis, sizes), split_case("chunk")),
    Op("narrow", lambda x, axis, start, length: x.narrow(axis, start, length),
       lambda x, axis, start, length: np.take(x, np.arange(length) + start % x.shape[axis], axis),
       narrow_case()),
    # along an axis, by index
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
    # PyTorch's names and keyword spellings
    Op("view", lambda x, shape: x.view(*shape), lambda x, shape: x.reshape(shape), reshape_case()),
    Op("add_alpha", lambda x, y: x.add(y, alpha=-2.5), lambda x, y: x - 2.5 * y, pair()),
    Op("sub_alpha", lambda x, y: x.sub(y, alpha=0.5), lambda x, y: x - 0.5 * y, pair()),
    Op("mul_method", lambda x, y: x.mul(y), np.multiply, pair()),
    Op("div_method", lambda x, y: x.div(y), np.divide, pair(REAL, DENOM)),
    Op("pow_method", lambda x, y: x.pow(y), np.power, pair(POS, REAL)),
    Op("clamp", lambda x, lo, hi: x.clamp(min=lo, max=hi), lambda x, lo, hi: np.clip(x, lo, hi), clip_case()),
    Op("clip_min_max", lambda x, lo, hi: x.clip(min=lo, max=hi), lambda x, lo, hi: np.clip(x, lo, hi),
       clip_case()),
    Op("cat_dim", lambda *xs, axis: tl.cat(xs, dim=axis), lambda *xs, axis: np.concatenate(xs, axis),
       concat_case()),
    Op("stack_dim", lambda *xs, axis: tl.stack(xs, dim=axis), lambda *xs, axis: np.stack(xs, axis),
       stack_case()),
    Op("sum_dim_keepdim", lambda x, axis, keepdims: x.sum(dim=axis, keepdim=keepdims),
       lambda x, **k: np.sum(x, **k), reduction(empty=True)),
    Op("mean_dim_keepdim", lambda x, axis, keepdims: x.mean(dim=axis, keepdim=keepdims),
       lambda x, **k: np.mean(x, **k), reduction()),
    Op("max_dim_keepdim", lambda x, axis, keepdims: x.max(dim=axis, keepdim=keepdims),
       lambda x, **k: np.max(x, **k), reduction(ties=True)),
    Op("std_correction", lambda x, axis, keepdims, ddof: x.std(dim=axis, keepdim=keepdims, correction=ddof),
       lambda x, **k: np.std(x, **k), std_case()),
    Op("softmax_dim", lambda x, axis: x.softmax(dim=axis),
       lambda x, axis: np.exp(x - np.log(np.sum(np.exp(x), axis, keepdims=True))), along()),
    Op("log_softmax_dim", lambda x, axis: x.log_softmax(dim=axis),
       lambda x, axis: x - np.log(np.sum(np.exp(x), axis, keepdims=True)), along()),
]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_op(op, device, data):
    check_op(op, device, data)


def test_the_table_has_one_row_per_name():
    assert len({op.name for op in OPS}) == len(OPS)
