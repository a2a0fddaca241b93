"""Samples for the dim ops (permute, transpose, movedim, squeeze, unsqueeze, flatten,
unflatten): dims positive/negative, orders that change nothing (``permute(0, 1, 2)``,
``transpose(1, 1)``), 0-d, size-1 and empty shapes."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _r(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _with(kwargs_list: list[dict], shapes=((2, 3, 4),)):
    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((_r(rng, *shape),), dict(kw), name=f"{shape} {kw}")
                for shape in shapes for kw in kwargs_list]

    return samples


register(OpInfo("permute", lambda lib, x, dims: x.permute(*dims),
                _with([{"dims": (2, 0, 1)}, {"dims": (-1, 1, 0)}, {"dims": (0, 1, 2)}],
                      ((2, 3, 4), (1, 0, 2))), gradgradcheck=True))
register(OpInfo("transpose", lambda lib, x, d0, d1: x.transpose(d0, d1),
                _with([{"d0": 0, "d1": 2}, {"d0": -1, "d1": 1}, {"d0": 1, "d1": 1}]),
                gradgradcheck=True))
register(OpInfo("swapaxes", lambda lib, x: lib.swapaxes(x, 0, -1), _with([{}])))
register(OpInfo("movedim", lambda lib, x, src, dst: lib.movedim(x, src, dst),
                _with([{"src": 0, "dst": -1}, {"src": (0, 1), "dst": (2, 0)},
                       {"src": -1, "dst": 1}])))


def _squeeze(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 2, 1, 3, 1),), {}, name="all"),
            Sample((_r(rng, 2, 1, 3, 1),), {"dim": 1}, name="one dim"),
            Sample((_r(rng, 2, 1, 3, 1),), {"dim": 0}, name="non-1 dim"),
            Sample((_r(rng, 2, 1, 3, 1),), {"dim": (1, -1)}, name="dims"),
            Sample((_r(rng),), {}, name="0-d"),
            Sample((_r(rng, 1, 0),), {}, name="empty")]


register(OpInfo("squeeze", lambda lib, x, **kw: x.squeeze(**kw), _squeeze, gradgradcheck=True))
register(OpInfo("unsqueeze", lambda lib, x, dim: lib.unsqueeze(x, dim),
                _with([{"dim": 0}, {"dim": -1}, {"dim": 2}], ((2, 3), (0, 3))),
                gradgradcheck=True))
register(OpInfo("flatten", lambda lib, x, **kw: lib.flatten(x, **kw),
                lambda r: _with([{}, {"start_dim": 1}, {"start_dim": 0, "end_dim": -2},
                                 {"start_dim": 1, "end_dim": 1}])(r)
                + _with([{}, {"start_dim": -1}], ((5,), (), (0, 2)))(r),
                gradgradcheck=True))
register(OpInfo("unflatten", lambda lib, x, dim, sizes: x.unflatten(dim, sizes),
                _with([{"dim": 1, "sizes": (3, 1)}, {"dim": -1, "sizes": (2, -1)},
                       {"dim": 0, "sizes": (1, 2)}])))
