"""``tapegrad.linalg``: torch's ``torch.linalg`` namespace, for the part tapegrad has.

Norms (`vector_norm`, `matrix_norm`, `norm`), products (`vecdot`, `multi_dot`, `cross`) and
the functions of square matrices (`inv`, `det`, `solve`, `svdvals`). The ops themselves
live with their families in `tapegrad.ops` (`ops.reduction.norms`, `ops.linalg`,
`ops.matrix`); this module gathers them under torch's names. Decompositions (LU, QR,
eigen, SVD with vectors) are out of scope: ``tapegrad check --torch-db --list``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tapegrad.ops.checks.tensor_args import require_tensor, require_tensors
from tapegrad.ops.linalg import _check_cross, _cross, matmul
from tapegrad.ops.matrix import LinAlgError, det, inv, solve, svdvals
from tapegrad.ops.reduction.norms import linalg_norm as norm
from tapegrad.ops.reduction.norms import matrix_norm, vector_norm
from tapegrad.ops.reduction.sums import sum
from tapegrad.tensor import Tensor, wrap_dim

__all__ = ["vector_norm", "matrix_norm", "norm", "vecdot", "multi_dot", "cross", "inv",
           "det", "solve", "svdvals", "LinAlgError"]


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of the vectors along ``dim`` (the other dims broadcast):
    ``sum(x * y, dim)``."""
    require_tensor(x, "linalg.vecdot")
    require_tensor(y, "linalg.vecdot")
    if x.dtype != y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {x.dtype.scalar_type} and y of type "
                           f"{y.dtype.scalar_type} instead")
    return sum(x * y, dim)


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """``A @ B @ C @ ...`` for a list of matrices; the first may be a 1-D row vector and the
    last a 1-D column vector (their dim is removed from the result again)."""
    tensors = list(tensors)
    require_tensors(tensors, "linalg.multi_dot")
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    first, last = tensors[0], tensors[-1]
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, n - 1) else (2,)
        if t.ndim not in allowed:
            if i == 0:
                msg = f"the first tensor must be 1D or 2D but got {t.ndim}D"
            elif i == n - 1:
                msg = f"the last tensor must be 1D or 2D but got {t.ndim}D"
            else:
                msg = f"tensor {i} must be 2D but got {t.ndim}D"
            raise RuntimeError(f"multi_dot(): {msg}")
        if t.dtype != first.dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {first.dtype.scalar_type} and tensor {i} "
                               f"{t.dtype.scalar_type}")
    mats = [first.unsqueeze(0) if first.ndim == 1 else first, *tensors[1:-1],
            last.unsqueeze(1) if last.ndim == 1 else last]
    for i in range(n - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"multi_dot(): tensors {i} and {i + 1} with shapes {list(mats[i].shape)} and "
                f"{list(mats[i + 1].shape)} cannot be multiplied")
    out = mats[0]
    for m in mats[1:]:
        out = matmul(out, m)
    if first.ndim == 1:
        out = out.squeeze(0)
    if last.ndim == 1:
        out = out.squeeze(-1)
    return out


def cross(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The 3-D cross product of the vectors along ``dim`` (other dims broadcast)."""
    require_tensor(x, "linalg.cross")
    require_tensor(y, "linalg.cross")
    if x.ndim != y.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions. "
                           f"Got {x.ndim} and {y.ndim}")
    d = wrap_dim(dim, x.ndim)
    _check_cross(x, y, d, dim)
    return _cross(x, y, d)



