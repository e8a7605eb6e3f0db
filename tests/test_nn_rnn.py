"""The recurrent layers (nn/rnn.py): RNNCell, GRUCell, LSTMCell, RNN, GRU, LSTM against a float64
NumPy transcription of PyTorch's documented equations, float64 gradchecks through time and
layers, shapes (batch_first, unbatched), initial states, dropout between layers, init, and,
where PyTorch is importable, its state-dict keys and its outputs from its own weights.
"""
import importlib.util
import math

import numpy as np
import pytest
from helpers import module_gradcheck

import tinygrad_lite as tl
from tinygrad_lite import nn

HAS_TORCH = importlib.util.find_spec("torch") is not None
CELLS = {"RNNCell": 1, "GRUCell": 3, "LSTMCell": 4}
SEQUENCES = {"RNN": 1, "GRU": 3, "LSTM": 4}


# ---------------------------------------------------------------- PyTorch's equations in NumPy
def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def step_ref(kind, x, state, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step of PyTorch's documented RNN / GRU / LSTM equations (gate order r, z, n and i, f, g, o)."""
    b_ih = np.zeros(w_ih.shape[0]) if b_ih is None else b_ih
    b_hh = np.zeros(w_hh.shape[0]) if b_hh is None else b_hh
    if kind.startswith("LSTM"):
        h, c = state
        H = h.shape[-1]
        gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i = _sigmoid(gates[..., :H])
        f = _sigmoid(gates[..., H:2 * H])
        g = np.tanh(gates[..., 2 * H:3 * H])
        o = _sigmoid(gates[..., 3 * H:])
        c = f * c + i * g
        return o * np.tanh(c), c
    h = state
    H = h.shape[-1]
    if kind.startswith("GRU"):
        W_ir, W_iz, W_in = w_ih[:H], w_ih[H:2 * H], w_ih[2 * H:]
        W_hr, W_hz, W_hn = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
        b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
        b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
        r = _sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = _sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        return (1 - z) * n + z * h
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.maximum(pre, 0.0) if nonlinearity == "relu" else np.tanh(pre)


def sequence_ref(kind, p, x, h0, c0, num_layers, bidirectional, nonlinearity="tanh", zero_between=False):
    """PyTorch's multi-layer (bi)directional recurrence on (L, N, I) ``x``; ``p`` maps the
    state-dict names to float64 arrays. ``zero_between``: the layers after the first see zeros
    (dropout with p = 1). Returns output (L, N, D*H), h_n and c_n (None but for LSTM)."""
    D = 2 if bidirectional else 1
    L = x.shape[0]
    hn, cn = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            k = layer * D + d
            state = (h0[k], c0[k]) if kind == "LSTM" else h0[k]
            out = [None] * L
            for t in (range(L) if d == 0 else reversed(range(L))):
                state = step_ref(kind, x[t], state, p["weight_ih" + sfx], p["weight_hh" + sfx],
                                 p.get("bias_ih" + sfx), p.get("bias_hh" + sfx), nonlinearity)
                out[t] = state[0] if kind == "LSTM" else state
            outs.append(np.stack(out))
            hn.append(state[0] if kind == "LSTM" else state)
            if kind == "LSTM":
                cn.append(state[1])
        x = np.concatenate(outs, axis=-1)
        if zero_between and layer < num_layers - 1:
            x = np.zeros_like(x)
    return x, np.stack(hn), (np.stack(cn) if kind == "LSTM" else None)


def params64(module):
    return {k: v.numpy().astype(np.float64) for k, v in module.state_dict().items()}


def t64(a, device="cpu", requires_grad=False):
    return tl.Tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=requires_grad)


# ---------------------------------------------------------------- layout and init
@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_parameter_layout(name):
    G = CELLS[name]
    cell = getattr(nn, name)(3, 5)
    shapes = {k: v.shape for k, v in cell.state_dict().items()}
    assert shapes == {"weight_ih": (G * 5, 3), "weight_hh": (G * 5, 5), "bias_ih": (G * 5,), "bias_hh": (G * 5,)}
    assert list(shapes) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert [k for k, _ in getattr(nn, name)(3, 5, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_parameter_layout(name):
    G = SEQUENCES[name]
    m = getattr(nn, name)(3, 5, num_layers=2, bidirectional=True)
    expected = {}
    for layer, inputs in ((0, 3), (1, 10)):
        for sfx in ("", "_reverse"):
            expected |= {f"weight_ih_l{layer}{sfx}": (G * 5, inputs), f"weight_hh_l{layer}{sfx}": (G * 5, 5),
                         f"bias_ih_l{layer}{sfx}": (G * 5,), f"bias_hh_l{layer}{sfx}": (G * 5,)}
    assert {k: v.shape for k, v in m.state_dict().items()} == expected
    assert list(m.state_dict()) == list(expected)
    assert all("bias" not in k for k, _ in getattr(nn, name)(3, 5, num_layers=2, bias=False).named_parameters())


@pytest.mark.parametrize("name", ["RNNCell", "GRUCell", "LSTMCell", "RNN", "GRU", "LSTM"])
def test_default_init_is_uniform_one_over_sqrt_hidden_size(name):
    tl.manual_seed(0)
    m = getattr(nn, name)(50, 100)
    bound = 1 / math.sqrt(100)
    for key, p in m.state_dict().items():
        v = p.numpy()
        assert np.abs(v).max() <= bound, key
        assert v.min() < -0.9 * bound and v.max() > 0.9 * bound, key
    w = m.state_dict()["weight_hh" if "Cell" in name else "weight_hh_l0"].numpy()
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.03  # U(-b, b) has std b / sqrt(3)


def test_biases_are_not_regularized():
    for m in (nn.LSTM(2, 3, num_layers=2, bidirectional=True), nn.GRUCell(2, 3)):
        assert [p.shape for p in nn.regularization.weights(m)] == [
            v.shape for k, v in m.state_dict().items() if k.startswith("weight")]


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_the_equations(device, name, bias):
    tl.manual_seed(1)
    rng = np.random.default_rng(2)
    kind = name.removesuffix("Cell")
    cell = getattr(nn, name)(3, 4, bias=bias, dtype="float64", device=device)
    p = params64(cell)
    x = rng.standard_normal((5, 3))
    h = rng.standard_normal((5, 4))
    c = rng.standard_normal((5, 4))
    weights = (p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))
    if kind == "LSTM":
        out = cell(t64(x, device), (t64(h, device), t64(c, device)))
        ref = step_ref(kind, x, (h, c), *weights)
        for o, r in zip(out, ref):
            np.testing.assert_allclose(o.numpy(), r, rtol=1e-12, atol=1e-12)
        zero = step_ref(kind, x, (np.zeros((5, 4)), np.zeros((5, 4))), *weights)
        for o, r in zip(cell(t64(x, device)), zero):
            np.testing.assert_allclose(o.numpy(), r, rtol=1e-12, atol=1e-12)
        # unbatched: (I,) in, (H,) pair out
        out1 = cell(t64(x[0], device), (t64(h[0], device), t64(c[0], device)))
        assert [o.shape for o in out1] == [(4,), (4,)]
        np.testing.assert_allclose(out1[1].numpy(), ref[1][0], rtol=1e-12, atol=1e-12)
    else:
        out = cell(t64(x, device), t64(h, device))
        np.testing.assert_allclose(out.numpy(), step_ref(kind, x, h, *weights), rtol=1e-12, atol=1e-12)
        zero = step_ref(kind, x, np.zeros((5, 4)), *weights)
        np.testing.assert_allclose(cell(t64(x, device)).numpy(), zero, rtol=1e-12, atol=1e-12)
        out1 = cell(t64(x[0], device), t64(h[0], device))
        assert out1.shape == (4,)
        np.testing.assert_allclose(out1.numpy(), out.numpy()[0], rtol=1e-12, atol=1e-12)


def test_rnn_cell_relu():
    rng = np.random.default_rng(3)
    cell = nn.RNNCell(3, 4, nonlinearity="relu", dtype="float64")
    p = params64(cell)
    x, h = rng.standard_normal((6, 3)), rng.standard_normal((6, 4))
    ref = step_ref("RNN", x, h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], "relu")
    np.testing.assert_allclose(cell(t64(x), t64(h)).numpy(), ref, rtol=1e-12, atol=1e-12)
    assert (ref == 0).any()


@pytest.mark.parametrize("name", sorted(SEQUENCES))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequences_match_the_equations(device, name, bidirectional):
    tl.manual_seed(4)
    rng = np.random.default_rng(5)
    D = 2 if bidirectional else 1
    m = getattr(nn, name)(3, 4, num_layers=2, bidirectional=bidirectional, dtype="float64", device=device)
    p = params64(m)
    x = rng.standard_normal((6, 2, 3))
    h0, c0 = rng.standard_normal((2 * D, 2, 4)), rng.standard_normal((2 * D, 2, 4))
    hx = (t64(h0, device), t64(c0, device)) if name == "LSTM" else t64(h0, device)
    out, state = m(t64(x, device), hx)
    ref_out, ref_h, ref_c = sequence_ref(name, p, x, h0, c0, 2, bidirectional)
    assert out.shape == (6, 2, D * 4)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-12, atol=1e-12)
    if name == "LSTM":
        np.testing.assert_allclose(state[0].numpy(), ref_h, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state[1].numpy(), ref_c, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(state.numpy(), ref_h, rtol=1e-12, atol=1e-12)
    # no initial state: zeros
    zeros = np.zeros((2 * D, 2, 4))
    out0, _ = m(t64(x, device))
    np.testing.assert_allclose(out0.numpy(), sequence_ref(name, p, x, zeros, zeros, 2, bidirectional)[0],
                               rtol=1e-12, atol=1e-12)


def test_rnn_relu_without_bias_matches_the_equations():
    rng = np.random.default_rng(6)
    m = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bias=False, dtype="float64")
    x, h0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 2, 4))
    out, hn = m(t64(x), t64(h0))
    ref_out, ref_h, _ = sequence_ref("RNN", params64(m), x, h0, None, 2, False, "relu")
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hn.numpy(), ref_h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_batch_first_and_unbatched_shapes(name):
    rng = np.random.default_rng(7)
    m = getattr(nn, name)(3, 4, num_layers=2, dtype="float64")
    mb = getattr(nn, name)(3, 4, num_layers=2, batch_first=True, dtype="float64")
    mb.load_state_dict(m.state_dict())
    x = rng.standard_normal((5, 2, 3))  # (L, N, I)
    out, state = m(t64(x))
    out_b, state_b = mb(t64(x.transpose(1, 0, 2)))
    assert out_b.shape == (2, 5, 4)
    np.testing.assert_allclose(out_b.numpy(), out.numpy().transpose(1, 0, 2), rtol=1e-12)
    hn, hn_b = (state[0], state_b[0]) if name == "LSTM" else (state, state_b)
    assert hn_b.shape == (2, 2, 4)  # batch_first does not apply to the states
    np.testing.assert_allclose(hn_b.numpy(), hn.numpy(), rtol=1e-12)
    # unbatched (L, I): the first sample alone, states (num_layers, H)
    out1, state1 = m(t64(x[:, 0]))
    assert out1.shape == (5, 4)
    np.testing.assert_allclose(out1.numpy(), out.numpy()[:, 0], rtol=1e-12, atol=1e-14)
    hn1 = state1[0] if name == "LSTM" else state1
    assert hn1.shape == (2, 4)
    h0 = rng.standard_normal((2, 4))
    hx = (t64(h0), t64(h0)) if name == "LSTM" else t64(h0)
    out2, _ = m(t64(x[:, 0]), hx)
    hx3 = (t64(h0[:, None]), t64(h0[:, None])) if name == "LSTM" else t64(h0[:, None])
    np.testing.assert_allclose(out2.numpy(), m(t64(x[:, :1]), hx3)[0].numpy()[:, 0], rtol=1e-12)


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", sorted(CELLS))
def test_cell_gradcheck(device, name):
    tl.manual_seed(8)
    cell = getattr(nn, name)(3, 2, dtype="float64", device=device)
    x = tl.randn(4, 3, dtype="float64", device=device, requires_grad=True)
    h = tl.randn(4, 2, dtype="float64", device=device, requires_grad=True)
    if name == "LSTMCell":
        c = tl.randn(4, 2, dtype="float64", device=device, requires_grad=True)

        class Both(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = cell

            def forward(self, x, h, c):
                h2, c2 = self.cell(x, (h, c))
                return h2 * 2.0 + c2

        assert module_gradcheck(Both(), x, h, c)
    else:
        assert module_gradcheck(cell, x, h)


class _Outputs(nn.Module):
    """A sequence module's output and final states, summed into one tensor for gradcheck."""

    def __init__(self, inner, lstm):
        super().__init__()
        self.inner, self.lstm = inner, lstm

    def forward(self, x, h0, c0=None):
        out, state = self.inner(x, (h0, c0) if self.lstm else h0)
        if self.lstm:
            return out.sum() + (state[0] * 2.0).sum() + (state[1] * 3.0).sum()
        return out.sum() + (state * 2.0).sum()


@pytest.mark.parametrize("name", sorted(SEQUENCES))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_sequence_gradcheck_two_layers(device, name, bidirectional):
    tl.manual_seed(9)
    D = 2 if bidirectional else 1
    lstm = name == "LSTM"
    m = _Outputs(getattr(nn, name)(2, 2, num_layers=2, bidirectional=bidirectional, dtype="float64",
                                   device=device), lstm)
    x = tl.randn(3, 2, 2, dtype="float64", device=device, requires_grad=True)
    states = [tl.randn(2 * D, 2, 2, dtype="float64", device=device, requires_grad=True) for _ in range(1 + lstm)]
    assert module_gradcheck(m, x, *states)


# ---------------------------------------------------------------- dropout between layers
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_dropout_only_between_layers_and_only_in_training(name):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 3, 2))
    m = getattr(nn, name)(2, 3, num_layers=2, dropout=1.0, dtype="float64")
    p = params64(m)
    zeros = np.zeros((2, 3, 3))
    # p = 1 drops the whole first layer's output: the second layer sees zeros; its own output is kept
    out, _ = m(t64(x))
    ref = sequence_ref(name, p, x, zeros, zeros, 2, False, zero_between=True)[0]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12, atol=1e-14)
    assert np.abs(ref).min() > 0
    m.eval()
    np.testing.assert_allclose(m(t64(x))[0].numpy(), sequence_ref(name, p, x, zeros, zeros, 2, False)[0],
                               rtol=1e-12, atol=1e-14)
    # p = 0.5 in training: seeded, so reproducible, and different from eval
    half = getattr(nn, name)(2, 3, num_layers=2, dropout=0.5, dtype="float64")
    runs = []
    for _ in range(2):
        tl.manual_seed(11)
        runs.append(half(t64(x))[0].numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], half.eval()(t64(x))[0].numpy())


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="num_layers=1"):
        nn.GRU(2, 3, dropout=0.5)


# ---------------------------------------------------------------- errors and repr
def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"input_size=2.*\(5, 3, 4\)"):
        nn.LSTM(2, 3)(tl.zeros(5, 3, 4))
    with pytest.raises(ValueError, match=r"1-D or 2-D"):
        nn.GRUCell(2, 3)(tl.zeros(1, 5, 2))
    with pytest.raises(ValueError, match=r"h_0 of shape \(2, 4, 3\)"):
        nn.RNN(2, 3, num_layers=2)(tl.zeros(5, 4, 2), tl.zeros(1, 4, 3))
    with pytest.raises(ValueError, match=r"c_0 of shape \(1, 4, 3\)"):
        nn.LSTM(2, 3)(tl.zeros(5, 4, 2), (tl.zeros(1, 4, 3), tl.zeros(1, 3)))
    with pytest.raises(ValueError, match=r"hx of shape \(4, 3\)"):
        nn.RNNCell(2, 3)(tl.zeros(4, 2), tl.zeros(3))
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(2, 3, num_layers=2, dropout=1.5)
    with pytest.raises(TypeError):
        nn.GRU(2, 3, batch_first=1)


def test_repr():
    assert repr(nn.LSTM(2, 3, num_layers=2, batch_first=True)) == "LSTM(2, 3, num_layers=2, batch_first=True)"
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == "RNNCell(2, 3, nonlinearity='relu')"


# ---------------------------------------------------------------- against PyTorch
TORCH_KWARGS = {"RNNCell": {}, "GRUCell": {}, "LSTMCell": {}, "RNN": {"num_layers": 2, "nonlinearity": "relu"},
                "GRU": {"num_layers": 2, "batch_first": True}, "LSTM": {"num_layers": 2, "bidirectional": True}}


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
@pytest.mark.parametrize("name", sorted(TORCH_KWARGS))
def test_torch_state_dict_loads_and_gives_torch_outputs(name):
    import torch

    torch.manual_seed(0)
    kwargs = TORCH_KWARGS[name]
    theirs = getattr(torch.nn, name)(3, 4, **kwargs)
    ours = getattr(nn, name)(3, 4, **kwargs)
    sd = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert [(k, v.shape) for k, v in sd.items()] == [(k, v.shape) for k, v in ours.state_dict().items()]
    ours.load_state_dict({k: tl.Tensor(v) for k, v in sd.items()})
    rng = np.random.default_rng(12)
    cell = "Cell" in name
    D = 2 if kwargs.get("bidirectional") else 1
    x = rng.standard_normal((5, 3) if cell else (2, 6, 3) if kwargs.get("batch_first") else (6, 2, 3))
    h = rng.standard_normal((5, 4) if cell else (2 * D, 2, 4))
    x, h = x.astype(np.float32), h.astype(np.float32)
    if name.startswith("LSTM"):
        c = (h * 0.5).astype(np.float32)
        expected = theirs(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        got = ours(tl.Tensor(x), (tl.Tensor(h), tl.Tensor(c)))
    else:
        expected = theirs(torch.tensor(x), torch.tensor(h))
        got = ours(tl.Tensor(x), tl.Tensor(h))
    flat = lambda o: [a for b in o for a in flat(b)] if isinstance(o, tuple) else [o]
    for g, e in zip(flat(got), flat(expected), strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g.numpy(), e.detach().numpy(), rtol=1e-5, atol=1e-5)
