"""Samplers, as ``torch.utils.data``: iterables of example indices (``SequentialSampler``,
``RandomSampler``) and of lists of them (``BatchSampler``), with PyTorch's arguments and meaning.

Randomness: a ``generator`` is a ``numpy.random.Generator`` (advanced by every epoch, so each
epoch differs and the run repeats from the same start) or an int seed (a Generator made from it
once). Without one, each epoch draws a fresh seed from the library's seeded generator, as
PyTorch draws one from its global generator: ``tl.manual_seed(s)`` repeats the orders.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sized

import numpy as np

from ... import backend
from ...checks import check_bool, check_int


def generator_arg(owner: str, generator) -> np.random.Generator | None:
    """``generator`` (None, an int seed or a NumPy Generator) as a Generator or None."""
    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    return np.random.default_rng(check_int(owner, "generator (a seed)", generator, low=0))


def epoch_generator(generator: np.random.Generator | None) -> np.random.Generator:
    """``generator`` itself, or without one a Generator seeded by a draw from the library's
    "cpu" generator (the stream ``tl.manual_seed`` seeds)."""
    if generator is not None:
        return generator
    return np.random.default_rng(int(backend.random("cpu", (), np.float64) * 2.0 ** 53))


class Sampler:
    """The base of samplers: ``__iter__`` yields example indices (or, for a batch sampler,
    lists of them); ``__len__``, if defined, says how many."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1, every epoch."""

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """``num_samples`` (default: all n = len(data_source)) random indices per epoch.

    Without replacement: a random permutation of 0..n-1 (``generator.permutation(n)``); more
    than n samples are whole permutations one after another, then the start of another. With
    ``replacement``: ``num_samples`` independent uniform draws from 0..n-1. See the module's
    docstring for ``generator``."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        self.data_source = data_source
        self.replacement = check_bool("RandomSampler", "replacement", replacement)
        self._num_samples = None if num_samples is None else check_int("RandomSampler", "num_samples", num_samples)
        self.generator = generator_arg("RandomSampler", generator)
        if num_samples is None and len(data_source) == 0:
            raise ValueError("RandomSampler: num_samples should be a positive integer, but the data source is "
                             "empty (0 samples)")

    @property
    def num_samples(self) -> int:
        """Indices per epoch: ``num_samples`` if given, else the data source's length (read at
        each epoch, as PyTorch: a data source may grow)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        if n == 0:
            raise ValueError("RandomSampler: cannot draw samples from an empty data source")
        gen = epoch_generator(self.generator)
        if self.replacement:
            return iter(gen.integers(0, n, size=k).tolist())
        parts = [gen.permutation(n) for _ in range(k // n)] + ([gen.permutation(n)[:k % n]] if k % n else [])
        return iter(np.concatenate(parts).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices taken in order from ``sampler`` (any iterable of indices);
    the last list is shorter unless ``drop_last`` drops it."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.sampler = sampler
        self.batch_size = check_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = check_bool("BatchSampler", "drop_last", drop_last)

    def __iter__(self) -> Iterator[list]:
        it, b = iter(self.sampler), self.batch_size
        while batch := list(itertools.islice(it, b)):
            if len(batch) < b and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        """floor(n / batch_size) with ``drop_last``, else ceil(n / batch_size), n = len(sampler)."""
        n, b = len(self.sampler), self.batch_size
        return n // b if self.drop_last else -(-n // b)
