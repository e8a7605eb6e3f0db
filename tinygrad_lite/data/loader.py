"""Mini-batches of host arrays, delivered as tensors on a device.

The lecture's loop: (1) sample a batch of data, (2) forward it, get the loss,
(3) backprop, (4) update the parameters. ``DataLoader`` walks an epoch in batches
(every example exactly once); ``sample_batch`` draws one random batch.

``DataLoader`` is ``torch.utils.data``'s mechanism (``tinygrad_lite.utils.data``) for arrays: the
order of an epoch is a ``SequentialSampler`` or a ``RandomSampler``, cut into batches by a
``BatchSampler``; what it adds is the fetch (one indexing of the arrays per batch, where
``utils.data.DataLoader`` fetches and stacks example by example), a seed per epoch and an
exact resume.
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import backend
from ..checks import check_int
from ..factory import as_tensor, to_numpy
from ..tensor import Tensor
from ..utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler


def _host_pair(x, y, who: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = to_numpy(x), to_numpy(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(f"{who}: x and y need the same number of examples (first axis), "
                         f"got shapes {x.shape} and {y.shape}")
    return x, y


def _to_tensors(x: np.ndarray, y: np.ndarray, idx, device: str) -> tuple[Tensor, Tensor]:
    """The examples ``idx`` (an integer array) as tensors on ``device``. Integer indexing
    already makes fresh arrays, so they are wrapped, not copied again as ``Tensor()`` would."""
    return tuple(as_tensor(a[idx], device=device) for a in (x, y))


class DataLoader:
    """Iterate over ``(x, y)`` in mini-batches of ``batch_size``, as tensors on ``device``.

    ``x`` (N, ...) and ``y`` (N, ...) are host arrays (Tensors are copied to the host
    once); each batch keeps their dtypes. Every epoch (one ``for`` loop) yields each
    example exactly once; the last batch is smaller unless ``drop_last`` drops it.
    With ``shuffle``, epoch e uses the permutation of ``np.random.default_rng((seed, e))`` (a
    ``RandomSampler`` with that generator, see ``sampler``): a new order each epoch, the same
    orders for the same seed, independent of any other random numbers. ``seed=None`` draws a
    seed from the OS once (kept in ``state_dict``).

    ``state_dict()`` is ``{"seed", "epoch", "batch"}`` (the epoch in progress and the
    batches of it already yielded); after ``load_state_dict`` the next ``for`` loop
    continues exactly where the saved one stopped, otherwise each ``for`` loop starts a
    new epoch. ``device=None`` means the default device.
    """

    def __init__(self, x, y, batch_size: int, shuffle: bool = False, seed: int | None = None,
                 drop_last: bool = False, device: str | None = None):
        self.x, self.y = _host_pair(x, y, "DataLoader")
        self.batch_size = check_int("DataLoader", "batch_size", batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.device = device or backend.get_default_device()
        backend.get_xp(self.device)  # fail here, not at the first batch, on a bad device
        self.seed = int(np.random.SeedSequence().entropy if seed is None else seed)
        self.epoch, self.batch, self._resume = 0, 0, False

    @property
    def num_examples(self) -> int:
        """The number of examples, N."""
        return len(self.x)

    def __len__(self) -> int:
        """Batches per epoch: floor(N / B) with ``drop_last``, else ceil(N / B)."""
        return len(BatchSampler(range(self.num_examples), self.batch_size, self.drop_last))

    def sampler(self, epoch: int) -> SequentialSampler | RandomSampler:
        """The sampler of ``epoch`` (``tinygrad_lite.utils.data``): sequential, or with ``shuffle``
        a ``RandomSampler`` drawing from ``np.random.default_rng((seed, epoch))``."""
        examples = range(self.num_examples)
        if not self.shuffle or not examples:  # RandomSampler refuses no examples; none is one order
            return SequentialSampler(examples)
        return RandomSampler(examples, generator=np.random.default_rng((self.seed, epoch)))

    def order(self, epoch: int) -> np.ndarray:
        """The example indices of ``epoch`` in the order they are served: ``sampler(epoch)``'s."""
        return np.fromiter(self.sampler(epoch), dtype=np.int64, count=self.num_examples)

    def __iter__(self):
        # A new epoch starts unless load_state_dict just asked to finish a saved one (a state
        # saved after the last batch finishes nothing); a loop left early (break) counts as an
        # epoch, as in PyTorch. An epoch of no batches (drop_last, N < batch_size) is never
        # "in progress", so it advances the count once, like any other.
        if self.batch > 0 and (not self._resume or self.batch >= len(self)):
            self.epoch, self.batch = self.epoch + 1, 0
        self._resume = False
        epoch = self.epoch
        batches = BatchSampler(self.order(epoch).tolist(), self.batch_size, self.drop_last)
        for i, idx in enumerate(itertools.islice(batches, self.batch, len(self)), start=self.batch):
            self.batch = i + 1
            yield _to_tensors(self.x, self.y, np.asarray(idx, dtype=np.int64), self.device)
        if self.epoch == epoch:  # not moved meanwhile by load_state_dict
            self.epoch, self.batch = epoch + 1, 0

    def state_dict(self) -> dict:
        """``{"seed", "epoch", "batch"}``: where the loader is, for an exact resume."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        """Go back to a ``state_dict()``: the next ``for`` loop continues that epoch where it stopped."""
        self.seed, self.epoch, self.batch = int(state["seed"]), int(state["epoch"]), int(state["batch"])
        self._resume = True

    def __repr__(self) -> str:
        return (f"DataLoader(N={self.num_examples}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, device={self.device!r}, epoch={self.epoch})")


def sample_batch(x, y, batch_size: int, rng: np.random.Generator | int | None = None,
                 device: str | None = None, replace: bool = False) -> tuple[Tensor, Tensor]:
    """One random mini-batch ``(x[idx], y[idx])`` as tensors: step 1 of the lecture's loop,
    ``idx = rng.choice(N, batch_size, replace=replace)``.

    ``rng`` is a ``np.random.Generator`` (advanced by the call), an int seed, or None
    for fresh OS entropy.
    """
    x, y = _host_pair(x, y, "sample_batch")
    batch_size = check_int("sample_batch", "batch_size", batch_size)
    if not replace and batch_size > len(x):
        raise ValueError(f"sample_batch: batch_size {batch_size} > {len(x)} examples without replacement")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    idx = rng.choice(len(x), size=batch_size, replace=replace)
    return _to_tensors(x, y, idx, device or backend.get_default_device())
