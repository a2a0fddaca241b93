"""`DataLoader`: iterate over a dataset in (shuffled) mini-batches.

One epoch is::

    for indices in batch_sampler:                  # e.g. [17, 3, 42, ...] (batch_size long)
        samples = [dataset[i] for i in indices]    # or dataset.__getitems__(indices)
        yield collate_fn(samples)                  # default_collate: stack into tensors

``shuffle=True`` makes the sampler a `RandomSampler`, which draws a new order every epoch
(every ``iter(loader)``). ``len(loader)`` is the number of batches:
``ceil(N / batch_size)``, or ``floor`` with ``drop_last=True``.

tapegrad loads in the calling process. ``num_workers > 0`` is accepted (and validated as
torch does) so that tutorial code runs, but the batches are still produced in-process,
in order, exactly as with ``num_workers=0``: ``worker_init_fn`` is not called and
`get_worker_info` returns ``None``. ``pin_memory`` and ``timeout`` have nothing to do on a
CPU-only, single-process loader and are ignored.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tapegrad.tensor import Tensor
from tapegrad.utils.data.collate import default_collate, default_convert
from tapegrad.utils.data.dataset import Dataset, IterableDataset, Subset, TensorDataset
from tapegrad.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info() -> None:
    """Always ``None``: tapegrad has no worker processes (see the module docstring)."""
    return None


class DataLoader:
    """Batches of ``dataset``; torch's arguments, defaults and argument checks.

    ``batch_size=None`` turns batching off: each sample is passed through
    `default_convert` (numpy -> tensor) and yielded on its own. A ``batch_sampler`` replaces
    ``batch_size``/``shuffle``/``sampler``/``drop_last`` (they are mutually exclusive).
    ``generator`` seeds the shuffle (``tapegrad.Generator().manual_seed(0)``).
    ``num_workers > 0`` still loads in this process (see the module docstring).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None,
                 batch_sampler: Sampler | Iterable | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None,
                 generator: Any = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; "
                             "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process "
                             f"loading (num_workers > 0), but got num_workers={num_workers}")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if batch_size is not None and self._iterable:
            BatchSampler(range(1), batch_size, drop_last)  # the same argument checks

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.__initialized = True

    def __setattr__(self, attr: str, val: Any) -> None:
        # changing these after construction would desynchronise sampler and batch sampler
        if getattr(self, "_DataLoader__initialized", False) and attr in (
                "batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_size is not None or self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            return self._iter_stream()
        return self._iter_map()

    # ---------------------------------------------------------------- map-style
    def _iter_map(self) -> Iterator[Any]:
        fetch = self._fetch
        if not self._auto_collation:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            yield fetch(indices)

    def _fetch(self, indices: list) -> Any:
        if self.collate_fn is default_collate:
            rows = _tensor_rows(self.dataset, indices)
            if rows is not None:
                return rows
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    # ---------------------------------------------------------------- iterable
    def _iter_stream(self) -> Iterator[Any]:
        it = iter(self.dataset)
        if not self._auto_collation:
            for sample in it:
                yield self.collate_fn(sample)
            return
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)


def _tensor_rows(dataset: Any, indices: list) -> list | None:
    """Fast path for ``TensorDataset`` (possibly under `Subset` s, as `random_split` makes):
    one fancy-indexing per tensor instead of ``batch_size`` indexings plus a stack.

    ``default_collate`` of the per-sample tuples would give exactly this list of stacked rows;
    used only when no tensor requires grad, so that the result has no graph either way.
    """
    while type(dataset) is Subset:
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    tensors = dataset.tensors
    if not indices or any(not isinstance(t, Tensor) or t.requires_grad for t in tensors):
        return None
    n = len(dataset)
    for i in indices:  # keep the IndexError of the per-sample path for a bad index
        if not isinstance(i, int) or not -n <= i < n:
            return None
    return [t[indices] for t in tensors]
