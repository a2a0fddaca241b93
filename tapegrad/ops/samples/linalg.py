"""Samples for matmul and friends: every rank combination of 1-D to 4-D operands,
broadcast batch dims (on either side, or both), size-1 and empty matrices."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register

# (shape of a, shape of b, name): every pair of ranks matmul accepts
_MATMUL_SHAPES = [
    ((3,), (3,), "1-d x 1-d"),
    ((2, 3), (3,), "2-d x 1-d"),
    ((3,), (3, 4), "1-d x 2-d"),
    ((2, 3), (3, 4), "2-d x 2-d"),
    ((5, 2, 3), (3,), "3-d x 1-d"),
    ((3,), (5, 3, 4), "1-d x 3-d"),
    ((5, 2, 3), (3, 4), "3-d x 2-d"),
    ((2, 3), (5, 3, 4), "2-d x 3-d"),
    ((5, 2, 3), (5, 3, 4), "3-d x 3-d"),
    ((1, 2, 3), (5, 3, 4), "3-d x 3-d broadcast lhs"),
    ((5, 2, 3), (1, 3, 4), "3-d x 3-d broadcast rhs"),
    ((2, 5, 2, 3), (5, 3, 4), "4-d x 3-d"),
    ((5, 2, 3), (2, 1, 3, 4), "3-d x 4-d broadcast"),
    ((2, 1, 2, 3), (1, 4, 3, 2), "4-d x 4-d broadcast both"),
    ((2, 3, 2, 3), (3,), "4-d x 1-d"),
    ((3,), (2, 3, 3, 2), "1-d x 4-d"),
    ((2, 1, 2, 3), (3, 4), "4-d x 2-d"),
    ((1, 1), (1, 1), "1x1 matrices"),
    ((0, 3), (3, 4), "no rows"),
    ((2, 0), (0, 4), "empty inner dim"),
    ((0, 2, 3), (3, 4), "empty batch"),
]


def _matmul_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda s: rng.standard_normal(s)  # noqa: E731
    samples = [Sample((x(a), x(b)), name=name) for a, b, name in _MATMUL_SHAPES]
    samples.append(Sample((x((2, 3)), x((3, 4))), grad=(True, False), name="lhs grad only"))
    samples.append(Sample((x((4, 2, 3)), x((3, 4))), grad=(False, True),
                          name="rhs grad only, batched lhs"))
    return samples


register(OpInfo("matmul", lambda lib, a, b: a @ b, _matmul_samples, gradgradcheck=True))
register(OpInfo("matmul_fn", lambda lib, a, b: lib.matmul(a, b),
                lambda r: _matmul_samples(r)[3:9], gradgradcheck=True))


def _pairs(*shapes: tuple):
    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((rng.standard_normal(a), rng.standard_normal(b)), name=name)
                for a, b, name in shapes]
    return samples


register(OpInfo("mm", lambda lib, a, b: lib.mm(a, b),
                _pairs(((2, 3), (3, 4), "2x3 3x4"), ((1, 1), (1, 5), "1x1 1x5"),
                       ((0, 3), (3, 2), "empty rows"), ((2, 0), (0, 3), "empty inner")),
                gradgradcheck=True))
register(OpInfo("bmm", lambda lib, a, b: lib.bmm(a, b),
                _pairs(((4, 2, 3), (4, 3, 5), "batch 4"), ((1, 2, 3), (1, 3, 1), "batch 1"),
                       ((0, 2, 3), (0, 3, 1), "empty batch")),
                gradgradcheck=True))
register(OpInfo("dot", lambda lib, a, b: lib.dot(a, b),
                _pairs(((5,), (5,), "size 5"), ((1,), (1,), "size 1"), ((0,), (0,), "empty")),
                gradgradcheck=True))
register(OpInfo("mv", lambda lib, a, b: lib.mv(a, b),
                _pairs(((2, 3), (3,), "2x3"), ((1, 4), (4,), "1x4"), ((3, 0), (0,), "empty")),
                gradgradcheck=True))
register(OpInfo("outer", lambda lib, a, b: lib.outer(a, b),
                _pairs(((3,), (4,), "3 4"), ((1,), (2,), "1 2"), ((0,), (3,), "empty")),
                gradgradcheck=True))


def _addmm_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.standard_normal(s))  # noqa: E731
    return [
        Sample((x(4), x(2, 3), x(3, 4)), name="row bias"),
        Sample((x(2, 4), x(2, 3), x(3, 4)), name="full bias"),
        Sample((x(2, 1), x(2, 3), x(3, 4)), name="column bias"),
        Sample((x(), x(2, 3), x(3, 4)), name="0-d bias"),
        Sample((x(4), x(2, 3), x(3, 4)), dict(beta=0.5, alpha=2.0), name="beta alpha"),
        Sample((x(4), x(2, 3), x(3, 4)), grad=(False, True, True), name="no bias grad"),
    ]


register(OpInfo("addmm", lambda lib, c, a, b, **kw: lib.addmm(c, a, b, **kw), _addmm_samples,
                gradgradcheck=True))


def _transpose_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.standard_normal(s))  # noqa: E731
    return [Sample((x(2, 3),), name="2-d"), Sample((x(3),), name="1-d"),
            Sample((x(),), name="0-d"), Sample((x(1, 4),), name="row")]


register(OpInfo("t", lambda lib, x: x.t(), _transpose_samples, gradgradcheck=True))
register(OpInfo("T", lambda lib, x: x.T,
                lambda r: [s for s in _transpose_samples(r) if s.args[0].ndim == 2]))
register(OpInfo("mT", lambda lib, x: x.mT,
                lambda r: [Sample((r.standard_normal((2, 3)),), name="2-d"),
                           Sample((r.standard_normal((4, 2, 3)),), name="3-d")]))
