"""Losses vs torch: error messages (same type, same text but the library's name) and
warnings, for every loss function."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as TF

import tapegrad as tg
import tapegrad.nn.functional as F


def _error(fn):
    try:
        fn()
    except Exception as e:  # comparing whatever both libraries raise
        return type(e), str(e)
    raise AssertionError("no error raised")


def _both(lib, build):
    fns = F if lib is tg else TF
    return build(lib, fns)


ERRORS = {
    "target-out-of-bounds": lambda lib, f: f.nll_loss(lib.randn(3, 4), lib.tensor([0, 12, 1])),
    "target-out-of-bounds-4d": lambda lib, f: f.nll_loss(lib.randn(2, 3, 2, 2),
                                                         lib.full((2, 2, 2), 5)),
    "target-negative-smooth": lambda lib, f: f.cross_entropy(
        lib.randn(3, 4), lib.tensor([0, -3, 1]), label_smoothing=0.1),
    "reduction": lambda lib, f: f.nll_loss(lib.randn(3, 4), lib.tensor([0, 1, 1]),
                                           reduction="avg"),
    "reduction-mse": lambda lib, f: f.mse_loss(lib.ones(2), lib.ones(2), reduction="foo"),
    "reduction-kl": lambda lib, f: f.kl_div(lib.ones(2), lib.ones(2), reduction="foo"),
    "reduction-ce-batchmean": lambda lib, f: f.cross_entropy(
        lib.randn(3, 4), lib.tensor([0, 1, 1]), reduction="batchmean"),
    "reduction-weighted": lambda lib, f: f.l1_loss(lib.ones(3), lib.ones(3),
                                                   weight=lib.ones(3), reduction="x"),
    "weighted-size": lambda lib, f: f.mse_loss(lib.ones(3), lib.ones(3), weight=lib.ones(2)),
    "bce-input-range": lambda lib, f: f.binary_cross_entropy(lib.tensor([0.5, 1.5]),
                                                             lib.tensor([0.0, 1.0])),
    "bce-input-nan": lambda lib, f: f.binary_cross_entropy(lib.tensor([float("nan")]),
                                                           lib.tensor([0.0])),
    "bce-target-range": lambda lib, f: f.binary_cross_entropy(lib.tensor([0.5]),
                                                              lib.tensor([2.0])),
    "bce-size": lambda lib, f: f.binary_cross_entropy(lib.rand(3, 4), lib.rand(3)),
    "bce-target-dtype": lambda lib, f: f.binary_cross_entropy(
        lib.rand(3), lib.rand(3, dtype=lib.float64)),
    "bce-weight-broadcast": lambda lib, f: f.binary_cross_entropy(
        lib.rand(3, 4), lib.rand(3, 4), weight=lib.rand(3)),
    "bce-weight-grows": lambda lib, f: f.binary_cross_entropy(
        lib.rand(3, 4), lib.rand(3, 4), weight=lib.rand(2, 3, 4)),
    "bcel-size": lambda lib, f: f.binary_cross_entropy_with_logits(lib.rand(3, 4),
                                                                   lib.rand(4)),
    "bcel-pos-weight": lambda lib, f: f.binary_cross_entropy_with_logits(
        lib.rand(3, 4), lib.rand(3, 4), pos_weight=lib.rand(3)),
    "bcel-int-target": lambda lib, f: f.binary_cross_entropy_with_logits(
        lib.rand(3), lib.ones(3, dtype=lib.int64)),
    "batch-size": lambda lib, f: f.cross_entropy(lib.randn(3, 4), lib.tensor([0, 1])),
    "float-target": lambda lib, f: f.nll_loss(lib.randn(3, 4), lib.tensor([0.0, 1.0, 2.0])),
    "int32-target": lambda lib, f: f.cross_entropy(lib.randn(3, 4),
                                                   lib.tensor([0, 1, 2], dtype=lib.int32)),
    "multi-target": lambda lib, f: f.nll_loss(lib.randn(2, 3), lib.zeros(2, 1, dtype=lib.int64)),
    "unbatched-target": lambda lib, f: f.nll_loss(lib.randn(3), lib.tensor([1, 2])),
    "0d-input": lambda lib, f: f.nll_loss(lib.tensor(1.0), lib.tensor(0)),
    "4d-target-dims": lambda lib, f: f.nll_loss(lib.randn(2, 3, 4, 5),
                                                lib.zeros(2, 4, dtype=lib.int64)),
    "4d-target-size": lambda lib, f: f.nll_loss(lib.randn(2, 3, 4, 5),
                                                lib.zeros(2, 4, 4, dtype=lib.int64)),
    "3d-target-size": lambda lib, f: f.cross_entropy(lib.randn(2, 3, 4),
                                                     lib.zeros(2, 5, dtype=lib.int64)),
    "weight-size": lambda lib, f: f.cross_entropy(lib.randn(3, 4), lib.tensor([0, 1, 2]),
                                                  weight=lib.ones(2)),
    "weight-size-4d": lambda lib, f: f.nll_loss(lib.randn(2, 3, 2, 2), lib.ones(2, 2, 2,
                                                dtype=lib.int64), weight=lib.ones(2)),
    "weight-dtype": lambda lib, f: f.nll_loss(lib.randn(3, 4), lib.tensor([0, 1, 2]),
                                              weight=lib.ones(4, dtype=lib.float64)),
    "probs-weight-size": lambda lib, f: f.cross_entropy(lib.randn(3, 4), lib.rand(3, 4),
                                                        weight=lib.ones(3)),
    "probs-int-target": lambda lib, f: f.cross_entropy(lib.randn(3), lib.tensor([0, 1, 2])),
    "probs-ignore-index": lambda lib, f: f.cross_entropy(lib.randn(3, 4), lib.rand(3, 4),
                                                         ignore_index=1),
    "smoothing-range": lambda lib, f: f.cross_entropy(lib.randn(3, 4), lib.tensor([0, 1, 2]),
                                                      label_smoothing=1.5),
    "int-logits": lambda lib, f: f.cross_entropy(lib.ones(2, 3, dtype=lib.int64),
                                                 lib.tensor([0, 1])),
    "int-log-probs": lambda lib, f: f.nll_loss(lib.ones(2, 3, dtype=lib.int64),
                                               lib.tensor([0, 1])),
    "mse-int": lambda lib, f: f.mse_loss(lib.ones(2, dtype=lib.int64),
                                         lib.ones(2, dtype=lib.int64)),
    "mse-broadcast": lambda lib, f: f.mse_loss(lib.ones(2, 3), lib.ones(4)),
    "smooth-l1-beta": lambda lib, f: f.smooth_l1_loss(lib.ones(2), lib.ones(2), beta=-1.0),
    "huber-delta": lambda lib, f: f.huber_loss(lib.ones(2), lib.ones(2), delta=0.0),
    "huber-int-input": lambda lib, f: f.huber_loss(lib.ones(2, dtype=lib.int64), lib.ones(2)),
    "kl-int": lambda lib, f: f.kl_div(lib.ones(2, dtype=lib.int64), lib.ones(2), reduction="sum"),
}


@pytest.mark.parametrize("build", ERRORS.values(), ids=ERRORS.keys())
def test_errors_match_torch(build):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the size warnings some of these emit first
        kind, message = _error(lambda: _both(tg, build))
        kind_t, message_t = _error(lambda: _both(torch, build))
    assert kind is kind_t
    assert message == message_t.replace("torch", "tapegrad")


def test_fused_path_target_error_starts_with_torchs_text():
    with pytest.raises(IndexError, match=r"^Target 12 is out of bounds\."):
        F.cross_entropy(tg.randn(3, 4), tg.tensor([0, 12, 1]))
    with pytest.raises(IndexError, match=r"^Target -1 is out of bounds\."):
        F.cross_entropy(tg.randn(4), tg.tensor(-1))


def _warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("build", [
    lambda lib, f: f.mse_loss(lib.ones(2, 3), lib.ones(3)),
    lambda lib, f: f.l1_loss(lib.ones(3), lib.ones(2, 3)),
    lambda lib, f: f.smooth_l1_loss(lib.ones(2, 3), lib.ones(1, 3)),
    lambda lib, f: f.huber_loss(lib.ones(2, 3), lib.tensor(1.0)),
    lambda lib, f: f.kl_div(lib.ones(2), lib.ones(2)),
    lambda lib, f: f.mse_loss(lib.ones(2), lib.ones(2), size_average=False),
    lambda lib, f: f.nll_loss(lib.zeros(2, 3), lib.tensor([0, 1]), reduce=False),
    lambda lib, f: f.mse_loss(lib.ones(2), lib.ones(2), reduction="elementwise_mean"),
], ids=["mse", "l1", "smooth_l1", "huber", "kl-mean", "legacy-sum", "legacy-none",
        "elementwise_mean"])
def test_warnings_match_torch(build):
    got = _warnings(lambda: _both(tg, build))
    want = _warnings(lambda: _both(torch, build))
    assert got and got == [(c, m.replace("torch", "tapegrad")) for c, m in want]
