"""Layer and group normalization (per sample), PyTorch's ``LayerNorm`` and ``GroupNorm``
(``nn.functional.layer_norm``, ``nn.functional.group_norm``).

Unlike batch normalization they have no running statistics and no train/eval difference: each
sample is normalized by its own mean and variance, so they work for a batch of one.
"""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int, check_real
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .functional import _normalized_shape
from .module import Module, Parameter


def add_affine_parameters(module: Module, size: int, affine: bool, dtype, device) -> None:
    """A normalization layer's learned scale and shift per feature (the lecture's gamma and
    beta): ``weight`` (init 1) and ``bias`` (init 0) of shape (size,) when ``affine``, else both
    registered as None (as PyTorch's layers show them)."""
    if affine:
        module.weight = Parameter(factory.ones(size, dtype=dtype, device=device))
        module.bias = Parameter(factory.zeros(size, dtype=dtype, device=device))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)

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
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"



class GroupNorm(Module):
    """Group normalization, PyTorch's ``GroupNorm``: the ``num_channels`` channels of (N, C, *)
    input are split into ``num_groups`` groups, each normalized per sample over its channels and
    positions (``nn.functional.group_norm``):

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    ``weight`` (init 1) and ``bias`` (init 0) have shape (num_channels,) when ``affine``; they
    are not regularized. No running statistics: the same in training and eval, for any batch size.
    """

    _non_weights = frozenset({"weight", "bias"})

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}")
        self.eps = check_real("GroupNorm", "eps", eps, 0.0, low_open=True)
        self.affine = bool(affine)
        add_affine_parameters(self, num_channels, affine, dtype, device)

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and (x.ndim < 2 or x.shape[1] != self.num_channels):
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
