"""F.ctc_loss / nn.CTCLoss against torch in float64: padded and concatenated targets, an
unbatched input, inputs shorter than T, repeated labels (which forbid the blank skip),
impossible alignments with and without zero_infinity, every reduction, and the gradient of
the log-probabilities (torch's convention: the exact derivative plus exp(log_probs))."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn
import tapegrad.nn.functional as F

RTOL = ATOL = 1e-10


def _case(seed: int, t_max: int = 12, batch: int = 4, classes: int = 5, s_max: int = 4):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((t_max, batch, classes))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = rng.integers(1, classes, (batch, s_max))
    targets[0, :3] = [2, 2, 3]  # a repeat: the path must pass a blank between the 2s
    in_len = rng.integers(t_max - 4, t_max + 1, batch)
    tgt_len = rng.integers(0, s_max + 1, batch)
    tgt_len[0] = 3
    return lp, targets, in_len, tgt_len


def _both(lp, targets, in_len, tgt_len, **kw):
    """(tapegrad loss, its grad, torch loss, its grad) for the same arguments."""
    cot = np.random.default_rng(7).standard_normal(
        () if kw.get("reduction", "mean") != "none" else (lp.shape[1] if lp.ndim == 3 else ()))
    g = tapegrad.tensor(lp, requires_grad=True)
    out = F.ctc_loss(g, tapegrad.tensor(targets), tapegrad.tensor(in_len),
                     tapegrad.tensor(tgt_len), **kw)
    out.backward(tapegrad.tensor(cot))
    t = torch.tensor(lp, requires_grad=True)
    want = torch.nn.functional.ctc_loss(t, torch.tensor(targets), torch.tensor(in_len),
                                        torch.tensor(tgt_len), **kw)
    want.backward(torch.tensor(cot))
    return out, g.grad, want, t.grad


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("seed", [0, 1])
def test_padded_targets_match_torch(reduction, seed):
    out, grad, want, want_grad = _both(*_case(seed), reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=RTOL, atol=ATOL)


def test_concatenated_targets_match_padded():
    lp, targets, in_len, tgt_len = _case(2)
    flat = np.concatenate([targets[n, :tgt_len[n]] for n in range(len(tgt_len))])
    out, grad, want, want_grad = _both(lp, flat, in_len, tgt_len, reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=RTOL, atol=ATOL)


def test_unbatched_input():
    lp, targets, _, _ = _case(3, batch=1)
    lp2 = lp[:, 0]
    out, grad, want, want_grad = _both(lp2, targets[0, :3], np.array(10), np.array(3),
                                       reduction="none")
    assert out.shape == want.shape == ()
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment(zero_infinity):
    """Three labels with a repeat need 4 steps; 3 steps give an infinite loss."""
    lp, targets, in_len, tgt_len = _case(4)
    in_len[0] = 3
    out, grad, want, want_grad = _both(lp, targets, in_len, tgt_len, reduction="none",
                                       zero_infinity=zero_infinity)
    assert np.isinf(want.detach().numpy()[0]) != zero_infinity
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(grad.numpy(), want_grad.numpy(), rtol=RTOL, atol=ATOL,
                               equal_nan=True)


def test_module_and_float32():
    lp, targets, in_len, tgt_len = _case(5)
    loss = nn.CTCLoss(blank=0, reduction="sum")
    got = loss(tapegrad.tensor(lp.astype(np.float32)), tapegrad.tensor(targets),
               tapegrad.tensor(in_len), tapegrad.tensor(tgt_len))
    want = torch.nn.CTCLoss(blank=0, reduction="sum")(
        torch.tensor(lp.astype(np.float32)), torch.tensor(targets), torch.tensor(in_len),
        torch.tensor(tgt_len))
    assert got.dtype == tapegrad.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_errors_match_torch():
    lp, targets, in_len, tgt_len = _case(6)
    bad_len = in_len.copy()
    bad_len[0] = lp.shape[0] + 1
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most"):
        F.ctc_loss(tapegrad.tensor(lp), tapegrad.tensor(targets), tapegrad.tensor(bad_len),
                   tapegrad.tensor(tgt_len))
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most"):
        torch.nn.functional.ctc_loss(torch.tensor(lp), torch.tensor(targets),
                                     torch.tensor(bad_len), torch.tensor(tgt_len))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.ctc_loss(tapegrad.tensor(lp), tapegrad.tensor(targets), tapegrad.tensor(in_len),
                   tapegrad.tensor(tgt_len), reduction="avg")
