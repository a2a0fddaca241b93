"""Grad modes: whether ops are recorded on the tape.

An op is recorded iff grad mode is on *and* at least one input requires grad. The
switches below flip grad mode for one thread (torch's modes are thread-local, so a
data-loading thread cannot switch recording off for the training thread).

Every mode works both as a context manager and as a decorator::

    with tapegrad.no_grad():
        w -= lr * w.grad

    @tapegrad.no_grad()
    def evaluate(model): ...
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.inference = False


_state = _ThreadState()


def is_grad_enabled() -> bool:
    """True when ops are being recorded (the default)."""
    return _state.grad_enabled


def is_inference_mode_enabled() -> bool:
    return _state.inference


class _GradModeContext:
    """Base for the mode switches: saves the previous mode on enter, restores it on exit."""

    def _apply(self) -> None:
        raise NotImplementedError  # each subclass says what it switches

    def __enter__(self) -> None:
        self._saved = (_state.grad_enabled, _state.inference)
        self._apply()

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled, _state.inference = self._saved

    def __call__(self, fn: F) -> F:
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(*self._args()):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, fn: Callable) -> Callable:
        """A generator runs in pieces, between which its caller runs: the mode is switched
        on for each piece (each ``next``/``send``/``throw``) and off again when it yields,
        as torch does, so that the caller's own mode is never changed."""
        mode = self.__class__
        mode_args = self._args()

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            gen = fn(*args, **kwargs)
            try:
                with mode(*mode_args):
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with mode(*mode_args):
                            gen.close()
                        raise
                    except BaseException as exc:  # thrown in by the caller: pass it on
                        with mode(*mode_args):
                            response = gen.throw(exc)
                    else:
                        with mode(*mode_args):
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return wrapper

    def _args(self) -> tuple:
        return ()


class _BareDecorator(_GradModeContext):
    """Lets the mode decorate without parentheses, as torch's do: ``@no_grad`` is the same
    as ``@no_grad()``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_BareDecorator):  # torch's name
    """Do not record ops: results have ``requires_grad=False``. Factories given an
    explicit ``requires_grad=True`` (and ``nn.Parameter``) still make leaves that require grad."""

    def _apply(self) -> None:
        _state.grad_enabled = False


class enable_grad(_BareDecorator):
    """Record ops again inside a ``no_grad`` block. Inside ``inference_mode`` grad mode
    is on (``is_grad_enabled()`` is True) but nothing is recorded: inference wins, as in
    torch."""

    def _apply(self) -> None:
        _state.grad_enabled = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` switches recording off: as a plain call it takes effect
    immediately (and stays), as a context manager it is undone on exit."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._saved = (_state.grad_enabled, _state.inference)
        _state.grad_enabled = self.mode  # the plain-call form takes effect now

    def __enter__(self) -> None:
        pass  # already applied in __init__; _saved holds the mode before it

    def __call__(self, fn: F) -> F:
        # Used as a decorator the constructor must not leave the mode switched.
        _state.grad_enabled, _state.inference = self._saved
        return super().__call__(fn)

    def _args(self) -> tuple:
        return (self.mode,)


class inference_mode(_BareDecorator):
    """``no_grad`` plus a promise that results never enter autograd later. Tensors made
    here are *inference tensors*: recording an op on one, or modifying one in place
    outside inference mode, raises torch's error."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)

    def _apply(self) -> None:
        if self.mode:
            _state.grad_enabled = False
            _state.inference = True

    def _args(self) -> tuple:
        return (self.mode,)
