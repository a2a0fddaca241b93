"""Keyword spellings torch code uses: numpy's ``axis=``/``keepdims=``, ``memory_format=``,
``device=`` on the ``new_*``/``*_like`` factories, ``alpha=`` on ``rsub``. Each call is run
in both libraries and must give the same result (float64, exact)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg

A = np.random.default_rng(5).standard_normal((3, 4))


def same(got, want):
    if isinstance(want, tuple):  # max/min with a dim: (values, indices)
        for g, w in zip(got, want, strict=True):
            same(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).rpartition(".")[2] == str(want.dtype).rpartition(".")[2]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)


REDUCTIONS = [
    lambda lib, x: x.sum(axis=1),
    lambda lib, x: x.sum(1, keepdims=True),
    lambda lib, x: lib.sum(x, axis=(0, 1), keepdims=True),
    lambda lib, x: x.mean(axis=0),
    lambda lib, x: lib.mean(x, axis=-1, keepdims=True),
    lambda lib, x: x.prod(axis=1, keepdims=True),
    lambda lib, x: x.amax(axis=1, keepdims=True),
    lambda lib, x: x.amin(axis=0),
    lambda lib, x: x.max(axis=1),
    lambda lib, x: lib.min(x, axis=0, keepdims=True),
    lambda lib, x: x.argmax(axis=1, keepdims=True),
    lambda lib, x: x.std(axis=1),
    lambda lib, x: lib.var(x, axis=0, keepdims=True),
    lambda lib, x: x.logsumexp(axis=1, keepdims=True),
    lambda lib, x: (x > 0).any(axis=1),
    lambda lib, x: (x > 0).all(axis=0, keepdims=True),
    lambda lib, x: lib.argmin(x, axis=1),
    lambda lib, x: x.cumsum(axis=1),
    lambda lib, x: lib.cat([x, x], axis=1),
    lambda lib, x: x.softmax(axis=0),
]


@pytest.mark.parametrize("index", range(len(REDUCTIONS)))
def test_numpy_axis_and_keepdims(index):
    call = REDUCTIONS[index]
    same(call(tg, tg.tensor(A)), call(torch, torch.tensor(A)))


def test_axis_and_dim_together_is_an_error():
    for lib in (tg, torch):
        with pytest.raises(TypeError):
            lib.tensor(A).sum(dim=0, axis=1)


def test_axis_alias_keeps_the_gradient():
    x = tg.tensor(A, requires_grad=True)
    x.sum(axis=1, keepdims=True).mul(tg.tensor([[1.0], [2.0], [3.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat([[1.0], [2.0], [3.0]], 4, 1))


FORMATS = ["contiguous_format", "preserve_format"]
CASTS = ["float", "double", "half", "int", "long", "bool"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("call", [
    *(lambda lib, x, f, c=c: getattr(x, c)(memory_format=f) for c in CASTS),
    lambda lib, x, f: x.clone(memory_format=f),
    lambda lib, x, f: x.contiguous(memory_format=f),
    lambda lib, x, f: x.to(lib.float32, memory_format=f),
    lambda lib, x, f: lib.zeros_like(x, memory_format=f),
    lambda lib, x, f: lib.ones_like(x, memory_format=f),
    lambda lib, x, f: lib.full_like(x, 2.5, memory_format=f),
    lambda lib, x, f: lib.empty_like(x, memory_format=f).zero_(),
], ids=[*CASTS, "clone", "contiguous", "to", "zeros_like", "ones_like", "full_like",
        "empty_like"])
def test_memory_format_accepted(call, fmt):
    same(call(tg, tg.tensor(A), getattr(tg, fmt)), call(torch, torch.tensor(A),
                                                         getattr(torch, fmt)))


def test_channels_last_keeps_values():
    x = tg.tensor(A.reshape(1, 3, 2, 2))
    np.testing.assert_array_equal(x.clone(memory_format=tg.channels_last).numpy(), x.numpy())
    assert repr(tg.channels_last) == "tapegrad.channels_last"


@pytest.mark.parametrize("call", [
    lambda lib, x: x.new_zeros(2, 3, device="cpu"),
    lambda lib, x: x.new_ones((2,), device="cpu"),
    lambda lib, x: x.new_full((2,), 7.0, device="cpu"),
    lambda lib, x: x.new_empty((2,), device="cpu").fill_(1),
    lambda lib, x: x.new_tensor([1.0, 2.0], device="cpu"),
    lambda lib, x: lib.zeros_like(x, device="cpu"),
    lambda lib, x: lib.ones_like(x, device="cpu", dtype=lib.int64),
    lambda lib, x: lib.full_like(x, 3, device="cpu"),
    lambda lib, x: lib.rand_like(x, device="cpu").mul(0),
    lambda lib, x: lib.randn_like(x, device="cpu").mul(0),
    lambda lib, x: lib.randint_like(x, 1, 2, device="cpu"),
])
def test_device_on_factories(call):
    same(call(tg, tg.tensor(A)), call(torch, torch.tensor(A)))


@pytest.mark.parametrize("other", [2.0, "tensor"])
def test_rsub_alpha(other):
    got = tg.rsub(tg.tensor(A), tg.tensor(A * 0.5) if other == "tensor" else other, alpha=3)
    want = torch.rsub(torch.tensor(A), torch.tensor(A * 0.5) if other == "tensor" else other,
                      alpha=3)
    same(got, want)


def test_rsub_needs_a_tensor_first():
    for lib in (tg, torch):
        with pytest.raises(TypeError):
            lib.rsub(2, lib.tensor([1, 2, 3]))
