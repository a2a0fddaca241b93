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

and the weight gradient is ``sum_n grad_out[n] @ cols[n]^T``. Only the two copies are kernels
(they are loops); the products are NumPy's ``matmul`` in both backends.
"""

from __future__ import annotations

import numpy as np

__all__ = ["col2im", "im2col"]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out_size: tuple[int, int]) -> np.ndarray:
    """Receptive fields of the (already padded) ``x`` (N, C, H, W) as columns.

    Returns ``cols`` of shape (N, C*KH*KW, OH*OW); row ``(c*KH + p)*KW + q`` holds tap
    ``(p, q)`` of channel ``c`` for every output position, in row-major (i, j) order.
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
    return cols.reshape(n, c * kh * kw, oh * ow)


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int],
           stride: tuple[int, int], dilation: tuple[int, int],
           out_size: tuple[int, int]) -> np.ndarray:
    """The adjoint of `im2col`: add each column entry back to the pixel it came from.

    ``cols`` is (N, C*KH*KW, OH*OW); returns an array of ``shape`` (N, C, H, W). Pixels that
    several windows share receive the sum of their gradients; pixels no window reaches get 0.
    """
    n, c, h, w = shape
    kh, kw = kernel
    sh, sw = stride
    dh, dw = dilation
    oh, ow = out_size
    out = np.zeros(shape, dtype=cols.dtype)
    c6 = cols.reshape(n, c, kh, kw, oh, ow)
    for p in range(kh):
        for q in range(kw):
            out[:, :, p * dh: p * dh + sh * (oh - 1) + 1: sh,
                q * dw: q * dw + sw * (ow - 1) + 1: sw] += c6[:, :, p, q]
    return out
