"""``out=`` (tapegrad/ops/out_arg.py) against torch: values written into ``out`` and ``out``
returned, the resize warning, dtype casts, and the refusals (autograd, overlap, dtype)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import tapegrad

A = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
IDX = np.array([[0, 2], [1, 3], [3, 0]])


def _calls(lib):
    """name -> (function of out, out factory): each op writing into a given out."""
    a = lib.tensor(A)
    idx = lib.tensor(IDX)
    return {
        "cat": lambda out: lib.cat([a, a], 0, out=out),
        "stack": lambda out: lib.stack([a, a], out=out),
        "gather": lambda out: lib.gather(a, 1, idx, out=out),
        "take": lambda out: lib.take(a, idx, out=out),
        "index_select": lambda out: lib.index_select(a, 1, idx[0], out=out),
        "masked_select": lambda out: lib.masked_select(a, a > 0.5, out=out),
        "amax": lambda out: lib.amax(a, 1, out=out),
        "amin": lambda out: lib.amin(a, 0, out=out),
    }


def _outcome(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn()
        except Exception as exc:
            return type(exc), None, caught
    return None, value, caught


@pytest.mark.parametrize("op", list(_calls(torch)))
@pytest.mark.parametrize("out_kind", ["same shape", "empty", "other shape", "float64",
                                      "int64", "expanded"])
def test_out_matches_torch(op, out_kind):
    def make(lib):
        shape = _calls(torch)[op](None).shape  # torch's result shape (out=None: no out)
        if out_kind == "same shape":
            return lib.zeros(shape)
        if out_kind == "empty":
            return lib.zeros(0)
        if out_kind == "other shape":
            return lib.zeros(2)
        if out_kind == "float64":
            return lib.zeros(shape, dtype=lib.float64)
        if out_kind == "int64":
            return lib.zeros(shape, dtype=lib.int64)
        return lib.zeros(1).expand(*shape) if len(shape) else lib.zeros(())

    t_out, g_out = make(torch), make(tapegrad)
    t_err, t_val, t_warn = _outcome(lambda: _calls(torch)[op](t_out))
    g_err, g_val, g_warn = _outcome(lambda: _calls(tapegrad)[op](g_out))
    assert g_err is t_err
    if t_err is None:
        assert g_val is g_out  # out itself is returned
        assert g_val.dtype.name == str(t_val.dtype).removeprefix("torch.")
        if out_kind == "expanded":
            return  # a reduction into one memory location: which value wins is undefined
        np.testing.assert_allclose(g_val.numpy(), t_val.numpy(), rtol=1e-6)
        assert len(g_warn) == len(t_warn)
        if t_warn:
            assert "resized" in str(g_warn[0].message)


def test_out_refuses_autograd_and_overlap_like_torch():
    for lib in (torch, tapegrad):
        x = lib.tensor(A, requires_grad=True)
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.cat([x, x], out=lib.zeros(6, 4))
        with lib.no_grad():
            assert lib.cat([x, x], out=lib.zeros(6, 4)).shape == (6, 4)
        y = lib.tensor(A)
        with pytest.raises(RuntimeError, match="refer to a single memory location"):
            lib.index_select(y, 0, lib.tensor([0, 1, 2]), out=y)
        with pytest.raises(TypeError, match="'out' must be Tensor"):
            lib.cat([y, y], out=np.zeros((6, 4)))


def test_out_bumps_the_version():
    out = tapegrad.zeros(6, 4)
    before = out._version
    tapegrad.cat([tapegrad.tensor(A)] * 2, out=out)
    assert out._version == before + 1


def test_arange_out_takes_the_dtype_of_out():
    for lib in (torch, tapegrad):
        out = lib.zeros(0, dtype=lib.int64)
        assert lib.arange(0, 5, out=out) is out
        assert out.tolist() == [0, 1, 2, 3, 4]
        with pytest.raises(ValueError, match="step must be nonzero"):
            lib.arange(0, 5, 0.5, out=lib.zeros(0, dtype=lib.int64))
