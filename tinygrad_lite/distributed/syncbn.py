"""Synchronized batch normalization: the statistics of all ranks' batches together.

With per-rank statistics (the default), each rank normalizes with the mean and variance of
its own B examples, which is not what one process with the combined batch of size * B
would do. ``SyncBatchNorm1d``/``SyncBatchNorm2d`` compute the combined batch's statistics:

    forward:  every rank's (count n_r, mean mu_r, M2_r = sum (x - mu_r)^2), gathered, give
              mu = sum n_r mu_r / M and sigma2 = (sum M2_r + sum n_r (mu_r - mu)^2) / M
              (Chan et al.'s pairwise update: no E[x^2] - E[x]^2 cancellation), M = sum n_r;
    backward: gx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(sigma2 + eps), the means over all
              M values of the channel on all ranks (one allreduce of 2 C sums).

The gradient is that of the sum of the ranks' losses; averaging the parameter gradients
over the ranks (``DataParallel``) then gives the single process's gradient of the mean.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..backend import xp_of
from ..nn import BatchNorm1d, BatchNorm2d


def _layout(x) -> tuple[tuple, tuple]:
    """(reduction axes, per-channel shape) of (N, C, ...) input."""
    return (0, *range(2, x.ndim)), (x.shape[1],) + (1,) * (x.ndim - 2)


def global_moments(comm, x) -> tuple:
    """(mean, biased variance, count) per channel of the (N, C, ...) array ``x`` of every rank
    together; mean and variance in ``x``'s dtype on its device, the combination in float64."""
    axes, shape = _layout(x)
    c, n = x.shape[1], x.size // x.shape[1]
    local = np.zeros(2 * c + 1)
    local[0] = n
    if n:
        mean = x.mean(axis=axes)
        d = x - mean.reshape(shape)
        local[1:c + 1], local[c + 1:] = backend.to_numpy(mean), backend.to_numpy((d * d).sum(axis=axes))
    table = comm.allgather(local, "synchronized BatchNorm statistics")
    counts, means, m2 = table[:, :1], table[:, 1:c + 1], table[:, c + 1:]
    total = counts.sum()
    mu = (counts * means).sum(axis=0) / total
    var = (m2.sum(axis=0) + (counts * (means - mu) ** 2).sum(axis=0)) / total
    device = backend.device_of(x)
    return (backend.to_device(mu.astype(x.dtype), device), backend.to_device(var.astype(x.dtype), device),
            int(total))


class SyncNormalize(Function):
    """x_hat = (x - mu) / sqrt(sigma2 + eps) with the combined batch's ``mean`` and ``var``
    (see the module docstring for the backward, which reduces over the ranks)."""

    def forward(self, x, mean, var, eps, count, comm):
        """x_hat from raw ``x`` and the combined batch's per-channel ``mean`` and ``var`` (over
        ``count`` values on all ranks of ``comm``)."""
        self.axes, shape = _layout(x)
        self.comm, self.count = comm, count
        self.invstd = (1.0 / xp_of(x).sqrt(var + eps)).astype(x.dtype).reshape(shape)
        self.x_hat = (x - mean.reshape(shape)) * self.invstd
        return self.x_hat

    def backward(self, grad):
        """dL/dx of the ranks' summed losses: one allreduce of sum(g) and sum(g x_hat) per channel."""
        c = grad.shape[1]
        sums = np.concatenate([backend.to_numpy(grad.sum(axis=self.axes)),
                               backend.to_numpy((grad * self.x_hat).sum(axis=self.axes))]).astype(np.float64)
        self.comm.allreduce_(sums, "synchronized BatchNorm backward")
        means = backend.to_device((sums / self.count).astype(grad.dtype), backend.device_of(grad))
        shape = self.invstd.shape
        return self.invstd * (grad - means[:c].reshape(shape) - self.x_hat * means[c:].reshape(shape))


class _Synchronized:
    """The forward of a synchronized BatchNorm (mixed into BatchNorm1d and BatchNorm2d)."""

    comm = None  # the Communicator; without one (or one rank) the layer is plain BatchNorm
    ranks: tuple = ()

    def forward(self, x):
        if not self.training or self.comm is None or self.comm.size == 1:
            return super().forward(x)
        name = type(self).__name__
        if x.ndim not in self.ranks or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input of rank {' or '.join(map(str, self.ranks))} with "
                             f"{self.num_features} channels on axis 1, got shape {x.shape}")
        mean, var, m = global_moments(self.comm, x.data)
        if m < 2:
            raise ValueError(f"{name}: training needs at least 2 values per channel over all ranks, "
                             f"got {m}")
        momentum = self.momentum
        if momentum is None:  # the cumulative average, as BatchNorm1d
            momentum = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        for running, value in ((self.running_mean, mean), (self.running_var, var * (m / (m - 1)))):
            new = (1 - momentum) * running.data + momentum * value
            running.data = new.astype(running.dtype, copy=False)
        self.num_batches_tracked.data = self.num_batches_tracked.data + 1
        out = SyncNormalize.apply(x, mean=mean, var=var, eps=self.eps, count=m, comm=self.comm)
        _, shape = _layout(x)
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        return out if self.bias is None else out + self.bias.reshape(shape)

    def extra_repr(self) -> str:
        ranks = "no communicator" if self.comm is None else f"synchronized over {self.comm.size} ranks"
        return f"{super().extra_repr()}, {ranks}"


class SyncBatchNorm1d(_Synchronized, BatchNorm1d):
    """``nn.BatchNorm1d`` whose training statistics are those of every rank's batch together."""

    ranks = (2, 3)


class SyncBatchNorm2d(_Synchronized, BatchNorm2d):
    """``nn.BatchNorm2d`` whose training statistics are those of every rank's batch together."""

    ranks = (4,)


SYNCHRONIZED = {BatchNorm1d: SyncBatchNorm1d, BatchNorm2d: SyncBatchNorm2d}


def _synchronized(bn, comm):
    """A synchronized twin of ``bn`` holding the same parameter and buffer tensors (so that an
    optimizer built on the model's parameters keeps updating them)."""
    ref = bn.running_mean
    new = SYNCHRONIZED[type(bn)](bn.num_features, bn.eps, bn.momentum, bn.affine, device=ref.device,
                                 dtype=ref.dtype)
    if bn.affine:
        new.weight, new.bias = bn.weight, bn.bias
    for name, tensor in bn.named_buffers():
        new.register_buffer(name, tensor)
    new.train(bn.training)
    new.comm = comm
    return new


def convert_sync_batchnorm(model, comm):
    """``model`` with every ``BatchNorm1d``/``BatchNorm2d`` replaced, in place, by its
    synchronized twin over ``comm`` (sharing its parameters and buffers); returns the model
    (a new layer when ``model`` is itself a BatchNorm)."""
    if type(model) in SYNCHRONIZED:
        return _synchronized(model, comm)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) in SYNCHRONIZED:
                setattr(module, name, _synchronized(child, comm))
            elif isinstance(child, _Synchronized):
                child.comm = comm
    return model


__all__ = ["SyncBatchNorm1d", "SyncBatchNorm2d", "SyncNormalize", "convert_sync_batchnorm", "global_moments"]
