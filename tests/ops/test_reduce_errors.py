"""Bad input to the sorting, scan, statistics, linalg and distance ops raises torch's
exception type with torch's message (``raises_like`` compares both)."""

from __future__ import annotations

import numpy as np
import pytest
from torch_check import raises_like

M = np.arange(12.0).reshape(3, 4)
CASES = {
    "sort dim": (lambda m, x: m.sort(x, dim=2), M),
    "topk k": (lambda m, x: m.topk(x, 5), M),
    "kthvalue k": (lambda m, x: m.kthvalue(x, 0), M),
    "quantile q": (lambda m, x: m.quantile(x, 1.5), M),
    "quantile int": (lambda m, x: m.quantile(x, 0.5), np.arange(4)),
    "quantile interpolation": (lambda m, x: m.quantile(x, 0.5, interpolation="cubic"), M),
    "median empty dim": (lambda m, x: m.median(x, 0), np.zeros((0, 3))),
    "cumprod dim": (lambda m, x: m.cumprod(x, 3), M),
    "logcumsumexp int": (lambda m, x: m.logcumsumexp(x, 0), np.arange(4)),
    "histc bins": (lambda m, x: m.histc(x, bins=0), M),
    "bincount 2d": (lambda m, x: m.bincount(x), np.ones((2, 2), dtype=np.int64)),
    "bincount negative": (lambda m, x: m.bincount(x), np.array([1, -1])),
    "cov 3d": (lambda m, x: m.cov(x), np.zeros((2, 2, 2))),
    "diff order": (lambda m, x: m.diff(x, n=-1), M),
    "gradient edge": (lambda m, x: m.gradient(x, edge_order=3), M),
    "inv square": (lambda m, x: m.linalg.inv(x), M),
    "det 1d": (lambda m, x: m.linalg.det(x), np.ones(3)),
    "solve shapes": (lambda m, a, b: m.linalg.solve(a, b), np.eye(3), np.ones((4, 2))),
    "matrix_norm ord": (lambda m, x: m.linalg.matrix_norm(x, 3), M),
    "matrix_norm 1d": (lambda m, x: m.linalg.matrix_norm(x), np.ones(3)),
    "cross size": (lambda m, a, b: m.linalg.cross(a, b), M, M),
    "multi_dot one": (lambda m, a: m.linalg.multi_dot([a]), M),
    "cdist columns": (lambda m, a, b: m.cdist(a, b), M, np.ones((2, 3))),
    "pdist 3d": (lambda m, x: m.nn.functional.pdist(x), np.zeros((2, 2, 2))),
    "renorm 1d": (lambda m, x: m.renorm(x, 2, 0, 1.0), np.ones(3)),
    "searchsorted rows": (lambda m, a, b: m.searchsorted(a, b), np.ones((2, 3)), np.ones((3, 3))),
    "logspace steps": (lambda m: m.logspace(0, 1, -2), ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_matches_torch(name):
    fn, *arrays = CASES[name]
    raises_like(fn, *arrays)
