"""no_grad, enable_grad, set_grad_enabled, inference_mode: contexts, decorators, threads."""

import threading

import pytest

import tapegrad as tg


def test_no_grad_stops_recording_and_restores():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        y = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_factories_keep_explicit_requires_grad_inside_no_grad():
    with tg.no_grad():
        w = tg.zeros(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf


def test_enable_grad_inside_no_grad():
    x = tg.tensor([1.0], requires_grad=True)
    with tg.no_grad():
        with tg.enable_grad():
            y = x * 2
    assert y.requires_grad


def test_decorator_forms():
    x = tg.tensor([1.0], requires_grad=True)

    @tg.no_grad()
    def f():
        return x * 2

    @tg.set_grad_enabled(False)
    def g():
        return x * 2

    assert tg.is_grad_enabled()  # decorating must not switch the mode
    assert not f().requires_grad and not g().requires_grad
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_plain_call():
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with tg.no_grad():
        t = threading.Thread(target=lambda: seen.append(tg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_inference_mode_tensors_cannot_enter_autograd_later():
    w = tg.tensor([1.0], requires_grad=True)
    with tg.inference_mode():
        x = tg.tensor([2.0]) * 3
        assert x.is_inference
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        w * x
    with pytest.raises(RuntimeError,
                       match="Inplace update to inference tensor outside InferenceMode"):
        x.add_(1.0)
