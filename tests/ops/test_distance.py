"""distance.py against torch: gradients where points coincide (cdist, pdist, dist), the
clamped norms of cosine_similarity, pairwise_distance's eps, renorm, and the modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_check import check

import tapegrad as tg

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.0, float("inf")])
def test_cdist_and_pdist_with_coincident_points(p):
    a = RNG.standard_normal((4, 3))
    b = np.concatenate([a[:2], RNG.standard_normal((2, 3))])
    check(lambda m, x, y: m.cdist(x, y, p=p), a, b)
    check(lambda m, x: m.nn.functional.pdist(x, p), np.concatenate([a, a[:1]]))


def test_dist_of_equal_tensors_has_zero_gradient():
    a = RNG.standard_normal((2, 3))
    check(lambda m, x, y: m.dist(x, y), a, a.copy())


def test_cosine_similarity_clamps_tiny_norms_but_not_their_gradient():
    a = np.array([[1e-12, 0.0, 0.0], [1.0, 2.0, 3.0]])
    b = RNG.standard_normal((2, 3))
    check(lambda m, x, y: m.nn.functional.cosine_similarity(x, y, dim=1, eps=1e-8), a, b)
    check(lambda m, x, y: m.nn.functional.cosine_similarity(x, y, dim=0), a, b[:1])


def test_pairwise_distance_and_renorm():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    check(lambda m, x, y: m.nn.functional.pairwise_distance(x, y, 1.5, keepdim=True), a, b)
    check(lambda m, x: m.renorm(x, 2, 0, 1.0), 3 * a)


def test_distance_modules_match_torch():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    for ours, theirs in ((tg.nn.CosineSimilarity(dim=0), torch.nn.CosineSimilarity(dim=0)),
                         (tg.nn.PairwiseDistance(p=3.0), torch.nn.PairwiseDistance(p=3.0))):
        got = ours(tg.tensor(a), tg.tensor(b)).numpy()
        want = theirs(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert repr(tg.nn.CosineSimilarity()) == repr(torch.nn.CosineSimilarity())
