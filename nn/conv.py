"""Conv2d, the 2-D convolution layer on (N, C, H, W) images (``nn.functional.conv2d``)."""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int
from tinygrad_lite.tensor import Tensor

from . import _conv, init
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
        kh, kw = _conv.pair(name, "kernel_size", kernel_size, 1)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        _conv.padding_of(name, padding, (kh, kw), _conv.pair(name, "stride", stride, 1),
                         _conv.pair(name, "dilation", dilation, 1))
        shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Parameter(factory.zeros(shape, dtype=dtype, device=device))
        self.bias = Parameter(factory.zeros(out_channels, dtype=dtype, device=device)) if bias else None
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        # the module itself names the layer in errors: formatted only when one is raised
        return _conv.convolve(self, x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                              self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")
