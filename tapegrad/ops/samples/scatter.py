"""Samples for gather/scatter/scatter_add/take/take_along_dim. Indices repeat on purpose:
repeated indices must accumulate in every backward that scatters."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register

IDX = np.array([[0, 1], [2, 0], [3, 3]])


def _x(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _gather(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    return [Sample((x, IDX), {"dim": 1}, name="dim 1 repeated"),
            Sample((x, np.array([[2, 0, 1, 2]])), {"dim": 0}, name="dim 0 smaller"),
            Sample((x, IDX[:2, :1]), {"dim": -1}, name="negative dim"),
            Sample((x, np.zeros((3, 0), np.int64)), {"dim": 1}, name="empty index"),
            Sample((_x(rng), np.array(0)), {"dim": 0}, name="0-d")]


register(OpInfo("gather", lambda lib, x, i, dim: x.gather(dim, i), _gather, gradgradcheck=True))


def _scatter_like(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    return [Sample((x, IDX, _x(rng, 3, 2)), {"dim": 1}, name="dim 1 repeated"),
            Sample((x, np.array([[2, 0, 2, 1]]), _x(rng, 1, 4)), {"dim": 0}, name="dim 0"),
            Sample((x, IDX, _x(rng, 3, 2)), {"dim": 1}, grad=(False, False, True),
                   name="src only")]


register(OpInfo("scatter_add", lambda lib, x, i, s, dim: x.scatter_add(dim, i, s),
                _scatter_like, gradgradcheck=True))
register(OpInfo("scatter_add_", lambda lib, x, i, s, dim: (x * 1).scatter_add_(dim, i, s),
                _scatter_like))


def _scatter(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    # distinct positions: with repeats, which write wins is unspecified (also in torch)
    return [Sample((x, np.array([[3], [0], [2]]), _x(rng, 3, 1)), {"dim": 1}, name="dim 1"),
            Sample((x, np.array([[2, 0, 1, 2]]), _x(rng, 1, 4)), {"dim": 0}, name="dim 0")]


register(OpInfo("scatter", lambda lib, x, i, s, dim: x.scatter(dim, i, s), _scatter,
                gradgradcheck=True))
register(OpInfo("scatter_value", lambda lib, x, i, s, dim: x.scatter(dim, i, 1.5), _scatter))
register(OpInfo("scatter_", lambda lib, x, i, s, dim: (x * 1).scatter_(dim, i, s), _scatter))


register(OpInfo("take", lambda lib, x, i: lib.take(x, i),
                lambda r: [Sample((_x(r, 3, 4), np.array([[0, 11], [-1, 0]])), name="2-d"),
                           Sample((_x(r), np.array([0, 0])), name="0-d input")],
                gradgradcheck=True))
register(OpInfo("take_along_dim", lambda lib, x, i, **kw: lib.take_along_dim(x, i, **kw),
                lambda r: [Sample((_x(r, 3, 4), IDX), {"dim": 1}, name="dim 1"),
                           Sample((_x(r, 3, 4), np.array([[2], [0]])), {"dim": 0},
                                  name="broadcast")]))
# torch flattens the indices with view(), which fails for non-contiguous ones
register(OpInfo("take_along_dim_flat", lambda lib, x, i: lib.take_along_dim(x, i),
                lambda r: [Sample((_x(r, 3, 4), np.array([11, 0, 0])), name="flat")],
                noncontiguous=False))
