"""Numba versions of `rnn_reference` (the LSTM and GRU cells' pointwise half): same results.

Why fuse: NumPy spends ~10 passes (and as many temporaries) on an LSTM step's gate
arithmetic forward and ~25 backward, each over a small (N, 4H) or (N, H) array, so at the
benchmark's size (N=32, H=128) a step's pointwise work cost ~34 us forward and ~40 us
backward in NumPy, next to ~50 us for its matrix product. Fused, backward is one pass
(~5 us) and forward a few (~15-20 us, float32).

Design notes (measured on the 2-core development machine):

* **exp and tanh come from NumPy.** numba calls the scalar libm functions (~2 ns per exp,
  ~10 ns per tanh) while NumPy's are SIMD (~0.5 ns), so forward is split around them:
  one numba pass sums the two parts of the pre-activations and writes ``-|x|`` of the
  i, f, o blocks and the g block's values into two packed scratch arrays, then ``np.exp``
  and ``np.tanh`` run on those in place (a strided block measured 2x slower than a packed
  one), a second numba pass does the sigmoids and ``c'``, then ``np.tanh(c')`` and the
  product ``h' = o tanh(c')``. The GRU's forward is split the same way (sigmoids of r
  and z, then ``tanh`` of n's pre-activation). Backward has no transcendental function
  (the derivatives are functions of the saved activations) and is a single pass.
* A single float32 pass with its own vectorisable exp and tanh (Cephes' ``expf``
  polynomial with the power of two built from the exponent bits, ``tanhf``'s polynomial
  below 0.625) was tried: 16 us against 17 us for the passes above, within 2 ulp. Not
  worth a second implementation of two functions NumPy already has.
* The loops run over one hidden unit's four gates at a time, row by row: each gate block of
  a row is a contiguous run, so LLVM vectorises the four streams.
* Typed constants (``dtype.type(1)``) keep float32 arithmetic in float32, as NumPy's is.
* Serial and ``nogil``, like the other kernels: the arrays are far too small for a second
  thread to pay (see `tapegrad.kernels.cpu`).
* Only C-contiguous float32/float64 arrays take the compiled path; anything else (float16 is
  converted by `tapegrad.kernels.half` before it gets here, strided views) takes the NumPy
  reference.
"""

from __future__ import annotations

import numpy as np

from . import rnn_reference as reference
from ._jit import lazy_njit

__all__ = reference.__all__

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _forward_pre_py(gates, other, e, g):
    # gates += other; e = -|x| of the i, f, o blocks (exp's argument: never above 0, so exp
    # never overflows), packed (N, 3H); g = the g block's pre-activations, packed (N, H)
    n, w = gates.shape
    hs = w // 4
    for r in range(n):
        gr, orow, er, grow = gates[r], other[r], e[r], g[r]
        for j in range(2 * hs):  # i and f
            x = gr[j] + orow[j]
            gr[j] = x
            er[j] = -abs(x)
        for j in range(hs):
            grow[j] = gr[2 * hs + j] + orow[2 * hs + j]
        for j in range(hs):  # o
            x = gr[3 * hs + j] + orow[3 * hs + j]
            gr[3 * hs + j] = x
            er[2 * hs + j] = -abs(x)


def _forward_cell_py(act, e, g, c, c_new):
    # act: the i, f, o pre-activations; e = exp(-|pre|) packed (i, f, o); g = tanh of the g
    # block. Writes the sigmoids and g into act, and c' = f c + i g into c_new.
    n, w = act.shape
    hs = w // 4
    zero = act.dtype.type(0)
    one = act.dtype.type(1)
    for r in range(n):
        a, er, gr, cr, cn = act[r], e[r], g[r], c[r], c_new[r]
        ai, af, ag, ao = a[:hs], a[hs:2 * hs], a[2 * hs:3 * hs], a[3 * hs:]
        ei, ef, eo = er[:hs], er[hs:2 * hs], er[2 * hs:]
        for j in range(hs):
            xi, xf, xo, gj = ai[j], af[j], ao[j], gr[j]
            i = (one if xi >= zero else ei[j]) / (one + ei[j])
            f = (one if xf >= zero else ef[j]) / (one + ef[j])
            o = (one if xo >= zero else eo[j]) / (one + eo[j])
            ai[j] = i
            af[j] = f
            ag[j] = gj
            ao[j] = o
            cn[j] = f * cr[j] + i * gj


def _output_py(act, tc, h):
    # h' = o * tanh(c')
    n, w = act.shape
    hs = w // 4
    for r in range(n):
        o, t, hr = act[r, 3 * hs:], tc[r], h[r]
        for j in range(hs):
            hr[j] = o[j] * t[j]


def _backward_py(dh, dc, act, c, tc, dgates):
    n, w = act.shape
    hs = w // 4
    one = act.dtype.type(1)
    for r in range(n):
        a, d = act[r], dgates[r]
        ai, af, ag, ao = a[:hs], a[hs:2 * hs], a[2 * hs:3 * hs], a[3 * hs:]
        di, df, dg, do = d[:hs], d[hs:2 * hs], d[2 * hs:3 * hs], d[3 * hs:]
        dhr, dcr, cr, tr = dh[r], dc[r], c[r], tc[r]
        for j in range(hs):
            i, f, g, o, t, dhj = ai[j], af[j], ag[j], ao[j], tr[j], dhr[j]
            dct = dcr[j] + dhj * o * (one - t * t)
            di[j] = dct * g * i * (one - i)
            df[j] = dct * cr[j] * f * (one - f)
            dg[j] = dct * i * (one - g * g)
            do[j] = dhj * t * o * (one - o)
            dcr[j] = dct * f


def _gru_pre_py(gi, gh, rz, e):
    # rz = the r, z pre-activations; e = -|rz| (for np.exp)
    n_, w = rz.shape
    for r in range(n_):
        a, b, out, er = gi[r], gh[r], rz[r], e[r]
        for j in range(w):
            x = a[j] + b[j]
            out[j] = x
            er[j] = -abs(x)


def _gru_gates_py(gi, gh, rz, e, n):
    # the sigmoids of rz (from e = exp(-|x|)), then n's pre-activation gi_n + r gh_n
    n_, w = rz.shape
    hs = w // 2
    zero = rz.dtype.type(0)
    one = rz.dtype.type(1)
    for r in range(n_):
        out, er = rz[r], e[r]
        for j in range(w):
            x = out[j]
            out[j] = (one if x >= zero else er[j]) / (one + er[j])
        a, b, nr, rr = gi[r, 2 * hs:], gh[r, 2 * hs:], n[r], rz[r, :hs]
        for j in range(hs):
            nr[j] = a[j] + rr[j] * b[j]


def _gru_out_py(h, rz, n, h_new):
    n_, hs = h.shape
    for r in range(n_):
        hr, z, nr, out = h[r], rz[r, hs:], n[r], h_new[r]
        for j in range(hs):
            out[j] = nr[j] + z[j] * (hr[j] - nr[j])


def _gru_backward_py(dh, h, rz, n, gh, dgi, dgh):
    n_, hs = h.shape
    one = rz.dtype.type(1)
    for r in range(n_):
        d, hr, nr, ghn = dh[r], h[r], n[r], gh[r, 2 * hs:]
        rr, zr = rz[r, :hs], rz[r, hs:]
        gi_r, gi_z, gi_n = dgi[r, :hs], dgi[r, hs:2 * hs], dgi[r, 2 * hs:]
        gh_r, gh_z, gh_n = dgh[r, :hs], dgh[r, hs:2 * hs], dgh[r, 2 * hs:]
        for j in range(hs):
            dj, rj, zj, nj = d[j], rr[j], zr[j], nr[j]
            dn = dj * (one - zj) * (one - nj * nj)
            a = dn * ghn[j] * rj * (one - rj)
            b = dj * (hr[j] - nj) * zj * (one - zj)
            gi_r[j] = a
            gi_z[j] = b
            gi_n[j] = dn
            gh_r[j] = a
            gh_z[j] = b
            gh_n[j] = dn * rj
            d[j] = dj * zj


# Compiled on first call (`_jit.lazy_njit`).
_forward_pre = lazy_njit(_forward_pre_py)
_forward_cell = lazy_njit(_forward_cell_py)
_output = lazy_njit(_output_py)
_backward = lazy_njit(_backward_py)
_gru_pre = lazy_njit(_gru_pre_py)
_gru_gates = lazy_njit(_gru_gates_py)
_gru_out = lazy_njit(_gru_out_py)
_gru_backward = lazy_njit(_gru_backward_py)


def _compiled(*arrays: np.ndarray) -> bool:
    """Whether the compiled kernels take these arrays: C-contiguous, one float dtype."""
    dt = arrays[0].dtype
    if dt not in _FLOATS:
        return False
    for a in arrays:  # a plain loop: this runs twice per time step
        if a.dtype != dt or not a.flags.c_contiguous:
            return False
    return True


def lstm_cell_forward_(gates: np.ndarray, other: np.ndarray, c: np.ndarray,
                       c_new: np.ndarray, tc: np.ndarray, h: np.ndarray) -> None:
    """See `rnn_reference.lstm_cell_forward_`."""
    if not _compiled(gates, other, c, c_new, tc, h):
        return reference.lstm_cell_forward_(gates, other, c, c_new, tc, h)
    n, hs = c.shape
    e = np.empty((n, 3 * hs), gates.dtype)
    g = np.empty((n, hs), gates.dtype)
    _forward_pre(gates, other, e, g)
    np.exp(e, out=e)  # NumPy's SIMD loops want contiguous runs: hence the packed buffers
    np.tanh(g, out=g)
    _forward_cell(gates, e, g, c, c_new)
    np.tanh(c_new, out=tc)
    _output(gates, tc, h)
    return None


def lstm_cell_backward_(dh: np.ndarray, dc: np.ndarray, act: np.ndarray, c: np.ndarray,
                        tc: np.ndarray, dgates: np.ndarray) -> None:
    """See `rnn_reference.lstm_cell_backward_`."""
    if not _compiled(dh, dc, act, c, tc, dgates):
        return reference.lstm_cell_backward_(dh, dc, act, c, tc, dgates)
    _backward(dh, dc, act, c, tc, dgates)
    return None


def gru_cell_forward_(gi: np.ndarray, gh: np.ndarray, h: np.ndarray, rz: np.ndarray,
                      n: np.ndarray, h_new: np.ndarray) -> None:
    """See `rnn_reference.gru_cell_forward_` (exp and tanh from NumPy, as for the LSTM)."""
    if not _compiled(gi, gh, h, rz, n, h_new):
        return reference.gru_cell_forward_(gi, gh, h, rz, n, h_new)
    e = np.empty_like(rz)
    _gru_pre(gi, gh, rz, e)
    np.exp(e, out=e)
    _gru_gates(gi, gh, rz, e, n)
    np.tanh(n, out=n)
    _gru_out(h, rz, n, h_new)
    return None


def gru_cell_backward_(dh: np.ndarray, h: np.ndarray, rz: np.ndarray, n: np.ndarray,
                       gh: np.ndarray, dgi: np.ndarray, dgh: np.ndarray) -> None:
    """See `rnn_reference.gru_cell_backward_`."""
    if not _compiled(dh, h, rz, n, gh, dgi, dgh):
        return reference.gru_cell_backward_(dh, h, rz, n, gh, dgi, dgh)
    _gru_backward(dh, h, rz, n, gh, dgi, dgh)
    return None
