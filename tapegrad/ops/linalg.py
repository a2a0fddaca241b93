"""Linear algebra: ``matmul`` (``@``) and its special cases ``mm``, ``bmm``, ``mv``, ``dot``;
``outer``, ``addmm`` and the transposes ``t()``, ``.T``, ``.mT``.

Every product here is a sum of products, ``C[i, j] = sum_k A[i, k] B[k, j]``, so::

    dL/dA[i, k] = sum_j dL/dC[i, j] B[k, j]     i.e.  dL/dA = dL/dC @ B^T
    dL/dB[k, j] = sum_i A[i, k] dL/dC[i, j]     i.e.  dL/dB = A^T @ dL/dC

and the backward is two more matrix products (written with these same ops, so double
backward works). The numbers are crunched by numpy's ``matmul`` (BLAS).

``matmul`` follows torch: 1-D x 1-D is a dot product; 2-D x 2-D a matrix product; a 1-D
operand is promoted to a matrix (a row on the left, a column on the right) and the added
dim removed again; beyond 2-D the leading dims are batch dims and broadcast. A batch
dim that was broadcast received gradient from every batch element, so its gradient is
summed back (``sum_to_size``), exactly as for ``+``. Unlike ``+``, matmul does *not*
promote dtypes: mixing float32 and float64 is an error, as in torch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.views import ViewFunction
from tapegrad.ops._util import as_array, broadcast_shapes, wrap, wrap_dim
from tapegrad.ops.checks.linalg import (
    check_addmm,
    check_bmm,
    check_dot,
    check_matmul,
    check_mm,
    check_mv,
    check_tensor,
)
from tapegrad.ops.comparison import where
from tapegrad.ops.joining import cat
from tapegrad.ops.shape import _view_of
from tapegrad.tensor import Tensor


# ---------------------------------------------------------------- transposes
class T(ViewFunction):
    """``x.t()``: the transpose of a matrix (a view); 0-d and 1-d tensors are returned
    as they are. A transpose is its own inverse, so backward transposes the gradient."""

    caption = ('{g}ᵀ : {sg} → {s0}',)
    op_name = "t"

    @staticmethod
    def forward(ctx: Node, x: Tensor) -> Tensor:
        return _view_of(x, x._data.T)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return T.apply(grad)


def t(x: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return T.apply(x)


def _T(x: Tensor) -> Tensor:
    """``x.T``: reverse all dims (torch warns for anything but a matrix)."""
    if x.ndim == 0:
        warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity "
                      "in these cases.", UserWarning, stacklevel=2)
    elif x.ndim != 2:
        warnings.warn(
            "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
            "deprecated and it will throw an error in a future release. Consider `x.mT` to "
            "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
            "to reverse the dimensions of a tensor.", UserWarning, stacklevel=2)
    return x.permute(*reversed(range(x.ndim)))


def _mT(x: Tensor) -> Tensor:
    """``x.mT``: swap the last two dims (transpose every matrix of a batch)."""
    if x.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {x.ndim}-D tensor.")
    return x.transpose(-2, -1)


def _H(x: Tensor) -> Tensor:
    """``x.H``: the conjugate transpose of a matrix; tapegrad's dtypes are real, so it is
    the transpose (a view)."""
    if x.ndim != 2:
        raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{x.ndim}-D tensor.")
    return x.transpose(0, 1)


def adjoint(x: Tensor) -> Tensor:
    """``x.mH``: the conjugate transpose of every matrix of a batch (for real tensors, the
    transpose of the last two dims)."""
    if x.ndim < 2:
        raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {x.ndim}-D tensor.")
    return x.transpose(-2, -1)


def _transposed(x: Tensor) -> Tensor:
    """The transpose used inside backward formulas: ``t()`` for a matrix, as torch."""
    return T.apply(x) if x.ndim == 2 else x.transpose(-2, -1)


# ---------------------------------------------------------------- the products
def _np_matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.ndim > 2 and y.ndim == 2:
        # a batch of matrices times one matrix is one big matrix product (one BLAS call)
        # (explicit row count: with a zero-size dim, -1 cannot be inferred)
        rows = int(np.prod(x.shape[:-1]))
        out = np.matmul(x.reshape(rows, x.shape[-1]), y)
        return out.reshape(x.shape[:-1] + (y.shape[-1],))
    return np.matmul(x, y)


def _save_crosswise(ctx: Node, a: Tensor, b: Tensor, first: int = 0) -> None:
    """Save for a product ``a b``: a's gradient reads b and b's reads a, so each is kept
    only when the *other* one needs a gradient (torch's rule: save what the formulas of
    the inputs that need grad read). ``x @ W`` with only W training keeps x, not W, so an
    optimizer step on W between two backwards is no version error. ``first`` is a's
    position among the forward's arguments."""
    need = ctx.needs_input_grad
    ctx.save_for_backward(a if need[first + 1] else None, b if need[first] else None)


class Dot(Function):
    """``a . b = sum_k a_k b_k``: d/da = b, d/db = a (times the scalar gradient)."""

    caption = ('{g}·{x1} : {s0} = scalar · {s1}',
               '{g}·{x0} : {s1} = scalar · {s0}')
    op_name = "dot"

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        _save_crosswise(ctx, a, b)
        return wrap(as_array(np.dot(a._data, b._data), a._data.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return grad * b if need_a else None, grad * a if need_b else None


class Mv(Function):
    """``y = A v``: dL/dA = outer(grad, v), dL/dv = A^T grad."""

    caption = ('outer({g}, {x1}) : {s0} = {sg} ⊗ {s1}',
               '{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg}')
    op_name = "mv"

    @staticmethod
    def forward(ctx: Node, a: Tensor, v: Tensor) -> Tensor:
        _save_crosswise(ctx, a, v)
        return wrap(np.matmul(a._data, v._data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, v = ctx.saved_tensors
        need_a, need_v = ctx.needs_input_grad
        return (outer(grad, v) if need_a else None,
                Mv.apply(T.apply(a), grad) if need_v else None)


class Mm(Function):
    """``C = A B`` for matrices: dL/dA = grad B^T, dL/dB = A^T grad."""

    caption = ('{g}·{x1}ᵀ : {s0} = {sg}·{s1}ᵀ',
               '{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg}')
    op_name = "mm"

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        _save_crosswise(ctx, a, b)
        return wrap(np.matmul(a._data, b._data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (Mm.apply(grad, T.apply(b)) if need_a else None,
                Mm.apply(T.apply(a), grad) if need_b else None)


class Bmm(Function):
    """A batch of matrix products (same batch size, no broadcasting): mm's backward,
    matrix by matrix."""

    caption = ('{g}·{x1}ᵀ per batch : {s0} = {sg}·{s1}ᵀ',
               '{x0}ᵀ·{g} per batch : {s1} = {s0}ᵀ·{sg}')
    op_name = "bmm"

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        _save_crosswise(ctx, a, b)
        return wrap(np.matmul(a._data, b._data))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (Bmm.apply(grad, b.transpose(1, 2)) if need_a else None,
                Bmm.apply(a.transpose(1, 2), grad) if need_b else None)


def _reshaped(x: Tensor, shape: tuple) -> Tensor:
    return x if tuple(x.shape) == tuple(shape) else x.reshape(shape)


class Matmul(Function):
    """The general ``matmul``: 1-D operands promoted to matrices, batch dims broadcast.

    torch records this as several nodes (expand, reshape, bmm, view); here it is one
    entry whose backward undoes each step: put the removed size-1 dims back into the
    gradient, take the two matrix products, sum over the batch dims each operand was
    broadcast along, and drop the promoted dims again.
    """

    caption = ('{g}·{x1}ᵀ : {s0} = {sg}·{s1}ᵀ (ᵀ swaps the last two dims)',
               '{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg} (ᵀ swaps the last two dims)')
    op_name = "matmul"

    @staticmethod
    def forward(ctx: Node, a: Tensor, b: Tensor) -> Tensor:
        _save_crosswise(ctx, a, b)
        ctx.shapes = (a._data.shape, b._data.shape)
        out = _np_matmul(a._data, b._data)
        # The output's shape before the dims added for 1-D operands were removed again:
        # batch dims, then (rows of a, columns of b).
        matrix_dims = (a._data.ndim > 1) + (b._data.ndim > 1)
        rows = a._data.shape[-2] if a._data.ndim > 1 else 1
        cols = b._data.shape[-1] if b._data.ndim > 1 else 1
        ctx.full_shape = out.shape[:out.ndim - matrix_dims] + (rows, cols)
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        need_a, need_b = ctx.needs_input_grad
        a2_shape = a_shape if len(a_shape) > 1 else (1,) + a_shape  # a row vector
        b2_shape = b_shape if len(b_shape) > 1 else b_shape + (1,)  # a column vector
        g2 = _reshaped(grad, ctx.full_shape)
        grad_a = grad_b = None
        if need_a:
            b2 = _reshaped(b, b2_shape)
            grad_a = matmul(g2, _transposed(b2)).sum_to_size(a2_shape)
            grad_a = _reshaped(grad_a, a_shape)
        if need_b:
            a2 = _reshaped(a, a2_shape)
            if len(b2_shape) == 2 and g2.ndim > 2:
                # b was shared by the whole batch: fold the batch into the rows, one mm
                k, p = b2_shape
                rows = int(np.prod(a2.shape[:-1]))
                grad_b = Mm.apply(T.apply(a2.reshape(rows, k)), g2.reshape(rows, p))
            else:
                grad_b = matmul(_transposed(a2), g2).sum_to_size(b2_shape)
            grad_b = _reshaped(grad_b, b_shape)
        return grad_a, grad_b


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with torch's rules for 1-D operands and broadcast batch dims."""
    check_tensor(a, "matmul", 1)
    check_tensor(b, "matmul", 2)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        return dot(a, b)
    if a.ndim == 2 and b.ndim == 1:
        return mv(a, b)
    if a.ndim == 2 and b.ndim == 2:
        return mm(a, b)
    check_matmul(a, b)
    return Matmul.apply(a, b)


def _check_ranks(op: str, a: Any, b: Any, ndim: int, a_error: str, b_error: str) -> None:
    """mm's and bmm's first checks, in torch's order: both operands are tensors, then each
    has exactly ``ndim`` dims (``a_error``/``b_error``: torch's message when it has not)."""
    check_tensor(a, op, 1)
    check_tensor(b, op, 2)
    if a.ndim != ndim:
        raise RuntimeError(a_error)
    if b.ndim != ndim:
        raise RuntimeError(b_error)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Product of two matrices (2-D only; no broadcasting)."""
    _check_ranks("mm", a, b, 2, "self must be a matrix", "mat2 must be a matrix")
    check_mm(a.shape, b.shape, a.dtype, b.dtype)
    return Mm.apply(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size."""
    _check_ranks("bmm", a, b, 3, "batch1 must be a 3D tensor", "batch2 must be a 3D tensor")
    check_bmm(a.shape, b.shape, a.dtype, b.dtype)
    return Bmm.apply(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size and dtype."""
    check_tensor(a, "dot", 1)
    check_tensor(b, "dot", 2)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    check_dot(a, b)
    return Dot.apply(a, b)


def mv(a: Tensor, v: Tensor) -> Tensor:
    """Matrix (2-D) times vector (1-D)."""
    check_tensor(a, "mv", 1)
    check_tensor(v, "mv", 2)
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    check_mv(a.shape, v.shape, a.dtype, v.dtype)
    return Mv.apply(a, v)


def outer(a: Tensor, b: Tensor) -> Tensor:
    """``out[i, j] = a[i] * b[j]`` for 1-D ``a`` and ``b``: a column times a row, which
    broadcasting turns into a matrix (recorded as a reshape and a mul, as in torch)."""
    for x, name in ((a, "self"), (b, "vec2")):
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    return a.reshape(a.shape[0], 1) * b


class Addmm(Function):
    """``beta * bias + alpha * (A @ B)``, the affine map of a linear layer in one op.
    bias gets ``beta * grad`` (summed back over the dims it was broadcast along), A and
    B get mm's gradients times ``alpha``."""

    caption = ('Σ {g} over the batch : {s0} = rows of {sg} summed ({bias})',
               '{g}·{x2}ᵀ : {s1} = {sg}·{s2}ᵀ',
               '{x1}ᵀ·{g} : {s2} = {s1}ᵀ·{sg}')
    op_name = "addmm"

    @staticmethod
    def forward(ctx: Node, bias: Tensor, a: Tensor, b: Tensor, beta: float = 1,
                alpha: float = 1) -> Tensor:
        _save_crosswise(ctx, a, b, first=1)
        ctx.beta, ctx.alpha = beta, alpha
        out = np.matmul(a._data, b._data)
        if alpha != 1:
            out *= alpha
        if beta != 0:  # beta == 0 ignores bias entirely (even its NaNs), as torch
            out += bias._data if beta == 1 else beta * bias._data
        return wrap(out)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        a, b = ctx.saved_tensors
        need_bias, need_a, need_b = ctx.needs_input_grad
        grad_ab = grad if ctx.alpha == 1 else grad * ctx.alpha
        return (
            (grad if ctx.beta == 1 else grad * ctx.beta) if need_bias else None,
            Mm.apply(grad_ab, T.apply(b)) if need_a else None,
            Mm.apply(T.apply(a), grad_ab) if need_b else None,
        )


def addmm(bias: Tensor, a: Tensor, b: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * bias + alpha * (a @ b)`` for matrices ``a``, ``b``; ``bias`` broadcasts."""
    check_addmm(bias, a, b)
    return Addmm.apply(bias, a, b, beta=beta, alpha=alpha)


# ---------------------------------------------------------------- more products
# Each is a product above plus a scaled input, so they are composites: their gradients
# are those of the product, the scaling and the sum.
def _scaled_sum(name: str, x: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * x + alpha * product`` with torch's rules: ``x`` broadcasts to the
    product's shape (never the other way), and ``beta == 0`` ignores ``x`` entirely (even
    its NaNs); bools take ``and``/``or`` for ``*``/``+``."""
    shape = tuple(product.shape)
    try:
        full = broadcast_shapes(tuple(x.shape), shape)
    except RuntimeError:
        full = None
    if full != shape:
        raise RuntimeError(f"The expanded size of the tensor ({shape[-1] if shape else 0}) must "
                           f"match the existing size ({x.shape[-1] if x.ndim else 0}) at "
                           f"non-singleton dimension {max(len(shape) - 1, 0)}.  Target sizes: "
                           f"{list(shape)}.  Tensor sizes: {list(x.shape)}")
    if product.dtype == dtypes.bool_:
        alpha, beta = bool(alpha), bool(beta)
    elif not product.dtype.is_floating_point:
        alpha, beta = int(alpha), int(beta)  # integer tensors truncate the scalars, as torch
    if product.dtype == dtypes.bool_:
        out = product if alpha else product & False
        return out if not beta else out | x.expand(shape)
    out = product if alpha == 1 else product * alpha
    if beta == 0:
        # x is ignored, NaNs included; where() still gives it torch's zero gradient
        return out + where(wrap(np.zeros((), dtype=bool)), x, x.new_zeros(()))
    return (x if beta == 1 else x * beta) + out


def addmv(x: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * x + alpha * (mat @ vec)``: matrix-vector product plus a vector."""
    return _scaled_sum("addmv", x, mv(mat, vec), beta, alpha)


def addbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """``beta * x + alpha * sum_b (batch1[b] @ batch2[b])``: the batch of products summed
    into one matrix."""
    products = bmm(batch1, batch2)
    return _scaled_sum("addbmm", x, products.sum(0, dtype=products.dtype), beta, alpha)


def baddbmm(x: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """``beta * x + alpha * (batch1 @ batch2)``, batch by batch."""
    return _scaled_sum("baddbmm", x, bmm(batch1, batch2), beta, alpha)


def addr(x: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * x + alpha * outer(vec1, vec2)``: a rank-one update of a matrix."""
    for v, name in ((vec1, "vec1"), (vec2, "vec2")):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-d argument {name}, but got {v.ndim}-d")
    if vec1.dtype == dtypes.bool_:
        product = vec1.reshape(-1, 1) & vec2
    else:
        product = outer(vec1, vec2)
    return _scaled_sum("addr", x, product, beta, alpha)


def vdot(a: Tensor, b: Tensor) -> Tensor:
    """``sum_k conj(a_k) b_k``; for real tensors the same as `dot`."""
    check_tensor(a, "vdot", 1)
    check_tensor(b, "vdot", 2)
    if a.dtype != b.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{a.dtype.scalar_type} and {b.dtype.scalar_type}")
    return dot(a, b)


# ---------------------------------------------------------------- cross product
def _cross(a: Tensor, b: Tensor, d: int) -> Tensor:
    """``a x b`` along dim ``d`` (of size 3): each component is a 2x2 determinant of the
    other two, ``c_0 = a_1 b_2 - a_2 b_1`` and its cyclic shifts."""
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape))
    a, b = a.expand(shape), b.expand(shape)
    a0, a1, a2 = (a.narrow(d, i, 1) for i in range(3))
    b0, b1, b2 = (b.narrow(d, i, 1) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def _check_cross(a: Tensor, b: Tensor, d: int, dim: int) -> None:
    if a.shape[d] != 3 or b.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{a.shape[d]} and {b.shape[d]}")


def cross(a: Tensor, b: Tensor, dim: int | None = None) -> Tensor:
    """The 3-D cross product along ``dim`` (if None: the first dim of size 3, a default
    torch deprecates)."""
    check_tensor(a, "cross", 1)
    check_tensor(b, "cross", 2)
    if a.ndim != b.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions. "
                           f"Got {a.ndim} and {b.ndim}")
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.",
                      UserWarning, stacklevel=2)
        sizes = [i for i, n in enumerate(shape) if n == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sizes[0]
    d = wrap_dim(dim, len(shape))
    _check_cross(a, b, d, dim)
    return _cross(a, b, d)


def _in_place(op: Any) -> Any:
    """``x.op_(...)``: the out-of-place op on a copy of x, copied back into x (``copy_`` is
    recorded, so the gradient reaches x's old value through the copy)."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self.copy_(op(self.clone(), *args, **kwargs))

    method.__name__ = method.__qualname__ = op.__name__ + "_"
    method.__doc__ = f"In-place `{op.__name__}`: writes the result into self."
    return method


def _matmul_method(self: Tensor, other: Any) -> Any:
    return matmul(self, other) if isinstance(other, Tensor) else NotImplemented


def _rmatmul_method(self: Tensor, other: Any) -> Any:
    return matmul(other, self) if isinstance(other, Tensor) else NotImplemented


ger = outer  # torch's old name

__all__ = ["matmul", "mm", "bmm", "dot", "mv", "outer", "ger", "addmm", "t", "addmv", "addbmm",
           "baddbmm", "addr", "vdot", "cross", "adjoint"]

# Tensor methods this module provides (installed by tapegrad.ops).
METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "mv": mv, "outer": outer,
    "ger": outer, "addmm": addmm, "t": t, "__matmul__": _matmul_method,
    "__rmatmul__": _rmatmul_method, "T": property(_T), "mT": property(_mT),
    "addmv": addmv, "addbmm": addbmm, "baddbmm": baddbmm, "addr": addr, "vdot": vdot,
    "cross": cross, "addmv_": _in_place(addmv), "addbmm_": _in_place(addbmm),
    "baddbmm_": _in_place(baddbmm), "addr_": _in_place(addr),
    "H": property(_H), "mH": property(adjoint), "adjoint": adjoint,
}
