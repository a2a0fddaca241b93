"""``tapegrad.cuda``: torch's CUDA queries, so device-agnostic code runs unchanged.

    device = tapegrad.device("cuda:0" if tapegrad.cuda.is_available() else "cpu")

tapegrad has no CUDA storage yet (a numba.cuda backend is a later piece of work), so
``is_available()`` is False and ``device_count()`` is 0: such code picks the CPU.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: tapegrad cannot put tensors on a GPU yet."""
    return False


def device_count() -> int:
    return 0


__all__ = ["device_count", "is_available"]
