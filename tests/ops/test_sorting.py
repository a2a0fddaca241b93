"""sorting.py against torch on what its database does not pin down: NaN order in both
directions, stable ties, median()'s gradient split over ties, quantile's gradient in q,
unique along a dim, searchsorted with a sorter."""

from __future__ import annotations

import numpy as np
import pytest
from torch_check import check

import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck

NAN = float("nan")


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nan_above_every_number_and_keeps_ties_in_order(descending):
    a = np.array([[3.0, NAN, -1.0, 3.0, -np.inf, NAN, 0.0, -0.0, np.inf, 3.0]])
    check(lambda m, x: m.sort(x, dim=1, descending=descending, stable=True), a)
    check(lambda m, x: m.argsort(x, dim=-1, descending=descending, stable=True), a)


def test_sort_of_integers_descending_reaches_the_minimum():
    a = np.array([0, -128, 127, 5, -128], dtype=np.int8)
    check(lambda m, x: m.sort(x, descending=True, stable=True), a)


def test_topk_smallest_and_kthvalue_keepdim():
    a = np.random.default_rng(0).standard_normal((4, 6))
    check(lambda m, x: m.topk(x, 3, dim=0, largest=False), a)
    check(lambda m, x: m.kthvalue(x, 2, dim=1, keepdim=True), a)


def test_median_of_all_shares_the_gradient_between_ties():
    a = np.array([[1.0, 2.0, 2.0], [2.0, 5.0, 0.0]])
    check(lambda m, x: m.median(x), a)
    check(lambda m, x: m.nanmedian(x), np.array([NAN, 1.0, 3.0, NAN, 2.0]))


def test_median_along_a_dim_with_nan_returns_the_nan():
    a = np.array([[1.0, NAN, 3.0], [4.0, 2.0, 0.0]])
    check(lambda m, x: m.median(x, 1), a)
    check(lambda m, x: m.nanmedian(x, 1), a)


@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_with_a_tensor_q_has_a_gradient_in_q(interpolation):
    a = np.random.default_rng(1).standard_normal((3, 7))
    q = np.array([0.1, 0.5, 0.93])
    check(lambda m, x, qq: m.quantile(x, qq, dim=1, keepdim=True,
                                      interpolation=interpolation), a, q)


def test_quantile_gradients_are_exact():
    x = tg.randn(4, 5, dtype=tg.float64, requires_grad=True)
    q = tg.tensor([0.25, 0.6], dtype=tg.float64, requires_grad=True)
    assert gradcheck(lambda a, b: tg.quantile(a, b, dim=0), [x, q])
    assert gradgradcheck(lambda a: tg.nanquantile(a, 0.3, dim=1), [x])


def test_unique_along_a_dim_and_consecutive_counts():
    a = np.array([[1, 2, 1, 2], [3, 0, 3, 0], [1, 2, 1, 2]])
    check(lambda m, x: m.unique(x, dim=1, return_inverse=True, return_counts=True), a)
    check(lambda m, x: m.unique(x, dim=0, return_inverse=True, return_counts=True), a)
    check(lambda m, x: m.unique_consecutive(x, return_inverse=True, return_counts=True),
          np.array([1, 1, 2, 2, 3, 1, 1, 2]))


def test_unique_keeps_every_nan():
    check(lambda m, x: m.unique(x.detach(), return_counts=True),
          np.array([NAN, 1.0, NAN, 1.0]))


def test_searchsorted_with_a_sorter_and_side():
    seq = np.array([5.0, 1.0, 3.0, 9.0])
    vals = np.array([0.0, 3.0, 9.0, 10.0])
    order = np.argsort(seq)
    check(lambda m, s, v, o: m.searchsorted(s, v, sorter=o, side="right"), seq, vals, order)
    check(lambda m, b, v: m.bucketize(v, b, right=True, out_int32=True),
          np.sort(seq), vals)


def test_mode_takes_the_smallest_most_frequent_value():
    a = np.array([[2.0, 1.0, 2.0, 1.0, 3.0], [0.0, 0.0, 4.0, 4.0, 4.0]])
    check(lambda m, x: m.mode(x, 1), a)


def test_named_results_pickle_and_print_like_torch():
    import pickle

    x = tg.tensor([3.0, 1.0, 2.0])
    for result in (x.sort(), x.topk(2), x.cummax(0), x.aminmax(), tg.histogram(x, 2)):
        again = pickle.loads(pickle.dumps(result))
        assert type(again) is type(result) and again._fields == result._fields
        assert repr(result).startswith(f"tapegrad.return_types.{type(result).__name__}(")
    assert x.aminmax()._fields == ("min", "max")
