"""Samples for the shape ops (reshape/view, expand, sum_to_size, clone, contiguous): 0-d,
size-1 and empty shapes, inferred (-1) sizes. Views are checked on non-contiguous inputs
too, where ``view`` must refuse what ``reshape`` copies, exactly like torch."""

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
