"""Array kernels: the arithmetic under every op, with no autograd knowledge.

Two interchangeable backends expose the same functions (see `reference.__all__`):

* `reference` -- plain NumPy, written to be read; the definition of each kernel.
* the numba backend (module ``tapegrad.kernels.cpu``) -- the same results, compiled.

Callers write ``from tapegrad import kernels`` and call ``kernels.cpu.softmax(x, axis)``:
``kernels.cpu`` is the *active* CPU backend, the numba module unless the environment variable
``TAPEGRAD_JIT`` is ``0`` (or ``false``/``off``/``no``) or numba is not installed, in which
case it is `reference`. The choice is made once, at import (`_jit.ENABLED`; the other numba
modules' ``active()`` selectors follow the same switch).

Importing this package does not import numba (that costs ~160 ms); the numba backend imports
it on its first kernel call (`_jit.lazy_njit`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import _jit, reference
from .cuda.array import CudaArray
from .half import F16 as _F16
from .half import float32_view

__all__ = ["cpu", "jit_enabled", "load_jit", "on", "reference"]

if _jit.ENABLED:
    from . import cpu
else:
    cpu = reference  # type: ignore[assignment]  # same API, plain NumPy


def jit_enabled() -> bool:
    """True when `cpu` is the numba backend (decided at import from ``TAPEGRAD_JIT``)."""
    return _jit.ENABLED


def load_jit() -> ModuleType:
    """The numba backend module itself, whatever ``TAPEGRAD_JIT`` says (tests, benchmarks).

    Importing the submodule ``tapegrad.kernels.cpu`` makes Python rebind this package's
    ``cpu`` attribute to it, so the active backend is put back afterwards.
    """
    active = globals()["cpu"]
    module = importlib.import_module(".cpu", __name__)
    globals()["cpu"] = active
    return module


#: CPU kernel module name -> the CUDA module with the same functions (``tapegrad.kernels.cuda.*``)
_CUDA_FAMILY = {"reference": "core", "cpu": "core", "conv_reference": "conv", "conv_cpu": "conv",
                "pooling_reference": "pooling", "pooling_cpu": "pooling",
                "norm_reference": "norm", "norm_cpu": "norm",
                "optim_reference": "optim", "optim_cpu": "optim"}


def on(array: object, cpu_module: ModuleType | None = None) -> ModuleType:
    """The kernel module for ``array``'s device: ``cpu_module`` (default: the active `cpu`)
    for a numpy array, its CUDA twin in `tapegrad.kernels.cuda` for a CUDA array.

    Ops call ``kernels.on(x._data).softmax(x._data, dim)``: one type test picks the backend,
    and both backends expose the same functions with the same arguments.
    """
    module = cpu_module if cpu_module is not None else globals()["cpu"]
    if type(array) is not CudaArray:
        if getattr(array, "dtype", None) is _F16:  # numba has no half type: float32, as torch
            return float32_view(module)
        return module
    family = _CUDA_FAMILY[module.__name__.rpartition(".")[2]]
    return importlib.import_module(f".cuda.{family}", __name__)
