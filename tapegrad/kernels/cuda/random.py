"""Random numbers drawn on the GPU, for dropout masks inside a training step.

A mask drawn on the host would have to be copied to the GPU in every training step. Instead
each CUDA thread owns a xoroshiro128+ generator state (numba's ``numba.cuda.random``) and
draws its elements in a grid-stride loop; the states live in device memory and advance in
place, so later draws continue the streams with no copy at all.

The states are built once from a seed (numba initialises them on the host and copies them
over: one counted transfer) and rebuilt when the caller's *key* changes -- tapegrad passes
its default generator object, which ``tapegrad.manual_seed`` replaces, so reseeding makes
the GPU's masks reproducible too. The streams differ from the CPU's: like torch, CPU and GPU
draw different numbers from the same seed.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import runtime
from .array import CudaArray

__all__ = ["uniform"]

cuda: Any = None  # numba.cuda, bound on first use (the simulator swaps this module global)
_draw: Any = None
_kernel: Any = None
_states: Any = None
_key: Any = None


def _uniform_kernel(states, out, n):  # a kernel: numba infers the types
    thread = cuda.grid(1)
    for i in range(thread, n, cuda.gridsize(1)):
        out[i] = _draw(states, thread)


def _generators() -> Any:
    """``numba.cuda.random``. Its host-side state initialisation is compiled in numba's
    object mode, which makes numba warn (deprecations, fallback notes) on import and first
    use: those warnings are about numba's internals, not the caller's code, so they are
    silenced here and around `create_xoroshiro128p_states`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("numba.cuda.random")


def _launch_size() -> tuple[int, int]:
    """(blocks, threads): a fixed grid, so each thread's state is reused on every call."""
    return (2, 32) if runtime.simulated() else (128, 256)


def uniform(shape: tuple[int, ...], key: Any, seed: Callable[[], int]) -> CudaArray:
    """A float64 CudaArray of ``shape`` with values uniform in [0, 1).

    ``key`` identifies the stream (states are rebuilt from ``seed()`` when it changes)."""
    global cuda, _draw, _states, _key, _kernel
    if cuda is None:
        cuda = runtime.numba_cuda()
        _draw = _generators().xoroshiro128p_uniform_float64
        _kernel = cuda.jit(_uniform_kernel)
        if runtime.simulated():
            # the simulator runs numba's uint64 state arithmetic on numpy scalars, which
            # warn on the wrap-around a GPU does silently
            warnings.filterwarnings("ignore", "overflow encountered in scalar",
                                    RuntimeWarning, r".*cuda\.random")
    blocks, threads = _launch_size()
    if _states is None or key is not _key:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _states = _generators().create_xoroshiro128p_states(blocks * threads,
                                                                seed=int(seed()))
        runtime.TRANSFERS.host_to_device += 1  # numba fills the states on the host
        runtime.TRANSFERS.bytes_host_to_device += blocks * threads * 16
        _key = key
    out = CudaArray.empty(shape, np.float64)
    if out.size:
        _kernel[blocks, threads](_states, out._buf, out.size)
    return out

