"""scan.py against torch: cumprod's gradient through zeros (the division-free path, also
differentiated twice), logcumsumexp without overflow and its second derivative, cummax/
cummin with ties and NaN."""

from __future__ import annotations

import numpy as np
import pytest
from torch_check import check

import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck


@pytest.mark.parametrize("a", [
    np.array([[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 2.0, 1.0]]),   # zeros: the n^2 path
    np.array([[2.0, 0.5, 3.0, -1.5], [1.2, -0.7, 2.0, 1.0]]),  # none: reverse cumsum / x
])
def test_cumprod_gradient_with_and_without_zeros(a):
    check(lambda m, x: m.cumprod(x, 1), a)
    check(lambda m, x: m.cumprod(x, 0), a)
    x = tg.tensor(a, requires_grad=True)
    assert gradgradcheck(lambda t: tg.cumprod(t, 1), [x])


def test_cumprod_of_integers_accumulates_in_int64():
    check(lambda m, x: m.cumprod(x, 0), np.array([3, 4, 5], dtype=np.int8))


def test_logcumsumexp_does_not_overflow():
    a = np.array([[1000.0, 1000.0, -1000.0, 3.0], [-5.0, 800.0, 2.0, 2.0]])
    check(lambda m, x: m.logcumsumexp(x, 1), a)
    check(lambda m, x: m.logcumsumexp(x, 0), a)


def test_logcumsumexp_second_derivative():
    x = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda t: tg.logcumsumexp(t, 0), [x])
    assert gradgradcheck(lambda t: tg.logcumsumexp(t, 0), [x])


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_running_extremes_take_the_later_tie_and_keep_nan(op):
    a = np.array([[1.0, 3.0, 3.0, np.nan, 5.0, np.nan], [2.0, 2.0, 1.0, 1.0, 4.0, 0.0]])
    check(lambda m, x: getattr(m, op)(x, 1), a)
    check(lambda m, x: getattr(m, op)(x, 0), a)
