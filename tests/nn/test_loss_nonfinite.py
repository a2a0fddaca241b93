"""Every loss with a NaN, +inf or -inf in its input or target, against torch.

A NaN in the data must show in the loss *and* in the gradient: HuberLoss and SmoothL1Loss
used to give a NaN loss but a 0 gradient at the NaN element (sign(NaN) is 0), so an
optimizer step silently ignored the bad sample. Values and gradients (of the input and,
where the target is differentiable, of the target) are compared in float64 with NaNs
equal, and any warning (numpy's "invalid value encountered") fails the test: torch
computes these IEEE results silently.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad

NAN, INF = float("nan"), float("inf")
# (module name, kwargs, kind): "real" targets are differentiable, "prob" inputs are in [0, 1],
# "index" targets are class indices, "soft" targets are class probabilities
LOSSES = [
    ("L1Loss", {}, "real"),
    ("MSELoss", {}, "real"),
    ("SmoothL1Loss", {}, "real"),
    ("SmoothL1Loss", {"beta": 0.0}, "real"),
    ("SmoothL1Loss", {"beta": 0.5, "reduction": "none"}, "real"),
    ("HuberLoss", {}, "real"),
    ("HuberLoss", {"delta": 2.0, "reduction": "sum"}, "real"),
    ("BCELoss", {}, "prob"),
    ("BCEWithLogitsLoss", {}, "real"),
    ("BCEWithLogitsLoss", {"pos_weight": [1.0, 2.0, 0.5]}, "real"),
    ("BCEWithLogitsLoss", {"weight": [1.0, 0.0, 2.0], "reduction": "none"}, "real"),
    ("KLDivLoss", {"reduction": "batchmean"}, "real"),
    ("KLDivLoss", {"log_target": True, "reduction": "sum"}, "real"),
    ("CrossEntropyLoss", {}, "index"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "index"),
    ("NLLLoss", {}, "index"),
    ("CrossEntropyLoss", {}, "soft"),
]
CASES = [(name, kw, kind, special, where)
         for name, kw, kind in LOSSES for special in (NAN, INF, -INF)
         for where in ("input", "target") if not (kind == "index" and where == "target")]


def _run(lib, name, kw, kind, x, t):
    kw = {k: lib.tensor(v, dtype=lib.float64) if isinstance(v, list) else v
          for k, v in kw.items()}
    xx = lib.tensor(x, requires_grad=True)
    tt = lib.tensor(np.array([1, 2])) if kind == "index" else lib.tensor(t)
    if kind == "real":
        tt.requires_grad_(True)
    loss = getattr(lib.nn, name)(**kw)(xx, tt)
    loss.sum().backward()
    return (loss.detach().numpy(), xx.grad.numpy(),
            None if tt.grad is None else tt.grad.numpy())


@pytest.mark.parametrize(("name", "kw", "kind", "special", "where"), CASES,
                         ids=[f"{c[0]}{c[1] or ''}-{c[4]}={c[3]}" for c in CASES])
def test_nonfinite_loss_matches_torch(name, kw, kind, special, where):
    x = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.7]])
    if kind == "prob":
        x = np.abs(x)
    t = np.array([[0.2, 0.9, 0.5], [0.6, 0.1, 0.3]])
    (x if where == "input" else t)[0, 1] = special
    try:
        want = _run(torch, name, kw, kind, x, t)
    except RuntimeError as exc:  # BCELoss refuses values outside [0, 1] (NaN too)
        with pytest.raises(RuntimeError, match=f"^{exc}$"):
            _run(tapegrad, name, kw, kind, x, t)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _run(tapegrad, name, kw, kind, x, t)
    for g, w, what in zip(got, want, ("loss", "input grad", "target grad"),
                            strict=True):
        assert (g is None) == (w is None), what
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, equal_nan=True,
                                       err_msg=what)


def test_nan_reaches_the_huber_gradient():
    """The issue's case, spelled out: the NaN element's gradient is NaN, the others finite."""
    x = tapegrad.tensor([0.5, NAN, -2.0], requires_grad=True)
    tapegrad.nn.HuberLoss()(x, tapegrad.zeros(3)).backward()
    assert np.isnan(x.grad.numpy()[1])
    assert np.isfinite(x.grad.numpy()[[0, 2]]).all()
