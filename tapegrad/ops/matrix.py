"""Functions of square matrices: inverse, determinant, solving ``A X = B``, singular values.

Every op works on the last two dims and treats the leading ones as a batch. The numbers
come from numpy's LAPACK routines; the gradients are matrix identities, written with
tapegrad ops (so ``inv`` and ``det`` can be differentiated twice)::

    Y = A^-1         dA = -Y^T dY Y^T            (from d(A A^-1) = 0)
    y = det(A)       dA = dy * y * A^-T          (Jacobi's formula)
    X = A^-1 B       composite of inv and matmul
    s = svdvals(A)   dA = U diag(ds) V^T         (A = U diag(s) V^T, distinct s; twice)

The public names live in the `tapegrad.linalg` namespace, as in torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.autograd.function import Function, Node
from tapegrad.ops._util import wrap
from tapegrad.ops.host import computed_on_host
from tapegrad.ops.linalg import matmul
from tapegrad.ops.reduction.sums import _prod_of_others
from tapegrad.tensor import Tensor


class LinAlgError(RuntimeError):
    """torch's ``torch.linalg.LinAlgError``: a singular matrix, a failed factorisation."""


def check_square(A: Any, name: str, arg: str = "A") -> None:
    """torch's checks on the matrix argument of inv, det, solve: a floating tensor with at
    least two dims whose last two are equal."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg_{name}(): argument '{arg}' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor {arg} must have at least 2 "
                           f"dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{name}: {arg} must be batches of square matrices, but they "
                           f"are {A.shape[-2]} by {A.shape[-1]} matrices")
    if not A.is_floating_point():
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as "
                           f"input. Got {A.dtype.scalar_type}")


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


class Inv(Function):
    """``A^-1`` of each square matrix. From ``A A^-1 = I``: ``dA^-1 = -A^-1 dA A^-1``,
    so the gradient is ``-A^-T g A^-T`` (with the saved output, no second inversion)."""

    caption = ('−{x0}⁻ᵀ·{g}·{x0}⁻ᵀ : {s0}',)

    node_name = "LinalgInvExBackward0"
    op_name = "linalg.inv"

    @staticmethod
    def forward(ctx: Node, A: Tensor) -> Tensor:
        data = A._data
        if data.size == 0:
            out = data.copy()
        else:
            try:
                out = np.linalg.inv(data)
            except np.linalg.LinAlgError:
                raise LinAlgError("linalg.inv: The diagonal element 1 is zero, the inversion "
                                  "could not be completed because the input matrix is "
                                  "singular.") from None
        out = wrap(np.array(out, dtype=data.dtype, order="C"))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (inv_a,) = ctx.saved_tensors
        inv_t = _mT(inv_a)
        return -matmul(matmul(inv_t, grad), inv_t)


class Det(Function):
    """``det(A)`` of each square matrix. Jacobi's formula: ``d det(A) / dA = det(A)
    A^-T`` (the cofactor matrix). For a singular A that product is 0 * inf; the cofactors
    are then taken from the SVD instead."""

    caption = ('{g}·det({x0})·{x0}⁻ᵀ (the cofactor matrix) : {sg} → {s0}',)

    node_name = "LinalgDetBackward0"
    op_name = "linalg.det"

    @staticmethod
    def forward(ctx: Node, A: Tensor) -> Tensor:
        data = A._data
        out = wrap(np.array(np.linalg.det(data), dtype=data.dtype))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        A, det = ctx.saved_tensors
        data = A._data
        if data.size == 0:
            return A.new_zeros(tuple(A.shape))
        scale = (grad * det).unsqueeze(-1).unsqueeze(-1)
        if np.all(np.linalg.cond(data) < 1 / np.finfo(data.dtype).eps):
            return scale * _mT(Inv.apply(A))
        return grad.unsqueeze(-1).unsqueeze(-1) * _cofactors(A)


def _cofactors(A: Tensor) -> Tensor:
    """The cofactor matrix ``det(A) A^-T`` without the inverse, valid for singular A:
    with ``A = U S V^T``, it is ``det(U) det(V) U adj(S) V^T`` where ``adj(S)_ii`` is the
    product of the other singular values (differentiable through `Svd`)."""
    U, S, Vh = Svd.apply(A)
    sign = np.linalg.det(U._data) * np.linalg.det(Vh._data)  # +-1: a constant
    others = _prod_of_others(S, S.ndim - 1)
    return wrap(sign.astype(A._data.dtype)[..., None, None]) * matmul(U * others.unsqueeze(-2),
                                                                     Vh)


class Svd(Function):
    """The reduced SVD ``A = U diag(S) Vh`` of each matrix (U: m x k, S: k, Vh: k x n with
    k = min(m, n)), singular values largest first.

    Backward, for distinct singular values (torch's ``svd_backward``, real case): with
    ``skew(X) = X - X^T`` and ``E_ij = s_j^2 - s_i^2``,

        gA = U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)] Vh
             (+ the parts of gU, gV outside the spans of U, V when A is not square)

    With only ``gS`` this is ``U diag(gS) Vh``: ``ds_i = u_i^T dA v_i``. Because that
    formula reads U and Vh, which are outputs of this node, differentiating it again goes
    through this backward with gU and gVh: second derivatives of `svdvals` come out
    right."""

    caption = ('U [(skew(Uᵀ·gU)·S + S·skew(Vᵀ·gV)) / (sⱼ² − sᵢ²) + diag(gS)] Vh : {s0}',)

    node_name = "LinalgSvdBackward0"
    op_name = "linalg.svd"

    @staticmethod
    def forward(ctx: Node, A: Tensor) -> tuple:
        data = A._data
        u, s, vh = np.linalg.svd(data, full_matrices=False)
        outs = tuple(wrap(np.array(a, dtype=data.dtype, order="C")) for a in (u, s, vh))
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*outs)
        ctx.shape = data.shape
        return outs

    @staticmethod
    def backward(ctx: Node, gU: Any, gS: Any, gVh: Any) -> Tensor:
        U, S, Vh = ctx.saved_tensors
        m, n = ctx.shape[-2:]
        if gU is None and gVh is None:
            if gS is None:
                return None
            return matmul(U * gS.unsqueeze(-2), Vh)
        k = S.shape[-1]
        eye = wrap(np.eye(k, dtype=S._data.dtype))
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye  # s_j^2 - s_i^2, 1 on the diagonal
        inner = None
        if gU is not None:
            UtgU = matmul(_mT(U), gU)
            inner = (UtgU - _mT(UtgU)) * S.unsqueeze(-2) / E
        if gVh is not None:
            VtgV = matmul(Vh, _mT(gVh))
            part = S.unsqueeze(-1) * (VtgV - _mT(VtgV)) / E
            inner = part if inner is None else inner + part
        if gS is not None:
            inner = inner + gS.unsqueeze(-1) * eye
        if m > n and gU is not None:
            # the part of gU outside the column space of U: (I - U U^T) gU S^-1
            gUSinv = gU / S.unsqueeze(-2)
            outer = matmul(U, inner) + gUSinv - matmul(U, matmul(_mT(U), gUSinv))
            return matmul(outer, Vh)
        if m < n and gVh is not None:
            gVhSinv = gVh / S.unsqueeze(-1)
            outer = matmul(inner, Vh) + gVhSinv - matmul(matmul(gVhSinv, _mT(Vh)), Vh)
            return matmul(U, outer)
        return matmul(matmul(U, inner), Vh)


@computed_on_host
def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix (raises for a singular one)."""
    check_square(A, "inv")
    return Inv.apply(A)


@computed_on_host
def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix."""
    check_square(A, "det")
    return Det.apply(A)


@computed_on_host
def svdvals(A: Tensor) -> Tensor:
    """The singular values of each matrix (of the last two dims), in descending order."""
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    if not A.is_floating_point():
        raise RuntimeError("linalg.svd: Expected a floating point or complex tensor as input. "
                           f"Got {A.dtype.scalar_type}")
    return Svd.apply(A)[1]


@computed_on_host
def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A X = B`` (``left=False``: ``X A = B``). ``B`` is a batch of vectors
    when it is 1-D or has A's shape without the last dim; otherwise of matrices. Written
    as ``inv(A) @ B``, so its gradient is that of inv and matmul."""
    check_square(A, "solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg_solve(): argument 'B' (position 2) must be Tensor, not "
                        f"{type(B).__name__}")
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {A.dtype.scalar_type} and B of type "
                           f"{B.dtype.scalar_type} instead")
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and
                             tuple(B.shape) == tuple(A.shape[:-1]))
    n = A.shape[-1]
    if vector:
        if B.shape[-1] != n:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"AX = B ({A.shape[-2]}x{n} and {B.shape[-1]}x1)")
        return matmul(Inv.apply(A), B.unsqueeze(-1)).squeeze(-1)
    if left and B.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"AX = B ({A.shape[-2]}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    if not left and B.shape[-1] != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"XA = B ({A.shape[-2]}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    inv_a = Inv.apply(A)
    return matmul(inv_a, B) if left else matmul(B, inv_a)


inverse = inv  # torch.inverse, torch.det: the same ops under their top-level names

__all__ = ["inverse", "det"]  # the rest is public through tapegrad.linalg

METHODS = {"inverse": inv, "det": det}
