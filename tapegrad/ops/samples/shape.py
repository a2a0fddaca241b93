"""Samples for the shape ops (views and reshapes): dims positive/negative, 0-d, size-1 and
empty shapes. Views are checked on non-contiguous inputs too, where ``view`` must refuse
what ``reshape`` copies, exactly like torch."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _r(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _with(kwargs_list: list[dict], shapes=((2, 3, 4),)):
    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((_r(rng, *shape),), dict(kw), name=f"{shape} {kw}")
                for shape in shapes for kw in kwargs_list]

    return samples


def _reshape(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 2, 3, 4),), {"shape": (4, 6)}, name="2-d"),
            Sample((_r(rng, 2, 3, 4),), {"shape": (-1,)}, name="flat"),
            Sample((_r(rng, 2, 3, 4),), {"shape": (3, -1, 2)}, name="inferred"),
            Sample((_r(rng),), {"shape": (1, 1)}, name="0-d"),
            Sample((_r(rng, 0, 3),), {"shape": (3, 0)}, name="empty"),
            Sample((_r(rng, 1, 5),), {"shape": (5,)}, name="size-1")]


register(OpInfo("reshape", lambda lib, x, shape: x.reshape(shape), _reshape,
                gradgradcheck=True))
register(OpInfo("reshape_transposed", lambda lib, x, shape: x.transpose(0, -1).reshape(shape),
                _reshape))
register(OpInfo("view", lambda lib, x, shape: x.contiguous().view(shape), _reshape,
                gradgradcheck=True))
register(OpInfo("flatten", lambda lib, x, **kw: lib.flatten(x, **kw),
                lambda r: _with([{}, {"start_dim": 1}, {"start_dim": 0, "end_dim": -2},
                                 {"start_dim": 1, "end_dim": 1}])(r)
                + _with([{}, {"start_dim": -1}], ((5,), (), (0, 2)))(r),
                gradgradcheck=True))
register(OpInfo("unflatten", lambda lib, x, dim, sizes: x.unflatten(dim, sizes),
                _with([{"dim": 1, "sizes": (3, 1)}, {"dim": -1, "sizes": (2, -1)},
                       {"dim": 0, "sizes": (1, 2)}])))


def _expand(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 3, 1),), {"shape": (3, 4)}, name="size-1 dim"),
            Sample((_r(rng, 4),), {"shape": (2, 3, 4)}, name="new leading dims"),
            Sample((_r(rng, 1, 4),), {"shape": (2, -1, 4)}, name="-1 keeps"),
            Sample((_r(rng),), {"shape": (2, 2)}, name="0-d"),
            Sample((_r(rng, 1, 3),), {"shape": (0, 3)}, name="to empty")]


register(OpInfo("expand", lambda lib, x, shape: x.expand(*shape), _expand, gradgradcheck=True))
register(OpInfo("expand_as", lambda lib, x, shape: x.expand_as(lib.zeros(shape)),
                lambda r: _expand(r)[:2]))


def _sum_to(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_r(rng, 2, 3, 4),), {"shape": (3, 1)}, name="keep + squeeze"),
            Sample((_r(rng, 2, 3),), {"shape": (1,)}, name="to one"),
            Sample((_r(rng, 2, 3),), {"shape": (2, 3)}, name="same")]


register(OpInfo("sum_to_size", lambda lib, x, shape: x.sum_to_size(shape), _sum_to,
                gradgradcheck=True))
register(OpInfo("clone", lambda lib, x: x.clone(), _with([{}], ((2, 3), (), (0, 2)))))
register(OpInfo("contiguous", lambda lib, x: x.transpose(0, 1).contiguous(),
                _with([{}], ((2, 3),))))
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
