"""EmbeddingBag, Bilinear and the Transformer decoder against torch in float64 (weights
copied through state_dict), beyond the database's samples: the max mode's gradient goes to
the winning rows only, padding indices are left out of sums and means, and the causal mask
of `Transformer.generate_square_subsequent_mask` is torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn
import tapegrad.nn.functional as F


def _load(tg_mod, th_mod):
    tg_mod.load_state_dict({k: tapegrad.tensor(v.detach().numpy())
                            for k, v in th_mod.state_dict().items()})


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(mode):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 3))
    idx = np.array([1, 2, 2, 4, 0, 6, 3, 3, 5])
    offsets = np.array([0, 3, 3, 6])  # the second bag is empty
    g, t = tapegrad.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = F.embedding_bag(tapegrad.tensor(idx), g, tapegrad.tensor(offsets), mode=mode,
                          padding_idx=3)
    want = torch.nn.functional.embedding_bag(torch.tensor(idx), t, torch.tensor(offsets),
                                             mode=mode, padding_idx=3)
    np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    cot = rng.standard_normal(out.shape)
    out.backward(tapegrad.tensor(cot))
    want.backward(torch.tensor(cot))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_embedding_bag_module_and_per_sample_weights():
    th = torch.nn.EmbeddingBag(6, 4, mode="sum").double()
    tg = nn.EmbeddingBag(6, 4, mode="sum").double()
    _load(tg, th)
    idx = np.array([[0, 2, 5], [1, 1, 3]])
    psw = np.random.default_rng(1).standard_normal(idx.shape)
    got = tg(tapegrad.tensor(idx), per_sample_weights=tapegrad.tensor(psw))
    want = th(torch.tensor(idx), per_sample_weights=torch.tensor(psw))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(tapegrad.tensor(idx), tg.weight, mode="mean",
                        per_sample_weights=tapegrad.tensor(psw))
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(tapegrad.tensor(idx), tg.weight, tapegrad.tensor(np.array([0])))


def test_bilinear_module_matches_torch():
    th = torch.nn.Bilinear(3, 4, 2).double()
    tg = nn.Bilinear(3, 4, 2).double()
    bound = 1 / np.sqrt(3)
    assert np.all(np.abs(tg.weight.detach().numpy()) <= bound)
    _load(tg, th)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(tg(tapegrad.tensor(a), tapegrad.tensor(b)).detach().numpy(),
                               th(torch.tensor(a), torch.tensor(b)).detach().numpy(),
                               rtol=1e-12)


def test_square_subsequent_mask():
    got = nn.Transformer.generate_square_subsequent_mask(4)
    want = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert got.dtype == tapegrad.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_with_causal_mask_matches_torch(norm_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first)
    torch.manual_seed(0)
    th = torch.nn.Transformer(**kw).double()
    tg = nn.Transformer(**kw).double()
    _load(tg, th)
    rng = np.random.default_rng(3)
    src, tgt = rng.standard_normal((2, 5, 8)), rng.standard_normal((2, 4, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=tapegrad.float64)
    g_src = tapegrad.tensor(src, requires_grad=True)
    got = tg(g_src, tapegrad.tensor(tgt), tgt_mask=mask)
    t_src = torch.tensor(src, requires_grad=True)
    want = th(t_src, torch.tensor(tgt),
              tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(
                  4, dtype=torch.float64))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(g_src.grad.numpy(), t_src.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_transformer_shape_errors_match_torch():
    tg = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                        dim_feedforward=8)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        tg(tapegrad.ones(3, 2, 8), tapegrad.ones(3, 4, 8))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        tg(tapegrad.ones(3, 2, 8), tapegrad.ones(3, 2, 6))
