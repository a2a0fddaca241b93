"""Datasets, random_split and samplers against torch.utils.data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tapegrad as tg
from tapegrad.utils import data as tgd


def _raises_like(fn_tg, fn_torch, exc=Exception):
    """Both raise the same exception type with the same message."""
    with pytest.raises(exc) as got:
        fn_tg()
    with pytest.raises(exc) as want:
        fn_torch()
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value).replace("torch", "tapegrad")


class Squares(tgd.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i: int) -> int:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self) -> int:
        return self.n


# ---------------------------------------------------------------------- Dataset classes
def test_base_dataset_getitem_is_abstract():
    _raises_like(lambda: tgd.Dataset()[0], lambda: tud.Dataset()[0], NotImplementedError)


def test_tensor_dataset_rows_and_len():
    x, y = tg.arange(12.0).reshape(4, 3), tg.tensor([5, 6, 7, 8])
    ds = tgd.TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6.0, 7.0, 8.0])
    assert yi.item() == 7 and isinstance(ds[0], tuple)


def test_tensor_dataset_size_mismatch_message_is_torchs():
    _raises_like(lambda: tgd.TensorDataset(tg.zeros(3), tg.zeros(4)),
                 lambda: tud.TensorDataset(torch.zeros(3), torch.zeros(4)), AssertionError)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        tgd.TensorDataset(tg.zeros(3), tg.zeros(4))


def test_add_makes_concat_dataset_and_indexes_like_torch():
    a, b, c = Squares(3), Squares(0), Squares(4)
    ours = a + b + c
    theirs = tud.ConcatDataset([tud.ConcatDataset([range(3), range(0)]), range(4)])
    assert isinstance(ours, tgd.ConcatDataset) and len(ours) == 7
    assert [ours[i] for i in range(-7, 7)] == [
        v * v for v in [theirs[i] for i in range(-7, 7)]]
    assert tgd.ConcatDataset([a, c]).cumulative_sizes == [3, 7]


def test_concat_dataset_errors_match_torch():
    _raises_like(lambda: tgd.ConcatDataset([Squares(2)])[-3],
                 lambda: tud.ConcatDataset([range(2)])[-3], ValueError)
    _raises_like(lambda: tgd.ConcatDataset([]), lambda: tud.ConcatDataset([]), AssertionError)

    class Stream(tgd.IterableDataset):
        def __iter__(self):
            return iter([1])

    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        tgd.ConcatDataset([Stream()])


def test_iterable_datasets_chain_with_add():
    class Count(tgd.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chained = Count(2) + Count(3)
    assert isinstance(chained, tgd.ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


def test_subset_and_stack_dataset():
    sub = tgd.Subset(Squares(10), [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [49, 4, 25]
    assert sub.__getitems__([2, 0]) == [25, 49]
    st = tgd.StackDataset(Squares(3), Squares(3))
    assert st[2] == (4, 4) and len(st) == 3
    assert tgd.StackDataset(x=Squares(2), y=Squares(2))[1] == {"x": 1, "y": 1}
    _raises_like(lambda: tgd.StackDataset(Squares(2), Squares(3)),
                 lambda: tud.StackDataset(range(2), range(3)), ValueError)


# ---------------------------------------------------------------------- random_split
@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (5, [0.5, 0.5]), (30, [0.3, 0.3, 0.4]), (7, [0.1, 0.2, 0.7]),
    (11, [1 / 3, 1 / 3, 1 / 3]), (3, [0.25, 0.25, 0.25, 0.25]), (100, [0.8, 0.2])])
def test_random_split_sizes_match_torch_and_partition(n, lengths):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        ours = tgd.random_split(Squares(n), lengths, generator=tg.Generator().manual_seed(1))
        theirs = tud.random_split(range(n), lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    seen = sorted(i for s in ours for i in s.indices)
    assert seen == list(range(n))  # disjoint and covering


def test_random_split_reproducible_with_generator_and_manual_seed():
    def split(gen=None):
        return [s.indices for s in tgd.random_split(Squares(20), [0.5, 0.5], generator=gen)]

    assert split(tg.Generator().manual_seed(3)) == split(tg.Generator().manual_seed(3))
    assert split(tg.Generator().manual_seed(3)) != split(tg.Generator().manual_seed(4))
    tg.manual_seed(0)
    first = split()
    tg.manual_seed(0)
    assert split() == first


def test_random_split_errors_and_warning_match_torch():
    _raises_like(lambda: tgd.random_split(Squares(5), [2, 2]),
                 lambda: tud.random_split(range(5), [2, 2]), ValueError)
    _raises_like(lambda: tgd.random_split(Squares(5), [1.5, -0.5]),
                 lambda: tud.random_split(range(5), [1.5, -0.5]), ValueError)
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        tgd.random_split(Squares(1), [0.5, 0.5])


# ---------------------------------------------------------------------- samplers
def test_sequential_sampler():
    s = tgd.SequentialSampler(Squares(4))
    assert list(s) == [0, 1, 2, 3] and len(s) == 4


def test_random_sampler_reshuffles_each_epoch_and_is_reproducible():
    s = tgd.RandomSampler(Squares(50), generator=tg.Generator().manual_seed(0))
    e1, e2 = list(s), list(s)
    assert sorted(e1) == sorted(e2) == list(range(50))
    assert e1 != e2  # a new order every epoch
    s2 = tgd.RandomSampler(Squares(50), generator=tg.Generator().manual_seed(0))
    assert [list(s2), list(s2)] == [e1, e2]
    tg.manual_seed(5)
    g1 = list(tgd.RandomSampler(Squares(50)))
    tg.manual_seed(5)
    assert list(tgd.RandomSampler(Squares(50))) == g1


def test_random_sampler_num_samples_and_replacement():
    s = tgd.RandomSampler(Squares(4), num_samples=10, generator=tg.Generator().manual_seed(0))
    out = list(s)
    assert len(out) == len(s) == 10
    assert sorted(out[:4]) == [0, 1, 2, 3] and sorted(out[4:8]) == [0, 1, 2, 3]
    r = list(tgd.RandomSampler(Squares(3), replacement=True, num_samples=200,
                               generator=tg.Generator().manual_seed(0)))
    assert len(r) == 200 and set(r) == {0, 1, 2}
    _raises_like(lambda: tgd.RandomSampler(Squares(3), num_samples=0),
                 lambda: tud.RandomSampler(range(3), num_samples=0), ValueError)
    _raises_like(lambda: tgd.RandomSampler(Squares(3), replacement=1),
                 lambda: tud.RandomSampler(range(3), replacement=1), TypeError)


def test_subset_random_sampler():
    s = tgd.SubsetRandomSampler([10, 20, 30], generator=tg.Generator().manual_seed(0))
    assert sorted(s) == [10, 20, 30] and len(s) == 3


def test_weighted_random_sampler():
    gen = tg.Generator().manual_seed(0)
    draws = list(tgd.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=gen))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and 0.2 < counts[1] / 4000 < 0.3  # expected 0.25
    no_rep = list(tgd.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False,
                                            generator=gen))
    assert sorted(no_rep) == [0, 1, 2] and no_rep[-1] == 1  # zero weight drawn last
    with pytest.raises(RuntimeError, match="without replacement"):
        list(tgd.WeightedRandomSampler([1.0, 1.0], 3, replacement=False))
    _raises_like(lambda: tgd.WeightedRandomSampler([1.0], 0),
                 lambda: tud.WeightedRandomSampler([1.0], 0), ValueError)
    _raises_like(lambda: tgd.WeightedRandomSampler([[1.0]], 1),
                 lambda: tud.WeightedRandomSampler([[1.0]], 1), ValueError)


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11])
@pytest.mark.parametrize("bs", [1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_torch(n, bs, drop_last):
    ours = tgd.BatchSampler(tgd.SequentialSampler(range(n)), bs, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), bs, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("bs, drop_last", [(0, False), (True, False), (2.0, False), (2, 1)])
def test_batch_sampler_argument_errors_match_torch(bs, drop_last):
    _raises_like(lambda: tgd.BatchSampler(range(3), bs, drop_last),
                 lambda: tud.BatchSampler(range(3), bs, drop_last), ValueError)
