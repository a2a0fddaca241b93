"""Shared helpers of the reduction suites (test_reduction*.py): run ``fn(lib, *xs)`` on
tapegrad and on torch and compare the output and every input gradient.

Imported by its sibling test modules as ``from reduction_check import check_against_torch``
(pytest's default "prepend" import mode puts this folder, which has no ``__init__.py``, on
``sys.path``)."""

from __future__ import annotations

import numpy as np
import torch

import tapegrad as tg

F64 = dict(rtol=1e-10, atol=1e-12)
F32 = dict(rtol=1e-5, atol=1e-5)


def leaves(*arrays: np.ndarray, dtype: str = "float64"):
    """The same values as tapegrad and torch leaves that require grad."""
    ours = [tg.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    return ours, theirs


def first(out):
    return out[0] if isinstance(out, tuple) else out


def check_against_torch(fn, *arrays: np.ndarray, dtype: str = "float64", seed: int = 0):
    """Run ``fn(lib, *xs)`` in both libraries; compare output and every input gradient."""
    tol = F64 if dtype == "float64" else F32
    ours, theirs = leaves(*arrays, dtype=dtype)
    y, yt = first(fn(tg, *ours)), first(fn(torch, *theirs))
    assert tuple(y.shape) == tuple(yt.shape)
    assert str(y.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), **tol)
    if not yt.requires_grad:
        return
    seed_grad = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(dtype)
    y.backward(tg.tensor(seed_grad))
    yt.backward(torch.tensor(seed_grad))
    for a, b in zip(ours, theirs, strict=True):
        want = np.zeros(b.shape, dtype=dtype) if b.grad is None else b.grad.numpy()
        got = np.zeros(tuple(a.shape), dtype=dtype) if a.grad is None else a.grad.numpy()
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **tol)

