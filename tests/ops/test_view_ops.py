"""View, shape and index ops of issue 11 against torch in float64, for what PyTorch's own
database (tests/testing/test_torch_db.py) does not check: which results are views (shared
memory, ``_base``, in-place writes through them), einsum's whole syntax, exact gradients
where torch's own are wrong (as_strided_scatter), prod gradients at zeros, and the
argument errors users meet."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_check import assert_close, check, raises_like

import tapegrad as tg
from tapegrad.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)


def arr(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------- einsum
EINSUM_CASES = [
    ("ij,jk->ik", (3, 4), (4, 5)),
    ("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
    ("ii->i", (4, 4)),
    ("ii", (4, 4)),
    ("iij->j", (3, 3, 2)),
    ("ij->", (3, 4)),
    ("ij", (3, 4)),
    ("ji", (3, 4)),
    ("i,i", (5,), (5,)),
    ("i,j->ij", (3,), (4,)),
    ("...ij,...jk->...ik", (2, 1, 3, 4), (5, 4, 2)),
    ("...ij->...ji", (2, 3, 4)),
    ("i...->...", (3, 2, 4)),
    ("ab,bc,cd->ad", (2, 3), (3, 4), (4, 5)),
    ("abc,cba->b", (2, 3, 4), (4, 3, 2)),
    ("ij,ij->i", (3, 4), (3, 4)),
    ("ij,kj", (3, 4), (2, 4)),
    ("a b , b c -> a c", (2, 3), (3, 4)),
]


@pytest.mark.parametrize("case", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_matches_torch(case):
    eq, *shapes = case
    check(lambda lib, *xs: lib.einsum(eq, *xs), *[arr(*s) for s in shapes])


def test_einsum_sublist_and_list_forms():
    a, b = arr(3, 4), arr(4, 5)
    check(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [0, 2]), a, b)
    check(lambda lib, x, y: lib.einsum(x, [Ellipsis, 1], y, [1, 2]), a, b)
    check(lambda lib, x, y: lib.einsum("ij,jk", [x, y]), a, b)


def test_einsum_second_derivative():
    a = tg.tensor(arr(3, 3), requires_grad=True)
    b = tg.tensor(arr(3, 2), requires_grad=True)
    assert gradgradcheck(lambda x, y: tg.einsum("ii,ij->j", x, y), (a, b))


def test_einsum_errors():
    a = arr(3, 4)
    raises_like(lambda lib, x: lib.einsum("ijk", x), a)
    raises_like(lambda lib, x: lib.einsum("ii", x), a)


# ---------------------------------------------------------------- views share memory
def _is_view_of(v: tg.Tensor, base: tg.Tensor) -> bool:
    return v._base is base and np.shares_memory(v.numpy(), base.numpy())


@pytest.mark.parametrize("make", [
    lambda x: x.unfold(1, 2, 1),
    lambda x: tg.as_strided(x, (2, 2), (1, 3)),
    lambda x: tg.tensor_split(x, 3, dim=1)[1],
    lambda x: tg.hsplit(x, [1, 3])[0],
    lambda x: tg.vsplit(x, 2)[1],
    lambda x: tg.split_with_sizes(x, [1, 3], dim=1)[1],
    lambda x: tg.slice(x, 1, 1, None, 2),
    lambda x: tg.broadcast_tensors(x, tg.zeros(2, 1, 4))[0],
    lambda x: tg.meshgrid(x[0], x[1, :2], indexing="ij")[0],
    lambda x: x.H,
    lambda x: x.mH,
], ids=["unfold", "as_strided", "tensor_split", "hsplit", "vsplit", "split_with_sizes",
        "slice", "broadcast_tensors", "meshgrid", "H", "mH"])
def test_view_ops_return_views(make):
    x = tg.tensor(np.arange(16.0).reshape(4, 4))
    assert _is_view_of(make(x), x)


@pytest.mark.parametrize("make", [
    lambda x: tg.expand_copy(x[:1], (3, 4)), lambda x: tg.permute_copy(x, (1, 0)),
    lambda x: tg.t_copy(x), lambda x: tg.unbind_copy(x)[0],
    lambda x: tg.as_strided_copy(x, (2, 2), (1, 3)), lambda x: tg.unfold_copy(x, 0, 2, 2),
    lambda x: tg.diagonal_copy(x), lambda x: tg.narrow_copy(x, 0, 1, 2),
], ids=["expand", "permute", "t", "unbind", "as_strided", "unfold", "diagonal", "narrow"])
def test_copy_variants_share_nothing(make):
    x = tg.arange(16.0).reshape(4, 4)
    out = make(x)
    assert out._base is None and not np.shares_memory(out.numpy(), x.numpy())


def test_inplace_write_through_unfold_and_as_strided_reaches_the_base():
    """An in-place op through such a view rebases the base's history (CopySlices)."""
    def run(lib, x, w):
        y = x * 1
        y.unfold(0, 2, 2).mul_(w)          # windows do not overlap: writable
        z = x * 1
        lib.as_strided(z, (2,), (3,), 1).add_(w[0])
        return y * z
    check(run, arr(6), arr(2))


def test_overlapping_windows_are_read_only():
    x = tg.arange(5.0)
    with pytest.raises(RuntimeError, match="more than one element"):
        x.unfold(0, 3, 1).add_(1)


# ---------------------------------------------------------------- gradients
def test_as_strided_scatter_gradient_is_exact():
    """torch's input gradient is wrong here (its own gradcheck fails); ours is exact."""
    x = tg.tensor(arr(3, 3), requires_grad=True)
    src = tg.tensor(arr(2, 2), requires_grad=True)
    assert gradcheck(lambda a, s: tg.as_strided_scatter(a, s, (2, 2), (1, 2), 1), (x, src))
    assert gradgradcheck(lambda a, s: tg.as_strided_scatter(a, s, (2, 2), (1, 2), 1),
                         (x, src))


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_prod_gradient_with_zeros(include_self):
    x = np.array([[2.0, 0.0, 3.0], [1.0, 4.0, 0.0]])
    src = np.array([[0.0, 5.0, 2.0, 0.0], [3.0, 0.0, 1.0, 2.0]])
    index = np.array([[0, 0, 1, 2], [1, 1, 2, 2]])
    check(lambda lib, a, s: a.scatter_reduce(1, lib.tensor(index), s, "prod",
                                             include_self=include_self), x, src)


@pytest.mark.parametrize("reduce", ["amax", "amin", "mean"])
def test_scatter_reduce_ties_share_the_gradient(reduce):
    x = np.array([1.0, 2.0, 2.0])
    src = np.array([2.0, 2.0, 0.5, 1.0])
    index = np.array([1, 1, 0, 2])
    check(lambda lib, a, s: a.scatter_reduce(0, lib.tensor(index), s, reduce), x, src)


def test_second_derivatives_of_view_scatters_and_diag():
    x = tg.tensor(arr(3, 4), requires_grad=True)
    v = tg.tensor(arr(4), requires_grad=True)
    assert gradgradcheck(lambda a, b: tg.select_scatter(a, b, 0, 1) ** 2, (x, v))
    assert gradgradcheck(lambda b: tg.diag_embed(b, 1) ** 2, (v,))
    assert gradgradcheck(lambda a: a.unfold(1, 2, 1) ** 2, (x,))


def test_repeat_interleave_kron_block_diag_gradients():
    check(lambda lib, x: lib.repeat_interleave(x, lib.tensor([1, 0, 2]), dim=0), arr(3, 2))
    check(lambda lib, x, y: lib.kron(x, y), arr(2, 3), arr(3, 1, 2))
    check(lambda lib, x, y: lib.block_diag(x, y, x[0]), arr(2, 3), arr(1, 2))
    check(lambda lib, x: lib.combinations(x, 2, with_replacement=True), arr(4))


# ---------------------------------------------------------------- small API points
def test_slicing_a_size_gives_a_size():
    s = tg.zeros(2, 3, 4).shape
    assert isinstance(s[1:], tg.Size) and s[1:] == (3, 4)
    assert isinstance(s[0], int)


def test_where_with_only_a_condition_flip_dims_and_negative_take_along_dim():
    c = np.array([[True, False], [False, True]])
    got = tg.where(tg.tensor(c))
    want = torch.where(torch.tensor(c))
    for g, w in zip(got, want, strict=True):
        assert g.tolist() == w.tolist()
    for c0 in (True, False):
        assert [t.tolist() for t in tg.where(tg.tensor(c0))] == [
            t.tolist() for t in torch.where(torch.tensor(c0))]
    check(lambda lib, x: lib.flip(x, dims=(0, 1)), arr(2, 3))
    check(lambda lib, x: lib.take_along_dim(x, lib.tensor([[-1], [0]]), dim=1), arr(2, 3))


def test_index_helpers_match_torch():
    idx = torch.tensor([[0, 5], [-1, 11]])
    for g, w in zip(tg.unravel_index(tg.tensor(idx.numpy()), (3, 4)),
                    torch.unravel_index(idx, (3, 4)), strict=True):
        assert g.tolist() == w.tolist()
    for row, col, off in [(4, 5, 0), (4, 5, -1), (3, 3, 2)]:
        assert tg.triu_indices(row, col, off).tolist() == torch.triu_indices(
            row, col, off).tolist()
        assert tg.tril_indices(row, col, off).tolist() == torch.tril_indices(
            row, col, off).tolist()
    x = np.array([[0, 1], [2, 0]])
    assert tg.nonzero_static(tg.tensor(x), size=4).tolist() == torch.nonzero_static(
        torch.tensor(x), size=4).tolist()
    assert tg.isin(tg.tensor(x), tg.tensor([0, 2]), invert=True).tolist() == torch.isin(
        torch.tensor(x), torch.tensor([0, 2]), invert=True).tolist()


def test_empty_strided_and_permuted_have_the_asked_layout():
    assert tg.empty_strided((2, 3), (1, 2)).stride() == (1, 2)
    t = tg.empty_permuted((2, 3, 4), (0, 2, 1))
    assert t.shape == (2, 3, 4) and t.stride() == torch.empty_permuted(
        (2, 3, 4), (0, 2, 1)).stride()


def test_resize_keeps_the_first_elements():
    x = tg.arange(6.0)
    x.resize_(2, 2)
    assert x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        tg.zeros(3, requires_grad=True).resize_(2)


# ---------------------------------------------------------------- errors as torch raises them
@pytest.mark.parametrize("call", [
    lambda lib, x: lib.hsplit(x, 3),
    lambda lib, x: lib.vsplit(x[0], 2),
    lambda lib, x: lib.tensordot(x, x, ([0], [1])),
    lambda lib, x: lib.inner(x, x[:, :2]),
    lambda lib, x: lib.select_scatter(x, x, 0, 0),
    lambda lib, x: lib.diag(x[None]),
    lambda lib, x: x.unfold(0, 5, 1),
    lambda lib, x: x.unfold(0, 2, 0),
    lambda lib, x: lib.narrow(x, 0, lib.tensor([0, 1]), 1),
    lambda lib, x: lib.index_fill(x, 0, lib.tensor([0], dtype=lib.int32), 1.0),
    lambda lib, x: lib.masked_scatter(x, x > 0, x[:1, :1]),
    lambda lib, x: lib.block_diag(x[None]),
], ids=["hsplit", "vsplit", "tensordot", "inner", "select_scatter", "diag", "unfold-size",
        "unfold-step", "narrow-tensor-start", "index_fill-dtype", "masked_scatter",
        "block_diag"])
def test_errors_match_torch(call):
    """torch's exception type, always; and its message where ours is written to match."""
    x = np.arange(12.0).reshape(3, 4) - 5.5
    with pytest.raises(Exception) as want:
        call(torch, torch.tensor(x))
    with pytest.raises(want.type) as got:
        call(tg, tg.tensor(x))
    assert type(got.value) is want.type, (got.value, want.value)


def test_hsplit_rejects_a_string():
    with pytest.raises(TypeError):
        tg.hsplit(tg.zeros(4, 4), "ab")
    assert_close(tg.scalar_tensor(-5, dtype=tg.uint8),
                 torch.scalar_tensor(-5, dtype=torch.uint8))


@pytest.mark.parametrize("shape,args", [((0, 3), (1, 2, 1)), ((), (0, 1, 1)), ((7,), (0, 3, 2)),
                                        ((3, 5), (1, 2, 3))])
def test_unfold_edge_shapes(shape, args):
    check(lambda lib, x: x.unfold(*args), arr(*shape))
