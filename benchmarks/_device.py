"""The ``--device`` option the training benchmarks share: which side runs where, and clocks.

``--device cpu`` (the default) changes nothing: every script times what it always timed.
``--device cuda`` puts tapegrad's tensors on ``device="cuda"`` (numba.cuda kernels) and
torch's on torch's ``"cuda"``. Either side may be unable to run there -- tapegrad without
numba's CUDA target or a GPU, torch when it is a CPU build -- and then that side is skipped
with a line saying why, and the script still exits 0: a benchmark run on a laptop should
report what it cannot measure, not crash.

Two things make GPU timings honest:

* **Synchronise before reading a clock.** A kernel launch returns as soon as the kernel is
  queued; without ``synchronize()`` a timer measures how fast Python queues work, not how
  long the GPU takes to do it. `Devices.clock` syncs both libraries, then reads the clock.
* **The simulator is not a GPU.** Under ``NUMBA_ENABLE_CUDASIM=1`` tapegrad's kernels run in
  numba's simulator, one Python thread per CUDA thread: it checks that the benchmark *runs*,
  and its timings mean nothing. `Devices.simulated` tells the scripts to shrink the
  workloads and the step counts so that such a run finishes in seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Devices", "add_device_argument", "select"]


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--device {cpu,cuda}`` (default cpu) to a benchmark's parser."""
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="where tapegrad and torch run (default cpu); with cuda, a side "
                             "that has no CUDA here is skipped with a message")


@dataclass
class Devices:
    """Where each library runs: ``"cpu"``/``"cuda"``, or None when that side is skipped."""

    name: str
    tapegrad: str | None
    torch: str | None
    simulated: bool = False

    @property
    def cuda(self) -> bool:
        return self.name == "cuda"

    @property
    def anything_runs(self) -> bool:
        return self.tapegrad is not None or self.torch is not None

    def sync(self) -> None:
        """Wait for the queued kernels of every library that runs on a GPU."""
        if not self.cuda:
            return
        if self.tapegrad is not None:
            import tapegrad

            tapegrad.cuda.synchronize()
        if self.torch is not None:
            import torch

            torch.cuda.synchronize()

    def clock(self) -> float:
        """``time.perf_counter()`` after `sync`: read it before and after the timed work."""
        self.sync()
        return time.perf_counter()

    def steps(self, n: int, simulated: int = 1) -> int:
        """``n`` steps, or ``simulated`` steps under the simulator (whose timings mean nothing)."""
        return simulated if self.simulated else n

    def move(self, side: str, obj: Any) -> Any:
        """``obj.to(device)`` for ``side`` ("tapegrad" or "torch"); unchanged on the CPU."""
        device = getattr(self, side)
        return obj if device in (None, "cpu") else obj.to(device)


def select(name: str) -> Devices:
    """Resolve ``--device``: probe CUDA on both sides and print a line for each side that
    cannot run, and a warning under the simulator. CPU needs no probing."""
    if name == "cpu":
        return Devices("cpu", "cpu", "cpu")
    import torch

    import tapegrad

    ours: str | None = "cuda"
    simulated = False
    if tapegrad.cuda.is_available():
        simulated = tapegrad.cuda.is_simulated()
    else:
        from tapegrad.kernels.cuda import unavailable_reason

        ours = None
        print(f"tapegrad: CUDA not available, skipping tapegrad on cuda: {unavailable_reason()}")
    theirs: str | None = "cuda"
    if not torch.cuda.is_available():
        theirs = None
        print(f"torch: CUDA not available, skipping torch on cuda: torch {torch.__version__} "
              f"(built with CUDA {torch.version.cuda}) finds no GPU")
    if ours is None and theirs is None:
        print("neither library can run on cuda here: nothing to time")
    if simulated:
        # The simulator's threads wait at syncthreads() for Python's thread switch (5 ms by
        # default): switching more often makes block-synchronised kernels several times faster.
        sys.setswitchinterval(1e-4)
        print("WARNING: tapegrad's CUDA kernels run in numba's simulator "
              "(NUMBA_ENABLE_CUDASIM=1): the timings below are meaningless; tiny workloads "
              "and one step only, to check that the benchmark runs")
    return Devices("cuda", ours, theirs, simulated)


def ratio(ours: float | None, theirs: float | None) -> str:
    """``tapegrad / torch`` as text, ``n/a`` when a side was skipped."""
    if ours is None or theirs is None or theirs == 0:
        return "n/a"
    return f"{ours / theirs:.2f}x"
