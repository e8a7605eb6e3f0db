"""Pooling layers on (N, C, H, W) images: MaxPool2d, AvgPool2d and AdaptiveAvgPool2d."""
from __future__ import annotations

from tinygrad_lite.tensor import Tensor

from . import _conv
from . import functional as F
from .module import Module


class _Pool2d(Module):
    _op: type = None

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        _conv.pool_args(type(self).__name__, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return _conv.pool(self, self._op, x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling (``nn.functional.max_pool2d``); ``stride`` defaults to ``kernel_size``, and
    ``dilation`` spaces the window's taps, as PyTorch's."""

    _op = _conv.MaxPooling

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1) -> None:
        super().__init__(kernel_size, stride, padding)
        _conv.pair("MaxPool2d", "dilation", dilation, 1)
        self.dilation = dilation

    def forward(self, x: Tensor) -> Tensor:
        return _conv.pool(self, self._op, x, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", dilation={self.dilation}"


class AvgPool2d(_Pool2d):
    """Average pooling (``nn.functional.avg_pool2d``); ``stride`` defaults to ``kernel_size``."""

    _op = _conv.AveragePooling


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size;
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = _conv.pair("AdaptiveAvgPool2d", "output_size", output_size, 1)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)
