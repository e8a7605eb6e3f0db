"""Stateless forms of the layers, activations and losses (``import tinygrad_lite.nn.functional as F``).

Activations are the lecture's table; all are finite, with finite gradients, for
inputs as large as +-1e3 (float32). Non-smooth points take the gradient of the
negative side (relu'(0) = 0, leaky_relu'(0) = slope, prelu'(0) = alpha).
Losses take ``reduction`` = "mean" (default), "sum" or "none". ``cross_entropy``, ``nll_loss``,
``l1_loss``, ``smooth_l1_loss``, ``huber_loss``, ``binary_cross_entropy`` (``nn.loss_functions``),
``layer_norm`` (``nn.normalization``) and ``embedding`` (``nn.sparse``) are defined beside their
modules and re-exported here.
"""
from __future__ import annotations

from tinygrad_lite import backend
from tinygrad_lite.backend import xp_of
from tinygrad_lite.checks import check_choice, check_probability, pytorch_kwargs
from tinygrad_lite.factory import as_tensor
from tinygrad_lite.tensor import Tensor, stack, where

from . import fused, im2col

# defined beside their modules (this file would pass 400 lines), the stateless forms all here;
# cross_entropy: PyTorch's weight, ignore_index, label_smoothing, soft targets, (N, C, d1, ...)
from .loss_functions import (  # noqa: F401
    binary_cross_entropy,
    cross_entropy,
    huber_loss,
    l1_loss,
    nll_loss,
    smooth_l1_loss,
)
from .normalization import layer_norm  # noqa: F401
from .sparse import embedding  # noqa: F401

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


def prelu(x: Tensor, alpha: Tensor) -> Tensor:
    """Parametric ReLU: f(x) = x for x > 0 else alpha x, with a learnable ``alpha``.

    ``alpha`` has one element (shared) or one per feature, the feature axis being
    axis 1 (axis 0 for a 1-D input). df/dx = 1 or alpha; df/dalpha = 0 or x.
    """
    if alpha.numel() > 1:
        axis = 1 if x.ndim >= 2 else 0
        if x.ndim == 0 or x.shape[axis] != alpha.numel():
            raise ValueError(f"prelu: {alpha.numel()} alphas for input of shape {x.shape} "
                             f"(feature axis {axis} must have that size)")
        alpha = alpha.reshape((alpha.numel(),) + (1,) * (x.ndim - axis - 1))
    elif alpha.ndim:
        alpha = alpha.reshape(())
    return where(x > 0, x, x * alpha)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """f(x) = x for x > 0 else alpha (e^x - 1); f' = 1 or f(x) + alpha."""
    return x.elu(alpha)


# PyTorch's other activations: each is the Tensor method of its name, documented there
# (F.gelu(x, approximate="tanh") is x.gelu(approximate="tanh")); modules in nn.activations
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


# ---------------------------------------------------------------- layers
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
    if x.dtype.kind != "f":  # NumPy would compute int @ float32 in float64; PyTorch refuses it too
        raise TypeError(f"linear: expected a float input, got dtype {x.dtype}; convert it with x.float()")
    if bias is None:
        return fused.Linear.apply(x, weight)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: expected bias of shape ({weight.shape[0]},) for weight of shape "
                         f"{weight.shape}, got {bias.shape}")
    return fused.Linear.apply(x, weight, bias)


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
    im2col.check_images("dropout2d", x)
    return _dropout("dropout2d", x, p, training, x.shape[:2] + (1, 1))


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
    return im2col.convolve("conv2d", x, weight, bias, stride, padding, dilation, groups)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """out[n, c, y, x] = max_{i, j} x_pad[n, c, y sy + i, x sx + j] (padding is -inf); ``stride``
    defaults to ``kernel_size``. Tied maxima share the window's gradient equally."""
    return im2col.pool("max_pool2d", im2col.MaxPooling, x, kernel_size, stride, padding)


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0) -> Tensor:
    """out[n, c, y, x] = mean_{i, j} x_pad[n, c, y sy + i, x sx + j] (zero padding counted, as
    PyTorch's default); ``stride`` defaults to ``kernel_size``."""
    return im2col.pool("avg_pool2d", im2col.AveragePooling, x, kernel_size, stride, padding)


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average over a grid of ``output_size`` (int or pair) bins, bin k of n over a side of L
    spanning [floor(k L / n), ceil((k + 1) L / n)), as PyTorch. ``output_size=1`` is global
    average pooling: one mean per channel."""
    im2col.check_images("adaptive_avg_pool2d", x)
    oh, ow = im2col.pair("adaptive_avg_pool2d", "output_size", output_size, 1)
    h, w = x.shape[2:]
    if h % oh == 0 and w % ow == 0:  # equal bins: one pooling op
        return im2col.pool("adaptive_avg_pool2d", im2col.AveragePooling, x, (h // oh, w // ow), None, 0)
    rows = [stack([x[:, :, i * h // oh:-(-(i + 1) * h // oh), j * w // ow:-(-(j + 1) * w // ow)].mean(axis=(2, 3))
                   for j in range(ow)], axis=-1) for i in range(oh)]
    return stack(rows, axis=-2)


# ---------------------------------------------------------------- losses
def check_reduction(op: str, reduction: str) -> str:
    """``reduction`` if it is one of "mean", "sum", "none" (the losses' one shared argument)."""
    return check_choice(op, "reduction", reduction, REDUCTIONS)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


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


def _target(op: str, x: Tensor, target) -> Tensor:
    t = target if isinstance(target, Tensor) else Tensor(target, dtype=x.dtype, device=x.device)
    if t.shape != x.shape:
        raise ValueError(f"{op}: target shape {t.shape} differs from input shape {x.shape}")
    return t


def mse_loss(x: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean squared error: L = mean((x - target)^2) (or sum / elementwise)."""
    check_reduction("mse_loss", reduction)
    d = x - _target("mse_loss", x, target)
    return _reduce(d * d, reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(``logits``) against ``target`` in [0, 1], stable for any logits."""
    check_reduction("binary_cross_entropy_with_logits", reduction)
    t = _target("binary_cross_entropy_with_logits", logits, target)
    return _reduce(fused.BinaryCrossEntropyWithLogits.apply(logits, t), reduction)
