"""Samples for x[...] (basic and advanced), x[...] = v, select/narrow and index_put.

An index is not a tensor input, so each index form is its own op whose ``call`` holds the
index; integer index *arrays* passed in ``Sample.args`` become int64 tensors."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _x(rng: np.random.Generator, *shape: int):
    def samples(r: np.random.Generator = rng) -> list[Sample]:
        return [Sample((r.standard_normal(shape),), name="x".join(map(str, shape)))]

    return samples


def _getitem(name: str, fn, shape=(4, 3, 5), double: bool = True) -> None:
    register(OpInfo(f"getitem_{name}", fn, lambda r: [Sample((r.standard_normal(shape),))],
                    gradgradcheck=double))


_getitem("int", lambda lib, x: x[1])
_getitem("negative_int", lambda lib, x: x[-1, -2])
_getitem("slice", lambda lib, x: x[1:, ::2])
_getitem("steps_negative_bounds", lambda lib, x: x[-3:-1, ::2, 1:100:3])
_getitem("empty_slice", lambda lib, x: x[3:1])
_getitem("none_ellipsis", lambda lib, x: x[None, ..., None, 0])
_getitem("ellipsis", lambda lib, x: x[...])
_getitem("int_list", lambda lib, x: x[[0, 2, 3]])
_getitem("repeated_indices", lambda lib, x: x[[1, 1, 0, 1], 2])
_getitem("two_arrays", lambda lib, x: x[[0, 1, 1], :, [4, 0, 0]])
_getitem("int_slice_array", lambda lib, x: x[0, :, [1, 2, 1]])
_getitem("broadcast_arrays", lambda lib, x: x[lib.tensor([[0], [3]]), lib.tensor([1, 2, 2])])
_getitem("bool_mask", lambda lib, x: x[x > 0])
_getitem("bool_mask_rows", lambda lib, x: x[lib.tensor([True, False, True, True]), 1:])
_getitem("python_bool", lambda lib, x: x[True])
_getitem("0d", lambda lib, x: x[None], shape=())
_getitem("empty_index", lambda lib, x: x[[]])


def _index_tensor(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((4, 3))
    return [Sample((x, np.array([3, 0, 3])), name="1-d"),
            Sample((x, np.array([[1, 1], [2, 0]])), name="2-d repeated"),
            Sample((x, np.array(2)), name="0-d index")]


register(OpInfo("getitem_tensor_index", lambda lib, x, i: x[i], _index_tensor,
                gradgradcheck=True))
register(OpInfo("select", lambda lib, x, dim, index: x.select(dim, index),
                lambda r: [Sample((r.standard_normal((2, 3, 4)),), {"dim": d, "index": i},
                                  name=f"dim {d} index {i}")
                           for d, i in ((0, 1), (-1, -1), (1, 0))], gradgradcheck=True))
register(OpInfo("narrow", lambda lib, x, dim, start, length: x.narrow(dim, start, length),
                lambda r: [Sample((r.standard_normal((2, 3, 4)),),
                                  {"dim": d, "start": s, "length": n}, name=f"{d} {s} {n}")
                           for d, s, n in ((2, 1, 2), (-2, -2, 2), (0, 0, 0))],
                gradgradcheck=True))


def _setitem(index):
    def call(lib, x, v):
        y = x * 1.0
        y[index] = v
        return y

    return call


def _setitem_samples(*vshapes):
    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((rng.standard_normal((4, 5)), rng.standard_normal(s)),
                       name=f"value {s}") for s in vshapes]

    return samples


register(OpInfo("setitem_int", _setitem(1), _setitem_samples((5,), (1,), ()),
                gradgradcheck=True))
register(OpInfo("setitem_slices", _setitem((slice(1, 3), slice(None, None, 2))),
                _setitem_samples((2, 3), (1, 3), (1, 1, 3))))
register(OpInfo("setitem_ellipsis", _setitem(...), _setitem_samples((5,))))
register(OpInfo("setitem_advanced", _setitem([0, 3, 2]), _setitem_samples((3, 5), (5,)),
                gradgradcheck=True))
register(OpInfo("setitem_mixed", _setitem((1, [0, 3])), _setitem_samples((2,), ())))
register(OpInfo("setitem_number", lambda lib, x: _setitem((slice(None), 0))(lib, x, 2.5),
                _x(None, 4, 5)))


def _index_put(rng: np.random.Generator) -> list[Sample]:
    x = rng.standard_normal((4, 3))
    return [Sample((x, np.array([0, 0, 2]), rng.standard_normal((3, 3))), {"acc": True},
                   name="accumulate repeated"),
            Sample((x, np.array([3, 1]), rng.standard_normal(3)), {"acc": False},
                   name="broadcast value")]


register(OpInfo("index_put", lambda lib, x, i, v, acc: x.index_put((i,), v, accumulate=acc),
                _index_put, gradgradcheck=True))
