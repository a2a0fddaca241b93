"""IEEE results without numpy's floating-point warnings, cheaply enough for every op.

torch computes ``1 / 0 = inf``, ``inf - inf = nan`` and overflow to ``inf`` silently;
numpy computes the same values but also issues a ``RuntimeWarning``. ``np.errstate`` turns
the warnings off, but building one costs about a microsecond (it assembles numpy's error
settings anew on every ``with``), which is most of a small tensor op's arithmetic.

numpy keeps those settings in one context variable. This module builds the "ignore
everything" settings once and switches the variable to them and back::

    token = quiet()
    try:
        out = np.multiply(x, y)
    finally:
        restore(token)

A context variable is per thread (and per asyncio task), and ``restore`` puts back exactly
what was there before, so a user's own ``np.errstate`` around tapegrad code is untouched.
Where a numpy version keeps its settings elsewhere, `quiet` and `restore` fall back to a
plain ``np.errstate``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["quiet", "restore"]


def _settings_variable() -> tuple[Any, Any]:
    """numpy's context variable for its error settings and the "ignore all" value of it,
    or (None, None) where this numpy keeps them differently."""
    try:
        from numpy._core import _ufunc_config  # numpy >= 2.0
    except ImportError:  # pragma: no cover - numpy 1.x
        return None, None
    var = getattr(_ufunc_config, "_extobj_contextvar", None)
    if var is None:  # pragma: no cover - a numpy that moved it
        return None, None
    with np.errstate(all="ignore"):
        return var, var.get()


_VAR, _IGNORE_ALL = _settings_variable()


if _VAR is not None:
    # Both are C calls (no Python frame): they run twice for every op.
    #: ``quiet()`` silences numpy's floating-point warnings in this thread and returns
    #: the token for `restore`.
    quiet = functools.partial(_VAR.set, _IGNORE_ALL)
    #: ``restore(token)`` puts back the settings in force before the matching `quiet`.
    restore = _VAR.reset

else:  # pragma: no cover - the portable spelling, for numpys without the variable

    def quiet() -> Any:
        state = np.errstate(all="ignore")
        state.__enter__()
        return state

    def restore(token: Any) -> None:
        token.__exit__(None, None, None)
