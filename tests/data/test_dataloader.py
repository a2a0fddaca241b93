"""DataLoader and default_collate against torch.utils.data."""

from __future__ import annotations

import collections
import math

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import tapegrad as tg
from tapegrad.utils import data as tgd

Point = collections.namedtuple("Point", ["x", "y"])


def _plain(obj):
    """A comparable picture of a (collated) structure: types, dtypes, values."""
    if isinstance(obj, (tg.Tensor, torch.Tensor)):
        return ("T", str(obj.dtype).split(".")[-1], obj.detach().numpy().tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, _plain(v)) for k, v in obj.items()])
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.tolist())
    return (type(obj).__name__, obj)


def _to_torch(sample):
    if isinstance(sample, tg.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(_to_torch(s) for s in sample))
    if isinstance(sample, dict):
        return type(sample)((k, _to_torch(v)) for k, v in sample.items())
    if isinstance(sample, (list, tuple)):
        return type(sample)(_to_torch(s) for s in sample)
    return sample


def _raises_like(fn_tg, fn_torch, exc=Exception):
    with pytest.raises(exc) as got:
        fn_tg()
    with pytest.raises(exc) as want:
        fn_torch()
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value).replace("torch", "tapegrad")


# ---------------------------------------------------------------------- default_collate
BATCHES = {
    "tensors": [tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0])],
    "int_tensors_0d": [tg.tensor(1), tg.tensor(2)],
    "numpy_arrays": [np.array([1.0, 2.0]), np.array([3.0, 4.0])],
    "numpy_int32": [np.array([1, 2], dtype=np.int32)] * 2,
    "numpy_scalars_f64": [np.float64(1.5), np.float64(2.5)],
    "numpy_scalars_f32": [np.float32(1.5), np.float32(2.5)],
    "numpy_scalars_i16": [np.int16(1), np.int16(2)],
    "numpy_bool": [np.bool_(True), np.bool_(False)],
    "py_floats": [1.5, 2.5],
    "py_ints": [1, 2],
    "py_bools": [True, False],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "tuples": [(tg.tensor([1.0]), 1), (tg.tensor([2.0]), 0)],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"x": 1.0, "y": "s"}, {"x": 2.0, "y": "t"}],
    "ordered": [collections.OrderedDict(b=1, a=2), collections.OrderedDict(b=3, a=4)],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "nested": [{"img": np.zeros((2, 2), np.float32), "meta": (1, "a")},
               {"img": np.ones((2, 2), np.float32), "meta": (2, "b")}],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    ours = tgd.default_collate(batch)
    theirs = tud.default_collate([_to_torch(s) for s in batch])
    assert _plain(ours) == _plain(theirs)


def test_default_collate_key_rules():
    assert tgd.default_collate([1.0, 2.0]).dtype == tg.float64  # not the default float32
    assert tgd.default_collate([1, 2]).dtype == tg.int64
    assert isinstance(tgd.default_collate([(1, 2), (3, 4)]), list)  # tuples become a list
    assert type(tgd.default_collate(BATCHES["ordered"])) is collections.OrderedDict
    assert type(tgd.default_collate(BATCHES["namedtuples"])) is Point
    stacked = tgd.default_collate([tg.zeros(2, 3)] * 4)
    assert stacked.shape == (4, 2, 3)


def test_default_collate_errors_match_torch():
    _raises_like(lambda: tgd.default_collate([[1, 2], [3]]),
                 lambda: tud.default_collate([[1, 2], [3]]), RuntimeError)
    _raises_like(lambda: tgd.default_collate([object()]),
                 lambda: tud.default_collate([object()]), TypeError)
    _raises_like(lambda: tgd.default_collate([np.array(["a"]), np.array(["b"])]),
                 lambda: tud.default_collate([np.array(["a"]), np.array(["b"])]), TypeError)
    _raises_like(lambda: tgd.default_collate([np.array([None], dtype=object)]),
                 lambda: tud.default_collate([np.array([None], dtype=object)]), TypeError)
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        tgd.default_collate([[1, 2], [3]])


@pytest.mark.parametrize("data", [np.array([1, 2]), np.float32(1.5), (np.array([1.0]), "x"),
                                  {"a": np.int64(3)}, Point(np.array([1]), 2), [np.array([1])],
                                  np.array(["s"]), "s", 3])
def test_default_convert_matches_torch(data):
    assert _plain(tgd.default_convert(data)) == _plain(tud.default_convert(data))


def test_default_convert_shares_memory_with_numpy():
    arr = np.zeros(3)
    t = tgd.default_convert(arr)
    arr[0] = 5.0
    assert t[0].item() == 5.0


# ---------------------------------------------------------------------- DataLoader
def _tensor_ds(n: int):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64)
    return (tgd.TensorDataset(tg.tensor(x), tg.tensor(y)),
            tud.TensorDataset(torch.tensor(x), torch.tensor(y)))


@pytest.mark.parametrize("n", [1, 7, 8, 9])
@pytest.mark.parametrize("bs", [1, 3, 8, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_batches_match_torch(n, bs, drop_last):
    ours_ds, theirs_ds = _tensor_ds(n)
    ours = tgd.DataLoader(ours_ds, batch_size=bs, drop_last=drop_last)
    theirs = tud.DataLoader(theirs_ds, batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(theirs) == (n // bs if drop_last else math.ceil(n / bs))
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


def test_tensor_dataset_fast_path_equals_per_sample_collation():
    ds, _ = _tensor_ds(10)
    sub = tgd.random_split(ds, [6, 4], generator=tg.Generator().manual_seed(0))[0]
    fast = list(tgd.DataLoader(sub, batch_size=4))
    slow = list(tgd.DataLoader(sub, batch_size=4, collate_fn=lambda b: tgd.default_collate(b)))
    assert [_plain(b) for b in fast] == [_plain(b) for b in slow]
    assert len(fast) == 2 and isinstance(fast[0], list)


def test_shuffle_covers_everything_and_reshuffles_each_epoch():
    ds, _ = _tensor_ds(20)
    loader = tgd.DataLoader(ds, batch_size=6, shuffle=True, generator=tg.Generator().manual_seed(0))
    epochs = [[int(v) for _, yb in loader for v in yb.tolist()] for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(20))
    assert epochs[0] != epochs[1]
    again = tgd.DataLoader(ds, batch_size=6, shuffle=True, generator=tg.Generator().manual_seed(0))
    assert [[int(v) for _, yb in again for v in yb.tolist()] for _ in range(2)] == epochs


def test_shuffle_reproducible_through_manual_seed():
    ds, _ = _tensor_ds(20)

    def epoch():
        return [yb.tolist() for _, yb in tgd.DataLoader(ds, batch_size=5, shuffle=True)]

    tg.manual_seed(123)
    first = epoch()
    tg.manual_seed(123)
    assert epoch() == first


def test_batch_size_none_disables_batching():
    ours = list(tgd.DataLoader([np.float64(1.5), 2, "s"], batch_size=None))
    theirs = list(tud.DataLoader([np.float64(1.5), 2, "s"], batch_size=None))
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    assert len(tgd.DataLoader(range(5), batch_size=None)) == 5


def test_batch_sampler_and_custom_sampler():
    batches = [[3, 1], [0], [2, 4]]
    ours = list(tgd.DataLoader(list(range(10, 15)), batch_sampler=batches))
    assert [b.tolist() for b in ours] == [[13, 11], [10], [12, 14]]
    rev = list(tgd.DataLoader(list(range(5)), batch_size=2, sampler=[4, 3, 2, 1, 0]))
    assert [b.tolist() for b in rev] == [[4, 3], [2, 1], [0]]


def test_custom_collate_fn_and_getitems():
    class Batched(tgd.Dataset):
        calls = 0

        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("the loader should use __getitems__")

        def __getitems__(self, idx):
            Batched.calls += 1
            return [i * 10 for i in idx]

    out = list(tgd.DataLoader(Batched(), batch_size=2, collate_fn=lambda b: sum(b)))
    assert out == [10, 50, 40] and Batched.calls == 3


def test_iterable_dataset_batches_like_torch():
    class Stream(tgd.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    class TStream(tud.IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)]:
        ours, theirs = tgd.DataLoader(Stream(), **kw), tud.DataLoader(TStream(), **kw)
        assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
        assert len(ours) == len(theirs)
    _raises_like(lambda: tgd.DataLoader(Stream(), shuffle=True),
                 lambda: tud.DataLoader(TStream(), shuffle=True), ValueError)


@pytest.mark.parametrize("kwargs", [
    dict(shuffle=True, sampler=[0, 1]),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True),
    dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(persistent_workers=True),
    dict(multiprocessing_context="spawn"),
    dict(batch_size=0),
])
def test_argument_errors_match_torch(kwargs):
    _raises_like(lambda: tgd.DataLoader(list(range(4)), **kwargs),
                 lambda: tud.DataLoader(list(range(4)), **kwargs), ValueError)


def test_attributes_frozen_after_init_like_torch():
    _raises_like(lambda: setattr(tgd.DataLoader([1]), "batch_size", 3),
                 lambda: setattr(tud.DataLoader([1]), "batch_size", 3), ValueError)


def test_num_workers_runs_in_process_with_same_batches():
    ds, _ = _tensor_ds(9)
    calls = []
    plain = list(tgd.DataLoader(ds, batch_size=4))
    workers = list(tgd.DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True,
                                  persistent_workers=True, worker_init_fn=calls.append))
    assert [_plain(b) for b in workers] == [_plain(b) for b in plain]
    assert tgd.get_worker_info() is None and calls == []


def test_training_loop_shapes_digits_style():
    x = tg.randn(50, 4)
    y = tg.randint(0, 3, (50,))
    loader = tgd.DataLoader(tgd.TensorDataset(x, y), batch_size=16, shuffle=True, drop_last=True)
    shapes = [(tuple(xb.shape), tuple(yb.shape)) for xb, yb in loader]
    assert shapes == [((16, 4), (16,))] * 3
