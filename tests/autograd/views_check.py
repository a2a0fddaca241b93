"""Running one program in tapegrad and in torch and comparing everything: values,
gradients, ``_version`` and raised errors (with the library's name taken out).

Imported by its sibling test modules as ``from views_check import assert_same``.
"""

from __future__ import annotations

import re

import numpy as np
import torch

import tapegrad as tg

LIBS = (tg, torch)


def leaf(L, arr):
    return L.tensor(np.asarray(arr, dtype=np.float64), dtype=L.float64, requires_grad=True)


def norm_error(exc: BaseException) -> tuple[str, str]:
    """An error as (type, message) with the parts that name the library removed."""
    msg = str(exc).replace("torch.", "tapegrad.")
    msg = msg.split(" Hint:")[0]
    msg = re.sub(r", which is output \d+ of [\w:]+,", "", msg)
    return type(exc).__name__, msg


def run_both(program, *arrays):
    """``program(L, *leaves)`` in both libraries: its result (tensors -> arrays), the
    leaves' gradients, or the error raised."""
    outcomes = []
    for L in LIBS:
        leaves = [leaf(L, a) for a in arrays]
        try:
            out = program(L, *leaves)
        except (RuntimeError, IndexError, ValueError, TypeError) as exc:
            outcomes.append(("error", norm_error(exc)))
            continue
        outs = out if isinstance(out, tuple) else (out,)
        values = [o.detach().numpy().copy() if isinstance(o, L.Tensor) else o for o in outs]
        grads = [None if t.grad is None else t.grad.numpy().copy() for t in leaves]
        outcomes.append(("ok", values, grads))
    return outcomes


def assert_same(program, *arrays):
    mine, theirs = run_both(program, *arrays)
    assert mine[0] == theirs[0], (mine, theirs)
    if mine[0] == "error":
        assert mine[1] == theirs[1]
        return mine
    for a, b in zip(mine[1] + mine[2], theirs[1] + theirs[2], strict=True):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert a is not None and b is not None, (a, b)
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        else:
            assert a == b
    return mine
