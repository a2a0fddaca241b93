"""Backward formulas run on the arrays behind tensors, when nothing is being recorded.

A backward without ``create_graph`` records nothing, so the tensor ops of a derivative
(``grad * b``) would each pay for a recorded op's bookkeeping only to throw it away.
`tapegrad.formula.array_function` compiles the same formula for arrays; this module holds
the two checks around it that keep its numbers identical to the tensor code's: which
arguments may go in (`exact_arrays`) and how a value comes out (`array_result`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.kernels.arrays import as_array


def exact_arrays(gd: Any, operands: tuple) -> tuple | None:
    """``(gd, *operands)`` when the formulas may run on them directly
    (`tapegrad.formula.array_function`): ``gd``, the gradient's array, is a host array and
    every operand is an array of its dtype, a plain Python number or None. None otherwise
    (mixed dtypes, devices, numpy scalars): then the tensor code runs, with torch's
    promotion rules."""
    if type(gd) is not np.ndarray:
        return None
    np_dt = gd.dtype
    for v in operands:
        if v is None:
            continue
        kind = type(v)
        if kind is np.ndarray:
            if v.dtype != np_dt:
                return None
        elif kind is not float and kind is not int and kind is not bool:
            return None
    return (gd, *operands)


def array_result(r: Any, gd: np.ndarray) -> np.ndarray:
    """A formula's value on arrays as the gradient array: a numpy scalar (from 0-d
    arrays) as a 0-d array, a number (a constant branch) spread over grad's shape."""
    if type(r) is np.ndarray:
        return r
    if isinstance(r, np.generic):
        return np.asarray(r)
    return as_array(np.zeros_like(gd) + r, gd.dtype)
