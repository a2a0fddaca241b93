"""The CUDA tests run numba's simulator (``NUMBA_ENABLE_CUDASIM=1``, set in the top-level
conftest), which runs every CUDA thread of a block as a Python thread. Threads that wait at
``cuda.syncthreads()`` hand the GIL over at Python's switch interval (5 ms by default), so
a shorter interval makes every block-synchronised kernel several times faster."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _fast_thread_switching() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)
