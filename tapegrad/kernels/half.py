"""float16 through the float32 kernels, as torch computes half precision on the CPU.

numba has no float16 type, so a compiled kernel cannot take a half array. torch does not
compute in half either: it loads each value into a float32 register, does the maths (and
any accumulation) in float32, and rounds the result back to half once. `Float32Kernels`
does the same around a whole kernel module: float16 array arguments are converted to
float32, the kernel runs, and float32 array results are rounded back to float16. A
kernel that writes into an argument (its name ends in ``_``: ``axpy_``, ``sgd_``...) gets
the float32 copy, which is then written back into the half array.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

F16 = np.dtype(np.float16)
_F32 = np.dtype(np.float32)


def _up(a: Any) -> Any:
    return a.astype(_F32) if type(a) is np.ndarray and a.dtype is F16 else a


def _down(r: Any) -> Any:
    if type(r) is np.ndarray and r.dtype == _F32:
        return r.astype(F16)
    if type(r) is tuple:
        return tuple(_down(x) for x in r)
    return r


class Float32Kernels:
    """A kernel module seen through float32: same functions, half arrays in and out."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._module, name)
        if not callable(fn) or isinstance(fn, type):
            return fn
        in_place = name.endswith("_")

        def call(*args: Any, **kwargs: Any) -> Any:
            up_args = [_up(a) for a in args]
            up_kwargs = {k: _up(v) for k, v in kwargs.items()}
            result = fn(*up_args, **up_kwargs)
            if in_place:  # the kernel wrote into the float32 copies: round them back
                for orig, up in zip(list(args) + list(kwargs.values()),
                                    up_args + list(up_kwargs.values()), strict=True):
                    if up is not orig:
                        orig[...] = up
                        if result is up:
                            result = orig  # it returned the array it wrote
            return _down(result)

        call.__name__ = name
        return call
