"""The check behind tests/ops/test_fused_composites.py: a fused op against its composite.

Imported by its sibling test modules as ``from fused_check import check`` (like
``torch_check``: pytest's "prepend" import mode puts this folder on ``sys.path``). A new
fused op's test writes the composite of plain ops it equals and calls `check`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tapegrad as tg

RTOL, ATOL = 1e-10, 1e-12  # float64: only the order of roundings differs


def _leaves(arrays: tuple, differentiable: set[int]) -> list:
    """float arrays -> float64 leaves (requiring grad at the ``differentiable`` positions);
    anything else passes through."""
    return [tg.tensor(a.astype(np.float64), requires_grad=i in differentiable)
            if _is_float(a) else a for i, a in enumerate(arrays)]


def _is_float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _flat(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def close(got: Any, want: Any, what: str) -> None:
    if want is None:
        assert got is None or not np.any(got.detach().numpy()), what
        return
    assert got is not None, f"{what}: the fused op gave no gradient"
    assert tuple(got.shape) == tuple(want.shape), (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL,
                               atol=ATOL, err_msg=what)


def _grads(outs: list, wrt: list, cot: list, create_graph: bool) -> tuple:
    return tg.autograd.grad(outs, wrt, cot, retain_graph=True, create_graph=create_graph,
                            allow_unused=True)


def _second(grads: tuple, vs: list, wrt: list) -> tuple:
    """d <grads, vs> / d wrt (None everywhere when no gradient depends on wrt)."""
    used = [(g * v).sum() for g, v in zip(grads, vs, strict=True)
            if g is not None and g.requires_grad]
    if not used:
        return (None,) * len(wrt)
    return tg.autograd.grad(sum(used[1:], used[0]), wrt, allow_unused=True)


def _compare(fused: Callable[..., Any], composite: Callable[..., Any], arrays: tuple,
             differentiable: set[int], rng: np.random.Generator, second_order: bool,
             label: str) -> None:
    fx, cx = _leaves(arrays, differentiable), _leaves(arrays, differentiable)
    got, want = _flat(fused(*fx)), _flat(composite(*cx))
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        close(g, w, f"{label}: output {i}")
    wrt_f = [t for t in fx if isinstance(t, tg.Tensor) and t.requires_grad]
    wrt_c = [t for t in cx if isinstance(t, tg.Tensor) and t.requires_grad]
    pairs = [(g, w) for g, w in zip(got, want, strict=True) if w.requires_grad]
    assert pairs and wrt_f, "nothing to differentiate"
    # the cotangents require grad too: second order then also differentiates the backward
    # with respect to its incoming gradient (the backward ops' own backward)
    cot = [rng.standard_normal(tuple(w.shape)) for _, w in pairs]
    cot_f = [tg.tensor(c, requires_grad=second_order) for c in cot]
    cot_c = [tg.tensor(c, requires_grad=second_order) for c in cot]
    outs_f, outs_c = [g for g, _ in pairs], [w for _, w in pairs]
    want_g = _grads(outs_c, wrt_c, cot_c, create_graph=second_order)
    for create_graph in (False, True) if second_order else (False,):
        got_g = _grads(outs_f, wrt_f, cot_f, create_graph=create_graph)
        for i, (g, w) in enumerate(zip(got_g, want_g, strict=True)):
            close(g, w, f"{label}: grad of input {i} (create_graph={create_graph})")
    if second_order:
        vs = [tg.tensor(rng.standard_normal(tuple(t.shape))) for t in wrt_f]
        for i, (g, w) in enumerate(zip(_second(got_g, vs, wrt_f + cot_f),
                                       _second(want_g, vs, wrt_c + cot_c), strict=True)):
            close(g, w, f"{label}: second-order grad of input {i} (inputs, then cotangents)")


def check(fused: Callable[..., Any], composite: Callable[..., Any], *arrays: Any,
          seed: int = 0, second_order: bool = True) -> None:
    """``fused(*leaves)`` equals ``composite(*leaves)`` (float arrays become float64 leaves):
    values; for random cotangents the gradients of every float input by both backward paths
    of the fused op; with ``second_order`` the second-order gradients. Then again with one
    input at a time requiring grad (the backward's "is this gradient needed" branches)."""
    rng = np.random.default_rng(seed)
    floats = {i for i, a in enumerate(arrays) if _is_float(a)}
    _compare(fused, composite, arrays, floats, rng, second_order, "all inputs")
    if len(floats) > 1:
        for i in sorted(floats):
            _compare(fused, composite, arrays, {i}, rng, second_order, f"only input {i}")
