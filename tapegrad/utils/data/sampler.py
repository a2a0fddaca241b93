"""Samplers: *which* samples, in *what order*.

A sampler is an iterable of dataset indices. `SequentialSampler` gives ``0..N-1``;
`RandomSampler` gives a fresh permutation every time it is iterated, i.e. every epoch;
`BatchSampler` groups any sampler's indices into lists of ``batch_size``. The
`DataLoader` builds these for you from ``shuffle``/``batch_size``/``drop_last``.

Randomness comes from a `tapegrad.Generator` when one is given (``generator=``), else
from the global generator, so ``tapegrad.manual_seed(0)`` makes shuffling reproducible.
The orders cannot equal torch's (different random algorithms), only be as reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

import numpy as np

from tapegrad import random as _random

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]


class Sampler:
    """Base class: override ``__iter__`` (yielding indices or lists of indices) and,
    if the length is known, ``__len__``."""

    def __init__(self, data_source: Any = None) -> None:
        pass  # torch keeps the argument only for backward compatibility

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, the same every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _epoch_rng(generator: Any) -> np.random.Generator:
    """The stream one epoch draws from.

    With a generator, its own stream: it advances, so each epoch differs, yet a generator
    re-seeded the same way replays the same epochs. Without one, torch draws a fresh seed
    from the global generator per epoch; we do the same.
    """
    if generator is not None:
        return _random.generator_of(generator)
    seed = int(_random.generator_of(None).integers(0, 2**63 - 1))
    return np.random.default_rng(seed)


class RandomSampler(Sampler):
    """A new random order each time it is iterated (each epoch).

    ``replacement=False``: a permutation of all indices (repeated whole, then cut, when
    ``num_samples > len``). ``replacement=True``: ``num_samples`` independent draws.
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = _epoch_rng(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a new random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _epoch_rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``
    (e.g. inverse class frequency, to balance classes)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        if (not isinstance(num_samples, int) or isinstance(num_samples, bool)
                or num_samples <= 0):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}"
            )
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = _random.generator_of(self.generator)
        n = len(self.weights)
        if self.replacement:
            p = self.weights / self.weights.sum()
            yield from rng.choice(n, size=self.num_samples, p=p).tolist()
            return
        if self.num_samples > n:
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        # without replacement, torch's way: key_i = E_i / w_i with E_i ~ Exp(1), keep the
        # smallest keys. P(i first) = w_i / sum(w); zero weights (key inf) come last.
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=n) / self.weights
        yield from np.argsort(keys, kind="stable")[: self.num_samples].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one may be short unless
    ``drop_last``. ``len`` is ``ceil(N / batch_size)``, or ``floor`` with ``drop_last``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int,
                 drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        batch = list(itertools.islice(it, self.batch_size))
        while batch:
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch
            batch = list(itertools.islice(it, self.batch_size))

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size  # type: ignore[arg-type]
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size  # type: ignore[arg-type]
