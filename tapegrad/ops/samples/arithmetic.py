"""Samples for + - * / ** and neg: broadcasting, 0-d, size-1 and empty shapes."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _binary(rng: np.random.Generator, positive_rhs: bool = False) -> list[Sample]:
    def arr(*shape):
        a = np.asarray(rng.standard_normal(shape))
        return np.abs(a) + 0.5 if positive_rhs else a

    return [
        Sample((rng.standard_normal((3, 4)), arr(3, 4)), name="same shape"),
        Sample((rng.standard_normal((2, 3, 4)), arr(4)), name="broadcast rhs"),
        Sample((rng.standard_normal((3, 1)), arr(1, 4)), name="broadcast both"),
        Sample((np.asarray(rng.standard_normal(())), arr(2, 3)), name="0-d lhs"),
        Sample((rng.standard_normal((1,)), arr(1)), name="size-1"),
        Sample((rng.standard_normal((0, 3)), arr(3)), name="empty"),
        Sample((rng.standard_normal((2, 3)), 2.5), name="python scalar"),
        Sample((rng.standard_normal((2, 3)), arr(2, 3)), grad=(False, True), name="rhs only"),
    ]


register(OpInfo("add", lambda lib, a, b: a + b, _binary, gradgradcheck=True))
register(OpInfo("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.0), _binary))
register(OpInfo("sub", lambda lib, a, b: a - b, _binary))
register(OpInfo("rsub", lambda lib, a, b: 1.5 - a, _binary))
register(OpInfo("mul", lambda lib, a, b: a * b, _binary, gradgradcheck=True))
register(OpInfo("div", lambda lib, a, b: a / b, lambda r: _binary(r, positive_rhs=True),
                gradgradcheck=True))
register(OpInfo("rdiv", lambda lib, a, b: 2.0 / b, lambda r: _binary(r, positive_rhs=True)))
register(OpInfo("neg", lambda lib, a, b: -a, _binary))


def _pow_samples(rng: np.random.Generator) -> list[Sample]:
    pos = lambda *s: np.asarray(np.abs(rng.standard_normal(s)) + 0.5)  # noqa: E731
    return [
        Sample((pos(3, 4), 2.0), name="square"),
        Sample((pos(3, 4), 0.5), name="sqrt"),
        Sample((rng.standard_normal((3, 4)), 3), name="int exponent"),
        Sample((pos(3, 4), pos(3, 4)), name="tensor exponent"),
        Sample((pos(2, 3), pos(3)), name="broadcast exponent"),
        Sample((pos(), pos(2)), name="0-d base"),
    ]


register(OpInfo("pow", lambda lib, a, b: a ** b, _pow_samples, gradgradcheck=True))
register(OpInfo("rpow", lambda lib, a, b: 2.0 ** a, _pow_samples))
