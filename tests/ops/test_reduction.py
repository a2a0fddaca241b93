"""Reductions against torch: values, gradients, dtypes, node names, ``(values, indices)``
results, error messages.

Tie conventions, NaN, prod with zeros, var/std and norm edge cases and double backward are
in test_reduction_edge_cases.py."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from reduction_check import check_against_torch

import tapegrad as tg


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


CASES = {
    "sum all": lambda lib, x: x.sum(),
    "sum dim 1": lambda lib, x: x.sum(1),
    "sum dim -1 keepdim": lambda lib, x: x.sum(-1, keepdim=True),
    "sum dims (0, 2)": lambda lib, x: x.sum((0, 2)),
    "sum dims [-1, 0] keepdim": lambda lib, x: lib.sum(x, [-1, 0], keepdim=True),
    "sum dim ()": lambda lib, x: x.sum(()),
    "sum None keepdim": lambda lib, x: x.sum(dim=None, keepdim=True),
    "mean all": lambda lib, x: x.mean(),
    "mean dims": lambda lib, x: x.mean((1, 2), keepdim=True),
    "mean -2": lambda lib, x: lib.mean(x, -2),
    "prod all": lambda lib, x: x.prod(),
    "prod dim": lambda lib, x: x.prod(1),
    "prod dim keepdim": lambda lib, x: x.prod(-1, keepdim=True),
    "cumsum 0": lambda lib, x: x.cumsum(0),
    "cumsum -1": lambda lib, x: lib.cumsum(x, -1),
    "logsumexp 1": lambda lib, x: x.logsumexp(1),
    "logsumexp (0, 2) keepdim": lambda lib, x: lib.logsumexp(x, (0, 2), keepdim=True),
    "max": lambda lib, x: x.max(),
    "min": lambda lib, x: lib.min(x),
    "max dim": lambda lib, x: x.max(1),
    "min dim keepdim": lambda lib, x: x.min(-1, keepdim=True),
    "amax dims": lambda lib, x: x.amax((0, 1)),
    "amin dim keepdim": lambda lib, x: x.amin(2, keepdim=True),
    "amax all": lambda lib, x: lib.amax(x),
    "var all": lambda lib, x: x.var(),
    "var dim": lambda lib, x: x.var(1),
    "var correction 0": lambda lib, x: x.var((0, 2), correction=0, keepdim=True),
    "var unbiased False": lambda lib, x: x.var(0, False),
    "std all": lambda lib, x: x.std(),
    "std dim keepdim": lambda lib, x: x.std(-1, keepdim=True),
    "std correction 2": lambda lib, x: lib.std(x, 1, correction=2),
    "norm": lambda lib, x: x.norm(),
    "norm fro dims": lambda lib, x: x.norm("fro", (0, 1)),
    "norm 1 dim": lambda lib, x: x.norm(1, 1),
    "norm 3 dim keepdim": lambda lib, x: x.norm(3, -1, True),
    "norm 0.5": lambda lib, x: x.norm(0.5),
    "norm inf dim": lambda lib, x: x.norm(float("inf"), 2),
    "norm -inf": lambda lib, x: lib.norm(x, float("-inf")),
    "norm 0": lambda lib, x: x.norm(0, 1),
    "norm -1.5": lambda lib, x: x.norm(-1.5, 0),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name, dtype, rng):
    x = rng.uniform(0.3, 1.5, (2, 3, 4)) * rng.choice([-1.0, 1.0], (2, 3, 4))
    check_against_torch(CASES[name], x, dtype=dtype)


@pytest.mark.parametrize("name", ["sum all", "mean all", "prod all", "max", "amax all",
                                  "logsumexp 1", "cumsum 0", "norm", "sum dim ()"])
def test_zero_dim_input(name, rng):
    fn = CASES[name]
    if name in ("logsumexp 1", "cumsum 0"):
        fn = {"logsumexp 1": lambda lib, x: x.logsumexp(0),
              "cumsum 0": lambda lib, x: x.cumsum(-1)}[name]
    check_against_torch(fn, np.asarray(rng.standard_normal()))


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.sum(), lambda lib, x: x.sum(0), lambda lib, x: x.sum(1),
    lambda lib, x: x.mean(), lambda lib, x: x.mean(0), lambda lib, x: x.mean(1),
    lambda lib, x: x.prod(), lambda lib, x: x.prod(0), lambda lib, x: x.logsumexp(0),
    lambda lib, x: x.logsumexp(1), lambda lib, x: x.amax(1), lambda lib, x: x.norm(),
    lambda lib, x: x.cumsum(0), lambda lib, x: x.max(1),
])
def test_empty_inputs(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_torch(fn, np.zeros((0, 3)))


def test_node_names():
    x = tg.ones(2, 3, requires_grad=True)
    names = {
        "SumBackward0": x.sum(), "SumBackward1": x.sum(0), "MeanBackward0": x.mean(),
        "MeanBackward1": x.mean(1), "ProdBackward0": x.prod(), "ProdBackward1": x.prod(0),
        "MaxBackward1": x.max(), "MaxBackward0": x.max(0).values, "MinBackward1": x.min(),
        "MinBackward0": x.min(0).values, "AmaxBackward0": x.amax(0),
        "AminBackward0": x.amin(), "VarBackward0": x.var(), "StdBackward0": x.std(1),
        "LogsumexpBackward0": x.logsumexp(1), "CumsumBackward0": x.cumsum(0),
        "LinalgVectorNormBackward0": x.norm(),
    }
    for name, y in names.items():
        assert type(y.grad_fn).__name__ == name


# ---------------------------------------------------------------- dtypes
def test_sum_dtypes():
    i = tg.tensor([[1, 2], [3, 4]], dtype=tg.int32)
    assert i.sum().dtype is tg.int64 and i.sum().item() == 10
    assert tg.tensor([True, False, True]).sum().dtype is tg.int64
    assert i.sum(dtype=tg.float32).dtype is tg.float32
    x = tg.ones(3, dtype=tg.float32, requires_grad=True)
    y = x.sum(dtype=tg.float64)
    assert y.dtype is tg.float64
    y.backward()
    assert x.grad.dtype is tg.float32
    assert tg.ones(3, dtype=tg.float32).mean().dtype is tg.float32
    assert tg.tensor([1, 2]).mean(dtype=tg.float64).item() == 1.5
    assert tg.tensor([2, 3]).prod().dtype is tg.int64
    assert tg.tensor([True, True]).cumsum(0).dtype is tg.int64
    assert tg.tensor([[1, 2]]).max(1).values.dtype is tg.int64


def test_float32_stays_float32():
    x = tg.ones(2, 3, dtype=tg.float32)
    for y in (x.sum(), x.mean(0), x.prod(1), x.cumsum(0), x.logsumexp(1), x.max(),
              x.max(1).values, x.amax(0), x.var(1), x.std(), x.norm(), x.norm(3, 1)):
        assert y.dtype is tg.float32


def test_logical_reductions_match_torch():
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [3.0, 4.0, 5.0]])
    for name, kw in [("all", {}), ("any", {}), ("all", dict(dim=1)),
                     ("any", dict(dim=0, keepdim=True)), ("all", dict(dim=(0, 1)))]:
        got = getattr(tg.tensor(a), name)(**kw)
        want = getattr(torch.tensor(a), name)(**kw)
        assert got.dtype is tg.bool
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    u = tg.tensor([1, 2], dtype=tg.uint8)
    assert u.all().dtype is tg.uint8
    assert tg.count_nonzero(tg.tensor(a)).item() == 5
    np.testing.assert_array_equal(tg.count_nonzero(tg.tensor(a), 1).numpy(),
                                  torch.count_nonzero(torch.tensor(a), 1).numpy())
    assert tg.tensor([]).all().item() is True and tg.tensor([]).any().item() is False


def test_argmax_argmin_match_torch(rng):
    x = np.array([[1.0, 3.0, 3.0, 2.0], [0.5, -1.0, 2.0, -1.0]])
    for name in ("argmax", "argmin"):
        for kw in ({}, dict(keepdim=True), dict(dim=1), dict(dim=0, keepdim=True)):
            got = getattr(tg.tensor(x), name)(**kw)
            want = getattr(torch.tensor(x), name)(**kw)
            assert got.dtype is tg.int64 and tuple(got.shape) == tuple(want.shape)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert tg.tensor(2.0).argmax(0).item() == 0
    nan = np.array([1.0, np.nan, 3.0, np.nan])
    assert tg.tensor(nan).argmax().item() == torch.tensor(nan).argmax().item() == 1



# ---------------------------------------------------------------- (values, indices)
def test_max_dim_returns_a_named_tuple():
    x = tg.tensor([[1.0, 5.0], [4.0, 2.0]], requires_grad=True)
    out = x.max(1)
    values, indices = out
    assert isinstance(out, tuple) and len(out) == 2
    assert out.values is values and out.indices is indices and out[0] is values
    assert type(out).__name__ == "max" and type(x.min(0)).__name__ == "min"
    assert values.tolist() == [5.0, 4.0] and indices.tolist() == [1, 0]
    assert indices.dtype is tg.int64 and not indices.requires_grad
    assert values.requires_grad and type(values.grad_fn).__name__ == "MaxBackward0"
    assert repr(out).startswith("tapegrad.return_types.max(\nvalues=tensor(")
    assert "\nindices=tensor([1, 0]))" in repr(out)
    kept = tg.max(x, dim=0, keepdim=True)
    assert tuple(kept.values.shape) == (1, 2) and tuple(kept.indices.shape) == (1, 2)
    again = pickle.loads(pickle.dumps(tg.tensor([[1.0, 2.0]]).max(1)))
    assert again.values.tolist() == [2.0] and again.indices.tolist() == [1]


def test_max_with_a_tensor_is_the_elementwise_maximum():
    a, b = tg.tensor([1.0, 5.0]), tg.tensor([3.0, 2.0])
    assert tg.max(a, b).tolist() == [3.0, 5.0] and tg.min(a, b).tolist() == [1.0, 2.0]


# ---------------------------------------------------------------- errors
def _message(fn):
    try:
        fn()
    except Exception as exc:  # we compare whatever torch raises
        return type(exc), str(exc)
    raise AssertionError("no exception raised")


ERRORS = {
    "max of empty": lambda lib: lib.zeros(0).max(),
    "min of empty": lambda lib: lib.zeros(0, 3).min(),
    "max along an empty dim": lambda lib: lib.zeros(0, 3).max(0),
    "min along an empty dim": lambda lib: lib.zeros(2, 0).min(-1),
    "amax of empty": lambda lib: lib.zeros(0, 3).amax(),
    "amax along an empty dim": lambda lib: lib.zeros(0, 3).amax((1, 0)),
    "argmax of empty": lambda lib: lib.zeros(0).argmax(),
    "argmin along an empty dim": lambda lib: lib.zeros(0, 2).argmin(0),
    "mean of ints": lambda lib: lib.tensor([1, 2]).mean(),
    "mean of bools": lambda lib: lib.tensor([True]).mean(0),
    "mean to an int dtype": lambda lib: lib.ones(2).mean(dtype=lib.int64),
    "var of ints": lambda lib: lib.tensor([1, 2]).var(),
    "std of ints": lambda lib: lib.tensor([1, 2]).std(0),
    "norm of ints": lambda lib: lib.tensor([1, 2]).norm(),
    "inf norm of empty": lambda lib: lib.zeros(0).norm(float("inf")),
    "-1 norm of empty": lambda lib: lib.zeros(0).norm(-1),
    "inf norm along an empty dim": lambda lib: lib.zeros(0, 2).norm(float("inf"), 0),
    "fro norm over 3 dims": lambda lib: lib.ones(2, 2, 2).norm("fro", (0, 1, 2)),
    "unknown norm": lambda lib: lib.ones(2, 2).norm("abc"),
    "dim out of range": lambda lib: lib.ones(2, 3).sum(2),
    "negative dim out of range": lambda lib: lib.ones(2, 3).mean(-3),
    "0-d dim out of range": lambda lib: lib.tensor(1.0).sum(1),
    "repeated dim": lambda lib: lib.ones(2, 3).sum((0, 0)),
    "repeated dim, negative": lambda lib: lib.ones(2, 3).amax((1, -1)),
    "max dim out of range": lambda lib: lib.ones(2).max(1),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    want_type, want = _message(lambda: ERRORS[name](torch))
    got_type, got = _message(lambda: ERRORS[name](tg))
    assert got_type is want_type
    assert got == want.replace("torch", "tapegrad")


def test_errors_without_a_torch_twin():
    with pytest.raises(TypeError, match="must be int"):
        tg.ones(2, 3).prod((0, 1))
    with pytest.raises(TypeError, match="must be int"):
        tg.ones(2, 3).max((0, 1))
    with pytest.raises(TypeError, match="keepdim"):
        tg.ones(2, 3).max(keepdim=True)
    with pytest.raises(TypeError, match="not both"):
        tg.ones(2, 3).var(0, unbiased=True, correction=1)
    # norm("nuc") exists now (the sum of the singular values): see tests/ops/test_matrix.py
