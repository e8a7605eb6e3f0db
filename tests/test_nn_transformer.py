"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder: values against a plain-NumPy
transcription of PyTorch's documented forward (float64), gradients against finite differences
(inputs and parameters), masks, shapes, init and bad arguments; where PyTorch is importable, its
state-dict keys and shapes, and its outputs from its own weights."""
import math

import numpy as np
import pytest
from helpers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn


# ---------------------------------------------------------------- the NumPy reference
def np_softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_mha(query, key, value, w_in, b_in, w_out, b_out, heads, attn_mask=None, key_padding_mask=None):
    """PyTorch's MultiheadAttention forward on (L, N, E) query and (S, N, E) key and value, one
    batch element and one head at a time: q = query W_q^T + b_q (likewise k, v from the rows
    [E, 2E) and [2E, 3E) of the in-projection), scores q_h k_h^T / sqrt(E / heads), a bool mask
    True -> -inf, a float mask added, softmax over the keys, heads concatenated, out-projection.
    Returns (output (L, N, E), weights (N, heads, L, S))."""
    length, n, e = query.shape
    s = key.shape[0]
    d = e // heads
    b_in = np.zeros(3 * e) if b_in is None else b_in
    out = np.zeros((length, n, e))
    weights = np.zeros((n, heads, length, s))
    for b in range(n):
        q = query[:, b] @ w_in[:e].T + b_in[:e]
        k = key[:, b] @ w_in[e:2 * e].T + b_in[e:2 * e]
        v = value[:, b] @ w_in[2 * e:].T + b_in[2 * e:]
        concat = np.zeros((length, e))
        for h in range(heads):
            cols = slice(h * d, (h + 1) * d)
            scores = q[:, cols] @ k[:, cols].T / np.sqrt(d)
            for mask in (attn_mask if attn_mask is None or attn_mask.ndim == 2 else attn_mask[b * heads + h],
                         None if key_padding_mask is None else key_padding_mask[b][None, :]):
                if mask is not None:
                    scores = np.where(mask, -np.inf, scores) if mask.dtype == bool else scores + mask
            weights[b, h] = np_softmax(scores)
            concat[:, cols] = weights[b, h] @ v[:, cols]
        out[:, b] = concat @ w_out.T + (0 if b_out is None else b_out)
    return out, weights


def np_params(m):
    return (m.in_proj_weight.numpy(), None if m.in_proj_bias is None else m.in_proj_bias.numpy(),
            m.out_proj.weight.numpy(), None if m.out_proj.bias is None else m.out_proj.bias.numpy())


def randomize(module, seed=0):
    """Every parameter drawn from N(0, 0.5^2): away from the zero biases of the init, so each term counts."""
    rng = np.random.default_rng(seed)
    for p in module.parameters():
        p.data[...] = rng.normal(scale=0.5, size=p.shape)
    return module


# ---------------------------------------------------------------- MultiheadAttention
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("self_attention", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_mha_matches_the_numpy_reference(device, batch_first, self_attention, bias):
    rng = np.random.default_rng(1)
    length, s, n, e, heads = 4, 4 if self_attention else 5, 3, 6, 2
    m = randomize(nn.MultiheadAttention(e, heads, bias=bias, batch_first=batch_first, dtype="float64",
                                        device=device))
    q = rng.normal(size=(length, n, e))
    k = q if self_attention else rng.normal(size=(s, n, e))
    v = q if self_attention else rng.normal(size=(s, n, e))
    want, want_w = np_mha(q, k, v, *np_params(m), heads)
    to = (lambda a: tl.Tensor(a.transpose(1, 0, 2) if batch_first else a, device=device))
    tq = to(q)
    tk, tv = (tq, tq) if self_attention else (to(k), to(v))
    out, w = m(tq, tk, tv)
    np.testing.assert_allclose(out.numpy(), want.transpose(1, 0, 2) if batch_first else want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), want_w.mean(axis=1), rtol=1e-10, atol=1e-12)
    _, w_all = m(tq, tk, tv, average_attn_weights=False)
    np.testing.assert_allclose(w_all.numpy(), want_w, rtol=1e-10, atol=1e-12)


MASKS = {
    "bool attn_mask": lambda r, n, h, L, S: {"attn_mask": r.random((L, S)) < 0.3},
    "float attn_mask": lambda r, n, h, L, S: {"attn_mask": r.normal(size=(L, S))},
    "3-d attn_mask": lambda r, n, h, L, S: {"attn_mask": r.random((n * h, L, S)) < 0.3},
    "bool key_padding_mask": lambda r, n, h, L, S: {"key_padding_mask": np.arange(S) >= S - 1 - np.arange(n)[:, None]},
    "float key_padding_mask": lambda r, n, h, L, S: {"key_padding_mask": r.normal(size=(n, S))},
    "both": lambda r, n, h, L, S: {"attn_mask": r.normal(size=(L, S)),
                                   "key_padding_mask": np.arange(S) >= S - 1 - np.arange(n)[:, None]},
}


@pytest.mark.parametrize("kind", list(MASKS))
def test_mha_masks_match_the_numpy_reference(device, kind):
    rng = np.random.default_rng(2)
    length, s, n, e, heads = 4, 5, 3, 4, 2
    m = randomize(nn.MultiheadAttention(e, heads, dtype="float64", device=device))
    q, k, v = rng.normal(size=(length, n, e)), rng.normal(size=(s, n, e)), rng.normal(size=(s, n, e))
    masks = MASKS[kind](rng, n, heads, length, s)
    if "attn_mask" in masks and masks["attn_mask"].dtype == bool:
        masks["attn_mask"][..., 0] = False  # no row fully masked (that row is nan, as in PyTorch)
    want, want_w = np_mha(q, k, v, *np_params(m), heads, **masks)
    out, w = m(*(tl.Tensor(a, device=device) for a in (q, k, v)),
               **{name: tl.Tensor(a, device=device) for name, a in masks.items()}, average_attn_weights=False)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), want_w, rtol=1e-10, atol=1e-12)


def test_mha_is_causal_is_the_lower_triangular_mask(device):
    rng = np.random.default_rng(3)
    m = randomize(nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64", device=device))
    x = tl.Tensor(rng.normal(size=(2, 5, 4)), device=device)
    causal = tl.Tensor(np.triu(np.ones((5, 5), bool), 1), device=device)
    out, w = m(x, x, x, is_causal=True)
    ref, ref_w = m(x, x, x, attn_mask=causal)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(w.numpy(), ref_w.numpy())
    assert np.all(np.triu(w.numpy()[0], 1) == 0)
    # position i sees only 0..i: changing the last input leaves the earlier outputs as they were
    x2 = x.numpy().copy()
    x2[:, -1] += 1.0
    x2 = tl.Tensor(x2, device=device)
    np.testing.assert_allclose(m(x2, x2, x2, is_causal=True)[0].numpy()[:, :-1], out.numpy()[:, :-1], rtol=1e-12)
    # with a mask, is_causal is PyTorch's hint: the mask is used as given
    float_mask = tl.Tensor(rng.normal(size=(5, 5)), device=device)
    np.testing.assert_array_equal(m(x, x, x, attn_mask=float_mask, is_causal=True)[0].numpy(),
                                  m(x, x, x, attn_mask=float_mask)[0].numpy())


@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_shapes_need_weights_and_unbatched_input(batch_first):
    m = nn.MultiheadAttention(8, 4, batch_first=batch_first)
    q = tl.randn(2, 3, 8)  # (L, N, E) or (N, L, E)
    kv = tl.randn(5, 3, 8) if not batch_first else tl.randn(2, 5, 8)
    out, w = m(q, kv, kv)
    assert out.shape == q.shape and out.dtype == np.float32
    assert w.shape == ((3, 2, 5) if not batch_first else (2, 3, 5))
    assert m(q, kv, kv, average_attn_weights=False)[1].shape == ((3, 4, 2, 5) if not batch_first else (2, 4, 3, 5))
    out2, none = m(q, kv, kv, need_weights=False)
    assert none is None
    np.testing.assert_allclose(out2.numpy(), out.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.numpy().sum(-1), 1, rtol=1e-5)
    # unbatched (L, E) and (S, E): the batched result of a batch of one
    q1, kv1 = tl.randn(2, 8), tl.randn(5, 8)
    out1, w1 = m(q1, kv1, kv1, key_padding_mask=tl.Tensor(np.array([0, 0, 0, 0, 1], bool)))
    assert out1.shape == (2, 8) and w1.shape == (2, 5) and np.all(w1.numpy()[:, -1] == 0)
    qb, kvb = (q1.unsqueeze(0), kv1.unsqueeze(0)) if batch_first else (q1.unsqueeze(1), kv1.unsqueeze(1))
    outb = m(qb, kvb, kvb, key_padding_mask=tl.Tensor(np.array([[0, 0, 0, 0, 1]], bool)))[0]
    np.testing.assert_allclose(out1.numpy(), outb.numpy().reshape(2, 8), rtol=1e-5, atol=1e-6)
    assert m(q1, kv1, kv1, average_attn_weights=False)[1].shape == (4, 2, 5)


class _Attend(nn.Module):
    """The attention output alone (gradcheck needs one tensor), as self-attention or not."""

    def __init__(self, mha, self_attention, **kwargs):
        super().__init__()
        self.mha, self.self_attention, self.kwargs = mha, self_attention, kwargs

    def forward(self, *xs):
        return self.mha(*(xs * 3 if self.self_attention else xs), **self.kwargs)[0]


@pytest.mark.parametrize("self_attention", [False, True])
def test_mha_gradcheck(device, self_attention):
    rng = np.random.default_rng(4)
    m = randomize(nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64", device=device))
    kpm = tl.Tensor(np.array([[False, False, True], [False, False, False]]), device=device)
    module = _Attend(m, self_attention, key_padding_mask=kpm)
    shapes = [(2, 3, 4)] if self_attention else [(2, 2, 4), (2, 3, 4), (2, 3, 4)]
    xs = [tl.Tensor(rng.normal(size=s), device=device, requires_grad=True) for s in shapes]
    assert module_gradcheck(module, *xs)


def test_mha_gradcheck_with_a_float_mask_and_is_causal(device):
    rng = np.random.default_rng(5)
    m = randomize(nn.MultiheadAttention(4, 2, dtype="float64", device=device))
    x = tl.Tensor(rng.normal(size=(3, 2, 4)), device=device, requires_grad=True)
    assert module_gradcheck(_Attend(m, True, is_causal=True), x)
    mask = tl.Tensor(rng.normal(size=(3, 3)), device=device)
    assert module_gradcheck(_Attend(m, True, attn_mask=mask), x)


def test_mha_init_and_parameters_are_pytorchs():
    tl.manual_seed(0)
    e = 32
    m = nn.MultiheadAttention(e, 4)
    assert [(k, v.shape) for k, v in m.state_dict().items()] == [
        ("in_proj_weight", (3 * e, e)), ("in_proj_bias", (3 * e,)), ("out_proj.weight", (e, e)), ("out_proj.bias", (e,))]
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    w = m.in_proj_weight.numpy()
    bound = np.sqrt(6 / (e + 3 * e))  # xavier_uniform_ on the whole (3E, E) matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.05 * bound
    assert np.abs(m.out_proj.weight.numpy()).max() <= 1 / np.sqrt(e)  # a Linear's default
    assert [k for k, _ in nn.MultiheadAttention(e, 4, bias=False).state_dict().items()] == [
        "in_proj_weight", "out_proj.weight"]
    assert m.head_dim == 8 and "num_heads=4" in repr(m)


def test_mha_dropout_only_in_training():
    tl.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = tl.randn(2, 6, 8)
    m.eval()
    a, wa = m(x, x, x)
    b, wb = m(x, x, x)
    np.testing.assert_array_equal(wa.numpy(), wb.numpy())
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(wa.numpy().sum(-1), 1, rtol=1e-5)
    m.train()
    c, wc = m(x, x, x, average_attn_weights=False)
    assert not np.allclose(c.numpy(), a.numpy())
    kept = wc.numpy()
    assert np.mean(kept == 0) > 0.2  # dropped weights (returned after dropout, as PyTorch)


@pytest.mark.parametrize("kwargs, error", [
    ({"kdim": 4}, NotImplementedError), ({"vdim": 4}, NotImplementedError),
    ({"add_bias_kv": True}, NotImplementedError), ({"add_zero_attn": True}, NotImplementedError),
    ({"num_heads": 3}, ValueError), ({"dropout": 1.5}, ValueError),
])
def test_mha_refuses_what_it_does_not_support(kwargs, error):
    args = {"embed_dim": 8, "num_heads": 2} | kwargs
    with pytest.raises(error):
        nn.MultiheadAttention(**args)
    nn.MultiheadAttention(8, 2, kdim=8, vdim=8)  # the default sizes spelled out are fine


def test_mha_refuses_bad_inputs_and_masks():
    m = nn.MultiheadAttention(4, 2)
    x = tl.randn(3, 2, 4)
    with pytest.raises(ValueError, match="query"):
        m(tl.randn(3, 2, 5), x, x)
    with pytest.raises(ValueError, match="batched"):
        m(tl.randn(3, 4), x, x)
    with pytest.raises(ValueError, match="attn_mask"):
        m(x, x, x, attn_mask=tl.Tensor(np.zeros((3, 4), bool)))
    with pytest.raises(ValueError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=tl.Tensor(np.zeros((3, 3), bool)))
    with pytest.raises(TypeError, match="attn_mask"):
        m(x, x, x, attn_mask=tl.Tensor(np.zeros((3, 3), np.int64)))


# ---------------------------------------------------------------- TransformerEncoderLayer / Encoder
def np_encoder_layer(layer, x, norm_first, act):
    """PyTorch's documented TransformerEncoderLayer (eval) on (L, N, E) float64 x with the layer's weights."""
    p = {k: v.numpy() for k, v in layer.state_dict().items()}

    def ln(y, name):
        y = (y - y.mean(-1, keepdims=True)) / np.sqrt(y.var(-1, keepdims=True) + 1e-5)
        return y * p[f"{name}.weight"] + p[f"{name}.bias"]

    def sa(y):
        return np_mha(y, y, y, p["self_attn.in_proj_weight"], p["self_attn.in_proj_bias"],
                      p["self_attn.out_proj.weight"], p["self_attn.out_proj.bias"], layer.self_attn.num_heads)[0]

    def ff(y):
        h = y @ p["linear1.weight"].T + p["linear1.bias"]
        h = np.maximum(h, 0) if act == "relu" else h * 0.5 * (1 + np.vectorize(math.erf)(h / np.sqrt(2)))
        return h @ p["linear2.weight"].T + p["linear2.bias"]

    if norm_first:
        x = x + sa(ln(x, "norm1"))
        return x + ff(ln(x, "norm2"))
    x = ln(x + sa(x), "norm1")
    return ln(x + ff(x), "norm2")


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_encoder_layer_matches_the_numpy_reference(device, norm_first, act):
    rng = np.random.default_rng(6)
    layer = randomize(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.3, activation=act, norm_first=norm_first,
                                                 dtype="float64", device=device)).eval()
    x = rng.normal(size=(3, 2, 4))
    np.testing.assert_allclose(layer(tl.Tensor(x, device=device)).numpy(), np_encoder_layer(layer, x, norm_first, act),
                               rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck(device, norm_first):
    rng = np.random.default_rng(7)
    layer = randomize(nn.TransformerEncoderLayer(4, 2, 3, dropout=0.0, activation="gelu", norm_first=norm_first,
                                                 batch_first=True, dtype="float64", device=device))
    x = tl.Tensor(rng.normal(size=(2, 3, 4)), device=device, requires_grad=True)
    assert module_gradcheck(layer, x)


def test_encoder_gradcheck_with_masks(device):
    rng = np.random.default_rng(8)
    layer = nn.TransformerEncoderLayer(4, 2, 3, dropout=0.0, batch_first=True, dtype="float64", device=device)
    enc = randomize(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4, dtype="float64", device=device)))
    x = tl.Tensor(rng.normal(size=(2, 3, 4)), device=device, requires_grad=True)
    kpm = tl.Tensor(np.array([[False, False, True], [False, False, False]]), device=device)

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            return self.enc(x, src_key_padding_mask=kpm, is_causal=True)

    assert module_gradcheck(Masked(), x)


def test_encoder_layer_eval_is_deterministic_and_training_drops():
    tl.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = tl.randn(5, 2, 8)
    layer.eval()
    a = layer(x).numpy()
    np.testing.assert_array_equal(a, layer(x).numpy())
    no_dropout = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    no_dropout.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(no_dropout(x).numpy(), a, rtol=1e-6)  # eval is the layer without dropout
    layer.train()
    assert not np.allclose(layer(x).numpy(), a)


def test_encoder_layer_submodules_activation_and_bad_arguments():
    layer = nn.TransformerEncoderLayer(8, 2)
    assert [name for name, _ in layer.named_children()] == [
        "self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2"]
    assert layer.linear1.out_features == 2048 and layer.dropout.p == 0.1 and layer.norm1.eps == 1e-5
    assert not layer.norm_first and not layer.self_attn.batch_first
    gelu = nn.GELU()
    with_module = nn.TransformerEncoderLayer(8, 2, 4, activation=gelu, dropout=0.0).eval()
    with_string = nn.TransformerEncoderLayer(8, 2, 4, activation="gelu", dropout=0.0).eval()
    with_string.load_state_dict(with_module.state_dict())
    x = tl.randn(3, 2, 8)
    np.testing.assert_allclose(with_module(x).numpy(), with_string(x).numpy(), rtol=1e-6)
    assert "activation" in dict(with_module.named_children())  # a module activation is a child, as in PyTorch
    assert [k for k in nn.TransformerEncoderLayer(8, 2, 4, bias=False).state_dict()] == [
        "self_attn.in_proj_weight", "self_attn.out_proj.weight", "linear1.weight", "linear2.weight",
        "norm1.weight", "norm2.weight"]
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(TypeError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation=3)
    with pytest.raises(ValueError):
        nn.TransformerEncoderLayer(8, 3)


def test_encoder_layers_are_independent_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    assert len(enc.layers) == 3 and enc.num_layers == 3 and enc.norm is None
    params = [p for lyr in enc.layers for p in lyr.parameters()]
    assert len({id(p) for p in params}) == len(params) == 3 * len(list(layer.parameters()))
    assert all(p is not q for p, q in zip(layer.parameters(), enc.layers[0].parameters()))
    np.testing.assert_array_equal(enc.layers[2].linear1.weight.numpy(), layer.linear1.weight.numpy())
    keys = list(enc.state_dict())
    assert keys[0] == "layers.0.self_attn.in_proj_weight" and keys[-1] == "layers.2.norm2.bias"
    with pytest.raises(TypeError):
        nn.TransformerEncoder("layer", 2)


# ---------------------------------------------------------------- against PyTorch itself
def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed")


def _builders(torch_nn, kind):
    return {
        "mha": lambda m: m.MultiheadAttention(8, 2, batch_first=True),
        "mha-nobias": lambda m: m.MultiheadAttention(8, 2, bias=False),
        "layer": lambda m: m.TransformerEncoderLayer(8, 2, 16, batch_first=True),
        "layer-nobias": lambda m: m.TransformerEncoderLayer(8, 2, 16, bias=False),
        "encoder": lambda m: m.TransformerEncoder(m.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2,
                                                  norm=m.LayerNorm(8), enable_nested_tensor=False),
    }[kind](torch_nn)


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize("kind", ["mha", "mha-nobias", "layer", "layer-nobias", "encoder"])
def test_state_dict_keys_and_shapes_are_pytorchs(kind):
    torch = _torch()
    ours = [(k, tuple(v.shape)) for k, v in _builders(nn, kind).state_dict().items()]
    theirs = [(k, tuple(v.shape)) for k, v in _builders(torch.nn, kind).state_dict().items()]
    assert ours == theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "bool", "float", "3-d"])
def test_mha_gives_pytorchs_outputs_from_its_weights(batch_first, masks):
    torch = _torch()
    torch.manual_seed(0)
    rng = np.random.default_rng(9)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    ours, theirs = _load_from_torch(nn.MultiheadAttention(8, 2, batch_first=batch_first), theirs)
    n, length, s = 3, 4, 5
    q = rng.normal(size=(n, length, 8) if batch_first else (length, n, 8)).astype(np.float32)
    kv = rng.normal(size=(n, s, 8) if batch_first else (s, n, 8)).astype(np.float32)
    kw = {}
    if masks == "bool":
        kw = {"attn_mask": rng.random((length, s)) < 0.3,
              "key_padding_mask": np.arange(s) >= s - 1 - np.arange(n)[:, None]}
        kw["attn_mask"][:, 0] = False
    elif masks == "float":
        kw = {"attn_mask": rng.normal(size=(length, s)).astype(np.float32),
              "key_padding_mask": rng.normal(size=(n, s)).astype(np.float32)}
    elif masks == "3-d":
        kw = {"attn_mask": rng.normal(size=(n * 2, length, s)).astype(np.float32)}
    with torch.no_grad():
        t_out, t_w = theirs(torch.tensor(q), torch.tensor(kv), torch.tensor(kv),
                            **{k: torch.tensor(v) for k, v in kw.items()}, average_attn_weights=False)
    out, w = ours(tl.Tensor(q), tl.Tensor(kv), tl.Tensor(kv), **{k: tl.Tensor(v) for k, v in kw.items()},
                  average_attn_weights=False)
    np.testing.assert_allclose(out.numpy(), t_out.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.numpy(), t_w.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_gives_pytorchs_outputs_from_its_weights(norm_first, act, batch_first):
    torch = _torch()
    torch.manual_seed(1)
    kw = {"dim_feedforward": 16, "activation": act, "norm_first": norm_first, "batch_first": batch_first}
    theirs = torch.nn.TransformerEncoderLayer(8, 2, **kw)
    ours, theirs = _load_from_torch(nn.TransformerEncoderLayer(8, 2, **kw), theirs)
    x = np.random.default_rng(10).normal(size=(3, 5, 8) if batch_first else (5, 3, 8)).astype(np.float32)
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    with torch.no_grad():
        want = theirs(torch.tensor(x)).numpy()
        want_masked = theirs(torch.tensor(x), src_mask=torch.tensor(mask), is_causal=True).numpy()
    np.testing.assert_allclose(ours(tl.Tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(tl.Tensor(x), src_mask=tl.Tensor(mask), is_causal=True).numpy(), want_masked,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(tl.Tensor(x), is_causal=True).numpy(), want_masked, rtol=1e-5, atol=1e-5)


def test_two_layer_encoder_gives_pytorchs_outputs_from_its_weights():
    torch = _torch()
    torch.manual_seed(2)
    theirs = _builders(torch.nn, "encoder")
    ours, theirs = _load_from_torch(_builders(nn, "encoder"), theirs)
    x = np.random.default_rng(11).normal(size=(2, 6, 8)).astype(np.float32)
    kpm = np.arange(6) >= np.array([[6], [4]])  # the second sequence has two padding positions
    with torch.no_grad():
        want = theirs(torch.tensor(x)).numpy()
        want_padded = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm)).numpy()
    np.testing.assert_allclose(ours(tl.Tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5)
    got = ours(tl.Tensor(x), src_key_padding_mask=tl.Tensor(kpm)).numpy()
    np.testing.assert_allclose(got[~kpm], want_padded[~kpm], rtol=1e-5, atol=1e-5)  # the positions kept
