"""The module path recorded on each tape entry (``encoder.layers.0.linear1``).

`nn.Module.__call__` pushes its qualified name while its forward runs, so every op it
records carries the path. Drawings group entries by it and can collapse a module to one box.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _ScopeState(threading.local):
    def __init__(self) -> None:
        self.path = ""
        # ((path, call number, module), ...) of the module calls running now, outermost first:
        # a module called twice records two numbers, so a drawing can collapse each call
        # to its own box instead of one box with a loop through it.
        self.calls: tuple = ()


_call_numbers = itertools.count()


def next_call() -> int:
    """A new number for one call of a module (`nn.Module.__call__` takes one per call)."""
    return next(_call_numbers)


_state = _ScopeState()


def current_path() -> str:
    """The dotted path of the innermost module running now ("" outside any module)."""
    return _state.path


@contextmanager
def module_scope(name: str) -> Iterator[str]:
    """Record ops made inside the block under ``<outer path>.<name>``."""
    outer = _state.path
    _state.path = f"{outer}.{name}" if outer and name else (name or outer)
    try:
        yield _state.path
    finally:
        _state.path = outer
