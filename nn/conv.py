"""ConvNet layers on (N, C, H, W) images: Conv2d, pooling, BatchNorm2d and Dropout2d."""
from __future__ import annotations

from typing import ClassVar

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int
from tinygrad_lite.tensor import Tensor

from . import functional as F
from . import im2col, init
from .layers import Dropout, _BatchNorm
from .module import Module, Parameter


class Conv2d(Module):
    """2-D convolution (see ``nn.functional.conv2d`` for the equation and the arguments).

    ``weight`` has shape (out_channels, in_channels / groups, kh, kw), ``bias``
    (out_channels,). Default init (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both,
    fan_in = in_channels / groups * kh * kw.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, device: str | None = None, dtype=None) -> None:
        super().__init__()
        name = "Conv2d"
        check_int(name, "in_channels", in_channels)
        check_int(name, "out_channels", out_channels)
        groups = check_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        kh, kw = im2col.pair(name, "kernel_size", kernel_size, 1)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        im2col.padding_of(name, padding, (kh, kw), im2col.pair(name, "stride", stride, 1),
                          im2col.pair(name, "dilation", dilation, 1))
        shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Parameter(factory.zeros(shape, dtype=dtype, device=device))
        self.bias = Parameter(factory.zeros(out_channels, dtype=dtype, device=device)) if bias else None
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        # the module itself names the layer in errors: formatted only when one is raised
        return im2col.convolve(self, x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                               self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")


class _Pool2d(Module):
    _op: type = None

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        im2col.pool_args(type(self).__name__, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return im2col.pool(self, self._op, x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling (``nn.functional.max_pool2d``); ``stride`` defaults to ``kernel_size``."""

    _op = im2col.MaxPooling


class AvgPool2d(_Pool2d):
    """Average pooling (``nn.functional.avg_pool2d``); ``stride`` defaults to ``kernel_size``."""

    _op = im2col.AveragePooling


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` whatever the input size;
    ``AdaptiveAvgPool2d(1)`` is global average pooling."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = im2col.pair("AdaptiveAvgPool2d", "output_size", output_size, 1)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) feature maps, per channel over the N H W values of
    that channel (the statistics and running averages of ``BatchNorm1d``, with m = N H W
    values per channel); eval mode uses the running statistics, exactly as BatchNorm1d."""

    _ranks: ClassVar[dict] = {4: "(N, C, H, W)"}


class Dropout2d(Dropout):
    """Channel dropout (``nn.functional.dropout2d``): whole feature maps are zeroed with
    probability ``p`` in training, the rest scaled by 1 / (1 - p); identity in eval."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)
