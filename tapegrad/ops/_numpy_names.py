"""numpy's keyword names torch also accepts: ``axis=`` for ``dim=``, ``keepdims=`` for
``keepdim=`` (``x.sum(axis=1, keepdims=True)``), as torch's argument parser does for every
op that has those parameters.

`accept_numpy_names` wraps an op function when its signature has ``dim`` or ``keepdim``
(and no parameter already called ``axis``/``keepdims``); `tapegrad.ops` applies it to the
functions and Tensor methods of every family, so an op gets the aliases by naming its
parameters as torch does, with nothing to write in the op itself.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["accept_numpy_names"]

ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def accept_numpy_names(fn: Callable) -> Callable:
    """``fn`` itself, or a wrapper renaming ``axis``/``keepdims`` keywords to the
    ``dim``/``keepdim`` parameters ``fn`` has."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return fn
    renames = {alias: name for alias, name in ALIASES.items()
               if name in params and alias not in params}
    if not renames or getattr(fn, "_numpy_names", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            for alias, name in renames.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got multiple values for argument "
                                        f"'{name}' (also given as '{alias}')")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    wrapper._numpy_names = True
    return wrapper
