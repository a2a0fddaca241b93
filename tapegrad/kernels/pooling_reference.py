"""Pooling kernels in plain NumPy: the definition that `pooling_cpu` (numba) must match.

Every kernel works on a stack of planes ``x`` of shape (B, H, W) (the caller folds batch and
channels into B). A window of output position (i, j) starts at ``(i*sh - ph, j*sw - pw)``;
positions outside the input are padding: they never win a max (torch pads with -inf) and, for
the average, count in the divisor only when ``count_include_pad`` says so.

* max pool: the output is the largest value of the window, and ``indices`` records *where* it
  was (``row * W + col`` in the unpadded plane), scanning the window row by row and keeping
  the FIRST maximum (a later equal value does not replace it). NaN counts as larger than
  everything (a later NaN replaces an earlier one: torch's ``val > max || isnan(val)``).
  Backward sends each output's gradient to its recorded index; overlapping windows that
  picked the same pixel add up (`max_pool2d_backward`).
* average pool: ``sum(window) / divisor``; backward spreads ``grad / divisor`` evenly over
  the window's in-bounds pixels.
* adaptive pools choose the windows from the sizes alone: output ``i`` of ``O`` over an input
  of ``I`` covers ``[floor(i*I/O), ceil((i+1)*I/O))``, so windows may overlap or differ in size
  when ``O`` does not divide ``I``.

Float sums accumulate in float64, as torch's CPU kernels do (``acc_type``). Integer averages
divide with truncation toward zero (C++ integer division), as torch does.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d",
    "avg_pool2d", "avg_pool2d_backward", "max_pool2d", "max_pool2d_backward",
]


def _lowest(dtype: np.dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _first_valid(starts: np.ndarray, step: int) -> np.ndarray:
    """The first in-bounds tap of each window: ``start`` moved up by ``step`` until >= 0."""
    return np.where(starts < 0, starts + step * ((step - 1 - starts) // step), starts)


def max_pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], dilation: tuple[int, int],
               out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window of ``x`` (B, H, W); returns ``(out, indices)``, indices int64."""
    b, h, w = x.shape
    oh, ow = out_size
    rows = np.arange(oh) * stride[0] - padding[0]  # window starts
    cols = np.arange(ow) * stride[1] - padding[1]
    best = np.full((b, oh, ow), _lowest(x.dtype), dtype=x.dtype)
    # Before any tap wins, the index is the window's first in-bounds pixel (torch's rule: an
    # all -inf window reports that pixel).
    r0, c0 = _first_valid(rows, dilation[0]), _first_valid(cols, dilation[1])
    idx = np.broadcast_to(r0[:, None] * w + c0[None, :], (b, oh, ow)).astype(np.int64)
    for p in range(kernel[0]):
        r = rows + p * dilation[0]
        r_ok = (r >= 0) & (r < h)
        for q in range(kernel[1]):
            c = cols + q * dilation[1]
            ok = r_ok[:, None] & ((c >= 0) & (c < w))[None, :]
            v = x[:, np.clip(r, 0, h - 1)[:, None], np.clip(c, 0, w - 1)[None, :]]
            # v != v is isnan for floats (and always False for integers)
            win = ok & ((v > best) | (v != v))
            best = np.where(win, v, best)
            idx = np.where(win, (r[:, None] * w + c[None, :]), idx)
    return best, idx


def max_pool2d_backward(grad: np.ndarray, indices: np.ndarray,
                        in_size: tuple[int, int]) -> np.ndarray:
    """Scatter-add each output gradient to the input pixel its max came from."""
    b = grad.shape[0]
    out = np.zeros((b, in_size[0] * in_size[1]), dtype=grad.dtype)
    planes = np.broadcast_to(np.arange(b)[:, None, None], indices.shape)
    np.add.at(out, (planes.ravel(), indices.ravel()), grad.ravel())
    return out.reshape(b, *in_size)


def _avg_windows(n: int, k: int, s: int, p: int, out: int, count_include_pad: bool):
    """Per output position along one axis: clipped [start, end) and the divisor factor."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    full = end - start  # window size counting padding (but not the ceil_mode overhang)
    start, end = np.maximum(start, 0), np.minimum(end, n)
    return start, end, (full if count_include_pad else end - start)


def _divide(total: np.ndarray, divisor: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "f":
        return (total / divisor).astype(dtype)
    q = np.abs(total) // np.abs(divisor)  # C++ integer division truncates toward zero
    return (np.sign(total) * np.sign(divisor) * q).astype(dtype)


def avg_pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int], out_size: tuple[int, int], count_include_pad: bool,
               divisor_override: int | None) -> np.ndarray:
    """Mean over each window of ``x`` (B, H, W) with torch's divisor rules."""
    b, h, w = x.shape
    hs, he, hd = _avg_windows(h, kernel[0], stride[0], padding[0], out_size[0], count_include_pad)
    ws, we, wd = _avg_windows(w, kernel[1], stride[1], padding[1], out_size[1], count_include_pad)
    acc = np.float64 if x.dtype.kind == "f" else np.int64
    out = np.zeros((b, *out_size), dtype=x.dtype)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            if hs[i] >= he[i] or ws[j] >= we[j]:
                continue  # a window entirely in the padding averages to 0
            total = x[:, hs[i]:he[i], ws[j]:we[j]].sum(axis=(1, 2), dtype=acc)
            div = divisor_override if divisor_override else hd[i] * wd[j]
            out[:, i, j] = _divide(total, np.asarray(div), x.dtype)
    return out


def avg_pool2d_backward(grad: np.ndarray, in_size: tuple[int, int], kernel: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int],
                        count_include_pad: bool, divisor_override: int | None) -> np.ndarray:
    """Each window's gradient divided by its divisor, added to its in-bounds pixels."""
    b, oh, ow = grad.shape
    h, w = in_size
    hs, he, hd = _avg_windows(h, kernel[0], stride[0], padding[0], oh, count_include_pad)
    ws, we, wd = _avg_windows(w, kernel[1], stride[1], padding[1], ow, count_include_pad)
    out = np.zeros((b, h, w), dtype=grad.dtype)
    for i in range(oh):
        for j in range(ow):
            div = divisor_override if divisor_override else hd[i] * wd[j]
            out[:, hs[i]:he[i], ws[j]:we[j]] += (grad[:, i, j] / grad.dtype.type(div))[:, None,
                                                                                         None]
    return out


def _adaptive_windows(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(out)
    return (i * n) // out, ((i + 1) * n + out - 1) // out  # floor(i*n/o), ceil((i+1)*n/o)


def adaptive_avg_pool2d(x: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Mean over torch's adaptive windows of ``x`` (B, H, W)."""
    b, h, w = x.shape
    hs, he = _adaptive_windows(h, out_size[0])
    ws, we = _adaptive_windows(w, out_size[1])
    out = np.empty((b, *out_size), dtype=x.dtype)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            total = x[:, hs[i]:he[i], ws[j]:we[j]].sum(axis=(1, 2), dtype=np.float64)
            out[:, i, j] = total / (he[i] - hs[i]) / (we[j] - ws[j])  # torch divides twice
    return out


def adaptive_avg_pool2d_backward(grad: np.ndarray, in_size: tuple[int, int]) -> np.ndarray:
    """Each window's gradient spread evenly over the window."""
    b, oh, ow = grad.shape
    hs, he = _adaptive_windows(in_size[0], oh)
    ws, we = _adaptive_windows(in_size[1], ow)
    out = np.zeros((b, *in_size), dtype=grad.dtype)
    for i in range(oh):
        for j in range(ow):
            kh, kw = grad.dtype.type(he[i] - hs[i]), grad.dtype.type(we[j] - ws[j])
            out[:, hs[i]:he[i], ws[j]:we[j]] += (grad[:, i, j] / kh / kw)[:, None, None]
    return out


def adaptive_max_pool2d(x: np.ndarray,
                        out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Max (first max, NaN wins) over torch's adaptive windows; ``(out, indices)``."""
    b, h, w = x.shape
    hs, he = _adaptive_windows(h, out_size[0])
    ws, we = _adaptive_windows(w, out_size[1])
    out = np.empty((b, *out_size), dtype=x.dtype)
    idx = np.empty((b, *out_size), dtype=np.int64)
    for i in range(out_size[0]):
        for j in range(out_size[1]):
            best = np.full(b, _lowest(x.dtype), dtype=x.dtype)
            where = np.full(b, hs[i] * w + ws[j], dtype=np.int64)
            for r in range(hs[i], he[i]):
                for c in range(ws[j], we[j]):
                    v = x[:, r, c]
                    win = (v > best) | (v != v)
                    best = np.where(win, v, best)
                    where = np.where(win, r * w + c, where)
            out[:, i, j], idx[:, i, j] = best, where
    return out, idx
