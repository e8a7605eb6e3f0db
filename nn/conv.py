"""Conv2d and ConvTranspose2d, the 2-D convolution layers on (N, C, H, W) images, and Conv1d on
(N, C, L) sequences (``nn.functional.conv2d``, ``conv_transpose2d``, ``conv1d``)."""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_choice, check_int
from tinygrad_lite.tensor import Tensor

from . import _conv, init
from . import functional as F
from .module import Module, Parameter


def _check_channels(name: str, in_channels: int, out_channels: int, groups: int, padding_mode: str = "zeros") -> int:
    """The argument checks every convolution layer shares; returns ``groups`` as an int."""
    check_int(name, "in_channels", in_channels)
    check_int(name, "out_channels", out_channels)
    groups = check_int(name, "groups", groups)
    check_choice(name, "padding_mode", padding_mode, ("zeros",))  # the only mode implemented
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")
    return groups

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
        groups = _check_channels(name, in_channels, out_channels, groups)
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


class ConvTranspose2d(Module):
    """2-D transposed convolution (see ``nn.functional.conv_transpose2d`` for the equation and the
    arguments), PyTorch's argument order.

    ``weight`` has shape (in_channels, out_channels / groups, kh, kw), ``bias`` (out_channels,).
    Default init (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both, with PyTorch's
    fan_in of that weight, out_channels / groups * kh * kw. ``forward(x, output_size=None)``:
    an ``output_size`` (..., OH, OW) picks the output_padding that gives it, as PyTorch.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        name = "ConvTranspose2d"
        groups = _check_channels(name, in_channels, out_channels, groups, padding_mode)
        kh, kw = _conv.pair(name, "kernel_size", kernel_size, 1)
        self.stride, self.dilation = _conv.pair(name, "stride", stride, 1), _conv.pair(name, "dilation", dilation, 1)
        self.padding = _conv.pair(name, "padding", padding, 0)
        self.output_padding = _conv.pair(name, "output_padding", output_padding, 0)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (kh, kw)
        self.groups, self.padding_mode = groups, padding_mode
        shape = (in_channels, out_channels // groups, kh, kw)
        self.weight = Parameter(factory.zeros(shape, dtype=dtype, device=device))
        self.bias = Parameter(factory.zeros(out_channels, dtype=dtype, device=device)) if bias else None
        init.pytorch_default_(self.weight, self.bias)

    def _output_padding(self, x: Tensor, output_size) -> tuple:
        """The output_padding for ``output_size`` (PyTorch's rule: within a stride of the smallest size)."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        if len(size) != 2 or x.ndim != 4:
            raise ValueError(f"{self}: output_size must end in (OH, OW) for an (N, C, H, W) input, got "
                             f"{output_size!r} for input {x.shape}")
        pads = []
        for axis in range(2):
            s, p, d, k = self.stride[axis], self.padding[axis], self.dilation[axis], self.kernel_size[axis]
            least = (x.shape[2 + axis] - 1) * s - 2 * p + d * (k - 1) + 1
            if not least <= size[axis] < least + s:
                raise ValueError(f"{self}: requested an output size of {size}, but valid sizes for input {x.shape} "
                                 f"range from {least} to {least + s - 1} on axis {2 + axis}")
            pads.append(size[axis] - least)
        return tuple(pads)

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        return _conv.convolve_transposed(self, x, self.weight, self.bias, self.stride, self.padding,
                                         self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, output_padding={self.output_padding}, dilation={self.dilation}, "
                f"groups={self.groups}, bias={self.bias is not None}")


class Conv1d(Module):
    """1-D convolution of (N, C, L) sequences (see ``nn.functional.conv1d`` for the equation and
    the arguments), PyTorch's ``Conv1d``: for WaveNet-style dilated and causal (left-padded)
    convolutions.

    ``weight`` has shape (out_channels, in_channels / groups, kernel_size), ``bias``
    (out_channels,). Default init (PyTorch's): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both,
    fan_in = in_channels / groups * kernel_size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device: str | None = None,
                 dtype=None) -> None:
        super().__init__()
        name = "Conv1d"
        groups = _check_channels(name, in_channels, out_channels, groups, padding_mode)
        k = check_int(name, "kernel_size", F._single(name, "kernel_size", kernel_size))
        stride = check_int(name, "stride", F._single(name, "stride", stride))
        dilation = check_int(name, "dilation", F._single(name, "dilation", dilation))
        padding = F._single(name, "padding", padding)
        _conv.padding_of(name, padding if isinstance(padding, str) else (0, padding), (1, k), (1, stride),
                         (1, dilation))
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (k,)
        self.stride, self.dilation, self.groups, self.padding_mode = (stride,), (dilation,), groups, padding_mode
        self.padding = padding if isinstance(padding, str) else (padding,)
        self.weight = Parameter(factory.zeros((out_channels, in_channels // groups, k), dtype=dtype, device=device))
        self.bias = Parameter(factory.zeros(out_channels, dtype=dtype, device=device)) if bias else None
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[1] != self.in_channels:
            got = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Conv1d: expected input of shape (N, {self.in_channels}, L), got {got}")
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")
