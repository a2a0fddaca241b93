"""Matrix multiply on the GPU: a tiled shared-memory kernel, batched and strided.

``C = A @ B`` computes ``C[i, j] = sum_k A[i, k] * B[k, j]``. The naive kernel -- one thread
per ``C[i, j]``, looping over ``k`` -- reads every element of A and B from global memory ``n``
and ``m`` times over. The *tiled* kernel reuses what it reads: a block of ``TILE x TILE``
threads computes one ``TILE x TILE`` tile of C, and walks along ``k`` one tile at a time:

    for each k-tile t:
        thread (ty, tx) loads A[row, t*TILE + tx] into sa[ty, tx]      # one load per thread
        thread (ty, tx) loads B[t*TILE + ty, col] into sb[ty, tx]
        syncthreads()                  # the tiles are complete before anyone reads them
        acc += sum_s sa[ty, s] * sb[s, tx]                            # TILE multiply-adds
        syncthreads()                  # nobody overwrites a tile another thread still reads

so each global value is read once per tile instead of once per output: TILE times less
memory traffic. Three rules keep it correct on a real GPU:

* **Zero padding, not early exits.** When M, N or K is not a multiple of TILE the last tiles
  stick out of the matrices; threads there load 0 (which adds nothing) instead of returning,
  because every thread of the block must reach every ``syncthreads()`` -- a thread that left
  early would leave the others waiting forever (or worse, undefined behaviour). Only the
  final store is guarded by ``row < M and col < N``.
* **Strides, not copies.** Each operand is read through its own row/column strides and
  offset, so a transposed weight (``x @ W.T`` in ``nn.Linear``) or a sliced view costs no
  copy. Batch dimensions broadcast by giving an operand stride 0 on them.
* **Grid-stride loops** over output tiles and batch entries (the batch on ``blockIdx.z``),
  so any grid -- including one capped by the hardware's grid limits -- covers any size.

The result dtype is numpy's (``np.result_type``); the sum accumulates in that dtype (float32
stays float32, int64 sums are exact integers). The reference is ``np.matmul`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import runtime
from .array import CudaArray, device_mismatch, implements

__all__ = ["TILE_GPU", "TILE_SIM", "dot", "matmul", "tile"]

#: Tile edge on a GPU: 16 x 16 = 256 threads a block, two 16 x 16 shared tiles.
TILE_GPU = 16
#: Tile edge in the simulator (one Python thread per CUDA thread): 4 x 4 = 16 threads a block.
TILE_SIM = 4

#: Blocks per grid axis at most: the hardware limit for y and z (x allows more, but a
#: grid-stride loop makes more pointless); in the simulator 2, so the tests exercise the loops.
_GRID_CAP_GPU = 65535
_GRID_CAP_SIM = 2


def tile() -> int:
    """The tile edge kernels are built with: `TILE_GPU`, or `TILE_SIM` in the simulator."""
    return TILE_SIM if runtime.simulated() else TILE_GPU


#: ``numba.cuda``, bound when the first kernel is built. Kernels must find it as a module
#: global: the simulator swaps the globals that hold it for its fake CUDA module at launch.
cuda: Any = None


def _make_kernel(acc_type: Any, tile_: int) -> Any:
    """The Python source of the tiled kernel for one accumulation type and tile edge (both
    compile-time constants: shared-memory sizes and types must be known when compiling)."""

    def kernel(m, n, k, batch, bshape,
               a, a_off, a_bst, a_rs, a_cs,
               b, b_off, b_bst, b_rs, b_cs,
               out, o_off, o_bst, o_rs, o_cs):
        sa = cuda.shared.array((tile_, tile_), acc_type)
        sb = cuda.shared.array((tile_, tile_), acc_type)
        ty = cuda.threadIdx.y
        tx = cuda.threadIdx.x
        tiles_m = (m + tile_ - 1) // tile_
        tiles_n = (n + tile_ - 1) // tile_
        # Every loop bound below is the same for all threads of a block, so all of them run
        # the same iterations and meet at the same syncthreads().
        for z in range(cuda.blockIdx.z, batch, cuda.gridDim.z):
            # batch index z -> each operand's start (stride 0 on its broadcast batch axes)
            pa = a_off
            pb = b_off
            po = o_off
            rem = z
            for d in range(len(bshape) - 1, -1, -1):
                i = rem % bshape[d]
                rem //= bshape[d]
                pa += i * a_bst[d]
                pb += i * b_bst[d]
                po += i * o_bst[d]
            for tm in range(cuda.blockIdx.y, tiles_m, cuda.gridDim.y):
                row = tm * tile_ + ty
                for tn in range(cuda.blockIdx.x, tiles_n, cuda.gridDim.x):
                    col = tn * tile_ + tx
                    acc = acc_type(0)
                    for k0 in range(0, k, tile_):
                        ka = k0 + tx  # this thread loads A[row, ka] and B[kb, col]
                        if row < m and ka < k:
                            sa[ty, tx] = acc_type(a[pa + row * a_rs + ka * a_cs])
                        else:
                            sa[ty, tx] = acc_type(0)
                        kb = k0 + ty
                        if kb < k and col < n:
                            sb[ty, tx] = acc_type(b[pb + kb * b_rs + col * b_cs])
                        else:
                            sb[ty, tx] = acc_type(0)
                        cuda.syncthreads()
                        for s in range(tile_):
                            acc += sa[ty, s] * sb[s, tx]
                        cuda.syncthreads()
                    if row < m and col < n:
                        out[po + row * o_rs + col * o_cs] = acc

    return kernel


_cache: dict[tuple, Any] = {}


def _kernel(acc_dtype: np.dtype) -> Any:
    """The compiled kernel for ``acc_dtype`` (built on first use, then cached)."""
    def build() -> Any:
        global cuda
        cuda = runtime.numba_cuda()
        return cuda.jit(_make_kernel(acc_dtype.type, tile()))

    return runtime.build_once(_cache, (acc_dtype, tile()), build)


def _accumulator(dtype: np.dtype) -> np.dtype:
    """The dtype the kernel sums in: the result's, except bool (count in int64, then test for
    non-zero) and float16 (sum in float32, round once at the end)."""
    if dtype.kind == "b":
        return np.dtype(np.int64)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype.kind not in "iuf":
        raise TypeError(f"tapegrad's CUDA matmul does not support dtype {dtype}")
    return dtype


def _numpy_error(a: CudaArray, b: CudaArray) -> Exception:
    """numpy's own shape error, raised by ``np.matmul`` on zero-stride stand-ins (it checks
    shapes before computing anything, and the stand-ins are safe to read anyway)."""
    sa = np.broadcast_to(np.zeros((), a.dtype), a.shape)
    sb = np.broadcast_to(np.zeros((), b.dtype), b.shape)
    try:
        np.matmul(sa, sb)
    except ValueError as exc:
        return exc
    return ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")


def _device_operand(x: Any) -> CudaArray:
    if isinstance(x, CudaArray):
        return x
    if isinstance(x, np.ndarray) and x.ndim > 0:
        raise device_mismatch(x)
    # numbers and 0-d arrays: numpy refuses them with its own message
    raise ValueError("matmul: Input operand does not have enough dimensions (has 0, gufunc "
                     "core with signature (n?,k),(k,m?)->(n?,m?) requires 1)")


def _launch(a: CudaArray, b: CudaArray, out: CudaArray) -> None:
    """``out[...] = a @ b`` for ``a`` (*batch, M, K), ``b`` (*batch, K, N), ``out`` (*batch, M,
    N), all with the same batch shape (broadcast operands have stride 0 there)."""
    m, k = a.shape[-2:]
    n = b.shape[-1]
    bshape = out.shape[:-2]
    batch = 1
    for s in bshape:
        batch *= s
    if batch * m * n == 0:
        return
    if not bshape:  # kernels index with at least one batch axis: a length-1 one
        bshape, a_bst, b_bst, o_bst = (1,), (0,), (0,), (0,)
    else:
        a_bst, b_bst, o_bst = a.strides_el[:-2], b.strides_el[:-2], out.strides_el[:-2]
    t = tile()
    cap = _GRID_CAP_SIM if runtime.simulated() else _GRID_CAP_GPU
    grid = (min(cap, (n + t - 1) // t), min(cap, (m + t - 1) // t), min(cap, batch))
    _kernel(_accumulator(out.dtype))[grid, (t, t)](
        m, n, k, batch, bshape,
        a._buf, a.offset, a_bst, a.strides_el[-2], a.strides_el[-1],
        b._buf, b.offset, b_bst, b.strides_el[-2], b.strides_el[-1],
        out._buf, out.offset, o_bst, out.strides_el[-2], out.strides_el[-1])


def matmul(a: Any, b: Any, out: Any = None, **kwargs: Any) -> CudaArray:
    """``np.matmul(a, b)`` for CUDA arrays (``np.matmul`` and ``@`` land here).

    numpy's rules: a 1-D ``a`` is a row (1, K) and a 1-D ``b`` a column (K, 1), and the added
    axis is removed from the result; the batch dimensions (all but the last two) broadcast;
    the result dtype is ``np.result_type(a, b)`` (or ``dtype=``); ``out=`` may be any view of
    the result's shape.
    """
    if isinstance(out, tuple):
        out = out[0] if len(out) == 1 else out
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("casting", None)
    kwargs.pop("subok", None)
    if kwargs.pop("order", "K") not in ("K", "C", "A") or any(v is not None
                                                              for v in kwargs.values()):
        raise TypeError(f"CUDA matmul: unsupported arguments {sorted(kwargs)}")
    a, b = _device_operand(a), _device_operand(b)
    if a.ndim == 0 or b.ndim == 0:
        raise _numpy_error(a, b)
    a2 = a[None, :] if a.ndim == 1 else a  # views: (1, K) and (K, 1)
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise _numpy_error(a, b)
    try:
        batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    except ValueError:
        raise _numpy_error(a, b) from None
    shape = batch + a2.shape[-2:-1] * (a.ndim > 1) + b2.shape[-1:] * (b.ndim > 1)
    result = np.dtype(dtype) if dtype is not None else np.result_type(a.dtype, b.dtype)
    if out is None:
        out = CudaArray.empty(shape, result)
    elif not isinstance(out, CudaArray):
        raise device_mismatch(out)
    elif out.shape != shape:
        raise ValueError(f"matmul: output operand has shape {out.shape}, but the result has "
                         f"shape {shape}")
    # the result through the row/column axes that 1-D operands add (a view of out)
    full = out[..., None] if b.ndim == 1 else out
    full = full[..., None, :] if a.ndim == 1 else full
    acc = _accumulator(result)
    if acc == full.dtype:
        target = full
    else:  # bool, float16, or an out= of another dtype: sum in acc, then cast into out
        target = CudaArray.empty(full.shape, acc)
    _launch(a2.broadcast_to(batch + a2.shape[-2:]), b2.broadcast_to(batch + b2.shape[-2:]),
            target)
    if target is not full:
        if result.kind == "b":
            np.not_equal(target, 0, out=full)
        else:
            full.assign(target)
    return out


@implements(np.dot)
def dot(a: Any, b: Any, out: CudaArray | None = None) -> Any:
    """``np.dot(a, b)``: a product of numbers for 0-d operands, ``matmul`` for 1-D and 2-D
    operands, and for N-D ones the sum over ``a``'s last axis and ``b``'s second-to-last
    (``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])``)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b, out=out)
    a, b = _device_operand(a), _device_operand(b)
    if b.ndim <= 2:
        return matmul(a, b, out=out)
    # N-D b: move its contracted axis first, flatten the rest, and multiply once
    k = b.shape[-2]
    if a.shape[-1] != k:
        raise ValueError(f"shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim "
                         f"{a.ndim - 1}) != {k} (dim {b.ndim - 2})")
    axes = (b.ndim - 2, *range(b.ndim - 2), b.ndim - 1)
    flat = matmul(a.reshape(-1, k), b.transpose(axes).reshape(k, -1))
    result = flat.reshape(a.shape[:-1] + b.shape[:-2] + b.shape[-1:])
    if out is None:
        return result
    out.assign(result)
    return out
