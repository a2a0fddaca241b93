"""Backends: the kernels of one device, as one object.

Every op that calls a kernel spells it the same way::

    kernels.on(x._data).softmax(x._data, axis)

`on` looks at the array and returns its device's `Backend`: `CUDA` for a `CudaArray`, else
`CPU`, which is `NUMBA` (the compiled kernels) unless ``TAPEGRAD_JIT=0`` chose `REFERENCE`
(the plain numpy ones) at import. Each backend gathers the functions of every kernel family
(elementwise and softmax, convolution, pooling, normalisation, optimizer updates, the
LSTM and GRU cells' gates): the families are written as separate modules, one per concept,
but a caller never picks one.

A backend imports a family's module the first time one of its kernels is asked for, so
``import tapegrad`` loads no convolution or CUDA code it does not use, and numba itself is
imported only on the first compiled call (see `tapegrad.kernels._jit`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from . import _jit
from .cuda.array import CudaArray
from .half import F16, Float32Kernels

__all__ = ["Backend", "CPU", "CUDA", "HALF", "NUMBA", "REFERENCE", "on"]

#: the kernel families, in the same order for every backend
FAMILIES = ("elementwise", "conv", "pooling", "norm", "optim", "rnn")


class Backend:
    """The kernels of one device: ``backend.<kernel>(...)`` for any family's kernel."""

    def __init__(self, name: str, modules: tuple[str, ...]) -> None:
        self.name = name
        self._modules = modules  # one module per family (paths under tapegrad.kernels)

    def modules(self) -> list[ModuleType]:
        """The family modules (imported now if they were not yet)."""
        return [importlib.import_module(f"{__package__}.{path}") for path in self._modules]

    def __getattr__(self, kernel: str) -> Callable[..., Any]:
        if kernel.startswith("__"):
            raise AttributeError(kernel)
        modules = self.modules()
        # the shared API (`__all__`, the same on every backend) first, then a device's own
        # public extras (CUDA's raise_target_errors, for its opt-in synchronous checks)
        found = next((getattr(m, kernel) for m in modules if kernel in m.__all__), None)
        if found is None and not kernel.startswith("_"):
            extras = (getattr(m, kernel, None) for m in modules)
            found = next((fn for fn in extras if callable(fn)), None)
        if found is not None:
            setattr(self, kernel, found)  # found once; later lookups are plain attributes
            return found
        raise AttributeError(f"the {self.name} backend has no kernel {kernel!r}")

    def __repr__(self) -> str:
        return f"<kernels backend {self.name!r}>"


NUMBA = Backend("numba", ("cpu", "conv_cpu", "pooling_cpu", "norm_cpu", "optim_cpu",
                          "rnn_cpu"))
REFERENCE = Backend("reference", ("reference", "conv_reference", "pooling_reference",
                                  "norm_reference", "optim_reference", "rnn_reference"))
CUDA = Backend("cuda", ("cuda.core", "cuda.conv", "cuda.pooling", "cuda.norm", "cuda.optim",
                        "cuda.rnn"))
#: the CPU backend in use: decided once, at import, from ``TAPEGRAD_JIT``
CPU = NUMBA if _jit.ENABLED else REFERENCE
#: float16 arrays on the CPU: the CPU kernels in float32 (numba has no half type; torch
#: computes half in float32 registers too), rounded back to half once
HALF = Float32Kernels(CPU)


def on(array: object) -> Backend | Float32Kernels:
    """The backend of ``array``'s device (and, on the CPU, of float16 arrays)."""
    if type(array) is CudaArray:
        return CUDA
    return HALF if getattr(array, "dtype", None) is F16 else CPU
