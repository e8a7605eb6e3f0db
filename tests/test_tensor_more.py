"""The new Tensor ops beyond their op-table rows (tests/test_ops_more.py): the parts that are not
differentiable (indices of sort/topk/argmax, zero gradients), special points (0 for norm and
prod), argument checks, and PyTorch's spellings: ``dim=``/``keepdim=`` everywhere an axis is
taken, its method names, and ``size()`` as PyTorch's method with ``numel()`` the count.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl
from tinygrad_lite import checks, nn
from tinygrad_lite.ops_math import _ndtr

AXIS_NAMES = {"axis", "keepdims", "start_axis", "end_axis"}


def _t(values, device="cpu", **kw):
    return tl.Tensor(np.asarray(values, dtype=np.float64), device=device, **kw)


# ---------------------------------------------------------------- PyTorch's keyword spellings
def _takes_an_axis(fn):
    return bool(AXIS_NAMES & set(inspect.signature(fn).parameters))


def _axis_callables():
    """Every public Tensor method, tl function and F function that takes an axis."""
    methods = [(f"Tensor.{n}", getattr(tl.Tensor, n)) for n in dir(tl.Tensor)
               if not n.startswith("_") and inspect.isfunction(getattr(tl.Tensor, n))]
    funcs = [(f"tl.{n}", getattr(tl, n)) for n in tl.__all__ if inspect.isfunction(getattr(tl, n))]
    funcs += [(f"F.{n}", f) for n, f in vars(F).items() if inspect.isfunction(f) and not n.startswith("_")]
    modules = [(f"nn.{n}", getattr(nn, n).__init__) for n in nn.__all__
               if inspect.isclass(getattr(nn, n)) and issubclass(getattr(nn, n), nn.Module)]
    return [(name, f) for name, f in methods + funcs + modules if _takes_an_axis(f)]


def test_every_axis_taking_callable_accepts_pytorch_spellings():
    """One place translates dim=/keepdim=: every callable with an axis argument is wrapped by it."""
    found = dict(_axis_callables())
    assert {"Tensor.sum", "Tensor.argmax", "Tensor.flatten", "Tensor.sort", "tl.concatenate", "tl.stack",
            "F.softmax", "F.log_softmax", "Tensor.cumsum", "nn.Softmax", "nn.Flatten"} <= set(found)
    unwrapped = [n for n, f in found.items() if getattr(f, "__wrapped__", None) is None
                 or "PyTorch's spelling" not in (f.__doc__ or "")]
    assert not unwrapped, f"not taking dim=/keepdim=: {unwrapped}"


@pytest.mark.parametrize("call", [
    lambda t, k: t.sum(**k), lambda t, k: t.mean(**k), lambda t, k: t.var(**k), lambda t, k: t.std(**k),
    lambda t, k: t.max(**k), lambda t, k: t.min(**k), lambda t, k: t.prod(**k), lambda t, k: t.norm(**k),
    lambda t, k: t.logsumexp(**k), lambda t, k: t.argmax(**k), lambda t, k: t.argmin(**k),
])
def test_dim_and_keepdim_mean_axis_and_keepdims(device, call):
    t = _t(np.arange(24.0).reshape(2, 3, 4) % 7, device)
    for axis in (0, -1, (0, 2)):
        try:
            want = call(t, {"axis": axis, "keepdims": True})
        except TypeError:  # argmax/argmin take one axis only
            continue
        np.testing.assert_array_equal(call(t, {"dim": axis, "keepdim": True}).numpy(), want.numpy())


def test_dim_in_shape_ops_and_functions(device):
    t = _t(np.arange(6.0).reshape(2, 3), device)
    assert t.unsqueeze(dim=0).shape == (1, 2, 3) and t.unsqueeze(0).squeeze(dim=0).shape == (2, 3)
    assert t.flatten(start_dim=0, end_dim=1).shape == (6,)
    assert tl.cat([t, t], dim=1).shape == (2, 6) and tl.stack([t, t], dim=2).shape == (2, 3, 2)
    assert tl.cat is tl.concatenate
    np.testing.assert_allclose(F.softmax(t, dim=0).numpy(), t.softmax(axis=0).numpy())
    np.testing.assert_allclose(F.log_softmax(t, dim=0).numpy(), t.log_softmax(0).numpy())
    assert t.flip(dims=(0,)).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert t.tril(diagonal=-1).tolist() == [[0, 0, 0], [3, 0, 0]]
    assert t.size(dim=1) == 3 and t.size(-2) == 2
    np.testing.assert_allclose(nn.Softmax(dim=0)(t).numpy(), t.softmax(0).numpy())
    assert nn.Flatten(start_dim=0, end_dim=-2)(tl.zeros(2, 3, 4)).shape == (6, 4)
    assert nn.Flatten()(tl.zeros(2, 3, 4)).shape == (2, 12)
    assert repr(nn.Flatten(0, 1)) == "Flatten(start_axis=0, end_axis=1)"


def test_both_spellings_or_an_unknown_keyword_is_a_type_error_naming_them():
    t = tl.ones(2, 3)
    with pytest.raises(TypeError, match=r"Tensor\.sum: got both dim= and axis="):
        t.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="keepdim= and keepdims="):
        t.mean(0, keepdim=True, keepdims=True)
    with pytest.raises(TypeError, match="correction= and ddof="):
        t.std(correction=1, ddof=1)
    with pytest.raises(TypeError, match="concatenate: got both dim= and axis="):
        tl.cat([t], dim=0, axis=0)
    with pytest.raises(TypeError, match="'dims'"):
        t.sum(dims=0)  # only flip takes PyTorch's dims=
    with pytest.raises(TypeError, match="'approx'"):
        t.gelu(approx="tanh")
    with pytest.raises(TypeError, match="'inplace'"):
        t.softplus(inplace=True)


def test_the_decorator_refuses_a_function_with_nothing_to_translate():
    with pytest.raises(TypeError, match="takes none of"):
        checks.pytorch_kwargs(lambda x: x)


# ---------------------------------------------------------------- size(), numel(), dim() and method names
def test_size_is_pytorchs_method_and_numel_the_count(device):
    t = tl.zeros(2, 3, device=device)
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(-1) == 3 and t.numel() == 6 and t.dim() == 2
    assert tl.zeros(()).size() == () and tl.zeros(()).numel() == 1 and tl.zeros(0, 4).numel() == 0
    with pytest.raises(ValueError, match="out of range"):
        t.size(2)


@pytest.mark.parametrize("use", [lambda s: s == 6, lambda s: s + 1, lambda s: 2 * s, lambda s: int(s),
                                 lambda s: bool(s), lambda s: range(s), lambda s: s > 0, lambda s: f"{s:d}",
                                 lambda s: s // 2, lambda s: np.zeros(s)])
def test_size_as_numpys_count_fails_with_a_message_naming_numel(use):
    with pytest.raises(TypeError, match=r"Tensor\.size is PyTorch's method: t\.size\(\) is the sh"):
        use(tl.zeros(2, 3).size)
    assert "numel" in repr(tl.zeros(2, 3).size)


def test_pytorch_method_names_match_the_operators(device):
    x, y = _t([[1.5, -2.0, 3.0]], device), _t([[2.0], [-0.5]], device)
    pairs = [(x.add(y), x + y), (x.add(y, alpha=3), x + 3 * y), (x.sub(y, alpha=2), x - 2 * y),
             (x.mul(y), x * y), (x.div(y), x / y), (x.pow(2), x**2), (x.view(3, 1), x.reshape(3, 1)),
             (x.view_as(x.T), x.reshape(3, 1)), (x.expand_as(y * x), x.expand(2, 3)),
             (x.clamp(min=-1, max=2), x.clip(-1, 2)), (x.clamp(max=0), x.clip(None, 0))]
    for name, a, b in [("eq", x.eq(y), x == y), ("ne", x.ne(y), x != y), ("lt", x.lt(y), x < y),
                       ("le", x.le(1.5), x <= 1.5), ("gt", x.gt(y), x > y), ("ge", x.ge(y), x >= y)]:
        assert a.dtype == np.bool_, name
        pairs.append((a, b))
    for a, b in pairs:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    seven = _t([7.0, -7.0], device)
    assert seven.div(2.0, rounding_mode="trunc").tolist() == [3.0, -3.0]
    assert seven.div(2.0, rounding_mode="floor").tolist() == [3.0, -4.0]
    with pytest.raises(ValueError, match="rounding_mode"):
        x.div(2, rounding_mode="round")


def test_numpy_meaning_kept_where_the_names_clash(device):
    t = _t(np.arange(6.0).reshape(2, 3), device)
    assert t.transpose(0, 1).shape == (2, 3)  # NumPy: the identity permutation
    assert t.swapaxes(0, 1).shape == (3, 2) and "swapaxes" in tl.Tensor.transpose.__doc__
    assert t.repeat(2, axis=0).tolist() == np.repeat(np.arange(6.0).reshape(2, 3), 2, 0).tolist()
    assert t.tile(2, 1).shape == (4, 3)  # PyTorch's t.repeat(2, 1)
    with pytest.raises(TypeError, match=r"t\.tile\(2, 3\)"):
        t.repeat(2, 1)
    assert t.std().item() == pytest.approx(np.std(np.arange(6.0)))  # divided by n, not n - 1
    assert t.std(correction=1).item() == pytest.approx(np.std(np.arange(6.0), ddof=1))


# ---------------------------------------------------------------- indices: sort, topk, argmax
def test_sort_and_topk_indices_are_stable_and_outside_the_graph(device):
    x = _t([[3.0, 1.0, 3.0, 2.0, 1.0]], device, requires_grad=True)
    values, indices = x.sort(dim=1)
    assert indices.tolist() == [[1, 4, 3, 0, 2]] and values.tolist() == [[1, 1, 2, 3, 3]]
    assert x.sort(descending=True).indices.tolist() == [[0, 2, 3, 1, 4]]  # ties in their order
    assert x.argsort(descending=True).tolist() == [[0, 2, 3, 1, 4]]
    assert indices.dtype == np.int64 and not indices.requires_grad and values.requires_grad
    top = x.topk(2)
    assert top.values.tolist() == [[3, 3]] and top.indices.tolist() == [[0, 2]]
    assert x.topk(2, largest=False).indices.tolist() == [[1, 4]]
    # the gradient of a value goes to the element that was placed there
    (top.values * _t([[10.0, 1.0]], device)).sum().backward()
    assert x.grad.tolist() == [[10, 0, 1, 0, 0]]
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, (3, 6)).astype(np.float64)
    np.testing.assert_array_equal(_t(a, device).argsort(0).numpy(), np.argsort(a, 0, kind="stable"))
    with pytest.raises(ValueError, match="topk: k"):
        x.topk(6)


def test_argmax_argmin_keepdims_match_numpy(device):
    a = np.random.default_rng(1).standard_normal((3, 4, 2))
    t = _t(a, device)
    for axis in (None, 0, -1):
        for keepdims in (False, True):
            for fn in ("argmax", "argmin"):
                got = getattr(t, fn)(axis, keepdims=keepdims)
                want = getattr(np, fn)(a, axis, keepdims=keepdims)
                assert got.device == device and got.shape == np.shape(want)
                np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(ValueError, match="argmax of an empty tensor"):
        tl.zeros(0).argmax()


# ---------------------------------------------------------------- special points
def test_zero_gradient_of_the_rounding_family(device):
    x = _t([-1.5, -0.4, 0.0, 0.5, 2.5, 3.7], device, requires_grad=True)
    for fn in ("floor", "ceil", "round", "trunc", "sign"):
        x.grad = None
        getattr(x, fn)().sum().backward()
        assert x.grad.tolist() == [0.0] * 6, fn
    assert x.round().tolist() == [-2, -0, 0, 0, 2, 4]  # halves to even, as NumPy and PyTorch
    assert _t([1.25, -0.36], device).round(1).tolist() == [1.2, -0.4]
    ints = tl.Tensor([3, -2], device=device)
    assert ints.floor() is ints and ints.sign().tolist() == [1, -1] and ints.sign().dtype == np.int64


def test_norm_gradient_is_zero_at_zero_and_prod_gradient_exact_at_zeros(device):
    x = tl.zeros(2, 3, device=device, dtype="float64", requires_grad=True)
    x.norm(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2  # not nan
    y = _t([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], device, requires_grad=True)
    y.prod(1).sum().backward()
    assert y.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]
    assert _t([3.0, -4.0], device).norm().item() == 5.0 and _t([3.0, -4.0], device).norm(1).item() == 7.0
    with pytest.raises(ValueError, match="norm: p must be"):
        x.norm(3)


def test_normal_cdf_matches_math_erfc_to_float64_precision():
    x = np.concatenate([np.linspace(-12, 12, 4801), [0.0, -math.sqrt(0.5), 1.0, -8.0, 8.0]])
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(_ndtr(np, x), ref, rtol=1e-13, atol=0)
    with np.errstate(all="raise", under="ignore"):
        assert _ndtr(np, np.array([-1e3, 1e3], np.float32)).tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- argument checks
def test_index_arguments_are_checked_naming_the_op(device):
    t = tl.zeros(2, 3, device=device)
    with pytest.raises(TypeError, match="gather: index must hold integers"):
        t.gather(1, [[0.5]])
    with pytest.raises(ValueError, match="take_along_axis: index of shape \\(2,\\)"):
        t.take_along_axis(np.array([0, 1]), 1)
    with pytest.raises(IndexError, match="gather: index 3 is out of range for axis 1 of size 3"):
        t.gather(1, [[3]])
    with pytest.raises(ValueError, match="gather: index of shape \\(3, 1\\) does not fit"):
        t.gather(1, np.zeros((3, 1), int))
    with pytest.raises(ValueError, match="do not broadcast"):
        t.take_along_axis(np.zeros((3, 1), int), 1)
    with pytest.raises(TypeError, match="scatter_add: src .* dtype"):
        t.scatter_add(0, [[0]], tl.ones(1, 1, dtype="float64", device=device))
    fits = r"scatter_add: index of shape \(1, 2\) does not fit inside shape \(1, 1\)"
    with pytest.raises(ValueError, match=fits):
        t.scatter_add(0, [[0, 1]], tl.ones(1, 1, device=device))


def test_shape_arguments_are_checked_naming_the_op():
    t = tl.zeros(2, 3)
    cases = [(lambda: t.pad(-1), ValueError, "pad: pad_width must be integers >= 0"),
             (lambda: t.pad([(1, 1)] * 3), ValueError, "pad: pad_width .* does not fit"),
             (lambda: t.pad(1, mode="reflect"), ValueError, "pad: mode"),
             (lambda: t.split([1, 1], dim=1), ValueError, "split: sizes \\[1, 1\\] add up to 2, not to 3"),
             (lambda: t.split(0), ValueError, "split: split_size_or_sections must be an integer >= 1"),
             (lambda: t.chunk(0), ValueError, "chunk: chunks"),
             (lambda: t.narrow(1, 1, 3), ValueError, "narrow: length"),
             (lambda: t.expand(4, 2), ValueError, "expand: cannot broadcast a tensor of shape \\(2, 3\\)"),
             (lambda: t.expand(-1, 2, 3), ValueError, "expand"),
             (lambda: t.flatten(1, 0), ValueError, "flatten: start_axis 1 comes after end_axis 0"),
             (lambda: tl.zeros(3).tril(), ValueError, "tril: needs a matrix"),
             (lambda: t.tile(2.0), TypeError, "tile: reps"),
             (lambda: t.repeat([1, 2, 3], axis=0), ValueError, "repeat: 3 counts for the 2 elements"),
             (lambda: t.cumsum(2), ValueError, "axis 2 is out of range")]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn()


def test_activation_arguments_are_checked():
    t = tl.zeros(3)
    with pytest.raises(ValueError, match="softplus: beta must be a finite number > 0"):
        t.softplus(beta=0)
    with pytest.raises(ValueError, match="gelu: approximate must be one of \\('none', 'tanh'\\)"):
        t.gelu("exact")
    with pytest.raises(ValueError, match="hardtanh: min_val must be <= max_val"):
        t.hardtanh(1.0, -1.0)
    with pytest.raises(ValueError, match="celu: alpha"):
        t.celu(0.0)


# ---------------------------------------------------------------- NumPy's functions on tensors
def test_numpy_functions_run_the_new_ops_in_the_graph():
    x = _t([[0.5, -1.0], [2.0, 0.25]], requires_grad=True)
    out = [np.sin(x), np.square(x), np.floor(x), np.cumsum(x, axis=0), np.flip(x, 1), np.tril(x),
           np.take_along_axis(x, np.array([[1], [0]]), 1), np.pad(x, 1), np.std(x, axis=0)]
    assert all(isinstance(o, tl.Tensor) and o.requires_grad for o in out)
    np.testing.assert_allclose(out[3].numpy(), np.cumsum(x.detach().numpy(), 0))
