"""How many threads tapegrad's own kernels use, and the small pool that runs them.

Most of a training step's arithmetic runs in a single thread: NumPy's BLAS parallelises only
products it judges large, and numba's kernels here are serial. A convolution on a batch,
though, is the same work repeated per sample, so two threads can each take part of the
batch. `parallel_map` does that: the caller and the pool's workers take the parts one by one
until none is left.

Why threads help although Python has a GIL: the work of each part is numba kernels compiled
with ``nogil=True`` and NumPy matrix products, and both release the GIL while they run. The
Python between two such calls holds it, so a part should be a few large calls, not many small
ones: every time a thread takes the GIL back while another holds it, it sleeps until woken.

Each rule below keeps the pool from costing more than it gains (each was measured on the
2-core development machine, a virtual machine, where waking a thread on an idle core costs
~20-30 us and handing a part over and back ~50 us):

* **Only large work goes parallel** (`worth_splitting`): ~2M multiply-adds per part or more.
* **BLAS runs one thread inside a region, and for small products everywhere.** OpenBLAS's
  own threads would compete with the parts, and after each threaded product its idle
  threads keep polling for work for ~0.1 s, a core each: in a training step that never
  stops (numbers at `BLAS_MIN_WORK`). The count is set through the library's
  ``openblas_set_num_threads`` (found with ctypes among the loaded libraries; when it cannot
  be found, nothing is changed and the results are the same).
* **Workers run on other cores than the caller.** When a sleeping worker is woken and every
  core looks busy, Linux tends to queue it on the caller's own core, and the two then take
  turns: measured, a split LeNet convolution took as long as the serial one. So before each
  region the workers are pinned (``sched_setaffinity``, Linux only) to the allowed cores
  other than the caller's current one. The caller itself is never pinned.
* **Nobody waits for a worker that has not started.** The caller takes parts too, and if
  every part is taken before a worker woke up, that worker's job is cancelled.
* **Busy machines fall back to serial.** When other processes occupy the other cores, a
  worker waits for a core or is preempted while holding the GIL, and splitting loses (a
  LeNet step: 8.5 ms split, 3.8 ms serial, with one of two cores taken). A region that took
  longer than its parts' CPU time counts a strike; after three in a row, regions run serially
  for a quarter of a second (`_judge`).
* **One region at a time.** A part that itself asks for a parallel region, or a second
  Python thread asking while one runs, gets its parts run one after the other in the caller:
  no deadlock, no oversubscription.

The number of threads: `set_num_threads` (as ``torch.set_num_threads``), else the
environment, read once: the smaller of ``OMP_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` where set
(what a user sets to run every library on one thread), else the number of CPUs this process
may run on. With one thread nothing is ever split. A split gives the same results whichever
thread runs a part (each part computes its own samples, and sums over parts are added in the
parts' order); a sum split into parts may round differently from the serial sum.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

# ctypes, glob and queue are imported where first needed: `import tapegrad` stays as fast as
# it was (they cost ~2.5 ms together), and a program that never splits never loads them.

__all__ = ["blas_cap", "blas_restore", "get_num_threads", "parallel_map", "set_num_threads",
           "split", "worth_splitting"]

#: Work (multiply-adds, or element copies for memory-bound kernels) below which a split does
#: not pay for waking the pool: ~2M multiply-adds take ~40 us on one core.
MIN_WORK = 1 << 21

#: Matrix products of fewer multiply-adds run BLAS on one thread (`blas_cap`). OpenBLAS
#: itself threads products from 2**18 multiply-adds; measured here, below 2**21 its second
#: thread gained nothing and sometimes lost (32x400 @ 400x120, LeNet's first linear layer:
#: 37 us on one thread, 41 on two; its weight gradient 120x32 @ 32x400: 34 vs 92 us), while
#: from 2**21 it gained a third (256x64 @ 64x128: 44 -> 31 us).
BLAS_MIN_WORK = 1 << 21
#: OpenBLAS's own threshold (its default GEMM_MULTITHREAD_THRESHOLD of 4 x 65536
#: multiply-adds): smaller products run on one thread without being asked, so `blas_cap`
#: skips its two library calls for them (an MLP's last layer, every step).
BLAS_SERIAL_WORK = 1 << 18

_ENV = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")


def _from_environment() -> int:
    counts = []
    for name in _ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            counts.append(int(value))
    if counts:
        return min(counts)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


_state = {"threads": _from_environment()}


def get_num_threads() -> int:
    """The number of threads tapegrad's parallel kernels use (1: everything serial)."""
    return _state["threads"]


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in tapegrad's parallel kernels (``torch.set_num_threads``)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, got {n!r}")
    _state["threads"] = n


def worth_splitting(items: int, work: float) -> int:
    """How many parts to split ``items`` independent items (samples) into, for ``work``
    multiply-adds in all: 1 (run serially) unless the work is large and there are threads."""
    threads = _state["threads"]
    if threads < 2 or items < 2 or work < MIN_WORK:
        return 1
    return min(threads, items, int(work // MIN_WORK))


def split(items: int, parts: int) -> list[tuple[int, int]]:
    """``items`` cut into ``parts`` contiguous ``(lo, hi)`` ranges of nearly equal size.

    >>> split(5, 2)
    [(0, 3), (3, 5)]
    """
    parts = max(1, min(parts, items))
    bounds = [items * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


# ---------------------------------------------------------------------------------------------
# OpenBLAS's thread count, through ctypes (NumPy exposes no API for it).
#
# Why tapegrad touches it at all: after each threaded product, OpenBLAS's idle threads keep
# polling for new work for ~0.1 s (a core each, yielding to other runnable threads), so in a
# training step that runs a threaded product every few milliseconds they never sleep. Where
# the products are small that buys nothing, and the polling thread takes the core the pool's
# worker (or another process) needs: measured on LeNet-5, splitting the convolutions made the
# step 10% slower with OpenBLAS's threads polling and 11% faster without them. So small
# products run on one BLAS thread (`blas_cap`, around each product tapegrad makes), and the
# count is put back right after: setting it wakes no thread, and NumPy code outside tapegrad
# sees the count it had.

_PREFIXES = ("scipy_", "")
_SUFFIXES = ("64_", "_64", "")


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries this process may have loaded (NumPy's own first)."""
    import glob

    import numpy

    base = os.path.dirname(numpy.__file__)
    paths = []
    for folder in (os.path.join(base, "..", "numpy.libs"), os.path.join(base, ".dylibs")):
        paths += glob.glob(os.path.join(folder, "*openblas*"))
    try:
        with open("/proc/self/maps") as maps:
            paths += [line.split()[-1] for line in maps if "openblas" in line.lower()]
    except OSError:
        pass
    return list(dict.fromkeys(paths))


def _find_blas_controls() -> tuple[Callable[[], int], Callable[[int], Any]] | None:
    """OpenBLAS's ``(get_num_threads, set_num_threads)``, or None where not found."""
    import ctypes

    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, get.argtypes = ctypes.c_int, []
                    set_.restype, set_.argtypes = None, [ctypes.c_int]
                    return get, set_
    return None


_blas: dict[str, Any] = {}


def _blas_controls() -> tuple[Callable[[], int], Callable[[int], Any]] | None:
    if "controls" not in _blas:
        try:
            _blas["controls"] = _find_blas_controls()
        except Exception:  # any surprise here only costs the BLAS cap, never a result
            _blas["controls"] = None
    return _blas["controls"]


def blas_cap(work: float) -> int:
    """Before a matrix product of ``work`` multiply-adds: put BLAS on one thread if the
    product is small (`BLAS_MIN_WORK`) or tapegrad is set to one thread. Returns the count to
    give `blas_restore` after the product (0: nothing was changed)."""
    if work < BLAS_SERIAL_WORK or (work >= BLAS_MIN_WORK and _state["threads"] > 1):
        return 0  # OpenBLAS runs it on one thread anyway, or may use its threads
    controls = _blas_controls()
    if controls is None:
        return 0
    before = controls[0]()
    if before <= 1:
        return 0
    controls[1](1)
    return before


def blas_restore(count: int) -> None:
    """Undo `blas_cap` (``count`` is what it returned)."""
    if count:
        controls = _blas_controls()
        if controls is not None:
            controls[1](count)


# ---------------------------------------------------------------------------------------------
# The pool: persistent daemon threads, each handed one job at a time through two locks.

# ---------------------------------------------------------------------------------------------
# Where the workers run (Linux): the caller's current core, from glibc's sched_getcpu.

def _find_getcpu() -> Callable[[], int] | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    import ctypes

    try:
        getcpu = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    getcpu.restype, getcpu.argtypes = ctypes.c_int, []
    return getcpu


_getcpu: dict[str, Any] = {}


def _place(workers: list[_Worker]) -> None:
    """Pin each worker to one allowed core other than the caller's current one."""
    if "fn" not in _getcpu:
        _getcpu["fn"] = _find_getcpu()
    getcpu = _getcpu["fn"]
    if getcpu is None:
        return
    try:
        here = getcpu()
        others = sorted(os.sched_getaffinity(0) - {here})
        if not others:
            return
        for k, worker in enumerate(workers):
            worker.pin(others[k % len(others)])
    except OSError:  # affinity refused (a container's policy): leave placement to Linux
        _getcpu["fn"] = None


class _Job:
    """One worker's share of a region: run ``fn(first)`` unless the caller cancelled it first.

    ``gate`` makes "start" (the worker) and "cancel" (the caller, done with every part before
    the worker woke up) exclude each other, so exactly one of them happens; ``done`` is held
    until a started job has finished.
    """

    __slots__ = ("cancelled", "done", "error", "first", "fn", "gate", "started")

    def __init__(self, fn: Callable[[int | None], BaseException | None],
                 first: int | None) -> None:
        self.fn, self.first = fn, first
        self.gate = threading.Lock()
        self.done = threading.Lock()
        self.done.acquire()
        self.started = self.cancelled = False
        self.error: BaseException | None = None

    def run(self) -> None:
        with self.gate:
            if self.cancelled:
                return
            self.started = True
        try:
            self.error = self.fn(self.first)
        finally:
            self.done.release()

    def finish(self) -> BaseException | None:
        """Wait for the job if it started, else cancel it; its exception, if any."""
        with self.gate:
            if not self.started:
                self.cancelled = True
                return None
        self.done.acquire()
        return self.error


class _Worker:
    """One thread that runs the `_Job` s put in its queue (a C queue: putting one wakes the
    thread as cheaply as Python allows)."""

    def __init__(self) -> None:
        import queue

        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._cpu = -1  # the core it is pinned to (-1: none yet)
        self._thread = threading.Thread(target=self._loop, name="tapegrad-worker", daemon=True)
        self._thread.start()

    def pin(self, cpu: int) -> None:
        if cpu != self._cpu and self._thread.native_id is not None:
            os.sched_setaffinity(self._thread.native_id, {cpu})
            self._cpu = cpu

    def _loop(self) -> None:
        while True:
            self._jobs.get().run()

    def start(self, job: _Job) -> None:
        self._jobs.put(job)


_pool: dict[str, Any] = {"workers": [], "busy": threading.Lock(), "strikes": 0,
                         "serial_until": 0.0}


def _reset_after_fork() -> None:
    # A forked child has only the thread that forked: the parent's workers do not exist there.
    _pool.update(workers=[], busy=threading.Lock(), strikes=0, serial_until=0.0)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


#: After this many regions in a row that took longer than running their parts one after the
#: other would have, regions run serially for `BACKOFF_SECONDS`, then are tried again (short:
#: other processes come and go, and under steady load retrying costs three slow regions,
#: ~1% of a LeNet step's time, per back-off).
STRIKES = 3
BACKOFF_SECONDS = 0.25


def _judge(wall: float, cpu: float) -> None:
    """Count a region that lost time: its wall time above the CPU time of its parts (what
    one thread would have taken). That happens when the machine's other cores are busy with
    other processes: a worker waits for a core, or is preempted while it holds the GIL and
    stalls the caller (measured on LeNet-5 with one core taken: 8.5 ms a step split, 3.8 ms
    serial). Then splitting is switched off for a while. On an idle machine about one region
    in 400 loses too (a hiccup), hence three in a row before backing off."""
    if wall <= cpu:
        _pool["strikes"] = 0
        return
    _pool["strikes"] += 1
    if _pool["strikes"] >= STRIKES:
        _pool["strikes"] = 0
        _pool["serial_until"] = time.monotonic() + BACKOFF_SECONDS


def parallel_map(fn: Callable[[Any], Any], parts: Sequence[Any]) -> list[Any]:
    """``[fn(part) for part in parts]``, the parts run at once by the calling thread and up to
    ``get_num_threads() - 1`` of the pool's workers, with BLAS at one thread meanwhile.

    Each thread takes the next part not yet taken until none is left (the caller takes the
    first), so a worker that wakes late, or shares its core with another process, leaves
    more parts to the others: give a few more parts than threads to even the load out. A
    worker that has not woken by the time every part is taken is not waited for, and when
    regions keep losing time to busy cores they run serially for a while (`_judge`). The
    results come back in the parts' order whoever ran them.

    Runs them one after the other instead when there is one part, when tapegrad is set to one
    thread, or when another region is running (a nested call, or another Python thread's).
    The first exception raised by a part is raised here, after every thread has stopped
    (a thread stops taking parts after one of its own raised).
    """
    busy = _pool["busy"]
    helpers = min(_state["threads"], len(parts)) - 1
    if (helpers < 1 or time.monotonic() < _pool["serial_until"]
            or not busy.acquire(blocking=False)):
        return [fn(part) for part in parts]
    began = time.perf_counter()
    try:
        workers = _pool["workers"]
        while len(workers) < helpers:
            workers.append(_Worker())
        workers = workers[:helpers]
        _place(workers)
        controls = _blas_controls()
        blas_threads = controls[0]() if controls is not None else 1
        if blas_threads > 1:
            controls[1](1)  # type: ignore[index]
        taken = itertools.count(1)  # next() is atomic under the GIL: each part runs once
        results: list[Any] = [None] * len(parts)

        spent = [0.0] * len(parts)  # each part's CPU time, in whichever thread ran it

        def take(first: int | None) -> BaseException | None:
            k = next(taken) if first is None else first
            while k < len(parts):
                cpu = time.thread_time()
                try:
                    results[k] = fn(parts[k])
                except BaseException as exc:  # handed to the caller after the others stop
                    return exc
                spent[k] = time.thread_time() - cpu
                k = next(taken)
            return None

        try:
            jobs = [_Job(take, None) for _ in workers]  # a worker takes parts when it wakes
            for worker, job in zip(workers, jobs, strict=True):
                worker.start(job)
            # A worker that has not woken by the time the parts are all taken is not waited
            # for (its job is cancelled): when its core is busy with another process, it may
            # be milliseconds before it runs.
            errors = [take(0)] + [job.finish() for job in jobs]
        finally:
            if blas_threads > 1:
                controls[1](blas_threads)  # type: ignore[index]
        _judge(time.perf_counter() - began, sum(spent))
    finally:
        busy.release()
    for exc in errors:
        if exc is not None:
            raise exc
    return results
