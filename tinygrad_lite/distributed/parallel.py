"""Data-parallel training, the ChainerMN pattern: same model, a shard of the data, one step.

Every rank holds the whole model. At the start rank 0's parameters and buffers are
broadcast, so all ranks start equal. Each step, every rank runs forward and backward on its
own batch; one allreduce of all gradients, packed in one flat buffer (one call per step,
not one per parameter: a call costs a latency, and small messages waste the bandwidth),
averages them; then every rank takes the same optimizer step and the models stay equal.
With a mean loss and equal shards, the averaged gradient is the gradient of the combined
batch: 2 ranks with batch B take the step of 1 process with batch 2B.

``fit(..., distributed=DataParallel())`` does all of it; a hand-written loop calls
``broadcast_parameters`` once and ``allreduce_gradients`` after each ``backward()``.
"""
from __future__ import annotations

import hashlib

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..data.loader import DataLoader
from ..data.sharded import ShardedLoader
from ..factory import as_tensor
from .comm import DEFAULT_TIMEOUT, Communicator, init
from .syncbn import convert_sync_batchnorm


def _groups(tensors) -> dict:
    """The tensors grouped by (device, dtype), in order: one flat buffer each."""
    out: dict = {}
    for t in tensors:
        out.setdefault((t.device, np.dtype(t.dtype)), []).append(t)
    return out


class DataParallel:
    """Data-parallel training over the ranks of ``comm`` (default: ``init(timeout=timeout)``).

    ``sync_batchnorm``: replace the model's BatchNorm layers by synchronized ones
    (statistics of all ranks' batches together, ``SyncBatchNorm1d``/``2d``), so that N ranks
    reproduce one process's batch statistics; off, each rank normalizes with its own batch's
    statistics (cheaper, and usual) and the running statistics are averaged over the ranks
    at the end of every epoch, so that all ranks hold one model.

    What ``fit(distributed=...)`` calls, in order: ``prepare`` (broadcast), ``loaders``
    (a ``ShardedLoader`` for training, a contiguous slice of the validation data), per step
    ``allreduce_gradients`` (with the loss riding in the same buffer), per epoch
    ``sync_buffers`` and ``combine`` (metrics over all ranks), and ``gather_rng_state`` /
    ``own_rng_state`` for checkpoints (one random state per rank; rank 0 writes the file).
    """

    def __init__(self, comm: Communicator | None = None, *, sync_batchnorm: bool = False,
                 timeout: float | None = DEFAULT_TIMEOUT):
        self.comm = init(timeout=timeout) if comm is None else comm
        self.sync_batchnorm = bool(sync_batchnorm)
        self._flat: dict = {}  # (device, dtype) -> the flat gradient buffer, reused every step
        self._trainable: tuple = (None, {})  # (model, its trainable parameters grouped): read once

    rank = property(lambda self: self.comm.rank, doc="This process's rank, 0 .. size - 1.")
    size = property(lambda self: self.comm.size, doc="The number of ranks.")
    is_root = property(lambda self: self.comm.is_root, doc="True on rank 0, which prints and writes files.")

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size}, sync_batchnorm={self.sync_batchnorm})"

    # ------------------------------------------------------------ model
    def prepare(self, model):
        """Synchronize BatchNorm if asked, check that every rank has the same model, and
        broadcast rank 0's parameters and buffers; returns the model (changed in place)."""
        if self.sync_batchnorm:
            model = convert_sync_batchnorm(model, self.comm)
        layout = [(k, t.shape, str(t.dtype)) for k, t in _named_state(model)]
        digest = hashlib.sha256(repr(layout).encode()).hexdigest()
        if len(set(self.comm.allgather_object(digest, "check of the model's layout"))) > 1:
            raise ValueError("DataParallel: the ranks built different models (parameter names, shapes or "
                             "dtypes differ); build the same model on every rank")
        self.broadcast_parameters(model)
        self._trainable = (None, {})  # read the parameters again at the next allreduce
        return model

    def broadcast_parameters(self, model) -> None:
        """Overwrite every rank's parameters and buffers with rank 0's (one buffer per dtype)."""
        tensors = [t for _, t in _named_state(model)]
        for (device, dtype), group in _groups(tensors).items():
            flat = backend.get_xp(device).concatenate([t.data.reshape(-1) for t in group]).astype(dtype)
            self.comm.bcast_(flat, what="broadcast of the parameters and buffers")
            _unpack(flat, group)

    def allreduce_gradients(self, model, values=()) -> list[float]:
        """Average the gradients of ``model``'s trainable parameters over the ranks, in place,
        through one packed buffer per dtype; returns ``values`` (a few floats, e.g. the loss)
        averaged over the ranks, carried in the same buffer. A parameter without a gradient
        on some rank counts as a zero gradient there; it keeps ``grad = None`` only where no
        rank has one. On one rank nothing is copied: the gradients are the average."""
        values = [float(v) for v in values]
        if self.size == 1:
            return values
        groups = self._groups_of(model)
        out = values
        for i, ((device, dtype), group) in enumerate(groups.items()):
            flags = [p.grad is not None for p in group]
            extra = [*values, *flags] if i == 0 else flags
            n = sum(p.numel() for p in group)
            flat = self._buffer(device, dtype, n + len(extra))
            o = 0
            for p in group:
                flat[o:o + p.numel()] = 0 if p.grad is None else p.grad.data.reshape(-1)
                o += p.numel()
            flat[n:] = backend.to_device(np.asarray(extra, dtype=dtype), device)
            self.comm.allreduce_(flat, "allreduce of the gradients")
            tail = backend.to_numpy(flat[n:]).astype(np.float64) / self.size
            if i == 0:
                out, tail = tail[:len(values)].tolist(), tail[len(values):]
            self._average_into_grads(flat, group, tail > 0)
        return out

    def _groups_of(self, model) -> dict:
        """The model's trainable parameters by (device, dtype), read at the first allreduce after
        ``prepare`` and kept: walking the module tree every step cost as much as the copies
        (call ``prepare`` again after adding parameters or changing ``requires_grad``)."""
        if self._trainable[0] is not model:
            groups = _groups(p for p in model.parameters() if p.requires_grad)
            self._trainable = (model, groups or {("cpu", np.dtype(np.float64)): []})  # none: values alone
        return self._trainable[1]

    def _average_into_grads(self, flat, group, has_grad) -> None:
        """grad = (summed piece of ``flat``) / size, written into each gradient's own array in one
        pass (no ``copy_``: a gradient array is never saved by a graph node, so the in-place
        write check has nothing to guard, and its per-call cost showed at small batches)."""
        xp, o = backend.xp_of(flat), 0
        for p, has in zip(group, has_grad):
            piece = flat[o:o + p.numel()].reshape(p.shape)
            o += p.numel()
            if not has:
                continue
            if p.grad is None:
                p.grad = as_tensor(piece / self.size, device=p.device)
            else:
                xp.divide(piece, self.size, out=p.grad.data)

    def _buffer(self, device: str, dtype, n: int):
        flat = self._flat.get((device, dtype))
        if flat is None or flat.size != n:
            flat = self._flat[(device, dtype)] = backend.get_xp(device).empty(n, dtype=dtype)
        return flat

    def sync_buffers(self, model) -> None:
        """Average the float buffers (BatchNorm's running statistics) over the ranks, so that
        every rank holds the same model; with synchronized BatchNorm they are equal already."""
        if self.size == 1:
            return
        floats = [t for _, t in _named_state(model, parameters=False) if t.dtype.kind == "f"]
        for group in _groups(floats).values():
            flat = backend.xp_of(group[0].data).concatenate([t.data.reshape(-1) for t in group])
            self.comm.allreduce_(flat, "average of the buffers")
            flat /= self.size
            _unpack(flat, group)

    # ------------------------------------------------------------ data and metrics
    def loaders(self, train, val, batch_size: int, seed: int | None, device: str, val_batch_size: int):
        """(this rank's training loader, its slice of the validation data or None).

        ``train``: (x, y) arrays, sharded with a seed common to all ranks (rank 0's, drawn from
        the OS when ``seed`` is None), or a ``ShardedLoader`` for this rank. ``val``: (x, y);
        rank r evaluates the r-th of ``size`` contiguous slices and ``combine`` weighs them."""
        if isinstance(train, (tuple, list)) and len(train) == 2:
            if seed is None:
                seed = int(np.random.SeedSequence().entropy)
            seed = self.comm.bcast_object(seed, what="broadcast of the shuffle seed")  # one order for all
            train = ShardedLoader(train[0], train[1], batch_size, self.rank, self.size, seed=seed,
                                  device=device)
        elif not isinstance(train, ShardedLoader) or (train.rank, train.world_size) != (self.rank, self.size):
            raise TypeError(f"fit(distributed=...): train must be (x, y) arrays or a ShardedLoader with "
                            f"rank={self.rank}, world_size={self.size}; got {train!r}. A plain loader would "
                            "give every rank the same batches")
        if val is None:
            return train, None
        if not (isinstance(val, (tuple, list)) and len(val) == 2):
            raise TypeError("fit(distributed=...): val must be (x, y) arrays, which the ranks split "
                            "between them")
        n = len(val[0])
        if n < self.size:
            raise ValueError(f"fit(distributed=...): {n} validation examples for {self.size} ranks; "
                             "each rank needs at least one")
        lo, hi = self.rank * n // self.size, (self.rank + 1) * n // self.size
        return train, DataLoader(val[0][lo:hi], val[1][lo:hi], val_batch_size, device=device)

    def combine(self, metrics, count: int) -> tuple:
        """Means over all ranks' examples of per-rank means ``metrics`` over ``count`` examples."""
        if metrics is None or self.size == 1:
            return metrics
        sums = self.comm.sum([count, *(count * float(m) for m in metrics)], "sum of the metrics")
        return tuple(s / sums[0] for s in sums[1:])

    def rank_seed(self, seed: int) -> int:
        """The seed of this rank's generators (dropout masks): ``seed + rank``, so that rank 0
        draws what a single process would and the others draw their own numbers."""
        return int(seed) + self.rank

    # ------------------------------------------------------------ checkpoints
    def gather_rng_state(self) -> dict:
        """Every rank's random state, for a checkpoint that rank 0 writes."""
        return {"world_size": self.size,
                "ranks": self.comm.allgather_object(backend.get_rng_state(), "gather of the random states")}

    def own_rng_state(self, saved: dict, path) -> dict:
        """This rank's random state out of a checkpoint's ``saved`` (``gather_rng_state``)."""
        n = saved.get("world_size", 1) if isinstance(saved, dict) else 1
        if n != self.size:
            raise ValueError(f"fit: the checkpoint {path} was written by a run on {n} rank(s), this one has "
                             f"{self.size}; resume it on {n} (mpiexec -n {n})")
        return saved["ranks"][self.rank] if "ranks" in saved else saved


def _named_state(model, parameters: bool = True):
    """(name, tensor) of the model's parameters (if ``parameters``) and buffers."""
    named = list(model.named_buffers())
    return named + list(model.named_parameters()) if parameters else named


def _unpack(flat, group) -> None:
    """Copy consecutive pieces of ``flat`` into the tensors of ``group``."""
    o = 0
    with no_grad():
        for t in group:
            t.copy_(as_tensor(flat[o:o + t.numel()].reshape(t.shape), device=t.device))  # a view, no copy
            o += t.numel()
