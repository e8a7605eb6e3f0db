"""Recurrent layers, PyTorch's ``RNNCell``, ``GRUCell``, ``LSTMCell`` (one time step) and ``RNN``,
``GRU``, ``LSTM`` (whole sequences, stacked layers, optionally bidirectional).

Each step is composed from Tensor ops (linear, sigmoid, tanh, stack), so autograd runs
through time without a special backward. Parameters, their shapes, names, gate order and
init are PyTorch's, so a PyTorch state dict loads as it is:

    weight_ih (G*H, I), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,)

with G = 1 (RNN), 3 (GRU: r, z, n) or 4 (LSTM: i, f, g, o), every one drawn from
U(-1/sqrt(H), 1/sqrt(H)). The multi-layer modules name them ``weight_ih_l{k}`` ...
(``..._l{k}_reverse`` for the backward direction).
"""
from __future__ import annotations

import math
import warnings

from tinygrad_lite import factory
from tinygrad_lite.checks import check_bool, check_choice, check_int, check_probability
from tinygrad_lite.tensor import Tensor, concatenate, stack

from . import functional as F
from . import init
from .module import Module, Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------- one time step
def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, relu=False):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu."""
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x, state, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's LSTM step, gates in the order i, f, g, o:
    c' = f * c + i * g, h' = o * tanh(c')."""
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, axis=-1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """PyTorch's GRU step, gates in the order r, z, n:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h."""
    gi_r, gi_z, gi_n = F.linear(x, w_ih, b_ih).chunk(3, axis=-1)
    gh_r, gh_z, gh_n = F.linear(h, w_hh, b_hh).chunk(3, axis=-1)
    r = (gi_r + gh_r).sigmoid()
    z = (gi_z + gh_z).sigmoid()
    n = (gi_n + r * gh_n).tanh()
    return (1 - z) * n + z * h


def _step(mode, x, state, weights):
    if mode == "LSTM":
        return _lstm_step(x, state, *weights)
    if mode == "GRU":
        return _gru_step(x, state, *weights)
    return _rnn_step(x, state, *weights, relu=mode == "RNN_RELU")


def _mode(owner: str, kind: str, nonlinearity: str) -> str:
    if kind != "RNN":
        return kind
    return "RNN_" + check_choice(owner, "nonlinearity", nonlinearity, ("tanh", "relu")).upper()


def _reset(module: Module, hidden_size: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _check_input(owner: str, x: Tensor, dims: tuple, input_size: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim not in dims or x.shape[-1] != input_size:
        want = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{owner}: expected {want} input with last size input_size={input_size}, "
                         f"got shape {x.shape}")


def _check_state(owner: str, name: str, t: Tensor, shape: tuple) -> None:
    if not isinstance(t, Tensor) or tuple(t.shape) != shape:
        got = t.shape if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(f"{owner}: expected {name} of shape {shape}, got {got}")


# ---------------------------------------------------------------- cells
class _CellBase(Module):
    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, nonlinearity: str,
                 device: str | None, dtype) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_int(owner, "input_size", input_size)
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        self.bias = check_bool(owner, "bias", bias)
        self._rnn_mode = _mode(owner, self._kind, nonlinearity)
        gh = _GATES[self._rnn_mode] * hidden_size
        self.weight_ih = Parameter(factory.zeros(gh, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(factory.zeros(gh, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(factory.zeros(gh, dtype=dtype, device=device))
            self.bias_hh = Parameter(factory.zeros(gh, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        _reset(self, hidden_size)

    def reset_parameters(self) -> None:
        """Draw every weight and bias again from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset(self, self.hidden_size)

    def _run(self, x: Tensor, hx):
        owner = type(self).__name__
        _check_input(owner, x, (1, 2), self.input_size)
        batched = x.ndim == 2
        shape = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        lstm = self._rnn_mode == "LSTM"
        if hx is None:
            zeros = factory.zeros(*shape, dtype=x.dtype, device=x.device)
            hx = (zeros, zeros) if lstm else zeros
        names = ("hx[0]", "hx[1]") if lstm else ("hx",)
        states = tuple(hx) if lstm else (hx,)
        if len(states) != len(names):
            raise ValueError(f"{owner}: expected hx as a pair (h, c), got {len(states)} tensors")
        for name, s in zip(names, states):
            _check_state(owner, name, s, shape)
        if not batched:
            x, states = x.unsqueeze(0), tuple(s.unsqueeze(0) for s in states)
        weights = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        out = _step(self._rnn_mode, x, states if lstm else states[0], weights)
        out = out if lstm else (out,)
        if not batched:
            out = tuple(s.squeeze(0) for s in out)
        return out if lstm else out[0]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self._rnn_mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(_CellBase):
    """One step of an Elman RNN, PyTorch's ``RNNCell``:

        h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)     (relu with ``nonlinearity="relu"``)

    ``forward(input, hx=None)``: input (N, input_size) or unbatched (input_size,), hx of shape
    (N, hidden_size) or (hidden_size,), zeros when None; returns h' of hx's shape.
    """

    _non_weights = frozenset({"bias_ih", "bias_hh"})

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, nonlinearity, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(input, hx)


class GRUCell(_CellBase):
    """One step of a GRU, PyTorch's ``GRUCell`` (gates r, z, n in that order in the weights):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    ``forward(input, hx=None)`` as ``RNNCell``'s.
    """

    _kind = "GRU"
    _non_weights = frozenset({"bias_ih", "bias_hh"})

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._run(input, hx)


class LSTMCell(_CellBase):
    """One step of an LSTM, PyTorch's ``LSTMCell`` (gates i, f, g, o in that order in the weights):

        i = sigmoid(W_ii x + b_ii + W_hi h + b_hi),  f = sigmoid(... f ...),
        g = tanh(... g ...),  o = sigmoid(... o ...)
        c' = f * c + i * g,  h' = o * tanh(c')

    ``forward(input, hx=None)``: hx is the pair (h, c), each (N, hidden_size) or (hidden_size,),
    zeros when None; returns the pair (h', c').
    """

    _kind = "LSTM"
    _non_weights = frozenset({"bias_ih", "bias_hh"})

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx)


# ---------------------------------------------------------------- sequences
class _RNNBase(Module):
    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, nonlinearity: str, bias: bool,
                 batch_first: bool, dropout: float, bidirectional: bool, device: str | None, dtype) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = check_int(owner, "input_size", input_size)
        self.hidden_size = check_int(owner, "hidden_size", hidden_size)
        self.num_layers = check_int(owner, "num_layers", num_layers)
        self.bias = check_bool(owner, "bias", bias)
        self.batch_first = check_bool(owner, "batch_first", batch_first)
        self.dropout = check_probability(owner, "dropout", dropout)
        self.bidirectional = check_bool(owner, "bidirectional", bidirectional)
        self._rnn_mode = _mode(owner, self._kind, nonlinearity)
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{owner}: dropout={dropout} adds dropout after every layer but the last, so "
                          "with num_layers=1 it does nothing", UserWarning, stacklevel=2)
        gh = _GATES[self._rnn_mode] * hidden_size
        directions = 2 if bidirectional else 1
        non_weights = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"{kind}_{part}_l{layer}{suffix}" for kind in ("weight", "bias") for part in ("ih", "hh")]
                setattr(self, names[0], Parameter(factory.zeros(gh, layer_input, dtype=dtype, device=device)))
                setattr(self, names[1], Parameter(factory.zeros(gh, hidden_size, dtype=dtype, device=device)))
                if bias:
                    setattr(self, names[2], Parameter(factory.zeros(gh, dtype=dtype, device=device)))
                    setattr(self, names[3], Parameter(factory.zeros(gh, dtype=dtype, device=device)))
                non_weights += names[2:]
        self._non_weights = frozenset(non_weights)
        _reset(self, hidden_size)

    def reset_parameters(self) -> None:
        """Draw every weight and bias again from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _reset(self, self.hidden_size)

    def _weights(self, layer: int, suffix: str) -> tuple:
        get = lambda name: getattr(self, f"{name}_l{layer}{suffix}", None)
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _run(self, x: Tensor, hx):
        owner = type(self).__name__
        _check_input(owner, x, (2, 3), self.input_size)
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        n = x.shape[1]
        shape = (self.num_layers * directions, n, self.hidden_size)
        lstm = self._rnn_mode == "LSTM"
        names = ("h_0", "c_0") if lstm else ("h_0",)
        if hx is None:
            zeros = factory.zeros(*shape, dtype=x.dtype, device=x.device)
            states = (zeros,) * len(names)
        else:
            states = tuple(hx) if lstm else (hx,)
            if len(states) != len(names):
                raise ValueError(f"{owner}: expected hx as a pair (h_0, c_0), got {len(states)} tensors")
            for name, s in zip(names, states):
                _check_state(owner, name, s, shape if batched else (shape[0], shape[2]))
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
        finals = [[] for _ in names]
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                k = layer * directions + d
                state = tuple(s[k] for s in states) if lstm else states[0][k]
                steps = range(x.shape[0]) if d == 0 else range(x.shape[0] - 1, -1, -1)
                out = [None] * x.shape[0]
                for t in steps:
                    state = _step(self._rnn_mode, x[t], state, self._weights(layer, suffix))
                    out[t] = state[0] if lstm else state
                outputs.append(stack(out, axis=0))
                for i, s in enumerate(state if lstm else (state,)):
                    finals[i].append(s)
            x = outputs[0] if directions == 1 else concatenate(outputs, axis=-1)
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        finals = tuple(stack(f, axis=0) for f in finals)
        if not batched:
            x, finals = x.squeeze(1), tuple(f.squeeze(1) for f in finals)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (finals if lstm else finals[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self._rnn_mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


_SEQUENCE_DOC = """

    ``forward(input, {state}=None)``: ``input`` is (L, N, input_size), (N, L, input_size) with
    ``batch_first``, or unbatched (L, input_size); {state_shape} (zeros when None), with
    D = 2 if ``bidirectional`` else 1 (``batch_first`` does not apply to the states). Returns
    ``(output, {returned})``: output (L, N, D * hidden_size) (batch first with ``batch_first``;
    (L, D * hidden_size) unbatched), the last layer's h_t for every t, the two directions
    concatenated; {final}.

    ``num_layers`` stacks layers, each taking the previous one's output; with ``dropout`` > 0
    that output goes through dropout (training mode only, the library's seeded generator) before
    the next layer, never after the last. Parameters of layer k: ``weight_ih_l{{k}}``
    (G*H, input_size for k = 0, else D*H), ``weight_hh_l{{k}}`` (G*H, H), ``bias_ih_l{{k}}``,
    ``bias_hh_l{{k}}`` (G*H,), and the same names ending ``_reverse`` for the backward direction,
    all from U(-1/sqrt(H), 1/sqrt(H)).
"""


class RNN(_RNNBase):
    """A multi-layer Elman RNN, PyTorch's ``RNN`` (G = 1): for each layer and time step

        h_t = tanh(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh)   (relu with ``nonlinearity="relu"``)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx)


class GRU(_RNNBase):
    """A multi-layer GRU, PyTorch's ``GRU`` (G = 3, gates r, z, n): each layer runs ``GRUCell``'s
    step over time,

        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn)),  h_t = (1 - z_t) * n_t + z_t * h_(t-1)
    """

    _kind = "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx)


class LSTM(_RNNBase):
    """A multi-layer LSTM, PyTorch's ``LSTM`` (G = 4, gates i, f, g, o): each layer runs
    ``LSTMCell``'s step over time, c_t = f_t * c_(t-1) + i_t * g_t, h_t = o_t * tanh(c_t).
    PyTorch's ``proj_size`` is not supported.
    """

    _kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | None = None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None):
        return self._run(input, hx)


_SINGLE = ("``hx`` is (D * num_layers, N, hidden_size), or (D * num_layers, hidden_size) unbatched",
           "h_n", "h_n (D * num_layers, N, hidden_size) the last step's h of every layer and direction")
_PAIR = ("``hx`` is the pair (h_0, c_0), each (D * num_layers, N, hidden_size) or (D * num_layers, hidden_size)",
         "(h_n, c_n)",
         "h_n and c_n of h_0's shape, the last step's states of every layer and direction")
for _cls, (_shape, _returned, _final) in ((RNN, _SINGLE), (GRU, _SINGLE), (LSTM, _PAIR)):
    _cls.__doc__ += _SEQUENCE_DOC.format(state="hx", state_shape=_shape, returned=_returned, final=_final)
