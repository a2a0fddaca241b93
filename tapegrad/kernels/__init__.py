"""Array kernels: the arithmetic under every op, with no autograd knowledge.

Each kernel family is written twice, as a plain numpy reference (the definition, written to
be read: ``reference.py``, ``conv_reference.py``, ``pooling_reference.py``,
``norm_reference.py``, ``optim_reference.py``, ``rnn_reference.py``) and as compiled numba
code with the same functions (``cpu.py``, ``conv_cpu.py``...), plus CUDA kernels in
`tapegrad.kernels.cuda`. Ops never pick a module: they ask for the backend of their array's
device, ``kernels.on(x._data).softmax(x._data, axis)`` (see `tapegrad.kernels.backend`). The
numba results equal the references up to the order of additions in sums (`reference`
states the tolerance).

The CPU backend is the numba one unless the environment variable ``TAPEGRAD_JIT`` is ``0``
(or ``false``/``off``/``no``) or numba is not installed; the choice is made once, at import
(`_jit.ENABLED`). Importing this package does not import numba (that costs ~160 ms); the
numba modules import it on their first kernel call (`_jit.lazy_njit`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import _jit, reference
from .backend import CPU, CUDA, NUMBA, REFERENCE, Backend, on

__all__ = ["CPU", "CUDA", "NUMBA", "REFERENCE", "Backend", "jit_enabled", "load_jit", "on",
           "reference"]


def jit_enabled() -> bool:
    """True when the CPU backend is the numba one (decided at import from ``TAPEGRAD_JIT``)."""
    return _jit.ENABLED


def load_jit() -> ModuleType:
    """The numba elementwise module itself, whatever ``TAPEGRAD_JIT`` says (tests and
    benchmarks compare it with `reference`)."""
    return importlib.import_module(".cpu", __name__)
