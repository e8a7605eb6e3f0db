"""Layers: Linear, BatchNorm1d, Dropout and the lecture's activations as modules (ConvNet layers: ``nn.conv``)."""
from __future__ import annotations

from typing import ClassVar

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int, check_probability, check_real, pytorch_kwargs
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


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input ranks they take."""

    _ranks: ClassVar[dict] = {}  # input rank -> its layout, for the error message
    _non_weights = frozenset({"weight", "bias"})  # gamma/beta are not regularized
    _optional_buffers = frozenset({"num_batches_tracked"})  # older state dicts have no count

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 device: str | None = None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        check_int(name, "num_features", num_features)
        if momentum is not None:  # None: the cumulative average, as PyTorch's
            check_probability(name, "momentum", momentum)
        check_real(name, "eps", eps, 0.0, low_open=True)
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        if affine:
            self.weight = Parameter(factory.ones(num_features, dtype=dtype, device=device))
            self.bias = Parameter(factory.zeros(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", factory.zeros(num_features, dtype=dtype, device=device))
        self.register_buffer("running_var", factory.ones(num_features, dtype=dtype, device=device))
        self.register_buffer("num_batches_tracked", factory.full((), 0, dtype="int64", device=device))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._ranks:
            shapes = " or ".join(self._ranks.values()).replace("C", str(self.num_features))
            raise ValueError(f"{type(self).__name__}: expected input of shape {shapes}, got {x.shape}")
        momentum = self.momentum
        if self.training and momentum is None:  # this batch's weight in the mean of all batches
            momentum = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        out = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                           self.training, momentum, self.eps)
        if self.training:  # after batch_norm, so that a refused batch is not counted
            self.num_batches_tracked.data = self.num_batches_tracked.data + 1
        return out

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) activations, the lecture's BN_{gamma, beta}, per feature:

        training: x_hat = (x - mu_B) / sqrt(sigma2_B + eps),  y = gamma x_hat + beta
        eval:     x_hat = (x - running_mean) / sqrt(running_var + eps)

    with mu_B and sigma2_B the mini-batch mean and biased variance (see
    ``nn.functional.batch_norm`` for the running-statistics update). Parameters
    ``weight`` (gamma, init 1) and ``bias`` (beta, init 0) when ``affine``; buffers
    ``running_mean`` (init 0) and ``running_var`` (init 1). ``running_var`` takes the
    unbiased sigma2_B N / (N - 1), as PyTorch does. ``momentum=None`` gives PyTorch's
    cumulative moving average, r <- r + (s_B - r) / n with n the ``num_batches_tracked``
    buffer (training batches seen, counting this one): the plain mean of all batches' statistics. A batch of one sample in training
    raises ValueError. (N, C, L) input is normalized per channel over N and L, as PyTorch's.
    """

    _ranks: ClassVar[dict] = {2: "(N, C)", 3: "(N, C, L)"}


class Dropout(Module):
    """Inverted dropout: out = x * m / (1 - p), m_i ~ Bernoulli(1 - p), in training; identity in eval.

    ``p`` is the probability of dropping a unit (the lecture's 0.5 is common); see
    ``nn.functional.dropout``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability(type(self).__name__, "p", p)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---------------------------------------------------------------- activations
class BinaryStep(Module):
    """f(x) = 1 for x >= 0 else 0; zero gradient everywhere (nothing below it learns)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.binary_step(x)


class Sigmoid(Module):
    """f(x) = 1 / (1 + e^-x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """f(x) = tanh(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Arctan(Module):
    """f(x) = tan^-1(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.arctan(x)


class ReLU(Module):
    """f(x) = max(0, x)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """f(x) = max(a x, x) for 0 <= a < 1; a = ``negative_slope`` (default 0.01, lecture's example 0.1)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Parametric ReLU: f(x) = x for x > 0 else alpha x, alpha learned.

    ``num_parameters`` = 1 shares one alpha; = C learns one per feature (axis 1).
    alpha starts at ``init`` (0.25, as PyTorch) and is not regularized by default.
    """

    _non_weights = frozenset({"alpha"})

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: str | None = None,
                 dtype=None) -> None:
        super().__init__()
        check_int("PReLU", "num_parameters", num_parameters)
        self.num_parameters = num_parameters
        self.alpha = Parameter(factory.full((num_parameters,), init, dtype=dtype, device=device))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """f(x) = x for x > 0 else alpha (e^x - 1)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(Module):
    """p_j = e^{x_j} / sum_k e^{x_k} along ``axis`` (PyTorch's ``dim=`` too)."""

    @pytorch_kwargs
    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    """log p_j = x_j - logsumexp(x) along ``axis``."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.axis)
