"""torch's type promotion: categories, 0-d tensors and Python numbers."""

import itertools

import numpy as np
import pytest
import torch

import tapegrad as tg

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


def make(lib, name, ndim):
    data = np.ones((2,) * ndim, dtype="bool" if name == "bool" else name)
    return lib.tensor(data) if ndim else lib.tensor(data.reshape(()))


@pytest.mark.parametrize("a,b", list(itertools.product(DTYPES, DTYPES)))
@pytest.mark.parametrize("ndims", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_tensor_tensor_promotion_matches_torch(a, b, ndims):
    expected = torch.result_type(make(torch, a, ndims[0]), make(torch, b, ndims[1]))
    got = tg.dtypes.result_type(make(tg, a, ndims[0]), make(tg, b, ndims[1]))
    assert got.name == str(expected).replace("torch.", "")


@pytest.mark.parametrize("a", DTYPES)
@pytest.mark.parametrize("number", [True, 2, 2.5])
def test_tensor_number_promotion_matches_torch(a, number):
    expected = torch.result_type(make(torch, a, 1), number)
    got = tg.dtypes.result_type(make(tg, a, 1), number)
    assert got.name == str(expected).replace("torch.", "")


@pytest.mark.parametrize("a,b", [("int64", 2.5), ("float32", 2.5), ("int32", 3)])
def test_arithmetic_uses_the_promoted_dtype(a, b):
    t = make(tg, a, 1) * b
    tt = make(torch, a, 1) * b
    assert t.dtype.name == str(tt.dtype).replace("torch.", "")


def test_integer_true_division_gives_default_float():
    assert (tg.tensor([1, 2]) / tg.tensor([2, 4])).dtype == tg.float32
    assert (tg.tensor([1, 2]) / tg.tensor([2, 4])).tolist() == [0.5, 0.5]
