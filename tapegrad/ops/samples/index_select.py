"""Samples for index_select/index_add: repeated indices (which must accumulate in the
backwards that add), 0-d and empty indices, negative dims."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _x(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _index_select(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    return [Sample((x, np.array([3, 0, 3])), {"dim": 1}, name="repeated"),
            Sample((x, np.array(2)), {"dim": 0}, name="0-d index"),
            Sample((x, np.zeros(0, np.int64)), {"dim": -1}, name="empty")]


register(OpInfo("index_select", lambda lib, x, i, dim: x.index_select(dim, i), _index_select,
                gradgradcheck=True))


def _index_add(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    return [Sample((x, np.array([1, 1, 3]), _x(rng, 3, 3)), {"dim": 1}, name="repeated"),
            Sample((x, np.array([2]), _x(rng, 1, 4)), {"dim": 0}, name="one row")]


register(OpInfo("index_add", lambda lib, x, i, s, dim: x.index_add(dim, i, s, alpha=2.0),
                _index_add, gradgradcheck=True))
