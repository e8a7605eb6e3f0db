"""One rank's part of every epoch of a data-parallel run (``tinygrad_lite.distributed``).

Data-parallel training is exact when the ranks together take the step that one process
would take on their combined batch. So the ranks must agree on the order of each epoch
(one shared shuffle seed), never see the same example in a step (disjoint shards) and take
the same number of steps of the same size (equal shards: an allreduce in which one rank
has no batch would wait forever, and unequal batches would weight examples unequally).
"""
from __future__ import annotations

import numpy as np

from ..checks import check_int
from .loader import DataLoader


class ShardedLoader(DataLoader):
    """Rank ``rank`` of ``world_size``'s mini-batches: ``batch_size`` examples per rank.

    Every rank walks the permutation of ``DataLoader`` with the same ``seed``, cut into
    global batches of G = world_size * batch_size examples; rank r takes the r-th
    contiguous piece of each, so batch i of rank r is ``order[i G + r B : i G + (r + 1) B]``.
    The union over the ranks of their batch i is batch i of ``DataLoader(x, y, G, seed=seed)``:
    2 ranks with batch B see the same sample as 1 rank with batch 2B.

    A last, smaller global batch of k examples is split equally, k // world_size each;
    its k % world_size leftover examples sit out that epoch (other ones each epoch when
    shuffled). So with N examples, the sample matches the single-process one exactly when
    N is a multiple of ``world_size``. ``drop_last`` drops the smaller global batch.

    The ranks must pass the same ``seed`` (``DataParallel`` broadcasts rank 0's when it
    builds the loaders); ``state_dict`` records ``world_size``, so a saved position is
    resumed on the same number of ranks only.
    """

    def __init__(self, x, y, batch_size: int, rank: int, world_size: int, shuffle: bool = True,
                 seed: int | None = None, drop_last: bool = False, device: str | None = None):
        super().__init__(x, y, batch_size, shuffle=shuffle, seed=seed, drop_last=drop_last, device=device)
        self.world_size = check_int("ShardedLoader", "world_size", world_size)
        self.rank = check_int("ShardedLoader", "rank", rank, 0, self.world_size - 1)
        if self.num_examples < self.world_size:
            raise ValueError(f"ShardedLoader: {self.num_examples} examples cannot give each of "
                             f"{self.world_size} ranks one; use fewer ranks or more data")

    def _split(self) -> tuple[int, int]:
        """(full global batches per epoch, examples per rank in the last, smaller one)."""
        g = self.world_size * self.batch_size
        full, rest = divmod(self.num_examples, g)
        return full, 0 if self.drop_last else rest // self.world_size

    @property
    def shard_examples(self) -> int:
        """Examples this rank sees per epoch (the same on every rank)."""
        full, tail = self._split()
        return full * self.batch_size + tail

    def __len__(self) -> int:
        full, tail = self._split()
        return full + (tail > 0)

    def order(self, epoch: int) -> np.ndarray:
        """This rank's example indices of ``epoch``, in the order they are served."""
        everything = super().order(epoch)  # the same on every rank: one seed
        full, tail = self._split()
        b, size, r = self.batch_size, self.world_size, self.rank
        head = everything[:full * size * b].reshape(full, size, b)[:, r, :].reshape(-1)
        start = full * size * b + r * tail
        return np.concatenate([head, everything[start:start + tail]])

    def state_dict(self) -> dict:
        """``DataLoader``'s position (seed, epoch, batch) and ``world_size``."""
        return {**super().state_dict(), "world_size": self.world_size}

    def load_state_dict(self, state: dict) -> None:
        """Continue at a saved position; refused when it was saved on another number of ranks."""
        saved = int(state.get("world_size", 1))
        if saved != self.world_size:
            raise ValueError(f"ShardedLoader: the saved position is of a run on {saved} rank(s), this one "
                             f"has {self.world_size}; resume it on {saved} (mpiexec -n {saved})")
        super().load_state_dict(state)

    def __repr__(self) -> str:
        return (f"ShardedLoader(rank={self.rank}, world_size={self.world_size}, N={self.num_examples}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, epoch={self.epoch})")
