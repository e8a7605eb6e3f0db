"""Attention and the Transformer encoder, PyTorch's ``MultiheadAttention``,
``TransformerEncoderLayer`` and ``TransformerEncoder``, with PyTorch's signatures, defaults, init and
state-dict keys (a state dict saved by ``torch.nn`` loads here and gives the same outputs).

PyTorch keeps ``MultiheadAttention`` in ``torch.nn.modules.activation``; here it sits with the
layers built on it. All three are exported from ``nn`` as in PyTorch.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np  # shape arithmetic only: arrays come from the backend

from tinygrad_lite import backend, factory
from tinygrad_lite.checks import check_int, check_probability, check_real
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor

from . import functional as F
from . import init
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module, Parameter
from .normalization import LayerNorm


def _mask(owner: str, name: str, mask, like: Tensor) -> Tensor | None:
    """``mask`` as a Tensor on ``like``'s device: bool as is, a float mask in ``like``'s dtype."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = as_tensor(np.asarray(mask) if backend.device_of(mask) is None else mask, device=like.device)
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype.kind != "f":
        raise TypeError(f"{owner}: {name} must be a bool or float Tensor, got {mask.dtype}")
    return mask.to(like.dtype)


def _apply_mask(scores: Tensor, mask: Tensor) -> Tensor:
    """PyTorch's MultiheadAttention masks: a bool mask is True where attention is NOT allowed
    (-inf there), a float mask is added to the scores."""
    if mask.dtype == np.bool_:
        return scores.masked_fill(mask, -np.inf)
    return scores + mask


class MultiheadAttention(Module):
    """Multi-head attention, PyTorch's ``MultiheadAttention`` (its documented forward):

        MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O + b_O,
        head_i = softmax(Q W_Q,i (K W_K,i)^T / sqrt(d_h) + mask) V W_V,i

    with d_h = embed_dim / num_heads. ``in_proj_weight`` (3E, E) stacks W_Q, W_K, W_V (rows
    [0, E), [E, 2E), [2E, 3E)) and ``in_proj_bias`` (3E,) their biases; ``out_proj`` is a Linear
    (E, E). Init as PyTorch: xavier_uniform_ on ``in_proj_weight``, zero biases, ``out_proj.weight``
    a Linear's default. ``dropout`` applies to the attention weights in training.

    Inputs are (L, N, E) query and (S, N, E) key and value, (N, L, E) and (N, S, E) with
    ``batch_first=True``, or unbatched (L, E) and (S, E). Only ``kdim = vdim = embed_dim`` and
    ``add_bias_kv = add_zero_attn = False`` are supported (others raise).
    """

    _non_weights = frozenset({"in_proj_bias"})

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: str | None = None,
                 dtype=None) -> None:
        super().__init__()
        check_int("MultiheadAttention", "embed_dim", embed_dim)
        check_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        for name, value in (("kdim", kdim), ("vdim", vdim)):
            if value is not None and value != embed_dim:
                raise NotImplementedError(f"MultiheadAttention: {name}={value} differs from embed_dim={embed_dim}; "
                                          "only keys and values of embed_dim features are supported")
        for name, value in (("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn)):
            if value:
                raise NotImplementedError(f"MultiheadAttention: {name}=True is not supported")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = self.vdim = embed_dim
        self.dropout = check_probability("MultiheadAttention", "dropout", dropout)
        self.batch_first = bool(batch_first)
        self.in_proj_weight = Parameter(factory.zeros(3 * embed_dim, embed_dim, dtype=dtype, device=device))
        if bias:
            self.in_proj_bias = Parameter(factory.zeros(3 * embed_dim, dtype=dtype, device=device))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """(output, weights): output shaped like ``query``; weights (N, L, S) averaged over the
        heads (``average_attn_weights``) or (N, num_heads, L, S), without N when unbatched, or
        None unless ``need_weights``.

        ``key_padding_mask`` (N, S) or (S,) and ``attn_mask`` (L, S) or (N * num_heads, L, S):
        bool True marks a position NOT attended to, a float mask is added to the scores (as
        PyTorch). ``is_causal`` with an ``attn_mask`` is PyTorch's hint (the mask is used as
        given); without one the causal mask (key j > query i masked) is made here, where PyTorch
        requires the mask. A row with every key masked is nan, as in PyTorch.
        """
        owner = "MultiheadAttention"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3) or t.shape[-1] != self.embed_dim:
                raise ValueError(f"{owner}: {name} must be a Tensor (L, N, E), (N, L, E) with batch_first, or "
                                 f"(L, E), E = {self.embed_dim}; got {getattr(t, 'shape', type(t).__name__)}")
        if not query.ndim == key.ndim == value.ndim:
            raise ValueError(f"{owner}: query, key and value must be all batched or all unbatched, got "
                             f"{query.shape}, {key.shape} and {value.shape}")
        if key.shape != value.shape:
            raise ValueError(f"{owner}: key {key.shape} and value {value.shape} must have one shape")
        batched = query.ndim == 3
        self_attention = query is key and key is value
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, length, e = query.shape
        s = key.shape[1]
        if key.shape[0] != n:
            raise ValueError(f"{owner}: query and key have batch sizes {n} and {key.shape[0]}")
        h, d = self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if self_attention:
            q, k, v = F.linear(query, w, b).chunk(3, -1)
        else:
            bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
            q, k, v = F.linear(query, w[:e], bq), F.linear(key, w[e:2 * e], bk), F.linear(value, w[2 * e:], bv)
        q = q.reshape(n, length, h, d).transpose(1, 2)  # (N, H, L, d)
        k = k.reshape(n, s, h, d).transpose(1, 2)
        v = v.reshape(n, s, h, d).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / float(np.sqrt(d)))  # (N, H, L, S)
        attn_mask = _mask(owner, "attn_mask", attn_mask, scores)
        key_padding_mask = _mask(owner, "key_padding_mask", key_padding_mask, scores)
        if attn_mask is not None:
            if attn_mask.shape == (length, s):
                pass
            elif attn_mask.shape == (n * h, length, s) and batched:
                attn_mask = attn_mask.reshape(n, h, length, s)
            else:
                raise ValueError(f"{owner}: attn_mask must be (L, S) = {(length, s)}"
                                 + (f" or (N * num_heads, L, S) = {(n * h, length, s)}" if batched else "")
                                 + f", got {attn_mask.shape}")
            scores = _apply_mask(scores, attn_mask)
        elif is_causal:
            xp = backend.get_xp(scores.device)
            scores = scores.masked_fill(xp.logical_not(xp.tri(length, s, dtype=bool)), -np.inf)
        if key_padding_mask is not None:
            want = (n, s) if batched else (s,)
            if key_padding_mask.shape != want:
                raise ValueError(f"{owner}: key_padding_mask must be {want}, got {key_padding_mask.shape}")
            scores = _apply_mask(scores, key_padding_mask.reshape(n, 1, 1, s))
        weights = scores.softmax(-1)
        if self.training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout, True)
        out = (weights @ v).transpose(1, 2).reshape(n, length, e)
        out = self.out_proj(out)
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights if batched else weights.squeeze(0))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"bias={self.in_proj_bias is not None}, batch_first={self.batch_first}")


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One Transformer encoder layer, PyTorch's ``TransformerEncoderLayer``: self-attention and a
    feed-forward block (linear1, activation, dropout, linear2), each with dropout and a residual
    connection, and a LayerNorm after each (post-norm) or before each (``norm_first``):

        norm_first=False:  x = norm1(x + dropout1(SA(x)));  x = norm2(x + dropout2(FF(x)))
        norm_first=True:   x = x + dropout1(SA(norm1(x)));  x = x + dropout2(FF(norm2(x)))

    ``activation`` is "relu", "gelu" (exact) or a callable (a module or function). The submodules
    carry PyTorch's names (self_attn, linear1, dropout, linear2, norm1, norm2, dropout1,
    dropout2), so the state dicts match. ``bias=False`` drops every Linear's and LayerNorm's bias.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: str | None = None, dtype=None) -> None:
        super().__init__()
        check_int("TransformerEncoderLayer", "dim_feedforward", dim_feedforward)
        check_real("TransformerEncoderLayer", "layer_norm_eps", layer_norm_eps, 0.0, low_open=True)
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, "
                                 f"got {activation!r}")
            activation = _ACTIVATIONS[activation]
        elif not callable(activation):
            raise TypeError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, "
                            f"got {type(activation).__name__}")
        self.activation = activation

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        """The layer on ``src`` (shaped as the self-attention's input); ``src_mask`` and
        ``src_key_padding_mask`` are its ``attn_mask`` and ``key_padding_mask``, ``is_causal`` as
        there."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...),
    then ``norm`` if given, PyTorch's ``TransformerEncoder``. ``enable_nested_tensor`` and
    ``mask_check`` are accepted for PyTorch's signature and have no effect (no nested tensors here).
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got {type(encoder_layer).__name__}")
        check_int("TransformerEncoder", "num_layers", num_layers)
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerEncoder: norm must be a Module or None, got {type(norm).__name__}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool | None = None) -> Tensor:
        """Each layer in turn on ``src`` with the same ``mask``, ``src_key_padding_mask`` and
        ``is_causal`` (None: False), then ``norm``."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)
