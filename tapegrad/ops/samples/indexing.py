"""Samples for x[...] (basic and advanced) and select/narrow.

An index is not a tensor input, so each index form is its own op whose ``call`` holds the
index; integer index *arrays* passed in ``Sample.args`` become int64 tensors."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


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
