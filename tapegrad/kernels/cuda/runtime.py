"""The CUDA runtime as tapegrad sees it: is there a GPU, copies to and from it, launch sizes.

Three facts shape this module:

* **numba.cuda is imported on first use.** ``import tapegrad`` must stay fast and must work
  on machines without CUDA; `numba_cuda()` imports it the first time a CUDA tensor is made.
* **A GPU, or numba's simulator.** With ``NUMBA_ENABLE_CUDASIM=1`` numba runs every kernel in
  Python threads on the CPU, one thread per CUDA thread. It is slow but it executes the same
  kernel source, which is how the test suite checks the kernels on machines without a GPU.
  `available()` is True with a real GPU or under the simulator.
* **Every copy between host and device is counted.** Data must stay on the device across the
  forward pass, the backward pass and the optimizer step; a silent round trip through the host
  would make a GPU slower than the CPU. All copies go through `to_device` and `to_host`, which
  bump `TRANSFERS`, so a test can assert that a training step copies nothing but the loss.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "TRANSFERS",
    "TransferCounter",
    "available",
    "blocks_for",
    "build_once",
    "device_empty",
    "jit_kernel",
    "launch_1d",
    "numba_cuda",
    "require",
    "set_sync_checks",
    "simulated",
    "sync_checks",
    "threads_per_block",
    "to_device",
    "to_host",
    "unavailable_reason",
]

_module: ModuleType | None = None
_reason: str | None = None


def simulated() -> bool:
    """True when numba's CUDA simulator runs the kernels (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def numba_cuda() -> ModuleType:
    """``numba.cuda``, imported on first use; raises `require`'s error when unusable."""
    require()
    assert _module is not None
    return _module


def unavailable_reason() -> str | None:
    """Why CUDA cannot be used here (None when it can). Probes once, then remembers."""
    global _module, _reason
    if _module is not None:
        return None
    if _reason is not None:
        return _reason
    try:  # the `cuda` extra: NVIDIA's numba-cuda, which provides numba.cuda
        importlib.import_module("numba_cuda")
    except ImportError:
        _reason = "numba-cuda is not installed (pip install 'tapegrad[cuda]')"
        return _reason
    try:
        cuda = importlib.import_module("numba.cuda")
    except Exception as exc:  # any import failure means: no CUDA target
        _reason = (f"numba's CUDA target cannot be imported ({exc}); install it with "
                   "pip install 'tapegrad[cuda]'")
        return _reason
    if simulated():
        _guard_simulated_shared_memory()
        _module = cuda
        return None
    try:
        ok = bool(cuda.is_available())
    except Exception:  # a broken driver is the same as no driver
        ok = False
    if not ok:
        _reason = ("no CUDA GPU or driver was found (set NUMBA_ENABLE_CUDASIM=1 to run the "
                   "CUDA kernels in numba's simulator on the CPU)")
        return _reason
    _module = cuda
    return None


def _guard_simulated_shared_memory() -> None:
    """Make the simulator's ``cuda.shared.array`` safe for concurrent first calls.

    The simulator keeps a block's shared arrays in a dict keyed by the calling source line;
    the first thread to ask creates the array. Two threads of the first block asking at the
    same moment can both find no entry and each create one, after which one of them works on
    a private copy that the others never see: the block's results come out wrong, now and
    then (more often with a short ``sys.setswitchinterval``). A lock around the lookup makes
    the first call create the array exactly once, as on a GPU.
    """
    import sys

    from numba.core import types as numba_types
    from numba.np import numpy_support

    kernelapi = importlib.import_module("numba.cuda.simulator.kernelapi")
    shared = kernelapi.FakeCUDAShared
    if getattr(shared.array, "_tapegrad_locked", False):
        return
    unlocked = shared.array
    lock = threading.Lock()

    def array(self: Any, shape: Any, dtype: Any, alignment: Any = None) -> Any:
        if shape == 0 or alignment is not None:  # dynamic shared memory, or an error
            return unlocked(self, shape, dtype, alignment)
        caller = sys._getframe(1)  # the kernel line asking: the key, as numba's own
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            found = self._allocations.get(key)
            if found is None:
                if isinstance(dtype, numba_types.Type):  # numba.float32 and friends
                    dtype = numpy_support.as_dtype(dtype)
                found = self._allocations[key] = np.empty(shape, np.dtype(dtype))
            return found

    array._tapegrad_locked = True  # type: ignore[attr-defined]
    shared.array = array


def available() -> bool:
    """True when tensors can be put on ``device="cuda"`` (a GPU, or the simulator)."""
    return unavailable_reason() is None


def require() -> None:
    """Raise torch's error for CUDA requests on a machine that cannot serve them."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(
            f"Torch not compiled with CUDA enabled: tapegrad cannot use device 'cuda' here "
            f"because {reason}. Use device='cpu', or pick the device with "
            "tapegrad.device('cuda' if tapegrad.cuda.is_available() else 'cpu')."
        )


# ------------------------------------------------------------------ checks
#: Whether ops check their inputs on the GPU by reading a flag back (see `set_sync_checks`).
_sync_checks = os.environ.get("TAPEGRAD_CUDA_SYNC_CHECKS", "0") not in ("", "0")


def sync_checks() -> bool:
    return _sync_checks


def set_sync_checks(enabled: bool) -> None:
    """Make kernels that cannot raise (a GPU thread has no exceptions) report bad input at
    once: the op reads the kernel's error flags back (a stall and one counted copy) and
    raises the CPU's error. Off by default, so a training step copies nothing; torch reports
    the same errors asynchronously ("device-side assert triggered"). Also on when the
    environment variable ``TAPEGRAD_CUDA_SYNC_CHECKS=1`` is set."""
    global _sync_checks
    _sync_checks = bool(enabled)


# ------------------------------------------------------------------ transfers
@dataclass
class TransferCounter:
    """How many copies crossed between host memory and the GPU, and how many bytes."""

    host_to_device: int = 0
    device_to_host: int = 0
    bytes_host_to_device: int = 0
    bytes_device_to_host: int = 0

    @property
    def total(self) -> int:
        return self.host_to_device + self.device_to_host

    def reset(self) -> None:
        self.host_to_device = self.device_to_host = 0
        self.bytes_host_to_device = self.bytes_device_to_host = 0

    def snapshot(self) -> TransferCounter:
        return TransferCounter(self.host_to_device, self.device_to_host,
                               self.bytes_host_to_device, self.bytes_device_to_host)


#: The process-wide counter; read it through ``tapegrad.cuda.transfer_counter()``.
TRANSFERS = TransferCounter()


def to_device(host: np.ndarray) -> Any:
    """Copy a host array to a new 1-D device buffer (counted)."""
    cuda = numba_cuda()
    flat = np.ascontiguousarray(host).reshape(-1)
    TRANSFERS.host_to_device += 1
    TRANSFERS.bytes_host_to_device += flat.nbytes
    if flat.size == 0:
        return cuda.device_array(0, dtype=flat.dtype)
    return cuda.to_device(flat)


def to_host(buffer: Any, count: int | None = None) -> np.ndarray:
    """Copy a 1-D device buffer (its first ``count`` items) to a new host array (counted)."""
    if count is not None and count != buffer.shape[0]:
        buffer = buffer[:count]
    host = np.empty(buffer.shape[0], dtype=buffer.dtype)
    TRANSFERS.device_to_host += 1
    TRANSFERS.bytes_device_to_host += host.nbytes
    if host.size:
        buffer.copy_to_host(host)
    return host


def device_empty(count: int, dtype: np.dtype) -> Any:
    """An uninitialised 1-D device buffer of ``count`` items (no transfer)."""
    return numba_cuda().device_array(max(int(count), 0), dtype=np.dtype(dtype))


# ------------------------------------------------------------------ compiling
_jit_cache: dict[Any, Any] = {}
# Re-entrant: a builder may build the device functions it calls through build_once too.
_build_lock = threading.RLock()


def build_once(cache: dict[Any, Any], key: Any, build: Callable[[], Any]) -> Any:
    """``cache[key]``, made by ``build()`` the first time it is asked for.

    Every kernel module compiles its kernels lazily, per dtype (or per expression), and keeps
    them in a dict of its own; this is the one place that does the check-and-build, under a
    lock so that two threads never compile the same kernel twice.
    """
    built = cache.get(key)
    if built is None:
        with _build_lock:
            built = cache.get(key)
            if built is None:
                built = cache[key] = build()
    return built


def jit_kernel(func: Any) -> Any:
    """``numba.cuda.jit(func)``, compiled on first use and kept.

    Kernels name ``cuda`` as a *module global* of their own module, bound here just before
    compiling: numba's simulator runs a kernel by swapping that global for its fake CUDA
    module (a name captured in a closure would not be swapped), and importing numba.cuda at
    module import time would slow ``import tapegrad`` and fail on machines without CUDA.
    """
    def build() -> Any:
        cuda = numba_cuda()
        func.__globals__["cuda"] = cuda
        return cuda.jit(func)

    return build_once(_jit_cache, func, build)


def launch_1d(kernel: Any, total: int, *args: Any) -> None:
    """Launch a grid-stride ``kernel(total, *args)`` over ``total`` items (none: no launch)."""
    if total:
        threads = threads_per_block()
        kernel[blocks_for(total, threads), threads](total, *args)


# ------------------------------------------------------------------ launch sizes
def threads_per_block() -> int:
    """Threads per block for 1-D launches: 256 on a GPU (8 warps keep an SM busy); 32 in the
    simulator, which runs every CUDA thread as a Python thread. Kernels loop with a grid
    stride, so any block count covers any size: the choice changes speed, never results."""
    return 32 if simulated() else 256


def blocks_for(n: int, threads: int | None = None) -> int:
    """Blocks for a grid-stride loop over ``n`` items (at least one, capped)."""
    threads = threads or threads_per_block()
    cap = 4 if simulated() else 4096
    return max(1, min(cap, (int(n) + threads - 1) // threads))
