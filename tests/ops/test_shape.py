"""Shape and joining ops vs torch: values, grads, node names, views (memory and version
counter), errors, double backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_check import check, raises_like

import tapegrad as tg

X = np.random.default_rng(5).standard_normal((2, 1, 3, 4))

OPS = {
    "permute": (lambda L, x: x.permute(3, 0, 2, 1), "PermuteBackward0"),
    "permute tuple": (lambda L, x: L.permute(x, (1, -1, 0, 2)), "PermuteBackward0"),
    "transpose": (lambda L, x: x.transpose(0, -1), "TransposeBackward0"),
    "transpose fn": (lambda L, x: L.transpose(x, 1, 2), "TransposeBackward0"),
    "swapaxes": (lambda L, x: x.swapaxes(0, 2), "TransposeBackward0"),
    "swapdims": (lambda L, x: L.swapdims(x, 3, 1), "TransposeBackward0"),
    "squeeze": (lambda L, x: x.squeeze(), "SqueezeBackward0"),
    "squeeze dim": (lambda L, x: x.squeeze(1), "SqueezeBackward1"),
    "squeeze non-1 dim": (lambda L, x: x.squeeze(0), "SqueezeBackward1"),
    "squeeze dims": (lambda L, x: L.squeeze(x, (0, 1)), "SqueezeBackward2"),
    "unsqueeze": (lambda L, x: x.unsqueeze(-1), "UnsqueezeBackward0"),
    "unsqueeze 0": (lambda L, x: L.unsqueeze(x, 0), "UnsqueezeBackward0"),
    "flatten": (lambda L, x: x.flatten(), "ViewBackward0"),
    "flatten 1": (lambda L, x: L.flatten(x, 1), "ViewBackward0"),
    "flatten mid": (lambda L, x: x.flatten(1, 2), "ViewBackward0"),
    "flatten transposed": (lambda L, x: x.transpose(0, 3).flatten(), "UnsafeViewBackward0"),
    "reshape transposed": (lambda L, x: x.transpose(0, 2).reshape(6, -1), "UnsafeViewBackward0"),
    "reshape transposed size-1": (lambda L, x: x.transpose(1, 2).reshape(6, -1), "ViewBackward0"),
    "reshape": (lambda L, x: x.reshape(4, -1), "ViewBackward0"),
    "reshape same": (lambda L, x: x.reshape(2, 1, 3, 4), "ViewBackward0"),
    "view": (lambda L, x: x.view(-1, 12), "ViewBackward0"),
    "view of transposed": (lambda L, x: x.transpose(1, 2).view(2, 3, 4), "ViewBackward0"),
    "unflatten": (lambda L, x: x.unflatten(3, (2, 2)), "ViewBackward0"),
    "unflatten -1": (lambda L, x: L.unflatten(x, -2, (-1, 1)), "ViewBackward0"),
    "movedim": (lambda L, x: x.movedim(0, -1), "PermuteBackward0"),
    "movedim tuple": (lambda L, x: L.movedim(x, (0, 1), (3, 0)), "PermuteBackward0"),
    "moveaxis": (lambda L, x: L.moveaxis(x, 2, 0), "PermuteBackward0"),
    "flip": (lambda L, x: x.flip(0), "FlipBackward0"),
    "flip dims": (lambda L, x: L.flip(x, (0, -1)), "FlipBackward0"),
    "flip varargs": (lambda L, x: x.flip(2, 3), "FlipBackward0"),
    "flip none": (lambda L, x: x.flip(()), "FlipBackward0"),
    "repeat": (lambda L, x: x.repeat(2, 1, 3, 1), "RepeatBackward0"),
    "repeat new dims": (lambda L, x: x.repeat(2, 1, 2, 1, 2), "RepeatBackward0"),
    "repeat zero": (lambda L, x: x.repeat(1, 0, 1, 1), "RepeatBackward0"),
    "tile": (lambda L, x: x.tile((2,)), "RepeatBackward0"),
    "tile fn": (lambda L, x: L.tile(x, (2, 1, 1, 1, 1)), "RepeatBackward0"),
    "expand": (lambda L, x: x.expand(3, 2, 5, 3, 4), "ExpandBackward0"),
    "narrow": (lambda L, x: x.narrow(3, 1, 2), "SliceBackward0"),
    "select": (lambda L, x: x.select(2, 1), "SelectBackward0"),
    "cat": (lambda L, x: L.cat([x, x * 2.0], 2), "CatBackward0"),
    "cat neg dim": (lambda L, x: L.cat((x, x[:, :, :1]), -2), "CatBackward0"),
    "concat": (lambda L, x: L.concat([x, x], 0), "CatBackward0"),
    "concatenate": (lambda L, x: L.concatenate([x, x], 1), "CatBackward0"),
    "cat legacy empty": (lambda L, x: L.cat([L.zeros(0), x, L.zeros(0)], 3), "CatBackward0"),
    "cat single": (lambda L, x: L.cat([x]), "CatBackward0"),
    "stack": (lambda L, x: L.stack([x, x * 3.0]), "StackBackward0"),
    "stack last": (lambda L, x: L.stack((x, x, x), -1), "StackBackward0"),
    "split": (lambda L, x: x.split(3, 3), "SplitBackward0"),
    "split fn": (lambda L, x: L.split(x, 1, 0), "SplitBackward0"),
    "split sizes": (lambda L, x: x.split([1, 0, 3], 3), "SplitWithSizesBackward0"),
    "chunk": (lambda L, x: x.chunk(3, 3), "SplitBackward0"),
    "chunk fn": (lambda L, x: L.chunk(x, 2, 2), "SplitBackward0"),
    "unbind": (lambda L, x: x.unbind(2), "UnbindBackward0"),
    "unbind fn": (lambda L, x: L.unbind(x), "UnbindBackward0"),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(OPS))
def test_op_matches_torch(name, dtype):
    fn, node = OPS[name]
    check(fn, X, dtype=dtype, node=node)


def test_0d_and_empty_shapes():
    z = np.array(1.5)
    for fn in (lambda L, x: x.unsqueeze(0), lambda L, x: x.squeeze(), lambda L, x: x.squeeze(0),
               lambda L, x: x.flatten(), lambda L, x: x.reshape(1, 1), lambda L, x: x.flip(0),
               lambda L, x: x.permute(()), lambda L, x: x.transpose(0, -1),
               lambda L, x: x.repeat(2, 3), lambda L, x: x.repeat(()),
               lambda L, x: L.stack([x, x]), lambda L, x: x.movedim(0, 0)):
        check(fn, z)
    e = np.zeros((0, 3))
    for fn in (lambda L, x: x.transpose(0, 1), lambda L, x: x.reshape(3, 0),
               lambda L, x: x.view(-1), lambda L, x: L.cat([x, x]), lambda L, x: L.stack([x]),
               lambda L, x: x.split(2, 1), lambda L, x: x.split(2), lambda L, x: x.chunk(2),
               lambda L, x: x.unbind(1), lambda L, x: x.repeat(2, 2), lambda L, x: x.flip(0)):
        check(fn, e)


def test_chunk_sizes_like_torch():
    for n, k in ((5, 3), (6, 4), (2, 5), (0, 3), (7, 7)):
        a = np.arange(float(n))
        got, want = tg.tensor(a).chunk(k), torch.tensor(a).chunk(k)
        assert [tuple(t.shape) for t in got] == [tuple(t.shape) for t in want]


def test_cat_and_stack_promote_dtypes():
    f32 = np.ones((2, 2), np.float32)
    f64 = np.full((1, 2), 2.0)
    check(lambda L, a, b: L.cat([a, b]), f32, f64)
    check(lambda L, a, b: L.stack([a, b[0]]), f32[0], f64)
    for L in (tg, torch):
        out = L.cat([L.tensor([1, 2]), L.tensor([True])])
        assert str(out.dtype).endswith("int64") and out.tolist() == [1, 2, 1]
        out = L.cat([L.tensor([1, 2], dtype=L.int32), L.tensor([0.5])])
        assert str(out.dtype).endswith("float32")


def test_double_backward_of_joining_ops():
    fns = (lambda L, x: L.cat([x, x[:1] * 2.0], 0), lambda L, x: L.stack([x, x]),
           lambda L, x: L.cat(x.split([1, 2], 0)[::-1]), lambda L, x: x.repeat(2, 3),
           lambda L, x: L.cat(x.unbind(1)), lambda L, x: x.flip(1).permute(1, 0))
    for fn in fns:
        results = []
        for L in (tg, torch):
            x = L.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
            y = fn(L, x)
            gy = L.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(tuple(y.shape)),
                          requires_grad=True)
            (gx,) = L.autograd.grad(y, x, gy, create_graph=True)
            (ggy,) = L.autograd.grad(gx, gy, L.tensor(np.linspace(-1, 1, 6).reshape(3, 2)))
            results.append((gx.detach().numpy(), ggy.numpy()))
        np.testing.assert_allclose(results[0][0], results[1][0])
        np.testing.assert_allclose(results[0][1], results[1][1])


VIEWS = {
    "permute": lambda x: x.permute(1, 0), "transpose": lambda x: x.transpose(0, 1),
    "squeeze": lambda x: x.unsqueeze(0).squeeze(0), "unsqueeze": lambda x: x.unsqueeze(1),
    "flatten": lambda x: x.flatten(), "view": lambda x: x.view(6),
    "reshape": lambda x: x.reshape(3, 2),
    "unflatten": lambda x: x.unflatten(1, (3, 1)), "movedim": lambda x: x.movedim(0, 1),
    "expand": lambda x: x[:1].expand(4, 3), "narrow": lambda x: x.narrow(1, 1, 2),
    "split": lambda x: x.split(1)[1], "chunk": lambda x: x.chunk(3, 1)[2],
    "unbind": lambda x: x.unbind(1)[0], "select": lambda x: x.select(0, 1),
}
COPIES = {
    "flip": lambda x: x.flip(0), "repeat": lambda x: x.repeat(1, 1), "cat": lambda x: tg.cat([x]),
    "stack": lambda x: tg.stack([x]), "tile": lambda x: x.tile((1,)),
    "reshape of transposed": lambda x: x.transpose(0, 1).reshape(6),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_share_memory_and_version_counter(name):
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    v = VIEWS[name](x)
    assert np.shares_memory(v.numpy(), x.numpy()) and v._base is x
    before = v.numpy().copy()
    x.add_(1.0)
    assert v._version == x._version == 1
    np.testing.assert_array_equal(v.numpy(), before + 1.0)


@pytest.mark.parametrize("name", list(COPIES))
def test_copies_do_not_share(name):
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    c = COPIES[name](x)
    assert not np.shares_memory(c.numpy(), x.numpy()) and c._base is None
    x.add_(1.0)
    assert c._version == 0


def test_inplace_on_split_piece_is_seen_by_saved_base():
    for L in (tg, torch):
        w = L.ones(4, requires_grad=True)
        a = L.arange(4.0)
        y = w * a
        a.split(2)[1].mul_(2.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward(L.ones(4))


ERRORS = [
    lambda L, x: x.permute(2, 0),
    lambda L, x: x.permute(2, 0, 0, 1),
    lambda L, x: x.permute(0, 1, 2, 4),
    lambda L, x: x.transpose(0, 4),
    lambda L, x: x.squeeze(4),
    lambda L, x: x.squeeze((0, 0)),
    lambda L, x: x.unsqueeze(5),
    lambda L, x: x.flatten(2, 1),
    lambda L, x: x.flatten(0, 5),
    lambda L, x: x.unflatten(3, (3, 2)),
    lambda L, x: x.unflatten(3, ()),
    lambda L, x: x.movedim((0, 0), (1, 2)),
    lambda L, x: x.movedim((0, 1), (1, 1)),
    lambda L, x: x.movedim((0, 1), (1,)),
    lambda L, x: x.flip((0, 0)),
    lambda L, x: x.repeat(2, 1),
    lambda L, x: x.repeat(-1, 1, 1, 1),
    lambda L, x: x.view(5),
    lambda L, x: x.view(-1, -1),
    lambda L, x: x.view(-2, 12),
    lambda L, x: x.reshape(-1, 5),
    lambda L, x: x.transpose(0, 2).view(-1),
    lambda L, x: L.zeros(0, 3).view(-1, 0),
    lambda L, x: L.cat([]),
    lambda L, x: L.cat([x, L.ones(2, 2, 3, 4)], 2),
    lambda L, x: L.cat([x, L.ones(2, 1, 3, 5)], 1),
    lambda L, x: L.cat([x, L.ones(2, 2)], 1),
    lambda L, x: L.cat([x, L.tensor(1.0)]),
    lambda L, x: L.cat([x, x], 4),
    lambda L, x: L.cat([x, 1.0]),
    lambda L, x: L.stack([]),
    lambda L, x: L.stack([x, x[:, :, :2]]),
    lambda L, x: L.stack([x, x], 5),
    lambda L, x: x.split(0, 1),
    lambda L, x: x.split(-1, 1),
    lambda L, x: x.split([1, 1], 2),
    lambda L, x: x.chunk(0),
    lambda L, x: L.tensor(1.0).unbind(),
    lambda L, x: x.narrow(2, 2, 2),
    lambda L, x: x.select(2, 3),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k):
    raises_like(ERRORS[k], X)


def test_view_and_reshape_results_are_new_tensor_objects():
    x = tg.ones(2, 3)
    for y in (x.reshape(2, 3), x.view(2, 3), x.reshape(-1, 3)):
        assert y is not x and y._base is x
    assert x.flatten(1, 1) is x  # torch also returns the input itself here
    assert x.contiguous() is x
    assert x.transpose(0, 1).contiguous().is_contiguous()


def test_split_pieces_get_zero_grad_when_unused():
    x = tg.tensor(np.arange(5.0), requires_grad=True)
    a, b = x.split([2, 3])
    (b * 2.0).backward(tg.ones(3))
    assert x.grad.tolist() == [0.0, 0.0, 2.0, 2.0, 2.0]
