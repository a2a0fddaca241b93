"""No recursion at any depth, no reference cycles, flat memory over a long loop."""

import gc
import tracemalloc
import weakref

import numpy as np

import tapegrad as tg


def test_chain_100000_deep_backward_without_recursion_error():
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y - 0.0001
    y.backward()
    assert np.isclose(x.grad.item(), 1.0001 ** 50_000, rtol=1e-3)


def test_graph_is_freed_by_reference_counting_alone():
    gc.disable()
    try:
        x = tg.tensor([1.0, 2.0], requires_grad=True)
        h = x * 2
        node = weakref.ref(h.grad_fn)
        y = h * h
        y.backward(tg.ones(2))
        del h, y
        assert node() is None  # no cycle kept it alive
    finally:
        gc.enable()


def test_long_training_loop_keeps_memory_flat():
    rng = np.random.default_rng(0)
    w = tg.tensor(rng.standard_normal((8, 1)), requires_grad=True)
    xs = tg.tensor(rng.standard_normal((16, 8)))
    ys = tg.tensor(rng.standard_normal((16, 1)))
    tracemalloc.start()
    try:
        sizes = []
        for step in range(10_000):
            err = xs @ w - ys
            loss = (err * err).mean()
            loss.backward()
            with tg.no_grad():
                w -= 0.01 * w.grad
            w.grad = None
            if step in (1_000, 9_999):
                sizes.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert sizes[1] - sizes[0] < 100_000, sizes  # bytes: nothing accumulates per step
