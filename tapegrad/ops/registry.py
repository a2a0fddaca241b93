"""The op registry: sample inputs for every differentiable op, shared with the tests.

Each op registers an `OpInfo`: how to call it (the *same* code runs with ``lib=tapegrad``
and ``lib=torch``), and a function returning sample inputs as numpy float64 arrays. The
test suite (and ``tapegrad check``) turns every sample into forward and backward
comparisons against torch in float64 and float32, a numerical gradcheck, and
non-contiguous variants of the inputs.

Samples live in ``tapegrad/ops/samples/<family>.py`` and are imported only when the
registry is read, so ``import tapegrad`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_MODULES = ("arithmetic", "elementwise", "activation", "reduction", "linalg", "shape",
                  "dims", "joining", "indexing", "setitem", "scatter", "index_select",
                  "masking")


@dataclass(frozen=True)
class Sample:
    """One set of inputs. Floating numpy arrays in ``args`` become tensors that require
    grad (unless ``grad`` says otherwise, one bool per arg); integer/bool arrays become
    int64/bool tensors; anything else is passed through unchanged."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    grad: tuple | None = None
    name: str = ""

    def requires_grad(self, i: int) -> bool:
        a = self.args[i]
        # numpy scalars count as 0-d arrays (rng.standard_normal(()) returns one)
        if not (isinstance(a, (np.ndarray, np.generic)) and np.asarray(a).dtype.kind == "f"):
            return False
        return True if self.grad is None else bool(self.grad[i])


@dataclass(frozen=True)
class OpInfo:
    """How to call and test one op.

    ``call(lib, *args, **kwargs)`` must work for ``lib`` = tapegrad and torch (use
    ``lib.exp(x)`` or methods such as ``x.exp()``). ``samples(rng)`` returns `Sample`s.
    """

    name: str
    call: Callable[..., Any]
    samples: Callable[[np.random.Generator], list[Sample]]
    gradcheck: bool = True  # numerical gradient check in float64
    gradgradcheck: bool = False  # second-order check (create_graph) in float64
    float32_atol: float = 1e-5
    float32_rtol: float = 1e-4
    float32_grad_atol: float = 1e-4
    float32_grad_rtol: float = 1e-3
    noncontiguous: bool = True  # also test with transposed/strided copies of the inputs
    differentiable: bool = True  # False for comparisons, argmax... (forward only)


_REGISTRY: dict[str, OpInfo] = {}
_loaded = False


def register(op: OpInfo) -> OpInfo:
    if op.name in _REGISTRY:
        raise ValueError(f"op {op.name!r} is registered twice")
    _REGISTRY[op.name] = op
    return op


def all_ops() -> list[OpInfo]:
    """Every registered op (imports the sample modules on first use)."""
    global _loaded
    if not _loaded:
        for name in SAMPLE_MODULES:
            importlib.import_module(f"tapegrad.ops.samples.{name}")
        _loaded = True
    return list(_REGISTRY.values())


def get(name: str) -> OpInfo:
    all_ops()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no op named {name!r} is registered; known: {sorted(_REGISTRY)}") from None
