"""Keep freed array memory in the process instead of returning it to the OS each step.

A training step allocates and frees the same medium-sized arrays (activations,
gradients) over and over. With glibc's defaults, blocks around 128 KB and up are
``mmap``-ed and unmapped, or trimmed back to the OS, so every step faults the same pages
in again: measured here, that made a 32K-element ReLU 3-4x slower inside a training loop
than in isolation. Raising glibc's mmap and trim thresholds (``mallopt``) keeps that
memory for reuse. It only applies to glibc (Linux); ``TAPEGRAD_MALLOC_TUNING=0`` turns
it off.
"""

from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # arrays up to 32 MiB come from the heap, not fresh mmaps
TRIM_THRESHOLD = 256 << 20  # keep up to 256 MiB of freed heap instead of trimming it


def tune() -> bool:
    """Apply the thresholds; returns whether they were applied."""
    if os.environ.get("TAPEGRAD_MALLOC_TUNING", "1").strip().lower() in {"0", "false", "off"}:
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
