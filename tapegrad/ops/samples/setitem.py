"""Samples for x[...] = v (int, slices, ..., advanced, mixed; values broadcast, with extra
leading size-1 dims, and plain numbers) and index_put (accumulating over repeated indices).
``x[...] = v`` writes into ``x * 1.0`` (a leaf that requires grad may not be written in
place), so both ``x`` and ``v`` get gradients."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _x(rng: np.random.Generator, *shape: int):
    def samples(r: np.random.Generator = rng) -> list[Sample]:
        return [Sample((r.standard_normal(shape),), name="x".join(map(str, shape)))]

    return samples


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
