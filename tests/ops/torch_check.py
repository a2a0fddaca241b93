"""Shared helpers of the tests/ops suites: run the same code on tapegrad and on torch and
compare values, shapes, dtypes, node names, input grads and raised errors.

Imported by its sibling test modules as ``from torch_check import check`` (pytest's default
"prepend" import mode puts this folder, which has no ``__init__.py``, on ``sys.path``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import tapegrad as tg

TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


def leaves(arrays: tuple, dtype: str) -> tuple[list, list]:
    """tapegrad and torch copies: float arrays in ``dtype`` requiring grad, others as is."""
    ours, theirs = [], []
    for a in arrays:
        if isinstance(a, np.ndarray):
            if a.dtype.kind == "f":
                a = a.astype(dtype)
            ours.append(tg.tensor(a.copy(), requires_grad=a.dtype.kind == "f"))
            theirs.append(torch.tensor(a.copy(), requires_grad=a.dtype.kind == "f"))
        else:
            ours.append(a)
            theirs.append(a)
    return ours, theirs


def assert_close(got: Any, want: Any, dtype: str = "float64") -> None:
    assert isinstance(got, tg.Tensor), type(got)
    w = want.detach().numpy()
    assert tuple(got.shape) == tuple(w.shape), (got.shape, w.shape)
    assert got.dtype.name == str(want.dtype).replace("torch.", ""), (got.dtype, want.dtype)
    np.testing.assert_allclose(got.detach().numpy(), w, **TOL[dtype])


def _flat(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def check(fn: Callable[..., Any], *arrays: Any, dtype: str = "float64", seed: int = 0,
          node: str | None = None) -> tuple:
    """Forward values, shapes, dtypes, node name (``node``) and input grads vs torch."""
    ours, theirs = leaves(arrays, dtype)
    got, want = fn(tg, *ours), fn(torch, *theirs)
    got_l, want_l = _flat(got), _flat(want)
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l, strict=True):
        assert_close(g, w, dtype)
    if node is not None:
        assert got_l[0].grad_fn.name() == node == type(want_l[0].grad_fn).__name__
    rng = np.random.default_rng(seed)
    pairs = [(g, w) for g, w in zip(got_l, want_l, strict=True) if w.requires_grad]
    if pairs:
        seeds = [rng.standard_normal(tuple(w.shape)).astype(dtype) for _, w in pairs]
        torch.autograd.backward([w for _, w in pairs], [torch.tensor(s) for s in seeds])
        tg.autograd.backward([g for g, _ in pairs], [tg.tensor(s) for s in seeds])
        for a, b in zip(ours, theirs, strict=True):
            if isinstance(b, torch.Tensor) and b.requires_grad:
                if b.grad is None:
                    assert a.grad is None or not a.grad.numpy().any()
                else:
                    assert_close(a.grad, b.grad, dtype)
    return got, want


def raises_like(fn: Callable[..., Any], *arrays: Any) -> str:
    """Both libraries raise the same exception type with the same message (modulo name)."""
    ours, theirs = leaves(arrays, "float64")
    try:
        fn(torch, *theirs)
    except Exception as e:  # any exception type, compared below
        want_type, want_msg = type(e), str(e)
    else:
        raise AssertionError("torch did not raise")
    try:
        fn(tg, *ours)
    except Exception as e:
        assert type(e) is want_type, (type(e), want_type, str(e))
        assert str(e).replace("tapegrad", "torch") == want_msg.split("\nException raised")[0], (
            str(e), want_msg)
        return str(e)
    raise AssertionError(f"tapegrad did not raise {want_type.__name__}: {want_msg}")
