"""Channel and alpha dropout: what torch's database cannot compare (the random values).

The masks come from tapegrad's generator, so the checks are structural and statistical:
channel dropout zeroes whole (sample, channel) slices and scales the rest by 1/(1-p); alpha
dropout keeps a standard normal input at mean 0 and variance 1 (its purpose) and sets
dropped values to a' * (-alpha') + b; eval mode is the identity; gradients are the mask.
``native_dropout_backward`` is compared with torch exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
import tapegrad.nn as nn
import tapegrad.nn.functional as F


@pytest.mark.parametrize("fn, shape, unbatched", [
    (F.dropout1d, (8, 6, 5), False), (F.dropout2d, (8, 6, 4, 3), False),
    (F.dropout3d, (8, 6, 2, 3, 2), False), (F.dropout1d, (6, 5), True),
    (F.dropout3d, (6, 2, 3, 2), True)])
def test_channel_dropout_drops_whole_channels(fn, shape, unbatched):
    tapegrad.manual_seed(0)
    x = tapegrad.ones(*shape, dtype=tapegrad.float64, requires_grad=True)
    y = fn(x, p=0.5, training=True)
    y.sum().backward()
    out = y.detach().numpy()
    per_channel = out.reshape((1,) + shape if unbatched else shape)
    per_channel = per_channel.reshape(per_channel.shape[0], per_channel.shape[1], -1)
    # each channel is all 0 or all 2 (= 1 / (1 - p)), and both occur
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).mean() < 1
    np.testing.assert_array_equal(x.grad.numpy(), out)  # d(sum y)/dx is the scaled mask


def test_alpha_dropout_keeps_mean_and_variance():
    tapegrad.manual_seed(1)
    x = tapegrad.randn(200_000, dtype=tapegrad.float64)
    y = F.alpha_dropout(x, p=0.3, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02
    # a dropped value is the same constant everywhere: a * (-alpha') + b
    alpha = 1.7580993408473766
    a = 1 / np.sqrt((alpha ** 2 * 0.3 + 1) * 0.7)
    dropped = (0 - 1) * alpha * a + alpha * a * 0.3  # (keep - 1) alpha' a + alpha' a p
    frac = np.isclose(y, dropped).mean()
    assert 0.28 < frac < 0.32


def test_feature_alpha_dropout_per_channel():
    tapegrad.manual_seed(2)
    x = tapegrad.zeros(64, 8, 5, dtype=tapegrad.float64)
    y = F.feature_alpha_dropout(x, p=0.5, training=True).numpy()
    assert np.all(y == y[:, :, :1])  # x = 0: each channel is one constant (a*0 + b)
    assert len(np.unique(y.round(12))) == 2


@pytest.mark.parametrize("module, fn", [(nn.Dropout1d, F.dropout1d), (nn.Dropout2d, F.dropout2d),
                                        (nn.Dropout3d, F.dropout3d),
                                        (nn.AlphaDropout, F.alpha_dropout),
                                        (nn.FeatureAlphaDropout, F.feature_alpha_dropout)])
def test_modules_eval_is_identity_and_train_matches_function(module, fn):
    x = tapegrad.randn(4, 3, 2, 2, 2)
    x3 = x.reshape(4, 3, 8) if module is nn.Dropout1d else \
        x.reshape(4, 3, 2, 4) if module is nn.Dropout2d else x
    m = module(p=0.4)
    m.eval()
    assert m(x3) is x3
    m.train()
    tapegrad.manual_seed(3)
    got = m(x3)
    tapegrad.manual_seed(3)
    np.testing.assert_array_equal(got.numpy(), fn(x3, 0.4, True).numpy())


def test_p_out_of_range_and_bad_rank():
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        F.alpha_dropout(tapegrad.ones(2), p=1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout2d(p=-0.1)
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(tapegrad.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        torch.nn.functional.dropout1d(torch.ones(2, 3, 4, 5))


def test_native_dropout_backward_matches_torch():
    """torch has it only as ``torch.ops.aten.native_dropout_backward`` (its database lists
    it as an op); tapegrad exposes it at the top level."""
    rng = np.random.default_rng(4)
    grad = rng.standard_normal((3, 4))
    mask = rng.random((3, 4)) > 0.5
    got = tapegrad.native_dropout_backward(tapegrad.tensor(grad), tapegrad.tensor(mask), 2.0)
    want = torch.ops.aten.native_dropout_backward(torch.tensor(grad), torch.tensor(mask), 2.0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
