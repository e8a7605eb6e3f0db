"""Linear, the fully connected layer (``nn.functional.linear``)."""
from __future__ import annotations

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int
from tinygrad_lite.tensor import Tensor

from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """Fully connected layer: y = x W^T + b.

    ``weight`` has shape (out_features, in_features) (PyTorch's layout), ``bias``
    (out_features,). Default init (PyTorch's): W and b ~ U(-1/sqrt(in_features),
    1/sqrt(in_features)), i.e. ``kaiming_uniform_(W, a=sqrt(5))``. Re-initialise
    with ``nn.init`` for the lecture's N(0, 0.01^2) or Xavier/He.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        check_int("Linear", "in_features", in_features)
        check_int("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(factory.zeros(out_features, in_features, dtype=dtype, device=device))
        self.bias = Parameter(factory.zeros(out_features, dtype=dtype, device=device)) if bias else None
        init.pytorch_default_(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
