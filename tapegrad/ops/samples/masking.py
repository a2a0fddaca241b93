"""Samples for masked_fill (number or 0-d tensor value, in and out of place) and
masked_select. Masks are bool arrays, which become bool tensors; they broadcast with x in
both directions (a mask bigger than x too), and may be empty."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _x(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def _masked(rng: np.random.Generator) -> list[Sample]:
    x = _x(rng, 3, 4)
    return [Sample((x, x > 0), name="same shape"),
            Sample((x, np.array([True, False, False, True])), name="broadcast mask"),
            Sample((x[0], rng.standard_normal((3, 4)) > 0), name="mask bigger than x"),
            Sample((_x(rng, 0, 2), np.zeros((0, 2), bool)), name="empty")]


register(OpInfo("masked_fill", lambda lib, x, m: x.masked_fill(m, -0.5), _masked,
                gradgradcheck=True))
register(OpInfo("masked_fill_tensor", lambda lib, x, m, v: x.masked_fill(m, v),
                lambda r: [Sample(s.args + (r.standard_normal(()),), name=s.name)
                           for s in _masked(r)], gradgradcheck=True))
register(OpInfo("masked_fill_", lambda lib, x, m: (x * 1).masked_fill_(m, 0.25),
                lambda r: _masked(r)[:2]))
register(OpInfo("masked_select", lambda lib, x, m: x.masked_select(m), _masked,
                gradgradcheck=True))
