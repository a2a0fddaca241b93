"""Convolution kernels in plain NumPy: the definition that `conv_cpu` (numba) must match.

A 2-D convolution (really a cross-correlation, as in every deep-learning library) is

    out[n, o, i, j] = bias[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*sh + p*dh, j*sw + q*dw]

with ``x`` already zero-padded. The classic way to compute it is *im2col*: copy every
receptive field into one column of a matrix, so the whole convolution becomes a single
matrix product (which BLAS does at full speed):

    cols[n, (c, p, q), (i, j)] = x[n, c, i*sh + p*dh, j*sw + q*dw]      (im2col)
    out[n] = W @ cols[n]            W = w.reshape(out_channels, C*KH*KW)

The gradient of the input is the transpose of that copy: every column entry adds its
gradient back to the pixel it was copied from (*col2im*; overlapping windows add up):

    grad_cols[n] = W^T @ grad_out[n]
    grad_x[n, c, i*sh + p*dh, j*sw + q*dw] += grad_cols[n, (c, p, q), (i, j)]      (col2im)

and the weight gradient is ``sum_n grad_out[n] @ cols[n]^T``. Only the copies are kernels
(they are loops); the products are NumPy's ``matmul`` in both backends.

*Wide* columns (stride 1 only): flatten each input plane. For output row ``i`` the window tap
``(p, q)`` reads ``x.flat[(i + p*dh)*W + q*dw + j]``, j = 0..OW-1; if we let ``j`` run on to
``W - 1`` the positions of consecutive rows join up, and the whole column row of a tap becomes
ONE contiguous run of the flat plane, starting at ``p*dh*W + q*dw``. So `im2col_wide` copies
long runs (fast) instead of OH short ones, at the price of ``W - OW`` extra "garbage" outputs
per row, which the caller computes and drops (and gives zero gradient in backward).
"""

from __future__ import annotations

import numpy as np

__all__ = ["col2im", "col2im_wide", "im2col", "im2col_wide"]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out_size: tuple[int, int],
           out: np.ndarray | None = None) -> np.ndarray:
    """Receptive fields of the (already padded) ``x`` (N, C, H, W) as columns.

    Returns ``cols`` of shape (N, C*KH*KW, OH*OW) (written into ``out`` when given); row
    ``(c*KH + p)*KW + q`` holds tap ``(p, q)`` of channel ``c`` for every output position, in
    row-major (i, j) order.
    """
    n, c, _, _ = x.shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_size
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            # tap (p, q) sees x at rows p*dh, p*dh + sh, ... : one strided slice per tap
            cols[:, :, p, q] = x[:, :, p * dh: p * dh + sh * (oh - 1) + 1: sh,
                                 q * dw: q * dw + sw * (ow - 1) + 1: sw]
    cols = cols.reshape(n, c * kh * kw, oh * ow)
    if out is not None:
        out[...] = cols
        return out
    return cols


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int],
           out_size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of `im2col`: add each column entry back to the pixel it came from.

    ``cols`` is (N, C*KH*KW, OH*OW); returns an array of ``shape`` (N, C, H, W) (``out`` when
    given). Pixels that several windows share receive the sum of their gradients; pixels no
    window reaches get 0.
    """
    n, c, h, w = shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_size
    if out is None:
        out = np.empty(shape, dtype=cols.dtype)
    out[...] = 0
    c6 = cols.reshape(n, c, kh, kw, oh, ow)
    for p in range(kh):
        for q in range(kw):
            out[:, :, p * dh: p * dh + sh * (oh - 1) + 1: sh,
                q * dw: q * dw + sw * (ow - 1) + 1: sw] += c6[:, :, p, q]
    return out


def im2col_wide(x: np.ndarray, kernel: tuple[int, int], dilation: tuple[int, int],
                out_size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """Stride-1 columns in the *wide* layout (see the module docstring).

    Returns (N, C*KH*KW, OH*W): entry ``(i, j)`` (``j < W``) of row ``(c, p, q)`` is
    ``x.flat``-plane ``c`` at ``(i + p*dh)*W + q*dw + j``; the last ``W - OW`` entries of the
    final output row would run past the plane and are 0.
    """
    n, c, h, w = x.shape
    kh, kw = kernel
    dh, dw = dilation
    oh, ow = out_size
    run = (oh - 1) * w + ow  # a tap's contiguous run through the flat plane
    flat = x.reshape(n, c, h * w)
    cols = np.zeros((n, c, kh, kw, oh * w), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            start = p * dh * w + q * dw
            cols[:, :, p, q, :run] = flat[:, :, start:start + run]
    cols = cols.reshape(n, c * kh * kw, oh * w)
    if out is not None:
        out[...] = cols
        return out
    return cols


def col2im_wide(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
                dilation: tuple[int, int], out_size: tuple[int, int],
                out: np.ndarray | None = None) -> np.ndarray:
    """The adjoint of `im2col_wide`: add each tap's run back onto the flat plane.

    ``cols`` is (N, C*KH*KW, OH*W); the garbage entries must hold 0 (they do when they come
    from a gradient that is 0 at the garbage outputs).
    """
    n, c, h, w = shape
    kh, kw = kernel
    dh, dw = dilation
    oh, ow = out_size
    run = (oh - 1) * w + ow
    if out is None:
        out = np.empty(shape, dtype=cols.dtype)
    out[...] = 0
    flat = out.reshape(n, c, h * w)
    c5 = cols.reshape(n, c, kh, kw, oh * w)
    for p in range(kh):
        for q in range(kw):
            start = p * dh * w + q * dw
            flat[:, :, start:start + run] += c5[:, :, p, q, :run]
    return out
