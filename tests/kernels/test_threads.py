"""tapegrad.kernels.threads: the thread count, the batch split and the pool's guarantees."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tapegrad.kernels import threads


@pytest.fixture
def two_threads(monkeypatch):
    # tiny parts always lose time to the handoff: keep the back-off (tested on its own) out
    monkeypatch.setitem(threads._state, "threads", 2)
    monkeypatch.setitem(threads._pool, "serial_until", 0.0)
    monkeypatch.setattr(threads, "_judge", lambda wall, cpu: None)


def test_split_covers_every_item_once():
    for items in range(0, 9):
        for parts in range(1, 5):
            ranges = threads.split(items, parts)
            covered = [i for lo, hi in ranges for i in range(lo, hi)]
            assert covered == list(range(items))
            sizes = [hi - lo for lo, hi in ranges]
            assert max(sizes, default=0) - min(sizes, default=0) <= 1


def test_worth_splitting(monkeypatch):
    monkeypatch.setitem(threads._state, "threads", 1)
    assert threads.worth_splitting(32, 1e12) == 1  # one thread: never
    monkeypatch.setitem(threads._state, "threads", 4)
    assert threads.worth_splitting(32, threads.MIN_WORK - 1) == 1  # too little work
    assert threads.worth_splitting(1, 1e12) == 1  # one sample
    assert threads.worth_splitting(3, 1e12) == 3  # no more parts than samples
    assert threads.worth_splitting(32, 2.5 * threads.MIN_WORK) == 2  # each part >= MIN_WORK
    assert threads.worth_splitting(32, 1e12) == 4


def test_set_num_threads_checks_its_argument(monkeypatch):
    monkeypatch.setitem(threads._state, "threads", 1)
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError):
            threads.set_num_threads(bad)
    assert threads.get_num_threads() == 3


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "2")
    assert threads._from_environment() == 2  # the smaller of the two
    monkeypatch.setenv("NUMBA_NUM_THREADS", "")
    assert threads._from_environment() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    assert threads._from_environment() >= 1  # the CPUs this process may use


def test_parallel_map_runs_parts_at_once_in_order(two_threads):
    names = {}
    barrier = threading.Barrier(2, timeout=10)  # passes only if both parts run at once

    def part(k):
        names[k] = threading.current_thread().name
        barrier.wait()
        return k * 10

    assert threads.parallel_map(part, [1, 2]) == [10, 20]
    assert names[1] == threading.current_thread().name  # the first part: the caller's
    assert names[2] != names[1]


def test_more_parts_than_threads_each_run_once_in_order(two_threads):
    calls = []
    results = threads.parallel_map(lambda k: calls.append(k) or k * k, list(range(10)))
    assert results == [k * k for k in range(10)]
    assert sorted(calls) == list(range(10))
    assert len(threads._pool["workers"]) >= 1


def test_one_thread_runs_everything_in_the_caller(monkeypatch):
    monkeypatch.setitem(threads._state, "threads", 1)
    seen = threads.parallel_map(lambda k: threading.current_thread().name, [0, 1, 2])
    assert seen == [threading.current_thread().name] * 3


def test_nested_region_runs_serially(two_threads):
    def inner(k):
        return threading.current_thread().name

    def outer(k):
        return threads.parallel_map(inner, [0, 1])

    first, second = threads.parallel_map(outer, [0, 1])
    assert len(set(first)) == 1 and len(set(second)) == 1  # each inner region: one thread


def test_a_worker_that_wakes_late_is_not_waited_for(two_threads):
    # a worker busy elsewhere has not started its job when the caller is done: the caller
    # cancels the job instead of waiting, and the worker skips it when it gets there
    release = threading.Event()
    both = threading.Barrier(3, timeout=10)  # the region's two threads and this test

    def slow(k):
        both.wait()  # each part in its own thread: the worker is busy with one of them
        release.wait(10)
        return k

    region = threading.Thread(target=threads.parallel_map, args=(slow, [0, 1]))
    region.start()
    both.wait()
    try:
        job = threads._Job(lambda first: None, None)  # queued behind the busy part
        threads._pool["workers"][0].start(job)
        assert job.finish() is None and job.cancelled  # not started: cancelled, no wait
    finally:
        release.set()
        region.join(10)


def test_exceptions_reach_the_caller_after_every_part(two_threads):
    finished = []

    def part(k):
        if k == 1:
            raise KeyError("boom")
        finished.append(k)
        return k

    with pytest.raises(KeyError, match="boom"):
        threads.parallel_map(part, [0, 1])
    assert finished == [0]
    assert threads.parallel_map(lambda k: k + 1, [0, 1]) == [1, 2]  # the pool still works


def test_blas_runs_one_thread_inside_a_region_and_is_restored(two_threads):
    controls = threads._blas_controls()
    if controls is None:  # a NumPy without OpenBLAS: nothing to cap, results unaffected
        assert threads.parallel_map(lambda k: k, [0, 1]) == [0, 1]
        return
    get, set_ = controls
    before = get()
    set_(2)
    try:
        inside = threads.parallel_map(lambda k: get(), [0, 1])
        assert inside == [1, 1]
        assert get() == 2
    finally:
        set_(before)


def test_matmul_results_equal_in_a_region(two_threads, rng):
    a = rng.standard_normal((4, 30, 40)).astype(np.float32)
    b = rng.standard_normal((4, 40, 50)).astype(np.float32)
    out = threads.parallel_map(lambda k: a[2 * k:2 * k + 2] @ b[2 * k:2 * k + 2], [0, 1])
    np.testing.assert_array_equal(np.concatenate(out), a @ b)


def test_small_products_cap_blas_and_restore_it(monkeypatch):
    controls = threads._blas_controls()
    if controls is None:  # no OpenBLAS found: nothing is capped
        assert threads.blas_cap(1) == 0
        return
    get, set_ = controls
    before = get()
    monkeypatch.setitem(threads._state, "threads", 2)
    try:
        set_(2)
        assert threads.blas_cap(threads.BLAS_MIN_WORK) == 0  # large: BLAS keeps its threads
        assert threads.blas_cap(threads.BLAS_SERIAL_WORK - 1) == 0  # OpenBLAS's own 1 thread
        assert get() == 2
        count = threads.blas_cap(threads.BLAS_MIN_WORK - 1)  # small: one thread meanwhile
        assert (count, get()) == (2, 1)
        threads.blas_restore(count)
        assert get() == 2
        monkeypatch.setitem(threads._state, "threads", 1)  # tapegrad on one thread: always
        count = threads.blas_cap(10 * threads.BLAS_MIN_WORK)
        assert (count, get()) == (2, 1)
        threads.blas_restore(count)
        assert get() == 2
    finally:
        set_(before)


def test_a_failed_product_in_linear_leaves_blas_as_it_was(monkeypatch):
    """``F.linear`` caps BLAS around a small product; a product that fails (here: out of
    memory) must still put the count back, forward and backward."""
    import importlib

    import tapegrad

    # (the module: `tapegrad.nn.functional.linear` itself is the function)
    linear_module = importlib.import_module("tapegrad.nn.functional.linear")

    calls = []
    monkeypatch.setattr(threads, "blas_cap", lambda work: calls.append("cap") or 7)
    monkeypatch.setattr(threads, "blas_restore", lambda count: calls.append(("restore", count)))
    x = tapegrad.randn(4, 3, requires_grad=True)
    w = tapegrad.randn(2, 3, requires_grad=True)
    y = tapegrad.nn.functional.linear(x, w)
    assert calls == ["cap", ("restore", 7)]

    class FailingNumpy:  # numpy, except that products run out of memory
        def __getattr__(self, name):
            return getattr(np, name)

        @staticmethod
        def matmul(*args, **kwargs):
            raise MemoryError("no memory for the product")

    monkeypatch.setattr(linear_module, "np", FailingNumpy())
    calls.clear()
    with pytest.raises(MemoryError):
        tapegrad.nn.functional.linear(x, w)
    assert calls == ["cap", ("restore", 7)]
    calls.clear()
    monkeypatch.setattr(linear_module, "np", np)
    y.sum().backward()  # backward's two products: one cap, one restore around them
    assert calls == ["cap", ("restore", 7)]


def test_top_level_names():
    import tapegrad

    assert tapegrad.set_num_threads is threads.set_num_threads
    assert tapegrad.get_num_threads is threads.get_num_threads


def test_regions_that_lose_time_switch_splitting_off_for_a_while(monkeypatch):
    monkeypatch.setitem(threads._state, "threads", 2)
    monkeypatch.setitem(threads._pool, "strikes", 0)
    monkeypatch.setitem(threads._pool, "serial_until", 0.0)
    threads._judge(wall=1.0, cpu=2.0)  # a gain: no strike
    assert threads._pool["strikes"] == 0
    for _ in range(threads.STRIKES):
        threads._judge(wall=2.0, cpu=1.0)  # slower than serial
    assert threads._pool["serial_until"] > 0
    seen = threads.parallel_map(lambda k: threading.current_thread().name, [0, 1])
    assert seen == [threading.current_thread().name] * 2  # backing off: all in the caller
    monkeypatch.setitem(threads._pool, "serial_until", 0.0)
    assert threads.parallel_map(lambda k: k, [0, 1]) == [0, 1]
