"""Samples for the reductions: dims positive/negative/tuple/None, keepdim both ways, 0-d,
size-1 and empty shapes; ties for the selecting ops (compared with torch, not gradchecked:
a tie is a kink, where the numerical gradient means nothing)."""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register


def _dims(rng: np.random.Generator, full: bool = True, empty: bool = True) -> list[Sample]:
    """The shared dim/keepdim grid: ``dim=None`` only if the op reduces everything."""
    x = lambda *s: np.asarray(rng.standard_normal(s))  # noqa: E731
    samples = [
        Sample((x(3, 4),), dict(dim=1), name="dim 1"),
        Sample((x(3, 4),), dict(dim=-1, keepdim=True), name="dim -1 keepdim"),
        Sample((x(2, 3, 4),), dict(dim=(0, 2)), name="dims (0, 2)"),
        Sample((x(2, 3, 4),), dict(dim=(-1, 0), keepdim=True), name="dims (-1, 0) keepdim"),
        Sample((x(2, 3, 4),), dict(dim=0), name="3-d dim 0"),
        Sample((x(),), dict(dim=0), name="0-d dim 0"),
        Sample((x(1),), dict(dim=0, keepdim=True), name="size-1"),
        Sample((x(3, 1),), dict(dim=1), name="size-1 dim"),
    ]
    if full:
        samples += [
            Sample((x(3, 4),), {}, name="all"),
            Sample((x(),), {}, name="0-d"),
            Sample((x(2, 3),), dict(dim=None, keepdim=True), name="all keepdim"),
        ]
    if empty:
        samples += [Sample((x(0, 3),), dict(dim=0), name="empty reduced dim"),
                    Sample((x(0, 3),), dict(dim=1), name="empty kept dim")]
        if full:
            samples.append(Sample((x(0, 3),), {}, name="empty all"))
    return samples


def _method(name: str):
    return lambda lib, x, **kw: getattr(x, name)(**kw)


register(OpInfo("sum", _method("sum"), _dims, gradgradcheck=True))
register(OpInfo("mean", _method("mean"), _dims, gradgradcheck=True))
register(OpInfo("logsumexp", _method("logsumexp"), lambda r: _dims(r, full=False),
                gradgradcheck=True))


def _cumsum_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.standard_normal(s))  # noqa: E731
    return [Sample((x(5),), dict(dim=0), name="1-d"),
            Sample((x(3, 4),), dict(dim=1), name="dim 1"),
            Sample((x(2, 3, 4),), dict(dim=-2), name="dim -2"),
            Sample((x(),), dict(dim=0), name="0-d"),
            Sample((x(0, 3),), dict(dim=0), name="empty")]


register(OpInfo("cumsum", _method("cumsum"), _cumsum_samples, gradgradcheck=True))


def _prod_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s))  # noqa: E731
    one_zero = x(3, 4)
    one_zero[1, 2] = 0.0
    two_zeros = x(3, 4)
    two_zeros[1, 2] = two_zeros[1, 0] = 0.0
    return [
        Sample((x(3, 4),), {}, name="all"),
        Sample((x(3, 4),), dict(dim=1), name="dim 1"),
        Sample((x(2, 3, 4),), dict(dim=-2, keepdim=True), name="dim -2 keepdim"),
        Sample((x(),), {}, name="0-d"),
        Sample((x(),), dict(dim=0), name="0-d dim 0"),
        Sample((x(1),), dict(dim=0), name="size-1"),
        Sample((one_zero,), {}, name="one zero, all"),
        Sample((one_zero,), dict(dim=1), name="one zero, dim"),
        Sample((two_zeros,), {}, name="two zeros, all"),
        Sample((two_zeros,), dict(dim=1), name="two zeros in a row, dim 1"),
        Sample((two_zeros,), dict(dim=0), name="two zeros, separate columns"),
        Sample((x(0, 3),), dict(dim=0), name="empty"),
    ]


register(OpInfo("prod", _method("prod"), _prod_samples, gradgradcheck=True))


# ---------------------------------------------------------------- max / min family
def _distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values with no ties, far apart enough for a numerical gradient."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.5 + rng.uniform(0, 0.1, n)).reshape(shape) - n / 4


def _full_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_distinct(rng, 3, 4),), {}, name="2-d"),
            Sample((_distinct(rng, 2, 3, 2),), {}, name="3-d"),
            Sample((np.asarray(rng.standard_normal()),), {}, name="0-d"),
            Sample((_distinct(rng, 1),), {}, name="size-1")]


def _dim_samples(rng: np.random.Generator) -> list[Sample]:
    d = lambda *s: _distinct(rng, *s)  # noqa: E731
    return [Sample((d(3, 4), 1), name="dim 1"),
            Sample((d(3, 4), -2), dict(keepdim=True), name="dim -2 keepdim"),
            Sample((d(2, 3, 4), 1), name="3-d dim 1"),
            Sample((np.asarray(rng.standard_normal()), 0), name="0-d"),
            Sample((d(3, 1), 1), name="size-1 dim"),
            Sample((np.zeros((0, 3)), 1), name="empty kept dim")]


def _amax_samples(rng: np.random.Generator) -> list[Sample]:
    d = lambda *s: _distinct(rng, *s)  # noqa: E731
    return [Sample((d(3, 4),), dict(dim=1), name="dim 1"),
            Sample((d(3, 4),), dict(dim=-1, keepdim=True), name="dim -1 keepdim"),
            Sample((d(2, 3, 4),), dict(dim=(0, 2)), name="dims (0, 2)"),
            Sample((d(2, 3, 4),), {}, name="all"),
            Sample((np.asarray(rng.standard_normal()),), {}, name="0-d"),
            Sample((d(1),), dict(dim=0), name="size-1"),
            Sample((np.zeros((0, 3)),), dict(dim=1), name="empty kept dim")]


def _ties(rng: np.random.Generator) -> np.ndarray:
    # rows: a tie at the max, a tie at the min, all equal, three-way tie, no tie
    return np.array([[1.0, 3.0, 3.0, 2.0], [0.5, -1.0, 2.0, -1.0], [4.0, 4.0, 4.0, 4.0],
                     [2.0, 5.0, 5.0, 5.0], [0.1, 0.2, 0.3, 0.4]])


def _tie_samples_full(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_ties(rng),), {}, name="ties"),
            Sample((np.array([2.0, -1.0, 2.0, 2.0]),), {}, name="three-way tie"),
            Sample((np.full((2, 3), 7.0),), {}, name="all equal")]


def _tie_samples_dim(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_ties(rng), 1), name="ties dim 1"),
            Sample((_ties(rng).T.copy(), 0), dict(keepdim=True), name="ties dim 0 keepdim")]


def _tie_samples_amax(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_ties(rng),), dict(dim=1), name="ties dim 1"),
            Sample((_ties(rng),), dict(dim=(0, 1)), name="ties all dims"),
            Sample((_ties(rng),), {}, name="ties dim ()"),
            Sample((_ties(rng),), dict(dim=0, keepdim=True), name="ties dim 0 keepdim")]


for _op in ("max", "min"):
    register(OpInfo(_op, _method(_op), _full_samples, gradgradcheck=True))
    register(OpInfo(f"{_op}_dim", lambda lib, x, dim, op=_op, **kw: getattr(x, op)(dim, **kw),
                    _dim_samples, gradgradcheck=True))
    register(OpInfo(f"{_op}_ties", _method(_op), _tie_samples_full, gradcheck=False))
    register(OpInfo(f"{_op}_dim_ties",
                    lambda lib, x, dim, op=_op, **kw: getattr(x, op)(dim, **kw),
                    _tie_samples_dim, gradcheck=False))
for _op in ("amax", "amin"):
    register(OpInfo(_op, _method(_op), _amax_samples, gradgradcheck=True))
    register(OpInfo(f"{_op}_ties", _method(_op), _tie_samples_amax, gradcheck=False))


def _arg_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((_distinct(rng, 3, 4),), {}, name="flat"),
            Sample((_distinct(rng, 3, 4),), dict(keepdim=True), name="flat keepdim"),
            Sample((_distinct(rng, 3, 4),), dict(dim=1), name="dim 1"),
            Sample((_distinct(rng, 2, 3, 4),), dict(dim=-2, keepdim=True), name="dim -2 keepdim"),
            Sample((np.asarray(1.5),), dict(dim=0), name="0-d"),
            Sample((_ties(rng),), dict(dim=1), name="ties pick the first"),
            Sample((_ties(rng),), {}, name="ties flat")]


for _op in ("argmax", "argmin"):
    register(OpInfo(_op, _method(_op), _arg_samples, differentiable=False))


# ---------------------------------------------------------------- var / std / norm
def _var_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.standard_normal(s))  # noqa: E731
    return [
        Sample((x(3, 4),), {}, name="all"),
        Sample((x(3, 4),), dict(dim=1), name="dim 1"),
        Sample((x(2, 3, 4),), dict(dim=(0, -1), keepdim=True), name="dims keepdim"),
        Sample((x(3, 4),), dict(dim=0, correction=0), name="correction 0"),
        Sample((x(3, 4),), dict(dim=1, correction=2), name="correction 2"),
        Sample((x(3, 4),), dict(dim=1, unbiased=False), name="unbiased False"),
        Sample((x(3, 4),), dict(dim=-1, unbiased=True, keepdim=True), name="unbiased True"),
        Sample((x(4, 1),), dict(dim=0), name="size-1 kept dim"),
    ]


register(OpInfo("var", _method("var"), _var_samples, gradgradcheck=True))
register(OpInfo("std", _method("std"), _var_samples, gradgradcheck=True))


def _norm_samples(rng: np.random.Generator) -> list[Sample]:
    x = lambda *s: np.asarray(rng.uniform(0.2, 1.5, s) * rng.choice([-1, 1], s))  # noqa: E731
    samples = [
        Sample((x(3, 4),), {}, name="default fro"),
        Sample((x(3, 4),), dict(p="fro", dim=(0, 1)), name="fro dims"),
        Sample((x(2, 3, 4),), dict(p=2, dim=-1, keepdim=True), name="p=2 dim keepdim"),
        Sample((x(),), dict(p=2), name="0-d"),
        Sample((x(0, 3),), dict(p=2, dim=0), name="empty"),
    ]
    for p in (1, 3, 0.5, 1.5, -1, float("inf"), float("-inf")):
        samples.append(Sample((x(3, 4),), dict(p=p, dim=1), name=f"p={p} dim 1"))
        samples.append(Sample((x(2, 3),), dict(p=p), name=f"p={p} all"))
    return samples


register(OpInfo("norm", _method("norm"), _norm_samples, gradgradcheck=True))


def _zero_norm_samples(rng: np.random.Generator) -> list[Sample]:
    # torch's subgradient 0 where the norm (or an entry) is 0: compared, not gradchecked
    z = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, -2.0]])
    return [Sample((z,), dict(p=p, dim=1), name=f"p={p} zero row")
            for p in (2, 1, 3, 1.5, 0.5, -1, float("inf"))] + [
        Sample((np.zeros(4),), {}, name="zero vector")]


register(OpInfo("norm_at_zero", _method("norm"), _zero_norm_samples, gradcheck=False))


# ---------------------------------------------------------------- logical
def _logical_samples(rng: np.random.Generator) -> list[Sample]:
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 4.0, 5.0]])
    return [Sample((a,), {}, name="all"), Sample((a,), dict(dim=1), name="dim 1"),
            Sample((a,), dict(dim=0, keepdim=True), name="dim 0 keepdim"),
            Sample((np.zeros((0, 2)),), {}, name="empty")]


for _op in ("all", "any"):
    register(OpInfo(_op, _method(_op), _logical_samples, differentiable=False))
register(OpInfo("count_nonzero", lambda lib, x, **kw: lib.count_nonzero(x, **kw),
                lambda r: [s for s in _logical_samples(r) if "keepdim" not in s.kwargs],
                differentiable=False))
