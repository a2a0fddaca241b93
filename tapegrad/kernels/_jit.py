"""Lazy numba compilation and backend selection, shared by every numba kernel module.

Each ``*_cpu`` module writes its kernels as plain Python functions (``_ew_py``, ...) and binds
the compiled names with ``_ew = lazy_njit(_ew_py)``. Three facts shape this helper:

* **numba is imported on the first kernel call, not at import.** ``import numba`` alone costs
  ~160 ms, which ``import tapegrad`` should not pay. A `LazyKernel` stands in for the compiled
  function until it is called.
* **A kernel calls other kernels by their global names,** and numba resolves those globals when
  it compiles the caller: they must be numba dispatchers by then, not `LazyKernel` objects. So
  the first call into a module swaps *every* `LazyKernel` among that module's globals for its
  dispatcher (creating a dispatcher compiles nothing; each compiles per argument types on its
  own first call). After the swap the wrappers call dispatchers directly, with no indirection.
  A parallel body loops with ``prange``: its module sets ``prange = range`` (so the bodies also
  run as plain Python) and the swap rebinds it to ``numba.prange``.
* **``cache=True`` keeps the machine code in ``__pycache__``,** so later processes load it in
  milliseconds instead of compiling. numba can only cache a function defined at module level in
  a real file, which is why the bodies live in their modules and only the wrapping lives here.
  numba re-checks only the file that defines a kernel before reusing its cache, so a kernel
  should call (and read constants of) its own file only: an edit to another file's helper would
  leave the cached caller stale. That is why some small helpers (four-way partial sums) are
  written again in each kernel module instead of being shared.

Options for every kernel: ``error_model="numpy"`` makes ``x/0`` give inf/NaN instead of raising
(which also lets LLVM vectorise loops that divide); ``nogil=True`` releases the GIL; no
fastmath, so results follow IEEE order of operations.

**Read-only installs** (a container run as a non-root user, with the package directory,
``NUMBA_CACHE_DIR`` and ``HOME`` all read-only) leave numba nowhere to write its cache, and
``cache=True`` then fails with "cannot cache function ...: no locator available". The kernels
are then compiled without a cache (each process compiles again), after one RuntimeWarning
that says how to get the cache back. Any other failure to set numba up raises RuntimeError
naming ``TAPEGRAD_JIT=0``, the switch to the numpy reference kernels.

Backend choice: `ENABLED` is decided once, at import, from the environment variable
``TAPEGRAD_JIT`` (``0``/``false``/``off``/``no`` disable numba) and whether numba is installed;
`tapegrad.kernels.backend` reads it to choose the CPU backend.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["ENABLED", "LazyKernel", "lazy_njit"]

#: True when the numba kernels are in use (``TAPEGRAD_JIT`` not off, and numba importable).
ENABLED = (
    os.environ.get("TAPEGRAD_JIT", "1").strip().lower() not in {"0", "false", "off", "no"}
    and importlib.util.find_spec("numba") is not None
)

_OPTIONS = {"error_model": "numpy", "nogil": True}
_lock = threading.Lock()
_cache = {"on": True}  # switched off (once, with a warning) where numba cannot cache
_NO_JIT_HINT = "set TAPEGRAD_JIT=0 to use the numpy reference kernels instead"




class LazyKernel:
    """Stands in for ``numba.njit(py_func)`` until the first call (see the module docstring)."""

    def __init__(self, py_func: Callable[..., Any], parallel: bool) -> None:
        self.py_func = py_func
        self.parallel = parallel
        self.dispatcher: Callable[..., Any] | None = None

    def __repr__(self) -> str:
        state = "compiled" if self.dispatcher is not None else "not compiled yet"
        return f"<LazyKernel {self.py_func.__qualname__} ({state})>"

    def __call__(self, *args: Any) -> Any:
        if self.dispatcher is None:
            _swap_in(self.py_func.__globals__)
        return self.dispatcher(*args)  # type: ignore[misc]  # set by _swap_in


def lazy_njit(py_func: Callable[..., Any], parallel: bool = False) -> LazyKernel:
    """``numba.njit(cache=True, ...)(py_func)``, built on first call (numba imported then).

    ``parallel=True`` compiles ``prange`` loops to run on numba's thread pool.
    """
    return LazyKernel(py_func, parallel)


def _compile(numba: ModuleType, kernel: LazyKernel) -> Callable[..., Any]:
    """``numba.njit(...)(py_func)``, cached on disk where numba can write a cache."""
    if _cache["on"]:
        try:
            return numba.njit(parallel=kernel.parallel, cache=True, **_OPTIONS)(kernel.py_func)
        except RuntimeError as exc:
            if "cannot cache" not in str(exc):
                raise
            _cache["on"] = False
            warnings.warn(
                f"tapegrad: numba cannot cache compiled kernels here ({exc}), so they are "
                "compiled without a cache, again in every process. Make NUMBA_CACHE_DIR (or "
                f"the package's __pycache__) writable to keep them, or {_NO_JIT_HINT}.",
                RuntimeWarning, stacklevel=4)
    return numba.njit(parallel=kernel.parallel, cache=False, **_OPTIONS)(kernel.py_func)


def _swap_in(namespace: dict[str, Any]) -> None:
    """Import numba and replace every `LazyKernel` in a module's globals by its dispatcher."""
    with _lock:
        try:
            numba = importlib.import_module("numba")
            if "prange" in namespace:
                namespace["prange"] = numba.prange
            for name, value in list(namespace.items()):
                if isinstance(value, LazyKernel):
                    if value.dispatcher is None:
                        value.dispatcher = _compile(numba, value)
                    namespace[name] = value.dispatcher
        except Exception as exc:  # numba broken or unusable here: say how to do without it
            raise RuntimeError(f"tapegrad could not set up its numba kernels "
                               f"({type(exc).__name__}: {exc}); {_NO_JIT_HINT}") from exc
