"""Layer normalization (per sample, over the trailing axes), PyTorch's ``LayerNorm``.

Unlike batch normalization it has no running statistics and no train/eval difference: each
sample is normalized by its own mean and variance, so it works for a batch of one.
"""
from __future__ import annotations

import numbers

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int, check_real
from tinygrad_lite.tensor import Tensor

from .module import Module, Parameter


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
    axes = tuple(range(x.ndim - k, x.ndim))
    d = x - x.mean(axes, keepdims=True)
    out = d / ((d * d).mean(axes, keepdims=True) + eps).sqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape`` axes, PyTorch's ``LayerNorm``:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    mean and biased variance per sample over those axes. ``weight`` (init 1) and ``bias``
    (init 0) have shape ``normalized_shape`` when ``elementwise_affine`` (``bias=False``
    drops the bias); they are not regularized. The same in training and eval.
    """

    _non_weights = frozenset({"weight", "bias"})

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: str | None = None, dtype=None) -> None:
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps = check_real("LayerNorm", "eps", eps, 0.0, low_open=True)
        self.elementwise_affine = bool(elementwise_affine)
        if elementwise_affine:
            self.weight = Parameter(factory.ones(*self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(factory.zeros(*self.normalized_shape, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if isinstance(x, Tensor) and (x.ndim < k or tuple(x.shape[x.ndim - k:]) != self.normalized_shape):
            dims = ", ".join(map(str, self.normalized_shape))
            raise ValueError(f"LayerNorm: expected input of shape (..., {dims}), got {x.shape}")
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


__all__ = ["LayerNorm", "layer_norm"]
