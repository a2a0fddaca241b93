"""Samples for cat/stack/split/chunk/unbind/repeat/tile/flip. Ops that return several
tensors are compared output by output (the oracle handles tuples)."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _r(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _cat(rng: np.random.Generator) -> list[Sample]:
    return [Sample(([_r(rng, 2, 3), _r(rng, 4, 3)],), {"dim": 0}, name="rows"),
            Sample(([_r(rng, 2, 3), _r(rng, 2, 1), _r(rng, 2, 2)],), {"dim": -1},
                   name="three, negative dim"),
            Sample(([_r(rng, 2, 0), _r(rng, 2, 3)],), {"dim": 1}, name="empty piece"),
            Sample(([_r(rng, 1, 2, 3)],), {"dim": 2}, name="single")]


register(OpInfo("cat", lambda lib, ts, dim: lib.cat(ts, dim), _cat, gradgradcheck=True))
# legacy: 1-d empty tensors are skipped whatever the other shapes (no gradgradcheck: the
# skipped input's gradient is a constant empty tensor, as in torch)
register(OpInfo("cat_legacy_empty", lambda lib, ts, dim: lib.cat(ts, dim),
                lambda r: [Sample(([_r(r, 0), _r(r, 2, 3), _r(r, 0)],), {"dim": 1})]))
register(OpInfo("concat", lambda lib, ts, dim: lib.concat(ts, dim=dim), lambda r: _cat(r)[:2]))


def _stack(rng: np.random.Generator) -> list[Sample]:
    return [Sample(([_r(rng, 2, 3), _r(rng, 2, 3)],), {"dim": 0}, name="dim 0"),
            Sample(([_r(rng, 2, 3)] * 3,), {"dim": -1}, name="last dim, same tensor"),
            Sample(([_r(rng), _r(rng)],), {"dim": 0}, name="0-d"),
            Sample(([_r(rng, 0, 2), _r(rng, 0, 2)],), {"dim": 1}, name="empty")]


register(OpInfo("stack", lambda lib, ts, dim: lib.stack(ts, dim), _stack, gradgradcheck=True))


def _split(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 5, 3),), {"split": 2, "dim": 0}, name="size 2"),
            Sample((_r(rng, 5, 3),), {"split": [1, 0, 2], "dim": -1}, name="sections"),
            Sample((_r(rng, 5, 3),), {"split": 7, "dim": 0}, name="one piece"),
            Sample((_r(rng, 0, 3),), {"split": 2, "dim": 0}, name="empty")]


register(OpInfo("split", lambda lib, x, split, dim: x.split(split, dim), _split,
                gradgradcheck=True))


def _chunk(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 5, 3),), {"chunks": 3, "dim": 0}, name="uneven"),
            Sample((_r(rng, 6, 2),), {"chunks": 4, "dim": 0}, name="fewer than asked"),
            Sample((_r(rng, 2, 3),), {"chunks": 2, "dim": -1}, name="negative dim")]


register(OpInfo("chunk", lambda lib, x, chunks, dim: lib.chunk(x, chunks, dim), _chunk))


def _unbind(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 3, 2),), {"dim": 0}, name="rows"),
            Sample((_r(rng, 2, 3, 2),), {"dim": -2}, name="middle"),
            Sample((_r(rng, 1),), {"dim": 0}, name="size-1")]


register(OpInfo("unbind", lambda lib, x, dim: x.unbind(dim), _unbind, gradgradcheck=True))


def _repeat(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 2, 3),), {"reps": (2, 1)}, name="rows"),
            Sample((_r(rng, 2, 3),), {"reps": (2, 2, 3)}, name="new dim"),
            Sample((_r(rng, 2, 1),), {"reps": (1, 0)}, name="zero"),
            Sample((_r(rng),), {"reps": (3,)}, name="0-d")]


register(OpInfo("repeat", lambda lib, x, reps: x.repeat(*reps), _repeat, gradgradcheck=True))
register(OpInfo("tile", lambda lib, x, reps: lib.tile(x, reps[-1:]), _repeat))


def _flip(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 2, 3, 4),), {"dims": (0,)}, name="one dim"),
            Sample((_r(rng, 2, 3, 4),), {"dims": (-1, 1)}, name="two dims"),
            Sample((_r(rng, 0, 3),), {"dims": (1,)}, name="empty"),
            Sample((_r(rng),), {"dims": (0,)}, name="0-d")]


register(OpInfo("flip", lambda lib, x, dims: x.flip(dims), _flip, gradgradcheck=True))
