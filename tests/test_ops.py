"""The op table: every differentiable op against NumPy and float64 finite differences.

Each row names an op, the tinygrad_lite call, an independent NumPy reference and a
strategy that draws its inputs (shapes, broadcast pairs, axes, keepdims, values).
Values stay away from kinks and ties where an op is not smooth (a grid of distinct
values for max/min/maximum/clip, |x| >= 0.1 for abs/relu-like ops) and positive
where an op needs it (log, sqrt, pow bases). For every row and device the test
checks the forward values (float64), the gradient (``tl.gradcheck`` in float64),
and in float32 that the output and every gradient keep the inputs' shape and
dtype and agree with the float64 gradient.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lite as tl

# ---------------------------------------------------------------- value domains
REAL = st.floats(-2, 2)
POS = st.floats(0.2, 2)
AWAY0 = st.floats(0.1, 2) | st.floats(-2, -0.1)  # |x| >= 0.1: away from the kink at 0
DENOM = st.floats(0.5, 2) | st.floats(-2, -0.5)
SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
SHAPE1 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def arr(draw, shape, elements=REAL):
    return draw(hnp.arrays(np.float64, shape, elements=elements))


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
def unsqueeze_case(draw):
    shape = draw(SHAPE)
    return [arr(draw, shape)], {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def flatten_case(draw):
    shape = draw(SHAPE1)
    return [arr(draw, shape)], {"start_axis": draw(st.integers(-len(shape), len(shape) - 1))}


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


# ---------------------------------------------------------------- NumPy references
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _flatten(x, start_axis):
    start = start_axis % x.ndim
    return x.reshape(x.shape[:start] + (int(np.prod(x.shape[start:])),))


# ---------------------------------------------------------------- the table
@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable  # (*tensors, **params) -> Tensor
    ref: Callable  # (*float64 arrays, **params) -> array
    case: st.SearchStrategy
    check: dict = field(default_factory=dict)  # gradcheck tolerances
    casts: bool = False  # output dtype differs from the inputs' on purpose


OPS = [
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
    Op("rpow_scalar", lambda x, c: c**x, lambda x, c: np.power(c, x), with_scalar(REAL, POS)),
    # host arrays keep their dtype (float64 here), as NumPy and PyTorch promote; gradients do not
    Op("rsub_host_array", lambda x, c: c - x, lambda x, c: c - x, with_scalar(host_array=True), casts=True),
    Op("radd_host_array", lambda x, c: c + x, lambda x, c: c + x, with_scalar(host_array=True), casts=True),
    Op("neg", lambda x: -x, np.negative, unary()),
    Op("matmul", lambda x, y: x @ y, np.matmul, matmul_case()),
    Op("matmul_method", lambda x, y: x.matmul(y), np.matmul, matmul_case()),
    Op("exp", lambda x: x.exp(), np.exp, unary()),
    Op("log", lambda x: x.log(), np.log, unary(POS)),
    Op("sqrt", lambda x: x.sqrt(), np.sqrt, unary(POS)),
    Op("abs", lambda x: x.abs(), np.abs, unary(AWAY0)),
    Op("abs_builtin", abs, np.abs, unary(AWAY0)),
    Op("maximum", lambda x, y: x.maximum(y), np.maximum, no_ties()),
    Op("minimum", lambda x, y: x.minimum(y), np.minimum, no_ties()),
    Op("tl_maximum", tl.maximum, np.maximum, no_ties()),
    Op("tl_minimum", tl.minimum, np.minimum, no_ties()),
    Op("maximum_scalar", lambda x: tl.maximum(0.05, x), lambda x: np.maximum(0.05, x), no_ties(1)),
    Op("clip", lambda x, lo, hi: x.clip(lo, hi), lambda x, lo, hi: np.clip(x, lo, hi), clip_case()),
    Op("where", lambda x, y, cond: tl.where(cond, x, y), lambda x, y, cond: np.where(cond, x, y),
       where_case()),
    Op("where_scalar", lambda x, cond: tl.where(tl.Tensor(cond, device=x.device), x, 0.5),
       lambda x, cond: np.where(cond, x, 0.5), where_case(scalar_y=True)),
    Op("sum", lambda x, **k: x.sum(**k), lambda x, **k: np.sum(x, **k), reduction(empty=True)),
    Op("mean", lambda x, **k: x.mean(**k), lambda x, **k: np.mean(x, **k), reduction()),
    Op("var", lambda x, **k: x.var(**k), lambda x, **k: np.var(x, **k), reduction()),
    Op("max", lambda x, **k: x.max(**k), lambda x, **k: np.max(x, **k), reduction(ties=True)),
    Op("min", lambda x, **k: x.min(**k), lambda x, **k: np.min(x, **k), reduction(ties=True)),
    Op("logsumexp", lambda x, **k: x.logsumexp(**k),
       lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims)), reduction()),
    Op("softmax", lambda x, axis: x.softmax(axis), _softmax, along_axis()),
    Op("log_softmax", lambda x, axis: x.log_softmax(axis), lambda x, axis: np.log(_softmax(x, axis)),
       along_axis()),
    Op("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), reshape_case()),
    Op("reshape_varargs", lambda x, shape: x.reshape(*shape), lambda x, shape: x.reshape(shape),
       reshape_case()),
    Op("transpose", lambda x: x.transpose(), np.transpose, unary()),
    Op("T", lambda x: x.T, lambda x: x.T, unary()),
    Op("permute", lambda x, axes: x.permute(axes), np.transpose, permute_case()),
    Op("transpose_axes", lambda x, axes: x.transpose(*axes), np.transpose, permute_case()),
    Op("permute_all_3d", lambda x: tl.concatenate(_perms(x, lambda t, p: t.permute(p)), 0),
       lambda x: np.concatenate(_perms(x, np.transpose), 0), all_perms3()),
    Op("transpose_all_3d", lambda x: tl.concatenate(_perms(x, lambda t, p: t.transpose(*p)), 0),
       lambda x: np.concatenate(_perms(x, np.transpose), 0), all_perms3()),
    Op("broadcast_pairs", lambda *xs: tl.concatenate(_pairs(xs), 0),
       lambda *xs: np.concatenate(_pairs(xs), 0), all_pairs()),
    Op("expand", lambda x, shape: x.expand(shape), np.broadcast_to, expand_case()),
    Op("broadcast_to", lambda x, shape: x.broadcast_to(*shape), np.broadcast_to, expand_case()),
    Op("squeeze", lambda x, axis: x.squeeze(axis), lambda x, axis: np.squeeze(x, axis), squeeze_case()),
    Op("unsqueeze", lambda x, axis: x.unsqueeze(axis), np.expand_dims, unsqueeze_case()),
    Op("flatten", lambda x, start_axis: x.flatten(start_axis), _flatten, flatten_case()),
    Op("concatenate", lambda *xs, axis: tl.concatenate(xs, axis),
       lambda *xs, axis: np.concatenate(xs, axis), concat_case()),
    Op("stack", lambda *xs, axis: tl.stack(xs, axis), lambda *xs, axis: np.stack(xs, axis), stack_case()),
    Op("getitem_basic", lambda x, idx: x[idx], lambda x, idx: x[idx], basic_index()),
    Op("getitem_int_arrays", lambda x, idx: x[idx], lambda x, idx: x[idx], int_array_index()),
    Op("getitem_mixed", mixed_index_tl, lambda x, rows, form: x[MIXED[form](rows)], mixed_index()),
    Op("getitem_mask", lambda x, mask: x[tl.Tensor(mask, device=x.device)], lambda x, mask: x[mask],
       mask_index()),
    Op("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), unary(st.floats(-6, 6))),
    Op("tanh", lambda x: x.tanh(), np.tanh, unary()),
    Op("arctan", lambda x: x.arctan(), np.arctan, unary()),
    Op("relu", lambda x: x.relu(), lambda x: np.where(x > 0, x, 0.0), unary(AWAY0)),
    Op("leaky_relu", lambda x, s: x.leaky_relu(s), lambda x, s: np.where(x > 0, x, s * x),
       unary(AWAY0, s=st.sampled_from([0.01, 0.2]))),
    Op("elu", lambda x, a: x.elu(a), lambda x, a: np.where(x > 0, x, a * (np.exp(x) - 1)),
       unary(AWAY0, a=st.sampled_from([1.0, 0.5]))),
    Op("binary_step", lambda x: x.binary_step(), lambda x: np.where(x >= 0, 1.0, 0.0), unary(AWAY0)),
    # through float32 and back: a large eps keeps float32 rounding out of the finite differences
    Op("astype", lambda x, dtype: x.astype(dtype).astype(np.float64),
       lambda x, dtype: x.astype(dtype).astype(np.float64),
       unary(dtype=st.sampled_from([np.float32, np.float64])), check={"eps": 1e-2}, casts=True),
]


def _tensors(arrays, device, dtype):
    return [tl.Tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]


def _grads(xs):
    assert all(x.grad is not None for x in xs), "an input received no gradient"
    return [x.grad for x in xs]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_op(op, device, data):
    check_op(op, device, data)


def check_op(op: Op, device: str, data) -> None:
    """The checks of one table row on one drawn case (shared with the ConvNet ops' table)."""
    arrays, params = data.draw(op.case, label="inputs, params")
    expected = np.asarray(op.ref(*arrays, **params))

    # forward in float64 against the NumPy reference
    x64 = _tensors(arrays, device, np.float64)
    out = op.fn(*x64, **params)
    assert isinstance(out, tl.Tensor) and out.device == device and out.requires_grad
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-7, atol=1e-12)

    # gradient against float64 central differences
    assert tl.gradcheck(lambda *xs: op.fn(*xs, **params), *x64, **op.check)

    # float32 in, float32 out; every gradient has its input's shape and dtype
    v = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(tl.Tensor(v, dtype=out.dtype, device=device))
    x32 = _tensors(arrays, device, np.float32)
    out32 = op.fn(*x32, **params)
    assert out32.dtype == (out.dtype if op.casts else np.float32)
    out32.backward(tl.Tensor(v, dtype=out32.dtype, device=device))
    for a, g32, g64 in zip(arrays, _grads(x32), _grads(x64)):
        assert g32.shape == a.shape and g32.dtype == np.float32 and g32.device == device
        assert g64.shape == a.shape and g64.dtype == np.float64
        scale = 1 + np.abs(g64.numpy()).max(initial=0)
        np.testing.assert_allclose(g32.numpy(), g64.numpy(), rtol=1e-3, atol=1e-4 * scale)
