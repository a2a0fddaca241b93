"""ops/matrix.py and tapegrad.linalg against torch: inv/det/solve gradients (twice), det of a
singular matrix, every matrix_norm order, norm('nuc'), multi_dot with vector ends, and
matmul with a zero-size dim."""

from __future__ import annotations

import numpy as np
import pytest
from torch_check import check, raises_like

import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)


def _well_conditioned(*shape):
    return RNG.standard_normal(shape) + 3 * np.eye(shape[-1])


def test_inv_det_solve_values_and_gradients():
    a = _well_conditioned(2, 4, 4)
    b = RNG.standard_normal((2, 4, 3))
    check(lambda m, x: m.linalg.inv(x), a)
    check(lambda m, x: m.linalg.det(x), a)
    check(lambda m, x, y: m.linalg.solve(x, y), a, b)
    check(lambda m, x, y: m.linalg.solve(x, y, left=False), a, b.transpose(0, 2, 1))
    check(lambda m, x, y: m.linalg.solve(x, y), a, b[..., 0])  # a batch of vectors


def test_inv_and_det_twice_differentiable():
    a = tg.tensor(_well_conditioned(3, 3), requires_grad=True)
    assert gradgradcheck(tg.linalg.inv, [a])
    assert gradgradcheck(tg.linalg.det, [a])


def test_det_gradient_of_a_singular_matrix_is_the_cofactor_matrix():
    # torch 2.13 answers zeros here; the derivative is the cofactor matrix (nonzero: the
    # minors of the two independent rows), which finite differences confirm
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, -1.0, 2.0]])
    x = tg.tensor(a, requires_grad=True)
    tg.linalg.det(x).backward()
    assert abs(x.grad[0, 0].item() - 14.0) < 1e-9  # det([[4, 6], [-1, 2]])
    assert gradcheck(tg.linalg.det, [tg.tensor(a, requires_grad=True)])
    assert gradgradcheck(tg.linalg.det, [tg.tensor(a, requires_grad=True)])


def test_bad_matrices_raise_like_torch():
    raises_like(lambda m, x: m.linalg.inv(x), np.zeros((2, 3)))
    raises_like(lambda m, x: m.linalg.det(x), np.zeros(3))
    with pytest.raises(RuntimeError, match="singular"):
        tg.linalg.inv(tg.zeros(2, 2))


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, float("inf"), float("-inf")])
def test_matrix_norm_orders(ord):
    a = RNG.standard_normal((2, 3, 4))
    check(lambda m, x: m.linalg.matrix_norm(x, ord), a)
    check(lambda m, x: m.linalg.norm(x, ord, dim=(0, 2), keepdim=True), a)


@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (2, 3, 4)])
def test_svdvals_twice_differentiable(shape):
    a = tg.tensor(RNG.standard_normal(shape), requires_grad=True)
    assert gradcheck(tg.linalg.svdvals, [a])
    assert gradgradcheck(tg.linalg.svdvals, [a])
    assert gradgradcheck(lambda x: tg.linalg.matrix_norm(x, "nuc"), [a])
    check(lambda m, x: m.norm(x, "nuc"), RNG.standard_normal((4, 3)))


def test_vector_norm_and_vecdot():
    a, b = RNG.standard_normal((3, 5)), RNG.standard_normal((1, 5))
    check(lambda m, x: m.linalg.vector_norm(x, 3, dim=1), a)
    check(lambda m, x, y: m.linalg.vecdot(x, y), a, b)


def test_multi_dot_with_vectors_at_the_ends():
    v, a, b, w = (RNG.standard_normal(s) for s in ((3,), (3, 4), (4, 2), (2,)))
    check(lambda m, *t: m.linalg.multi_dot(list(t)), v, a, b, w)
    check(lambda m, *t: m.linalg.multi_dot(list(t)), a, b)


def test_matmul_with_a_zero_size_dim():
    check(lambda m, x, y: m.matmul(x, y), np.zeros((2, 0, 3)), RNG.standard_normal((3, 4)))
    check(lambda m, x, y: m.matmul(x, y), RNG.standard_normal((2, 5, 0)), np.zeros((0, 4)))


def test_products_with_scalars():
    c, a, b = (RNG.standard_normal(s) for s in ((3, 4), (5, 3, 2), (5, 2, 4)))
    check(lambda m, x, y, z: m.addbmm(x, y, z, beta=0.5, alpha=2.0), c, a, b)
    check(lambda m, x, y, z: m.baddbmm(x, y, z, beta=0.0, alpha=-1.0), np.full((1, 4), np.nan),
          a, b)
    check(lambda m, x, y, z: m.addr(x, y, z, alpha=3), c, RNG.standard_normal(3),
          RNG.standard_normal(4))
    check(lambda m, x, y: m.cross(x, y, dim=1), RNG.standard_normal((2, 3)),
          RNG.standard_normal((1, 3)))


@pytest.mark.parametrize("name, args", [
    ("cumprod_", (1,)), ("renorm_", (2, 0, 1.0)), ("addmv_", ((4, 3), (3,))),
    ("addr_", ((4,), (5,))), ("baddbmm_", ((2, 4, 3), (2, 3, 5))),
])
def test_in_place_variants_follow_the_copy(name, args):
    shape = (2, 4, 5) if name == "baddbmm_" else (4, 5) if name != "addmv_" else (4,)
    base = RNG.standard_normal(shape)
    arrays = [RNG.standard_normal(a) if isinstance(a, tuple) else a for a in args]
    check(lambda m, x, *rest: getattr(x * 1, name)(*rest), base, *arrays)
