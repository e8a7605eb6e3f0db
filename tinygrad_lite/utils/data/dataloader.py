"""``DataLoader``, as ``torch.utils.data.DataLoader``: batches of a map-style data set, drawn in
the order of a sampler and made by a collate function."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from ...checks import check_bool, check_int
from .collate import default_collate, default_convert
from .sampler import BatchSampler, RandomSampler, SequentialSampler, generator_arg


class DataLoader:
    """Iterate over ``dataset`` (``dataset[i]`` and ``len(dataset)``) in batches, PyTorch's meaning
    and checks:

    - the order: ``sampler`` (any iterable of indices) if given, else ``RandomSampler(dataset,
      generator=generator)`` with ``shuffle``, else ``SequentialSampler(dataset)``; ``sampler``
      and ``shuffle`` exclude each other;
    - the batches: ``BatchSampler(sampler, batch_size, drop_last)`` (the last batch is smaller
      unless ``drop_last``), or a ``batch_sampler`` given instead of all four;
      ``batch_size=None`` yields single examples through ``default_convert``;
    - each batch is ``collate_fn([dataset[i] for i in indices])`` (``default_collate`` by
      default), or ``collate_fn(dataset.__getitems__(indices))`` for a data set that fetches a
      batch at once.

    ``generator`` (a NumPy Generator or an int seed; None: the library's seeded generator, see
    ``tl.manual_seed``) drives the shuffling. ``num_workers``, ``pin_memory`` and
    ``persistent_workers`` are accepted and change nothing: batches are made in this process
    (in PyTorch they change only the speed).
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, generator=None, *,
                 persistent_workers: bool = False):
        self.num_workers = check_int("DataLoader", "num_workers", num_workers, low=0)
        self.pin_memory = check_bool("DataLoader", "pin_memory", pin_memory)
        self.persistent_workers = check_bool("DataLoader", "persistent_workers", persistent_workers)
        shuffle = False if shuffle is None else check_bool("DataLoader", "shuffle", shuffle)
        drop_last = check_bool("DataLoader", "drop_last", drop_last)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
        else:
            batch_size = check_int("DataLoader", "batch_size", batch_size)
        self.generator = generator_arg("DataLoader", generator)
        if sampler is None:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def __iter__(self) -> Iterator:
        dataset, collate = self.dataset, self.collate_fn
        if self.batch_sampler is None:  # no batching: one converted example at a time
            for i in self.sampler:
                yield collate(dataset[i])
            return
        fetch_many = getattr(dataset, "__getitems__", None)
        for indices in self.batch_sampler:
            yield collate(fetch_many(indices) if fetch_many else [dataset[i] for i in indices])

    def __len__(self) -> int:
        """Batches per epoch: ``len(batch_sampler)`` (examples, ``len(sampler)``, without batching)."""
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"sampler={type(self.sampler).__name__}, drop_last={self.drop_last})")
