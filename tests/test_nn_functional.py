"""nn.functional's forms that have no layer: ``one_hot``, ``pad`` (PyTorch's argument order),
``conv1d`` and ``scaled_dot_product_attention``, against plain-NumPy transcriptions of PyTorch's documented behaviour and float64
finite differences; the same calls against PyTorch itself where it is installed. (The functional
forms of the layers, activations and losses are tested with their layers.)"""
import numpy as np
import pytest
import tinygrad_lite.nn.functional as F

import tinygrad_lite as tl


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- one_hot
def test_one_hot_is_an_int64_identity_row_per_index(device):
    idx = np.array([[0, 2, 1], [3, 3, 0]])
    out = F.one_hot(tl.Tensor(idx, device=device), num_classes=5)
    assert out.shape == (2, 3, 5) and out.dtype == np.int64 and out.device == device
    np.testing.assert_array_equal(out.numpy(), np.eye(5, dtype=np.int64)[idx])
    inferred = F.one_hot(tl.Tensor(idx, device=device))  # num_classes=-1: max + 1 = 4
    np.testing.assert_array_equal(inferred.numpy(), np.eye(4, dtype=np.int64)[idx])
    scalar = F.one_hot(tl.Tensor(np.array(2), device=device), 3)
    assert scalar.numpy().tolist() == [0, 0, 1]
    assert F.one_hot(tl.Tensor(np.zeros(0, dtype=np.int64)), 3).shape == (0, 3)


@pytest.mark.parametrize(("data", "num_classes", "error", "match"), [
    (np.array([1.0]), 3, TypeError, "integers"),
    (np.array([True]), 3, TypeError, "integers"),
    (np.array([-1]), 3, ValueError, "non-negative"),
    (np.array([-1]), -1, ValueError, "non-negative"),
    (np.array([3]), 3, ValueError, "smaller than num_classes=3"),
    (np.zeros(0, dtype=np.int64), -1, ValueError, "empty"),
    (np.array([1]), -2, ValueError, "num_classes"),
])
def test_one_hot_refuses_what_pytorch_refuses(data, num_classes, error, match):
    with pytest.raises(error, match=match):
        F.one_hot(tl.Tensor(data), num_classes)
    with pytest.raises(TypeError, match="Tensor"):
        F.one_hot([0, 1], 2)


# ---------------------------------------------------------------- pad
NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def ref_pad(x, pad, mode="constant", value=0.0):
    """PyTorch's F.pad as documented: pairs from the last axis backwards, negative amounts crop
    first; the modes are NumPy's constant / reflect / edge / wrap."""
    widths = [[0, 0] for _ in range(x.ndim)]
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = [pad[2 * k], pad[2 * k + 1]]
    crop = tuple(slice(max(-b, 0), x.shape[i] - max(-a, 0)) for i, (b, a) in enumerate(widths))
    widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    x = x[crop]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=NUMPY_MODE[mode])


CONSTANT_CASES = [  # (shape, pad)
    ((3, 4), (1, 2)),  # last axis only
    ((2, 3, 4), (1, 0, 2, 1)),  # last two axes: (left, right, top, bottom)
    ((2, 3, 4), (0, 1, 1, 0, 2, 2)),  # every axis
    ((2, 5), (-1, 2)),  # crop the left, pad the right
    ((2, 5), (-2, -3)),  # crop everything: an empty last axis
    ((4, 5), (1, 1, -1, -2)),
    ((3,), ()),  # nothing to pad
]


@pytest.mark.parametrize(("shape", "pad"), CONSTANT_CASES)
def test_pad_constant_pairs_run_from_the_last_axis(device, shape, pad):
    x = rand(*shape, dtype=np.float32)
    out = F.pad(tl.Tensor(x, device=device), pad, value=1.5)
    np.testing.assert_array_equal(out.numpy(), ref_pad(x, pad, value=1.5))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(F.pad(tl.Tensor(x, device=device), pad).numpy(), ref_pad(x, pad))


def test_pad_is_pytorch_order_not_numpy_order():
    """(1, 2) pads the LAST axis by 1 before and 2 after (NumPy's pad would take it for the first)."""
    out = F.pad(tl.ones(2, 3), (1, 2))
    assert out.shape == (2, 6)
    assert out.numpy()[0].tolist() == [0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize(("shape", "pad"), [((2, 5), (2, 1)), ((1, 2, 4, 5), (1, 2, 3, 0)),
                                            ((2, 3, 4), (-1, 2)), ((1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2))])
def test_pad_other_modes_match_numpy(device, mode, shape, pad):
    x = rand(*shape, dtype=np.float32)
    out = F.pad(tl.Tensor(x, device=device), pad, mode=mode)
    np.testing.assert_array_equal(out.numpy(), ref_pad(x, pad, mode))


def test_pad_reflect_by_hand():
    """PyTorch's documented example shapes: reflect does not repeat the edge, replicate does."""
    x = tl.Tensor(np.arange(4.0).reshape(1, 4))
    assert F.pad(x, (2, 1), mode="reflect").numpy()[0].tolist() == [2, 1, 0, 1, 2, 3, 2]
    assert F.pad(x, (2, 1), mode="replicate").numpy()[0].tolist() == [0, 0, 0, 1, 2, 3, 3]
    assert F.pad(x, (2, 1), mode="circular").numpy()[0].tolist() == [2, 3, 0, 1, 2, 3, 0]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradient_matches_finite_differences(mode):
    x = tl.Tensor(rand(2, 3, 4), requires_grad=True)
    pad = (2, -1, 1, 2) if mode == "constant" else (3, 1, 2, 0)
    tl.gradcheck(lambda t: F.pad(t, pad, mode=mode, value=0.5), x)


def test_pad_gradient_of_repeated_sources_adds_up():
    """replicate copies the edge: its gradient is the sum over the copies."""
    x = tl.Tensor(np.zeros((1, 3)), requires_grad=True)
    F.pad(x, (2, 1), mode="replicate").sum().backward()
    assert x.grad.numpy().tolist() == [[3.0, 1.0, 2.0]]


@pytest.mark.parametrize(("shape", "pad", "kwargs", "error", "match"), [
    ((2, 3), (1, 1, 1), {}, ValueError, "even length"),
    ((2, 3), (1, 1, 1, 1, 1, 1), {}, ValueError, "at most 2 x 2"),
    ((4,), (3, -5), {}, ValueError, "crops 5 elements off axis 0 of size 4"),
    ((2, 3), 1, {}, TypeError, "tuple of ints"),
    ((2, 3), (1.0, 1), {}, TypeError, "tuple of ints"),
    ((2, 3), (1, 1), {"mode": "foo"}, NotImplementedError, "mode must be one of"),
    ((4,), (1, 1), {"mode": "reflect"}, NotImplementedError, "last 1 to 3 axes"),
    ((1, 3), (3, 0), {"mode": "reflect"}, ValueError, "smaller than its size 3"),
    ((1, 3), (4, 0), {"mode": "circular"}, ValueError, "more than once"),
    ((1, 0), (1, 0), {"mode": "replicate"}, ValueError, "size 0"),
])
def test_pad_refuses_what_pytorch_refuses(shape, pad, kwargs, error, match):
    with pytest.raises(error, match=match):
        F.pad(tl.zeros(*shape), pad, **kwargs)


# ---------------------------------------------------------------- conv1d
def conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, l] = b[o] + sum_{c, k} w[o, c, k] x_pad[n, c', l stride + k dilation], a direct loop."""
    n, _, length = x.shape
    o, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    out_len = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    og = o // groups
    out = np.zeros((n, o, out_len))
    for oc in range(o):
        g = oc // og
        for pos in range(out_len):
            window = xp[:, g * cg:(g + 1) * cg, pos * stride:pos * stride + dilation * (k - 1) + 1:dilation]
            out[:, oc, pos] = (window * w[oc]).sum(axis=(1, 2)) + (0.0 if b is None else b[oc])
    return out


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2}, {"padding": 2}, {"dilation": 2, "padding": (1,)},
                                    {"groups": 2, "stride": (3,)}])
def test_conv1d_matches_a_direct_loop(device, kwargs):
    groups = kwargs.get("groups", 1)
    x, w, b = rand(2, 4, 9, dtype=np.float32), rand(6, 4 // groups, 3, seed=1, dtype=np.float32), rand(6, seed=2)
    out = F.conv1d(tl.Tensor(x, device=device), tl.Tensor(w, device=device),
                   tl.Tensor(b.astype(np.float32), device=device), **kwargs)
    plain = {k: v[0] if isinstance(v, tuple) else v for k, v in kwargs.items()}
    np.testing.assert_allclose(out.numpy(), conv1d_ref(x, w, b, **plain), rtol=1e-5, atol=1e-5)


def test_conv1d_same_padding_and_no_bias():
    x, w = rand(1, 2, 7), rand(3, 2, 4, seed=1)
    out = F.conv1d(tl.Tensor(x), tl.Tensor(w), padding="same")
    assert out.shape == (1, 3, 7)  # PyTorch: total 3 = 1 left + 2 right
    np.testing.assert_allclose(out.numpy(), conv1d_ref(np.pad(x, ((0, 0), (0, 0), (0, 1))), w, padding=1))


def test_conv1d_gradient_matches_finite_differences():
    x, w, b = (tl.Tensor(a, requires_grad=True) for a in (rand(2, 2, 6), rand(3, 2, 3, seed=1), rand(3, seed=2)))
    tl.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), x, w, b)


def test_conv1d_refuses_images_and_bad_forms():
    with pytest.raises(ValueError, match=r"\(N, C, L\)"):
        F.conv1d(tl.zeros(1, 2, 3, 4), tl.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="1-tuple"):
        F.conv1d(tl.zeros(1, 2, 8), tl.zeros(1, 2, 3), stride=(1, 2))
    with pytest.raises(ValueError, match="channels"):
        F.conv1d(tl.zeros(1, 2, 8), tl.zeros(1, 3, 3))


# ---------------------------------------------------------------- scaled_dot_product_attention
def sdpa_ref(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch's documented reference in NumPy: softmax(q k^T scale + bias) v, bias -inf where a bool
    mask is False or above the diagonal (causal), a float mask added."""
    length, source = q.shape[-2], k.shape[-2]
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    bias = np.zeros((length, source))
    if is_causal:
        bias[~np.tril(np.ones((length, source), dtype=bool))] = -np.inf
    if attn_mask is not None:
        bias = np.where(attn_mask, bias, -np.inf) if attn_mask.dtype == bool else bias + attn_mask
    scores = q @ np.swapaxes(k, -2, -1) * scale + bias
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True) @ v


def sdpa_inputs(seed=0):
    """q (2, 1, 4, 3) against k (3, 5, 3), v (2, 3, 5, 2): batch dims broadcast to (2, 3)."""
    return rand(2, 1, 4, 3, seed=seed), rand(3, 5, 3, seed=seed + 1), rand(2, 3, 5, 2, seed=seed + 2)


KEEP = np.random.default_rng(9).random((3, 4, 5)) > 0.4
KEEP[..., 0] = True  # every row keeps a position
SDPA_CASES = [{}, {"scale": 0.7}, {"is_causal": True}, {"attn_mask": KEEP},
              {"attn_mask": rand(4, 5, seed=8)}, {"attn_mask": rand(2, 1, 4, 5, seed=7), "scale": 2.0}]


@pytest.mark.parametrize("kwargs", SDPA_CASES, ids=["plain", "scale", "causal", "bool", "float", "float-batch"])
def test_sdpa_matches_the_documented_reference(device, kwargs):
    q, k, v = sdpa_inputs()
    ours = {key: tl.Tensor(a, device=device) if key == "attn_mask" else a for key, a in kwargs.items()}
    out = F.scaled_dot_product_attention(*(tl.Tensor(a, device=device) for a in (q, k, v)), **ours)
    assert out.shape == (2, 3, 4, 2) and out.device == device
    np.testing.assert_allclose(out.numpy(), sdpa_ref(q, k, v, **kwargs), rtol=1e-12, atol=1e-14)
    t32 = F.scaled_dot_product_attention(*(tl.Tensor(a, dtype=np.float32, device=device) for a in (q, k, v)),
                                         **{key: a.float() if key == "attn_mask" and a.dtype == np.float64 else a
                                            for key, a in ours.items()})
    assert t32.dtype == np.float32


@pytest.mark.parametrize("kwargs", SDPA_CASES, ids=["plain", "scale", "causal", "bool", "float", "float-batch"])
def test_sdpa_gradient_wrt_query_key_value(device, kwargs):
    ours = {key: tl.Tensor(a, device=device) if key == "attn_mask" else a for key, a in kwargs.items()}
    q, k, v = (tl.Tensor(a, device=device, requires_grad=True) for a in sdpa_inputs(seed=3))
    assert tl.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **ours), q, k, v)


def test_sdpa_causal_rows_see_only_the_past():
    """Changing a later key or value leaves the earlier rows of a causal attention unchanged."""
    q, k, v = rand(1, 4, 3), rand(1, 4, 3, seed=1), rand(1, 4, 2, seed=2)
    first = F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(k), tl.Tensor(v), is_causal=True).numpy()
    k[:, 3], v[:, 3] = 50.0, -50.0
    second = F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(k), tl.Tensor(v), is_causal=True).numpy()
    np.testing.assert_array_equal(first[:, :3], second[:, :3])
    np.testing.assert_allclose(first[:, 0], v[:, 0], rtol=1e-12)  # row 0 sees key 0 only


def test_sdpa_dropout_uses_the_seeded_generator():
    q, k, v = (tl.Tensor(a) for a in sdpa_inputs())
    tl.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    tl.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, F.scaled_dot_product_attention(q, k, v).numpy())
    # the weights (2, 3, 4, 5) are dropped and scaled by 1 / (1 - p), then multiplied by v
    tl.manual_seed(3)
    keep = tl.backend.random("cpu", (2, 3, 4, 5), np.float64) >= 0.5
    qn, kn, vn = sdpa_inputs()
    scores = qn @ np.swapaxes(kn, -2, -1) / np.sqrt(3)
    w = np.exp(scores - scores.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    np.testing.assert_allclose(a, (w * keep * 2.0) @ vn, rtol=1e-12)


def test_sdpa_refuses_what_pytorch_refuses():
    q, k, v = (tl.Tensor(a) for a in sdpa_inputs())
    with pytest.raises(ValueError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=tl.Tensor(KEEP), is_causal=True)
    with pytest.raises(ValueError, match=r"\(\.\.\., S, Ev\)"):
        F.scaled_dot_product_attention(q, k, tl.zeros(3, 4, 2, dtype=np.float64))
    with pytest.raises(TypeError, match="one float dtype"):
        F.scaled_dot_product_attention(q, k.float(), v)
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


# ---------------------------------------------------------------- against PyTorch itself
def test_the_same_calls_in_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    idx = np.array([[1, 0], [4, 2]])
    np.testing.assert_array_equal(F.one_hot(tl.Tensor(idx)).numpy(), tf.one_hot(torch.tensor(idx)).numpy())
    x = rand(2, 3, 4, 5)
    for pad, mode in [((1, 2), "constant"), ((-1, 2, 3, -2), "constant"), ((2, 1, 1, 3), "reflect"),
                      ((2, 1, 1, 3), "replicate"), ((3, 1, 4, 0), "circular"), ((1, 0, 2, 2, 1, 1), "constant")]:
        ours = F.pad(tl.Tensor(x), pad, mode=mode, value=0.25 if mode == "constant" else None)
        theirs = tf.pad(torch.tensor(x), pad, mode=mode, value=0.25 if mode == "constant" else None)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    x, w, b = rand(2, 4, 11), rand(6, 2, 3, seed=1), rand(6, seed=2)
    for kwargs in ({"stride": 2, "padding": 1, "dilation": 2, "groups": 2}, {"padding": "same", "groups": 2}):
        ours = F.conv1d(tl.Tensor(x), tl.Tensor(w), tl.Tensor(b), **kwargs)
        theirs = tf.conv1d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    q, k, v = sdpa_inputs()
    for kwargs in SDPA_CASES:
        ours = F.scaled_dot_product_attention(tl.Tensor(q), tl.Tensor(k), tl.Tensor(v), **{
            key: tl.Tensor(a) if key == "attn_mask" else a for key, a in kwargs.items()})
        theirs = tf.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k).expand(2, 3, 5, 3),
                                                 torch.tensor(v), dropout_p=0.0, **{
            key: torch.tensor(a) if key == "attn_mask" else a for key, a in kwargs.items()})
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
