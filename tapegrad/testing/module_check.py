"""``compare_modules``: your tapegrad ``nn.Module`` against the same module in torch.

A module is parameters plus a forward. To check one against torch::

    compare_modules(MyBlock(16), TorchBlock(16), x)

copies torch's ``state_dict`` into the tapegrad module (so both start from the same
weights and buffers), then, in train mode and in eval mode, runs both on copies of the same
inputs, compares the outputs, runs backward from the same random upstream gradient, and
compares the gradient of every floating input and of every parameter. The result is the
oracle's table (`tapegrad.testing.oracle.OracleResult`), one row per compared tensor::

    name                  shape    dtype    exact  allclose  max abs diff  max rel diff
    train output          [4, 16]  float32  no     yes       2.38e-07      1.2e-06
    train grad x          [4, 16]  float32  no     yes       1.19e-07      3.1e-07
    train grad fc.weight  [16, 16] float32  no     yes       4.77e-07      2.2e-06
    ...

Inputs are named from the module's ``forward`` signature. Random layers (dropout) differ
between the libraries in train mode: give them ``p=0`` or pass ``modes=("eval",)``.
torch is imported when the comparison runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad
from tapegrad.tensor import Tensor
from tapegrad.testing.locate import first_wrong_gradient
from tapegrad.testing.oracle import (
    OracleMismatch,
    OracleResult,
    Row,
    _Comparer,
    _grad_pairs,
    backward_both,
    import_torch,
    upstream_gradients,
)

__all__ = ["compare_modules", "copy_torch_state"]


def copy_torch_state(tg_module: Any, torch_module: Any) -> None:
    """Load ``torch_module``'s parameters and buffers into ``tg_module`` (same names,
    same shapes); a name one side lacks is a KeyError that lists both sides' names."""
    __tracebackhide__ = True
    state = {k: Tensor._from_array(v.detach().cpu().numpy().copy())
             for k, v in torch_module.state_dict().items()}
    mine = set(tg_module.state_dict())
    if set(state) != mine:
        raise KeyError(
            "the two modules hold different parameters and buffers: only in torch's: "
            f"{sorted(set(state) - mine) or 'none'}; only in tapegrad's: "
            f"{sorted(mine - set(state)) or 'none'}")
    tg_module.load_state_dict(state)


def _names(module: Any, n: int) -> list[str]:
    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i].name if i < len(params) else f"input{i}" for i in range(n)]


def _array(x: Any, torch: Any) -> Any:
    if isinstance(x, Tensor):
        return x.detach().numpy().copy()
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy().copy()
    return x


def compare_modules(tg_module: Any, torch_module: Any, *inputs: Any,
                    atol: float | None = None, rtol: float | None = None,
                    modes: Sequence[str] = ("train", "eval"), seed: int = 0,
                    copy_weights: bool = True, raise_on_failure: bool = True) -> OracleResult:
    """Compare ``tg_module(*inputs)`` with ``torch_module(*inputs)``: outputs, input
    gradients and parameter gradients, in each of ``modes``.

    ``inputs`` are numpy arrays, tapegrad or torch tensors (copied for both libraries;
    floating ones require grad) or other values passed as they are. Tolerances default per
    dtype (the oracle's `FORWARD_TOL`/`GRAD_TOL`). With ``copy_weights`` torch's state_dict
    is loaded into ``tg_module`` first (`copy_torch_state`). Returns the `OracleResult`;
    raises `OracleMismatch` (an AssertionError) with the table on a difference, unless
    ``raise_on_failure=False``.
    """
    __tracebackhide__ = True  # a failing test points at the call, not into this file
    torch = import_torch()
    if copy_weights:
        copy_torch_state(tg_module, torch_module)
    names = _names(tg_module, len(inputs))
    arrays = [_array(x, torch) for x in inputs]
    cmp = _Comparer(torch, atol, rtol, atol, rtol)
    got = want = None
    for mode in modes:
        if mode not in ("train", "eval"):
            raise ValueError(f"compare_modules: a mode is 'train' or 'eval', not {mode!r}")
        tg_module.train(mode == "train")
        torch_module.train(mode == "train")
        for p in tg_module.parameters():
            p.grad = None
        for p in torch_module.parameters():
            p.grad = None
        tg_in, th_in, leaves = [], [], []
        for name, a in zip(names, arrays, strict=True):
            if not isinstance(a, np.ndarray):
                tg_in.append(a)
                th_in.append(a)
                continue
            grad = a.dtype.kind == "f"
            g = Tensor._from_array(a.copy(), requires_grad=grad)
            t = torch.from_numpy(a.copy()).requires_grad_(grad)
            tg_in.append(g)
            th_in.append(t)
            if grad:
                leaves.append((name, g, t))
        tapegrad.manual_seed(seed)
        torch.random.default_generator.manual_seed(seed)
        got, want = tg_module(*tg_in), torch_module(*th_in)
        cmp.value(f"{mode} output", "forward", got, want)
        pairs = _grad_pairs(got, want, torch)
        if not pairs:
            continue
        backward_both(pairs, upstream_gradients(pairs, seed), torch)
        for name, g, t in leaves:
            cmp.value(f"{mode} grad {name}", "grad", g.grad, t.grad)
        mine = dict(tg_module.named_parameters())
        for name, p in torch_module.named_parameters():
            if name not in mine:
                cmp.rows.append(Row(f"{mode} grad {name}", "grad",
                                    note="tapegrad's module has no such parameter"))
            elif p.grad is None and mine[name].grad is None:
                continue  # unused in this mode by both
            else:
                cmp.value(f"{mode} grad {name}", "grad", mine[name].grad, p.grad)
    result = OracleResult(cmp.rows, got, want)
    if raise_on_failure and not result.passed:
        message = "the tapegrad module and the torch module disagree:\n" + result.table()
        found = _first_wrong_gradient(tg_module, torch_module, arrays, names, result, seed)
        raise OracleMismatch(message + (f"\n\n{found}" if found else ""), result)
    return result


def _first_wrong_gradient(tg_module: Any, torch_module: Any, arrays: list, names: list,
                          result: OracleResult, seed: int) -> Any:
    """Where the gradients started to differ (`first_wrong_gradient`), in the first mode
    whose outputs agree and whose gradients do not; None when there is no such mode."""
    for mode in ("train", "eval"):
        rows = [r for r in result.rows if r.name.startswith(f"{mode} ")]
        if not rows or any(not r.ok for r in rows if r.kind == "forward"):
            continue
        if all(r.ok for r in rows):
            continue
        tg_module.train(mode == "train")
        torch_module.train(mode == "train")

        def program(lib: Any, *xs: Any) -> Any:
            return (tg_module if lib is tapegrad else torch_module)(*xs)

        return first_wrong_gradient(program, *arrays, seed=seed, names=names)
    return None
