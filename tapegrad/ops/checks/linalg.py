"""The errors torch's matrix products raise, message for message.

torch's ``matmul`` is a dispatcher: depending on the operands' ranks (and on strides and
``requires_grad``!) it calls ``dot``, ``mv``, ``mm`` on folded batches, or ``bmm`` on
expanded ones, and a mistake is reported by whichever kernel it reached. tapegrad computes
every case with one numpy ``matmul``, so these checks re-trace torch's route only to say
the same thing when something is wrong. Not needed to understand the maths: see
`tapegrad.ops.linalg`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.ops._util import broadcast_shapes
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

# The C++ type names torch prints in mm's dtype error ("float != double").
_CPP_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


def _not_implemented_for_bool(kernel: str, dt: dtypes.dtype) -> None:
    if dt is dtypes.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def check_mm(s1: tuple, s2: tuple, dt1: dtypes.dtype, dt2: dtypes.dtype) -> None:
    if s1[1] != s2[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({s1[0]}x{s1[1]} and "
                           f"{s2[0]}x{s2[1]})")
    if dt1 is not dt2:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_CPP_NAMES[dt1.name]} != {_CPP_NAMES[dt2.name]}")
    _not_implemented_for_bool("addmm_impl_cpu_", dt1)


def check_mv(s_mat: tuple, s_vec: tuple, dt_mat: dtypes.dtype, dt_vec: dtypes.dtype) -> None:
    if s_mat[1] != s_vec[0]:
        raise RuntimeError(f"size mismatch, got input ({s_mat[0]}), mat ({s_mat[0]}x{s_mat[1]}), "
                           f"vec ({s_vec[0]})")
    if dt_mat is not dt_vec:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{dt_vec.scalar_type}, {dt_mat.scalar_type}, and {dt_vec.scalar_type}")
    _not_implemented_for_bool("addmv_impl_cpu", dt_mat)


def check_bmm(s1: tuple, s2: tuple, dt1: dtypes.dtype, dt2: dtypes.dtype) -> None:
    if s2[0] != s1[0] or s2[1] != s1[2]:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{s1[0]}, {s1[2]}] but got: [{s2[0]}, {s2[1]}].")
    if dt1 is not dt2:
        raise RuntimeError(f"expected scalar type {dt1.scalar_type} but found {dt2.scalar_type}")
    _not_implemented_for_bool("bmm", dt1)


def check_dot(a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{a.dtype.scalar_type} and {b.dtype.scalar_type}")
    n, m = a._data.size, b._data.size
    if n != m:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to "
                           f"have the same number of elements, but got {n} and {m} elements "
                           "respectively")
    _not_implemented_for_bool("dot", a.dtype)


def _strides(data: np.ndarray) -> tuple:
    return tuple(s // data.itemsize for s in data.strides)


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """torch's choice (``should_fold``) to fold the batch dims of the bigger operand into
    the rows of one big ``mm``/``mv`` instead of calling ``bmm``. Only its error messages
    depend on it here (numpy computes the same numbers either way)."""
    a_larger = a.ndim >= b.ndim
    big, small = (a, b) if a_larger else (b, a)
    if not (big.ndim >= 3 and small.ndim <= 2):
        return False
    if small.requires_grad:
        return True
    if a.ndim == 2:
        return False
    shape, strides = list(big.shape), list(_strides(big._data))
    if not a_larger:  # torch folds b.mT
        shape[-2:], strides[-2:] = shape[:-3:-1], strides[:-3:-1]
    if math.prod(shape) == 0:
        return True
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(len(shape) - 2))


def check_matmul(a: Tensor, b: Tensor) -> None:
    """The shape and dtype errors torch's ``matmul`` raises from the kernel it picks."""
    sa, sb = a.shape, b.shape
    if a.ndim == 1 and b.ndim == 2:  # torch: a.unsqueeze(0).mm(b)
        check_mm((1,) + tuple(sa), sb, a.dtype, b.dtype)
    elif _should_fold(a, b):
        if b.ndim > a.ndim:  # folds b.mT @ a.mT
            t1, t2 = sb[:-2] + (sb[-1], sb[-2]), (tuple(reversed(sa)))
            dt1, dt2 = b.dtype, a.dtype
        else:
            t1, t2, dt1, dt2 = sa, sb, a.dtype, b.dtype
        folded = (math.prod(t1[:-1]), t1[-1])
        if len(t2) == 2:
            check_mm(folded, t2, dt1, dt2)
        else:
            check_mv(folded, t2, dt1, dt2)
    else:  # torch: expand the batch dims, flatten them, bmm
        n = sa[-2] if a.ndim > 1 else 1
        m2, p = (sb[-2], sb[-1]) if b.ndim > 1 else (sb[0], 1)
        batch = math.prod(broadcast_shapes(sa[:-2], sb[:-2]))
        check_bmm((batch, n, sa[-1]), (batch, m2, p), a.dtype, b.dtype)


def check_tensor(x: Any, op: str, position: int) -> None:
    """torch's TypeError for a non-tensor operand."""
    require_tensor(x, op, "input" if position == 1 else "other", position)


def check_addmm(bias: Tensor, a: Tensor, b: Tensor) -> None:
    """addmm's checks, in torch's order: matrices, bias broadcast, shapes, dtypes."""
    for x, name in ((a, "mat1"), (b, "mat2")):
        if x.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {x.ndim}-D tensor")
    with no_grad():  # bias must broadcast to the result: expand's checks and messages
        bias.expand(a.shape[0], b.shape[1])
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x"
                           f"{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    if bias.dtype is not b.dtype:
        raise RuntimeError("self and mat2 must have the same dtype, but got "
                           f"{bias.dtype.scalar_type} and {b.dtype.scalar_type}")
    if a.dtype is not b.dtype:
        raise RuntimeError("mat1 and mat2 must have the same dtype, but got "
                           f"{a.dtype.scalar_type} and {b.dtype.scalar_type}")
    _not_implemented_for_bool("addmm_impl_cpu_", a.dtype)
