"""``tapegrad.cuda``: torch's CUDA queries, so device-agnostic code runs unchanged.

    device = tapegrad.device("cuda:0" if tapegrad.cuda.is_available() else "cpu")

CUDA is available when numba's CUDA target (the ``cuda`` extra installs ``numba-cuda``) finds a
GPU and driver, or when ``NUMBA_ENABLE_CUDASIM=1`` asks numba to *simulate* one on the CPU (slow,
but it runs the real kernel code: that is how the tests check the kernels without a GPU).

tapegrad adds one thing torch does not have: a count of the copies between host and device
memory (`transfer_counter`). A training step on the GPU should copy nothing but the loss value
it prints; a test asserts that.
"""

from __future__ import annotations

from tapegrad import random
from tapegrad.kernels.cuda import runtime
from tapegrad.kernels.cuda.runtime import TransferCounter


def is_available() -> bool:
    """True when tensors can live on ``device="cuda"`` (a GPU, or numba's simulator)."""
    return runtime.available()


def device_count() -> int:
    """1 when CUDA is available (tapegrad drives one device, ``cuda:0``), else 0."""
    return 1 if runtime.available() else 0


def current_device() -> int:
    runtime.require()
    return 0


def is_simulated() -> bool:
    """True when the kernels run in numba's CUDA simulator instead of on a GPU."""
    return runtime.simulated() and runtime.available()


def get_device_name(device: object = None) -> str:
    runtime.require()
    if runtime.simulated():
        return "numba CUDA simulator"
    return str(runtime.numba_cuda().get_current_device().name.decode())


def synchronize(device: object = None) -> None:
    """Wait for every queued kernel to finish (timings must call this before reading a clock)."""
    runtime.numba_cuda().synchronize()


def manual_seed(seed: int) -> None:
    """Seed the generator that CUDA factories (drawn on the host, then copied) and the GPU's
    dropout streams start from: tapegrad has one generator for both devices."""
    random.manual_seed(seed)


manual_seed_all = manual_seed


def set_sync_checks(enabled: bool) -> None:
    """Check inputs that only a GPU kernel sees (a cross-entropy target outside [0, C)) when
    the op runs, at the cost of a stall and one copy per op; off by default. Without it such
    a target gives a NaN loss, where torch raises a device-side assert later on."""
    runtime.set_sync_checks(enabled)


def transfer_counter() -> TransferCounter:
    """The live count of host<->device copies (``.host_to_device``, ``.device_to_host``,
    ``.total``, bytes of each; ``.reset()``; ``.snapshot()`` for a frozen copy)."""
    return runtime.TRANSFERS


def reset_transfer_counter() -> None:
    runtime.TRANSFERS.reset()


__all__ = ["current_device", "device_count", "get_device_name", "is_available", "is_simulated",
           "manual_seed", "manual_seed_all", "reset_transfer_counter", "set_sync_checks",
           "synchronize", "transfer_counter"]
