"""Stateless forms of the layers, activations and losses (``import tinygrad_lite.nn.functional as F``):
every functional form of nn, each in one place; the modules call them.

Activations are the lecture's table; all are finite, with finite gradients, for
inputs as large as +-1e3 (float32). Non-smooth points take the gradient of the
negative side (relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = alpha).

Losses take ``reduction`` = "mean" (default), "sum" or "none", with PyTorch's options and
semantics:

- ``cross_entropy``: class weights, ``ignore_index``, label smoothing, probability ("soft")
  targets, (N, C), (C,) and (N, C, d1, ...) inputs;
- ``nll_loss`` on log-probabilities; ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``;
- ``binary_cross_entropy`` on probabilities (``binary_cross_entropy_with_logits`` is the stable
  form on logits).

The plain cross-entropy (integer labels of (N, C) scores, no weight, nothing ignored, no
smoothing) runs the fused ``SoftmaxCrossEntropy``; every other case is a composite of Tensor
ops (log_softmax, indexing, sums), so its gradient is the ops' own.

Weight and ignore_index change the mean's denominator, as in PyTorch: with class weights w
and labels y, "mean" is sum_i w_{y_i} l_i / sum_i w_{y_i} over the samples not ignored (a
plain count without weights); when every sample is ignored the mean is nan and the gradient 0.

The Functions behind them are private to nn: ``_functions`` (the fused linear and loss
Functions) and ``_conv`` (convolution and pooling).
"""
from __future__ import annotations

import numbers

import numpy as np  # shape arithmetic only: arrays come from the backend

from tinygrad_lite import autograd, backend
from tinygrad_lite.backend import is_float, xp_of
from tinygrad_lite.checks import (
    check_choice,
    check_float_input,
    check_int,
    check_probability,
    check_real,
    pytorch_kwargs,
)
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor, stack, where

from . import _conv, _functions

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- activations
def binary_step(x: Tensor) -> Tensor:
    """f(x) = 1 for x >= 0 else 0. Its gradient is 0 everywhere (undefined at 0; 0 is used),
    so nothing before it can learn by gradient descent."""
    return x.binary_step()


def sigmoid(x: Tensor) -> Tensor:
    """f(x) = 1 / (1 + e^-x); f' = f (1 - f)."""
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    """f(x) = 2 / (1 + e^-2x) - 1; f' = 1 - f^2."""
    return x.tanh()


def arctan(x: Tensor) -> Tensor:
    """f(x) = tan^-1(x); f' = 1 / (x^2 + 1)."""
    return x.arctan()


def relu(x: Tensor) -> Tensor:
    """f(x) = max(0, x); f' = 1 for x > 0 else 0."""
    return x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """f(x) = x for x > 0 else a x, a = ``negative_slope`` (the lecture's example: 0.1)."""
    return x.leaky_relu(negative_slope)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """Parametric ReLU: f(x) = x for x > 0 else alpha x, with the learnable alpha in ``weight``
    (PyTorch's name and argument order).

    ``weight`` has one element (shared) or one per feature, the feature axis being
    axis 1 (axis 0 for a 1-D input). df/dx = 1 or alpha; df/dalpha = 0 or x.
    """
    alpha = weight
    if alpha.numel() > 1:
        axis = 1 if x.ndim >= 2 else 0
        if x.ndim == 0 or x.shape[axis] != alpha.numel():
            raise ValueError(f"prelu: {alpha.numel()} alphas (weight) for input of shape {x.shape} "
                             f"(feature axis {axis} must have that size)")
        alpha = alpha.reshape((alpha.numel(),) + (1,) * (x.ndim - axis - 1))
    elif alpha.ndim:
        alpha = alpha.reshape(())
    return where(x > 0, x, x * alpha)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """f(x) = x for x > 0 else alpha (e^x - 1); f' = 1 or f(x) + alpha."""
    return x.elu(alpha)


# PyTorch's other activations: each is the Tensor method of its name, documented there
# (F.gelu(x, approximate="tanh") is x.gelu(approximate="tanh")); modules in nn.activation
celu, gelu, hardswish, hardtanh, mish, relu6, selu, silu, softplus, softsign = (
    Tensor.celu, Tensor.gelu, Tensor.hardswish, Tensor.hardtanh, Tensor.mish, Tensor.relu6, Tensor.selu,
    Tensor.silu, Tensor.softplus, Tensor.softsign)


@pytorch_kwargs
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """p_j = e^{x_j} / sum_k e^{x_k} (max-shifted, never overflows)."""
    return x.softmax(axis)


@pytorch_kwargs
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log p_j = x_j - logsumexp(x)."""
    return x.log_softmax(axis)


# ---------------------------------------------------------------- linear
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b with ``weight`` of shape (out_features, in_features), ``bias`` (out_features,).

    ``x`` is (..., in_features); the leading axes are batch axes.
    """
    if weight.ndim != 2:
        raise ValueError(f"linear: expected a weight of shape (out_features, in_features), "
                         f"got {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: expected input of shape (..., {weight.shape[1]}) for weight of "
                         f"shape {weight.shape}, got input of shape {x.shape}")
    check_float_input("linear", x, weight)  # NumPy would compute int or float64 @ float32 in float64
    if bias is None:
        return _functions.Linear.apply(x, weight)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: expected bias of shape ({weight.shape[0]},) for weight of shape "
                         f"{weight.shape}, got {bias.shape}")
    return _functions.Linear.apply(x, weight, bias)


# ---------------------------------------------------------------- normalization
def batch_norm(x: Tensor, running_mean: Tensor, running_var: Tensor, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = True, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalization of (N, C) or (N, C, *spatial) input, the lecture's algorithm, per
    channel c over the m = N * prod(spatial) values of that channel.

    Training: mu_B = mean x, sigma2_B = mean (x - mu_B)^2 (biased), per channel;
    x_hat = (x - mu_B) / sqrt(sigma2_B + eps); y = gamma x_hat + beta. The running
    statistics are updated in place: r_mean = (1 - momentum) r_mean + momentum mu_B,
    r_var = (1 - momentum) r_var + momentum sigma2_B m / (m - 1) (unbiased, as PyTorch).
    Evaluation: x_hat = (x - r_mean) / sqrt(r_var + eps), so each sample's output
    is independent of the rest of the batch.
    """
    c = running_mean.shape[0]
    if x.ndim < 2 or x.shape[1] != c:
        raise ValueError(f"batch_norm: expected input of shape (N, {c}) or (N, {c}, ...), got {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    per_channel = (c,) + (1,) * (x.ndim - 2)  # broadcasts over the axes after the channel
    if training:
        m = x.numel() // c
        if m < 2:
            raise ValueError(f"batch_norm: training needs at least 2 values per channel to compute "
                             f"batch statistics, got input of shape {x.shape}; use eval() for one sample")
        mu = x.mean(axis=axes, keepdims=True)
        d = x - mu
        var = (d * d).mean(axis=axes, keepdims=True)
        x_hat = d / (var + eps).sqrt()
        _blend(running_mean, mu.data.reshape(c), momentum)  # raw arrays: no graph
        _blend(running_var, var.data.reshape(c) * (m / (m - 1)), momentum)
    else:
        mean, var = (t.detach().reshape(per_channel) for t in (running_mean, running_var))
        x_hat = (x - mean) / (var + eps).sqrt()
    if x.ndim > 2:
        weight, bias = (None if t is None else t.reshape(per_channel) for t in (weight, bias))
    out = x_hat if weight is None else x_hat * weight
    return out if bias is None else out + bias


def _blend(running: Tensor, batch_value, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum batch_value, keeping the buffer's dtype."""
    new = (1 - momentum) * running.data + momentum * batch_value
    running.data = new.astype(running.dtype, copy=False)


def _normalized_shape(owner: str, normalized_shape) -> tuple:
    """An int or a sequence of ints >= 1 as a tuple (LayerNorm(4) means the last axis of size 4)."""
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    if not isinstance(normalized_shape, (tuple, list)) or not normalized_shape:
        raise TypeError(f"{owner}: normalized_shape must be an int or a non-empty tuple of ints, "
                        f"got {normalized_shape!r}")
    return tuple(check_int(owner, "normalized_shape", n) for n in normalized_shape)


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalize each sample over its last ``len(normalized_shape)`` axes, whose sizes must be
    ``normalized_shape``:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    with mean and biased variance over those axes, ``weight`` and ``bias`` of shape
    ``normalized_shape`` (optional). PyTorch's ``F.layer_norm``.
    """
    shape = _normalized_shape("layer_norm", normalized_shape)
    eps = check_real("layer_norm", "eps", eps, 0.0, low_open=True)
    if not isinstance(x, Tensor):
        raise TypeError(f"layer_norm: the input must be a Tensor, got {type(x).__name__}")
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        dims = ", ".join(map(str, shape))
        raise ValueError(f"layer_norm: expected input of shape (..., {dims}) for normalized_shape "
                         f"{shape}, got {x.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: expected {name} of shape {shape}, got {t.shape}")
    if not is_float(x.dtype):
        raise TypeError(f"layer_norm: the input must be floating point, got dtype {x.dtype}")
    out = _functions.LayerNorm.apply(x, axes=tuple(range(x.ndim - k, x.ndim)), eps=eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def group_norm(x: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalization of (N, C, *) input, PyTorch's ``F.group_norm``: the C channels are split
    into ``num_groups`` groups of C / num_groups consecutive channels, and each sample's group is
    normalized over its channels and positions,

        y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]

    with mean and biased variance per (sample, group); ``weight`` and ``bias`` (C,) are optional.
    """
    num_groups = check_int("group_norm", "num_groups", num_groups)
    eps = check_real("group_norm", "eps", eps, 0.0, low_open=True)
    if not isinstance(x, Tensor):
        raise TypeError(f"group_norm: the input must be a Tensor, got {type(x).__name__}")
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(f"group_norm: expected input of shape (N, C, *) with C divisible by num_groups="
                         f"{num_groups}, got {x.shape}")
    c = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"group_norm: expected {name} of shape ({c},), got {t.shape}")
    grouped = x.reshape(x.shape[0], num_groups, c // num_groups * int(np.prod(x.shape[2:], dtype=np.int64)))
    d = grouped - grouped.mean(2, keepdims=True)
    out = (d / ((d * d).mean(2, keepdims=True) + eps).sqrt()).reshape(x.shape)
    per_channel = (c,) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    return out if bias is None else out + bias.reshape(per_channel)


# ---------------------------------------------------------------- dropout
def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: out = x * m / (1 - p), m_i ~ Bernoulli(1 - p), in training.

    The mask comes from the device's seeded generator (``tinygrad_lite.manual_seed``)
    and the gradient is multiplied by the same mask. In eval (or p = 0) it returns
    ``x`` itself; p = 1 gives zeros.
    """
    return _dropout("dropout", x, p, training, x.shape)


def _dropout(op: str, x: Tensor, p: float, training: bool, mask_shape: tuple) -> Tensor:
    check_probability(op, "p", p)
    if not training or p == 0.0:
        return x
    u = backend.random(x.device, mask_shape, x.dtype)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = (u >= p).astype(x.dtype) * scale  # P(u >= p) = 1 - p
    return x * as_tensor(mask, device=x.device)


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Channel dropout for (N, C, H, W) input: each whole channel of each sample is zeroed with
    probability ``p`` and the rest scaled by 1 / (1 - p), m_{nc} ~ Bernoulli(1 - p); identity in eval."""
    _conv.check_images("dropout2d", x)
    return _dropout("dropout2d", x, p, training, x.shape[:2] + (1, 1))


# ---------------------------------------------------------------- attention
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """PyTorch's ``scaled_dot_product_attention`` on (..., L, E) ``query``, (..., S, E) ``key`` and
    (..., S, Ev) ``value`` (batch dims broadcast), as its documented reference:

        out = dropout(softmax(query @ key^T * scale + bias, -1), dropout_p) @ value   (..., L, Ev)

    ``scale`` defaults to 1 / sqrt(E). ``bias`` is -inf where a bool ``attn_mask`` is False (True
    takes part) or where j > i with ``is_causal`` (a lower-triangular L x S mask; no
    ``attn_mask`` then), a float ``attn_mask`` itself, 0 otherwise; all broadcast to (..., L, S).
    Dropout applies whenever ``dropout_p`` > 0, drawn from the device's seeded generator. A row
    with every position masked is nan, as in the reference.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be a Tensor of at least 2 dims "
                             f"(..., length, features), got {getattr(t, 'shape', type(t).__name__)}")
    if query.dtype.kind != "f" or key.dtype != query.dtype or value.dtype != query.dtype:
        raise TypeError(f"scaled_dot_product_attention: query, key and value must have one float dtype (as "
                        f"PyTorch), got {query.dtype}, {key.dtype} and {value.dtype}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value "
                         f"{value.shape} must be (..., L, E), (..., S, E) and (..., S, Ev)")
    check_probability("scaled_dot_product_attention", "dropout_p", dropout_p)
    if scale is None:
        scale = 1.0 / float(np.sqrt(query.shape[-1]))
    scores = (query @ key.transpose(-2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: an explicit attn_mask cannot be set with is_causal=True")
        xp = backend.get_xp(query.device)
        scores = scores.masked_fill(xp.logical_not(xp.tri(query.shape[-2], key.shape[-2], dtype=bool)), -np.inf)
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"scaled_dot_product_attention: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
        if attn_mask.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), -np.inf)
        else:
            scores = scores + attn_mask
    weights = scores.softmax(-1)
    if dropout_p > 0:
        weights = _dropout("scaled_dot_product_attention", weights, dropout_p, True, weights.shape)
    return weights @ value


# ---------------------------------------------------------------- convolution and pooling
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution (a cross-correlation, as in every framework) of (N, C, H, W) ``x`` with
    ``weight`` (O, C / groups, kh, kw) and ``bias`` (O,):

        out[n, o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c', y sy + i dy, x sx + j dx]

    where c' runs over the input channels of output channel o's group. ``stride``,
    ``padding`` and ``dilation`` are ints or (height, width) pairs; ``padding`` may also be
    "valid" or "same" (stride 1). OH = (H + pad_h - dy (kh - 1) - 1) // sy + 1, likewise OW.
    ``groups=C`` with O = C gives a depthwise convolution.
    """
    return _conv.convolve("conv2d", x, weight, bias, stride, padding, dilation, groups)


def _single(owner: str, name: str, value):
    """An int or a one-element tuple/list (PyTorch's 1-d forms) as one value; strings pass."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{owner}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution of (N, C, L) ``x`` with ``weight`` (O, C / groups, k) and ``bias`` (O,),
    PyTorch's ``conv1d``: ``conv2d`` on the (N, C, 1, L) view with a (O, C / groups, 1, k) kernel.
    ``stride``, ``padding`` (also "valid", "same") and ``dilation`` are ints or 1-tuples;
    OL = (L + 2 padding - dilation (k - 1) - 1) // stride + 1."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d: expected input (N, C, L) and weight (out_channels, in_channels / groups, k), "
                         f"got {x.shape} and {weight.shape}")
    stride, padding, dilation = (_single("conv1d", k, v) for k, v in
                                 (("stride", stride), ("padding", padding), ("dilation", dilation)))
    (n, c, length), (o, cg, k) = x.shape, weight.shape
    padding = padding if isinstance(padding, str) else (0, padding)
    out = _conv.convolve("conv1d", x.reshape(n, c, 1, length), weight.reshape(o, cg, 1, k), bias,
                         (1, stride), padding, (1, dilation), groups)
    return out.reshape(n, o, out.shape[3])


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (PyTorch's ``conv_transpose2d``, the input gradient of ``conv2d``)
    of (N, C, H, W) ``input`` with ``weight`` (C, O / groups, kh, kw) and ``bias`` (O,):

        full[n, o, y sy + i dy, x sx + j dx] += input[n, c, y, x] w[c, o', i, j]

    over the input channels c of output channel o's group, then ``padding`` cropped from every
    side of ``full`` and ``output_padding`` rows and columns kept at the bottom and right, plus
    b[o]: OH = (H - 1) sy - 2 ph + dy (kh - 1) + oph + 1, likewise OW. ``stride``, ``padding``,
    ``output_padding`` and ``dilation`` are ints or (height, width) pairs; ``output_padding``
    must be smaller than the stride or the dilation.
    """
    return _conv.convolve_transposed("conv_transpose2d", input, weight, bias, stride, padding, output_padding,
                                     groups, dilation)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1) -> Tensor:
    """out[n, c, y, x] = max_{i, j} x_pad[n, c, y sy + i dy, x sx + j dx] (padding is -inf);
    ``stride`` defaults to ``kernel_size``. Tied maxima share the window's gradient equally."""
    return _conv.pool("max_pool2d", _conv.MaxPooling, x, kernel_size, stride, padding, dilation)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """out[n, c, y, x] = mean_{i, j} x_pad[n, c, y sy + i, x sx + j] (zero padding counted, as
    PyTorch's default); ``stride`` defaults to ``kernel_size``."""
    return _conv.pool("avg_pool2d", _conv.AveragePooling, x, kernel_size, stride, padding)


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average over a grid of ``output_size`` (int or pair) bins, bin k of n over a side of L
    spanning [floor(k L / n), ceil((k + 1) L / n)), as PyTorch. ``output_size=1`` is global
    average pooling: one mean per channel."""
    _conv.check_images("adaptive_avg_pool2d", x)
    oh, ow = _conv.pair("adaptive_avg_pool2d", "output_size", output_size, 1)
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:  # equal bins: one pooling op
        return _conv.pool("adaptive_avg_pool2d", _conv.AveragePooling, x, (h // oh, w // ow), None, 0)
    rows = [stack([x[:, :, i * h // oh:-(-(i + 1) * h // oh), j * w // ow:-(-(j + 1) * w // ow)].mean(axis=(2, 3))
                   for j in range(ow)], axis=-1) for i in range(oh)]
    return stack(rows, axis=-2)


# ---------------------------------------------------------------- padding
PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs from the LAST axis backwards,
    ``(left, right)``, ``(left, right, top, bottom)``, ...; a negative amount crops (crops come
    first, then the padding). ``mode`` "constant" fills with ``value`` (None: 0) on any axes;
    "reflect" (mirror, the edge not repeated), "replicate" (the edge repeated) and "circular"
    (wrap around) pad the last 1 to 3 axes of an input with 1 or 2 more, as PyTorch. (NumPy's
    order, one pair per axis from the first, is ``Tensor.pad``.) Differentiable."""
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2 or len(pad) > 2 * input.ndim:
        raise ValueError(f"pad: pad needs an even length of at most 2 x {input.ndim} (the input's axes), "
                         f"got {len(pad)}: {tuple(pad)}")
    if mode not in PAD_MODES:
        raise NotImplementedError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    k = len(pad) // 2
    if mode != "constant" and not (1 <= k <= 3 and input.ndim in (k + 1, k + 2)):
        raise NotImplementedError(f"pad: mode {mode!r} pads the last 1 to 3 axes of an input with 1 or 2 more "
                                  f"(PyTorch's rule); got {k} pairs for an input of shape {input.shape}")
    widths = [(0, 0)] * input.ndim
    for i in range(k):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    x = input
    if any(b < 0 or a < 0 for b, a in widths):  # crop first (a basic slice)
        for axis, ((b, a), size) in enumerate(zip(widths, x.shape)):
            if max(-b, 0) + max(-a, 0) > size:
                raise ValueError(f"pad: {tuple(pad)} crops {max(-b, 0) + max(-a, 0)} elements off axis {axis} "
                                 f"of size {size} (shape {input.shape})")
        x = x[tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, x.shape))]
        widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if mode == "constant":
        return x.pad(widths, constant_values=0 if value is None else value) if any(map(any, widths)) else x
    for axis, (b, a) in enumerate(widths):
        if b or a:
            x = x[(slice(None),) * axis + (_pad_source(mode, b, a, x.shape[axis], axis),)]
    return x


def _pad_source(mode: str, before: int, after: int, n: int, axis: int) -> np.ndarray:
    """For each position of an axis of ``n`` padded by ``before`` and ``after``, the index it copies."""
    if mode == "reflect" and max(before, after) >= n:
        raise ValueError(f"pad: reflect padding ({before}, {after}) of axis {axis} must be smaller than its size {n}")
    if mode == "circular" and max(before, after) > n:
        raise ValueError(f"pad: circular padding ({before}, {after}) of axis {axis} wraps around more than "
                         f"once: at most its size {n}")
    if n == 0:
        raise ValueError(f"pad: mode {mode!r} cannot pad axis {axis} of size 0")
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    i = np.abs(i)  # reflect about index 0, then about n - 1
    return np.where(i > n - 1, 2 * (n - 1) - i, i)


# ---------------------------------------------------------------- embedding
def _padding_idx(owner: str, padding_idx, num_embeddings: int) -> int | None:
    """``padding_idx`` in [-num_embeddings, num_embeddings) as a non-negative index, or None."""
    if padding_idx is None:
        return None
    p = check_int(owner, "padding_idx", padding_idx, low=-num_embeddings, high=num_embeddings - 1)
    return p % num_embeddings


def _embedding_renorm(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: each distinct looked-up row whose ``norm_type``-norm exceeds
    ``max_norm`` is scaled in place, out of the graph, by max_norm / (norm + 1e-7)."""
    w = weight._data
    xp = xp_of(w)
    rows = xp.unique(idx.reshape(-1))
    picked = w[rows]
    if norm_type == float("inf"):
        norms = abs(picked).max(axis=1)
    else:
        norms = (abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] = picked * scale[:, None]
    autograd.mark_written(w)


def embedding(indices, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer ``indices`` (any
    shape): out[..., :] = weight[indices[...], :], of shape indices.shape + (embedding_dim,).

    The gradient of a row is the sum over the positions that picked it. Row ``padding_idx``
    (if given) is looked up as it is but receives no gradient, as PyTorch's. With ``max_norm``,
    as PyTorch's, each looked-up row whose ``norm_type``-norm exceeds it is first rescaled in
    place (out of the graph) to norm max_norm: ``weight`` itself changes.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"embedding: expected weight of shape (num_embeddings, embedding_dim), got {got}")
    n = weight.shape[0]
    idx = indices.data if isinstance(indices, Tensor) else indices
    if backend.device_of(idx) is None and not isinstance(idx, (list, tuple, int)):
        raise TypeError(f"embedding: indices must be a Tensor of integers, got {type(indices).__name__}")
    idx = backend.to_device(idx, weight.device)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}; "
                        "convert them with .astype('int64')")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            raise ValueError(f"embedding: index {lo if lo < 0 else hi} is out of range for {n} embeddings "
                             f"(valid: 0..{n - 1})")
    if max_norm is not None:
        max_norm = check_real("embedding", "max_norm", max_norm, 0.0)
        norm_type = check_real("embedding", "norm_type", norm_type, 0.0, low_open=True, finite=False)
        if idx.size:
            _embedding_renorm(weight, idx, max_norm, norm_type)
    out = weight[idx]
    if padding_idx is not None:
        padding_idx = _padding_idx("embedding", padding_idx, n)
        pad = idx == padding_idx
        if bool(pad.any()):  # the padding row's values, cut from the graph where it was picked
            out = where(pad[..., None], weight.detach()[idx], out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """PyTorch's ``F.one_hot``: an int64 tensor of shape ``tensor.shape + (num_classes,)``, 1 at each
    class index of the integer ``tensor`` and 0 elsewhere, on its device. ``num_classes=-1`` means
    ``tensor.max() + 1``. Classes must lie in [0, num_classes). Not differentiable (integers)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot: expected a Tensor of class indices, got {type(tensor).__name__}")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class indices must be integers, got dtype {tensor.dtype}; convert them "
                        "with .astype('int64')")
    idx = tensor.data
    num_classes = check_int("one_hot", "num_classes", num_classes, low=-1)
    if num_classes == -1 and idx.size == 0:
        raise ValueError("one_hot: cannot infer the number of classes from an empty tensor: pass num_classes")
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0:
            raise ValueError(f"one_hot: class values must be non-negative, got {lo}")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise ValueError(f"one_hot: class values must be smaller than num_classes={num_classes}, got {hi}")
    xp = xp_of(idx)
    return as_tensor((idx[..., None] == xp.arange(num_classes)).astype(np.int64), device=tensor.device)


# ---------------------------------------------------------------- losses: shared checks
def check_reduction(op: str, reduction: str) -> str:
    """``reduction`` if it is one of "mean", "sum", "none" (the losses' one shared argument)."""
    return check_choice(op, "reduction", reduction, REDUCTIONS)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _weight_and_reduction(op: str, weight, reduction: str):
    """PyTorch puts ``weight`` third (``cross_entropy(x, y, w)``, ``CrossEntropyLoss(w)``); this
    library's first signature put ``reduction`` there, so a string in that place is a reduction."""
    if isinstance(weight, str):
        if reduction != "mean":
            raise TypeError(f"{op}: got two reductions, {weight!r} (in weight's place) and {reduction!r}")
        weight, reduction = None, weight
    check_reduction(op, reduction)
    return weight, reduction


def _checked_input(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the input must be a Tensor, got {type(x).__name__}")
    return x


def _target(op: str, x: Tensor, target) -> Tensor:
    """``target`` as a tensor of ``x``'s shape (arrays and lists take x's dtype and device)."""
    t = target if isinstance(target, Tensor) else Tensor(target, dtype=x.dtype, device=x.device)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target shape {t.shape} differs from input shape {x.shape}")
    return t


# ---------------------------------------------------------------- hinge, MSE, BCE with logits
def _class_labels(op: str, scores: Tensor, labels):
    """``labels`` checked against (N, C) ``scores``: an int array of shape (N,) in [0, C)."""
    if scores.ndim != 2 or scores.shape[0] == 0:
        raise ValueError(f"{op}: expected scores of shape (N, C) with N >= 1, got {scores.shape}")
    y = labels.data if isinstance(labels, Tensor) else labels
    y = backend.to_device(y, scores.device)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{op}: labels must be integer class indices, got dtype {y.dtype}")
    n, c = scores.shape
    if y.shape != (n,):
        raise ValueError(f"{op}: expected labels of shape ({n},) for scores of shape {scores.shape}, "
                         f"got {y.shape}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= c:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{op}: label {bad} is out of range for {c} classes (valid: 0..{c - 1})")
    return y


def hinge_loss(scores: Tensor, labels, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """The lecture's multiclass SVM loss: L_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + margin).

    "mean" averages over samples only (PyTorch's MultiMarginLoss also divides by
    the number of classes; this one does not). Equal scores give C - 1.
    """
    check_reduction("hinge_loss", reduction)
    y = _class_labels("hinge_loss", scores, labels)
    xp = xp_of(scores.data)
    rows = xp.arange(scores.shape[0])
    correct = scores[rows, y].unsqueeze(1)
    margins = (scores - correct + margin).relu()
    is_label = y[:, None] == xp.arange(scores.shape[1])[None, :]
    return _reduce(where(is_label, 0.0, margins).sum(axis=1), reduction)


def mse_loss(x: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: L = mean((x - target)^2) (or sum / elementwise)."""
    check_reduction("mse_loss", reduction)
    d = x - _target("mse_loss", x, target)
    return _reduce(d * d, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(``logits``) against ``target`` in [0, 1], stable for any logits."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    t = _target("binary_cross_entropy_with_logits", logits, target)
    return _reduce(_functions.BinaryCrossEntropyWithLogits.apply(logits, t), reduction)


# ---------------------------------------------------------------- class-index targets
def _class_targets(op: str, x: Tensor, y, soft_ok: bool):
    """(x as (M, C) rows, y as (M,), C, the per-element loss shape) for (N, C), (C,) or
    (N, C, d1, ...) input ``x`` and an integer label array ``y`` of shape (N,), () or (N, d1, ...)."""
    if x.ndim == 0 or x.numel() == 0:
        raise ValueError(f"{op}: expected input of shape (N, C), (C,) or (N, C, d1, ...) with no empty "
                         f"axis, got {x.shape}")
    c = x.shape[0] if x.ndim == 1 else x.shape[1]
    shape = () if x.ndim == 1 else x.shape[:1] + x.shape[2:]
    if y.dtype.kind not in "iu":
        probs = f", or class probabilities of the input's shape {x.shape}" if soft_ok else ""
        raise TypeError(f"{op}: labels must be integer class indices{probs}; got dtype {y.dtype} "
                        f"and shape {y.shape}")
    if y.shape != shape:
        what = "unbatched input of shape" if x.ndim == 1 else "input of shape"
        raise ValueError(f"{op}: expected labels of shape {shape} for {what} {x.shape} (labels (N,) for "
                         f"(N, C), (N, d1, ...) for (N, C, d1, ...)), got labels of shape {y.shape}")
    if x.ndim == 2:
        return x, y, c, shape
    if x.ndim == 1:
        return x.reshape(1, c), y.reshape(1), c, shape
    # the class axis moved last: one row of C scores per element (n, d1, ...)
    rows = x.permute((0, *range(2, x.ndim), 1)).reshape(-1, c)
    return rows, y.reshape(-1), c, shape


def _kept(op: str, y, c: int, ignore_index: int):
    """The mask of labels not equal to ``ignore_index``, or None when none is ignored; a
    label out of [0, C) that is not ``ignore_index`` raises ValueError naming it."""
    lo, hi = int(y.min()), int(y.max())
    if lo >= 0 and hi < c:  # the common case: all labels valid, decided by two reductions
        if not 0 <= ignore_index < c:
            return None
        keep = y != ignore_index
        return None if bool(keep.all()) else keep
    keep = y != ignore_index
    bad = keep & ((y < 0) | (y >= c))
    if bool(bad.any()):
        raise ValueError(f"{op}: label {int(y[bad][0])} is out of range for {c} classes "
                         f"(valid: 0..{c - 1}, or ignore_index={ignore_index})")
    return keep


def _class_weight(op: str, weight, x: Tensor, c: int):
    """``weight`` as a raw (C,) array of x's dtype on x's device: a constant, as in PyTorch,
    where no gradient reaches the class weights."""
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else weight
    if backend.device_of(w) is None and not isinstance(w, (list, tuple)):
        raise TypeError(f"{op}: weight must be a Tensor, an array or a list of {c} class weights, "
                        f"got {type(weight).__name__}")
    w = backend.to_device(w, x.device)
    if w.dtype.kind not in "fiu":
        raise TypeError(f"{op}: weight must be numbers, got dtype {w.dtype}")
    if w.shape != (c,):
        raise ValueError(f"{op}: expected weight of shape ({c},) (one per class) for input of shape "
                         f"{x.shape}, got {w.shape}")
    return w.astype(x.dtype, copy=False)


def _labels_array(labels, x: Tensor):
    y = labels.data if isinstance(labels, Tensor) else labels
    return backend.to_device(y, x.device)


def _nll_rows(logp: Tensor, y, keep, w, reduction: str, eps: float, shape) -> Tensor:
    """PyTorch's nll_loss on (M, C) log-probabilities, plus cross_entropy's label smoothing:

        l_i = (1 - eps) w_{y_i} (-logp_{i, y_i}) + eps / C sum_c w_c (-logp_ic),  0 where ignored,

    "mean" dividing by sum_i w_{y_i} over the kept i (their count without weights)."""
    xp = xp_of(y)
    m, c = logp.shape
    if keep is not None:
        y = xp.where(keep, y, 0)  # ignored rows pick class 0, then weigh 0
    scale = None  # w_{y_i}, 0 where ignored; None for all ones
    if w is not None:
        scale = w[y] if keep is None else w[y] * keep
    elif keep is not None:
        scale = keep.astype(logp.dtype)
    picked = logp[xp.arange(m), y]
    loss = -picked if scale is None else -(picked * as_tensor(scale))
    if eps:
        smooth = -(logp.sum(axis=1) if w is None else (logp * as_tensor(w)).sum(axis=1))
        if keep is not None:
            smooth = smooth * as_tensor(keep.astype(logp.dtype))
        loss = loss * (1.0 - eps) + smooth * (eps / c)
    if reduction == "none":
        return loss.reshape(shape)
    total = loss.sum()
    if reduction == "sum":
        return total
    den = m if scale is None else float(scale.sum())
    if den == 0:  # everything ignored (or weighted 0): PyTorch's nan, with a zero gradient
        return total * 0.0 + float("nan")
    return total * (1.0 / den)


def _soft_cross_entropy(op: str, x: Tensor, target, w, reduction: str, eps: float,
                        ignore_index: int) -> Tensor:
    """l = -sum_c w_c t_c log softmax(x)_c per element, t smoothed to (1 - eps) t + eps / C;
    "mean" divides by the number of elements (N d1 ...), whatever the weights."""
    if ignore_index >= 0:
        raise ValueError(f"{op}: ignore_index is not supported for probability targets, "
                         f"got ignore_index={ignore_index}")
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    t = (target if isinstance(target, Tensor) else as_tensor(target)).astype(x.dtype)
    if eps:
        t = t * (1.0 - eps) + eps / c
    prod = x.log_softmax(axis) * t
    if w is not None:
        prod = prod * as_tensor(w.reshape((c,) + (1,) * (x.ndim - axis - 1)))
    return _reduce(-prod.sum(axis=axis), reduction)


def cross_entropy(logits: Tensor, labels, weight=None, *, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy, PyTorch's ``F.cross_entropy``: scores ``logits`` (N, C), (C,) or
    (N, C, d1, ...) against ``labels``, either integer class indices of shape (N,), () or
    (N, d1, ...), or class probabilities of the logits' shape.

    Class indices: l_i = -w_{y_i} log p_{i, y_i} with p_i = softmax over the class axis
    (axis 1; axis 0 for (C,)); labels equal to ``ignore_index`` give 0 and leave the mean;
    "mean" is sum_i l_i / sum_i w_{y_i} over the kept i. ``label_smoothing`` eps gives
    (1 - eps) l_i + eps / C sum_c w_c (-log p_ic), over the same denominator. Equal logits
    give ln(C) (2.302 for 10 classes).

    Probabilities t: l = -sum_c w_c t_c log p_c with t smoothed to (1 - eps) t + eps / C;
    "mean" divides by the number of elements, not by the weights.

    ``weight`` (C,) is a constant per class. A string in its place is the reduction (this
    library's earlier signature: ``cross_entropy(x, y, "sum")``).
    """
    weight, reduction = _weight_and_reduction("cross_entropy", weight, reduction)
    # the defaults skip the full checks (2 us of the plain path, which is benchmarked)
    eps = 0.0 if label_smoothing == 0.0 and type(label_smoothing) is float else \
        check_probability("cross_entropy", "label_smoothing", label_smoothing)
    if type(ignore_index) is not int:
        ignore_index = check_int("cross_entropy", "ignore_index", ignore_index, low=None)
    _checked_input("cross_entropy", logits)
    y = _labels_array(labels, logits)
    if y.dtype.kind == "f" and y.shape == logits.shape and logits.ndim:
        c = logits.shape[0 if logits.ndim == 1 else 1]
        w = _class_weight("cross_entropy", weight, logits, c)
        return _soft_cross_entropy("cross_entropy", logits, labels if isinstance(labels, Tensor) else y,
                                   w, reduction, eps, ignore_index)
    rows, y, c, shape = _class_targets("cross_entropy", logits, y, soft_ok=True)
    keep = _kept("cross_entropy", y, c, ignore_index)
    if weight is None and keep is None and not eps:  # the plain case: one fused node
        loss = _functions.SoftmaxCrossEntropy.apply(rows, y=y, reduction=reduction)
        return loss if reduction != "none" or logits.ndim == 2 else loss.reshape(shape)
    w = _class_weight("cross_entropy", weight, logits, c)
    return _nll_rows(rows.log_softmax(1), y, keep, w, reduction, eps, shape)


def nll_loss(log_probs: Tensor, labels, weight=None, *, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log likelihood, PyTorch's ``F.nll_loss``: l_i = -w_{y_i} log_probs_{i, y_i} for
    ``log_probs`` (N, C), (C,) or (N, C, d1, ...) (e.g. ``log_softmax(x, 1)``) and integer
    ``labels`` (N,), () or (N, d1, ...). Labels equal to ``ignore_index`` give 0 and leave the
    mean; "mean" is sum_i l_i / sum_i w_{y_i} over the kept i. ``nll_loss(log_softmax(x, 1), y)``
    equals ``cross_entropy(x, y)``. A string in ``weight``'s place is the reduction.
    """
    weight, reduction = _weight_and_reduction("nll_loss", weight, reduction)
    ignore_index = check_int("nll_loss", "ignore_index", ignore_index, low=None)
    _checked_input("nll_loss", log_probs)
    rows, y, c, shape = _class_targets("nll_loss", log_probs, _labels_array(labels, log_probs), soft_ok=False)
    keep = _kept("nll_loss", y, c, ignore_index)
    w = _class_weight("nll_loss", weight, log_probs, c)
    return _nll_rows(rows, y, keep, w, reduction, 0.0, shape)


# ---------------------------------------------------------------- regression losses
def l1_loss(x: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error: l = |x - target| elementwise, then mean, sum or none. The gradient
    at x = target is 0 (sign(0)), as PyTorch's."""
    check_reduction("l1_loss", reduction)
    x = _checked_input("l1_loss", x)
    return _reduce((x - _target("l1_loss", x, target)).abs(), reduction)


def smooth_l1_loss(x: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """PyTorch's SmoothL1Loss: with d = x - target, l = 0.5 d^2 / beta where |d| < beta, else
    |d| - 0.5 beta. ``beta`` >= 0; beta = 0 is the L1 loss."""
    check_reduction("smooth_l1_loss", reduction)
    beta = check_real("smooth_l1_loss", "beta", beta, 0.0)
    x = _checked_input("smooth_l1_loss", x)
    d = x - _target("smooth_l1_loss", x, target)
    ad = d.abs()
    if beta == 0.0:
        return _reduce(ad, reduction)
    return _reduce(where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta), reduction)


def huber_loss(x: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """PyTorch's HuberLoss: with d = x - target, l = 0.5 d^2 where |d| < delta, else
    delta (|d| - 0.5 delta); ``delta`` > 0. Equals delta * smooth_l1_loss(beta=delta)."""
    check_reduction("huber_loss", reduction)
    delta = check_real("huber_loss", "delta", delta, 0.0, low_open=True)
    x = _checked_input("huber_loss", x)
    d = x - _target("huber_loss", x, target)
    ad = d.abs()
    return _reduce(where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta), reduction)


# ---------------------------------------------------------------- binary cross-entropy
def _in_unit_interval(op: str, name: str, t: Tensor) -> None:
    a = t.data
    if a.size and not bool(((a >= 0) & (a <= 1)).all()):
        hint = " (apply sigmoid first, or use binary_cross_entropy_with_logits)" if name == "input" else ""
        raise ValueError(f"{op}: {name} values must be probabilities in [0, 1]{hint}; got values from "
                         f"{float(a.min())} to {float(a.max())}")


def binary_cross_entropy(x: Tensor, target, weight=None, *, reduction: str = "mean") -> Tensor:
    """PyTorch's ``F.binary_cross_entropy``: l = -w [t log x + (1 - t) log(1 - x)] for
    probabilities ``x`` and ``target`` in [0, 1] (ValueError otherwise), each log clamped at
    -100. ``weight`` broadcasts to x's shape (a constant rescaling per element, e.g. per sample).
    Logits are better served, and more stably, by ``binary_cross_entropy_with_logits``. A
    string in ``weight``'s place is the reduction.
    """
    weight, reduction = _weight_and_reduction("binary_cross_entropy", weight, reduction)
    x = _checked_input("binary_cross_entropy", x)
    t = _target("binary_cross_entropy", x, target)
    _in_unit_interval("binary_cross_entropy", "input", x)
    _in_unit_interval("binary_cross_entropy", "target", t)
    loss = _functions.BinaryCrossEntropy.apply(x, t.astype(x.dtype))
    if weight is not None:
        # a constant on x's device, as the class weights of cross_entropy (PyTorch: no gradient)
        w = as_tensor(backend.to_device(weight.data if isinstance(weight, Tensor) else weight, x.device),
                      dtype=x.dtype)
        try:
            fits = np.broadcast_shapes(w.shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"binary_cross_entropy: weight of shape {w.shape} does not broadcast to "
                             f"the input's shape {x.shape}")
        loss = loss * w
    return _reduce(loss, reduction)
