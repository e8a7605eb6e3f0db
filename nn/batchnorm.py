"""Batch normalization: BatchNorm1d ((N, C) and (N, C, L)) and BatchNorm2d ((N, C, H, W)), one
base with the statistics of ``nn.functional.batch_norm``."""
from __future__ import annotations

from typing import ClassVar

from tinygrad_lite import factory
from tinygrad_lite.checks import check_int, check_probability, check_real
from tinygrad_lite.tensor import Tensor

from . import functional as F
from .module import Module
from .normalization import add_affine_parameters


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
        add_affine_parameters(self, num_features, affine, dtype, device)
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


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) feature maps, per channel over the N H W values of
    that channel (the statistics and running averages of ``BatchNorm1d``, with m = N H W
    values per channel); eval mode uses the running statistics, exactly as BatchNorm1d."""

    _ranks: ClassVar[dict] = {4: "(N, C, H, W)"}
