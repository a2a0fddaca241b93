"""Margin, embedding and likelihood losses against torch in float64 where the database
does not reach: the legacy size_average/reduce flags, a custom distance function, the
Gaussian NLL's clamped variance (value clamped, gradient not), Poisson's Stirling term, and
the modules' constructor checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn
import tapegrad.nn.functional as F

RTOL = ATOL = 1e-10


def _t(a, grad=False):
    return tapegrad.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _check(name, *arrays, grad_of=(0,), **kw):
    pairs = [_t(a, i in grad_of) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy flags' deprecation notice
        got = getattr(F, name)(*[p[0] for p in pairs], **kw)
        want = getattr(torch.nn.functional, name)(*[p[1] for p in pairs], **kw)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL,
                               atol=ATOL)
    cot = np.random.default_rng(9).standard_normal(got.shape)
    got.backward(tapegrad.tensor(cot))
    want.backward(torch.tensor(cot))
    for i in grad_of:
        np.testing.assert_allclose(pairs[i][0].grad.numpy(), pairs[i][1].grad.numpy(),
                                   rtol=RTOL, atol=ATOL)


rng = np.random.default_rng(0)
X, Y = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
SIGNS = np.where(rng.random((6, 5)) > 0.5, 1.0, -1.0)


@pytest.mark.parametrize("flags", [dict(size_average=False), dict(reduce=False),
                                   dict(size_average=True, reduce=True)])
def test_legacy_flags(flags):
    _check("soft_margin_loss", X, SIGNS, **flags)
    _check("hinge_embedding_loss", X, SIGNS, **flags)
    _check("margin_ranking_loss", X, Y, SIGNS, grad_of=(0, 1), margin=0.3, **flags)
    _check("multi_margin_loss", X, np.array([0, 4, 2, 2, 1, 3]), p=2, margin=0.7, **flags)


def test_custom_distance_and_swap():
    def cosine_distance(a, b):
        return 1.0 - (a * b).sum(-1) / ((a * a).sum(-1) * (b * b).sum(-1)).sqrt()

    a, p, n = (rng.standard_normal((4, 3)) for _ in range(3))
    pairs = [_t(v, True) for v in (a, p, n)]
    got = F.triplet_margin_with_distance_loss(*[q[0] for q in pairs],
                                              distance_function=cosine_distance, swap=True,
                                              margin=0.5, reduction="none")
    want = torch.nn.functional.triplet_margin_with_distance_loss(
        *[q[1] for q in pairs], distance_function=cosine_distance, swap=True, margin=0.5,
        reduction="none")
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL)
    loss = nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, margin=0.5,
                                            swap=True)
    np.testing.assert_allclose(loss(*[q[0] for q in pairs]).detach().numpy(),
                               want.mean().detach().numpy(), rtol=RTOL)


def test_gaussian_nll_clamped_variance_keeps_its_gradient():
    var = np.abs(rng.standard_normal((6, 5)))
    var[0, :3] = 1e-9  # below eps: the value is clamped, the gradient still flows
    _check("gaussian_nll_loss", X, Y, var, grad_of=(0, 2), full=True)
    _check("gaussian_nll_loss", X, Y, var[:, :1], grad_of=(0, 2), reduction="sum")
    _check("gaussian_nll_loss", X, Y, var[:, 0], grad_of=(0, 2), reduction="none")


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_full_stirling_term(log_input):
    target = rng.integers(0, 6, (6, 5)).astype(np.float64)
    rate = np.abs(X) + 0.1
    _check("poisson_nll_loss", X if log_input else rate, target, log_input=log_input,
           full=True)


def test_multilabel_losses_and_cosine_embedding():
    labels = np.array([[3, 0, -1, 1, 2], [1, 1, -1, 4, 4], [-1, 0, 0, 0, 0],
                       [4, 3, 2, 1, 0], [0, -1, 2, 3, 4], [2, 2, 2, -1, 0]])
    _check("multilabel_margin_loss", X, labels, reduction="none")
    _check("multilabel_soft_margin_loss", X, (SIGNS > 0).astype(np.float64), np.abs(Y[0]),
           grad_of=(0,))
    _check("cosine_embedding_loss", X, Y, SIGNS[:, 0], grad_of=(0, 1), margin=0.2)


def test_module_constructor_checks_match_torch():
    for tg_cls, th_cls in ((nn.TripletMarginLoss, torch.nn.TripletMarginLoss),
                           (nn.TripletMarginWithDistanceLoss,
                            torch.nn.TripletMarginWithDistanceLoss)):
        with pytest.raises(ValueError, match="expected margin to be greater than 0"):
            tg_cls(margin=0.0)
        with pytest.raises(ValueError, match="expected margin to be greater than 0"):
            th_cls(margin=0.0)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        torch.nn.MultiMarginLoss(p=3)
