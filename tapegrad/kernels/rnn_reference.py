"""The LSTM and GRU cells' gate arithmetic in plain NumPy: the definition `rnn_cpu` must match.

An LSTM step first computes the gate pre-activations of a batch, ``gates = x W_ih^T + b +
h W_hh^T``, an (N, 4H) array packed as four blocks (i, f, g, o) of H columns each. Those
products are BLAS's job. What is left is pointwise, one hidden unit at a time::

    i = sigmoid(gates_i)   f = sigmoid(gates_f)   g = tanh(gates_g)   o = sigmoid(gates_o)
    c' = f c + i g         h' = o tanh(c')

and, going back, from ``dh'`` (the gradient reaching h') and ``dc'`` (reaching c')::

    dc' total = dc' + dh' o (1 - tanh(c')^2)          (c' reaches the loss twice)
    d gates_i = dc' total * g * i (1 - i)              (sigmoid' = s (1 - s))
    d gates_f = dc' total * c * f (1 - f)
    d gates_g = dc' total * i * (1 - g^2)              (tanh' = 1 - t^2)
    d gates_o = dh' * tanh(c') * o (1 - o)
    dc        = dc' total * f                          (what flows to the previous step)

Backward needs only the activations (i, f, g, o), the previous cell state c and tanh(c'):
forward keeps the activations *in place of* the pre-activations, since the derivatives of
sigmoid and tanh are functions of their outputs.

The GRU packs its gates (r, z, n), and keeps the two products apart, ``gi = x W_ih^T + b_ih``
and ``gh = h W_hh^T + b_hh``, because the reset gate multiplies only gh's n block::

    r, z = sigmoid(gi + gh)    (the r and z blocks)    n = tanh(gi_n + r gh_n)
    h' = n + z (h - n)                                  (= (1 - z) n + z h)

and back, from ``dh'``::

    dn = dh' (1 - z) (1 - n^2)                          (the gradient at tanh's input)
    d gi_r = d gh_r = dn gh_n r (1 - r)
    d gi_z = d gh_z = dh' (h - n) z (1 - z)
    d gi_n = dn,   d gh_n = dn r
    dh = dh' z + dgh W_hh                               (the product is the caller's)

The kernels write into arrays the caller owns (their names end in ``_``), so a layer can
keep every step's results in slices of a few preallocated (L, N, ...) buffers instead of
allocating a dozen small arrays per step. Arrays are 2-D (N, 4H) / (N, H), of one float
dtype; outputs must not overlap inputs except where stated.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gru_cell_backward_", "gru_cell_forward_", "lstm_cell_backward_",
           "lstm_cell_forward_"]


def _sigmoid_(x: np.ndarray) -> None:
    """``x = 1 / (1 + exp(-x))`` in place, without overflow: with ``e = exp(-|x|)`` (never
    above 1) it is ``1 / (1 + e)`` for x >= 0 and ``e / (1 + e)`` for x < 0."""
    e = np.exp(-np.abs(x))
    x[...] = np.where(x >= 0, 1, e) / (1 + e)


def lstm_cell_forward_(gates: np.ndarray, other: np.ndarray, c: np.ndarray,
                       c_new: np.ndarray, tc: np.ndarray, h: np.ndarray) -> None:
    """One LSTM step's pointwise half.

    ``gates`` (N, 4H) holds one part of the pre-activations and ``other`` (N, 4H) the rest
    (e.g. the input projection and ``h W_hh^T``); ``gates`` is overwritten with the
    activations (i, f, g, o) of their sum. ``c`` (N, H) is the previous cell state; written:
    ``c_new`` = c', ``tc`` = tanh(c'), ``h`` = h' (all (N, H)).
    """
    gates += other
    hs = gates.shape[-1] // 4
    _sigmoid_(gates[:, :2 * hs])  # i and f
    np.tanh(gates[:, 2 * hs:3 * hs], out=gates[:, 2 * hs:3 * hs])
    _sigmoid_(gates[:, 3 * hs:])
    i, f, g, o = (gates[:, k * hs:(k + 1) * hs] for k in range(4))
    c_new[...] = f * c + i * g
    tc[...] = np.tanh(c_new)
    h[...] = o * tc


def lstm_cell_backward_(dh: np.ndarray, dc: np.ndarray, act: np.ndarray, c: np.ndarray,
                        tc: np.ndarray, dgates: np.ndarray) -> None:
    """One LSTM step back (the module docstring's formulas).

    ``dh``, ``dc`` (N, H): the gradients reaching h' and c'; ``act`` (N, 4H): the step's
    activations (i, f, g, o) as `lstm_cell_forward_` left them; ``c``: the previous cell
    state; ``tc`` = tanh(c'). Written: ``dgates`` (N, 4H), the gradient of the
    pre-activations, and ``dc`` (in place) becomes the gradient of the previous cell state.
    """
    hs = act.shape[-1] // 4
    i, f, g, o = (act[:, k * hs:(k + 1) * hs] for k in range(4))
    dct = dc + dh * o * (1 - tc * tc)
    dgates[:, :hs] = dct * g * i * (1 - i)
    dgates[:, hs:2 * hs] = dct * c * f * (1 - f)
    dgates[:, 2 * hs:3 * hs] = dct * i * (1 - g * g)
    dgates[:, 3 * hs:] = dh * tc * o * (1 - o)
    dc[...] = dct * f


def gru_cell_forward_(gi: np.ndarray, gh: np.ndarray, h: np.ndarray, rz: np.ndarray,
                      n: np.ndarray, h_new: np.ndarray) -> None:
    """One GRU step's pointwise half (the module docstring's formulas).

    ``gi``, ``gh`` (N, 3H): the two products with their biases; ``h`` (N, H): the previous
    state. Written: ``rz`` (N, 2H) the r and z gates, ``n`` (N, H), ``h_new`` (N, H).
    """
    hs = h.shape[-1]
    rz[...] = gi[:, :2 * hs] + gh[:, :2 * hs]
    _sigmoid_(rz)
    r, z = rz[:, :hs], rz[:, hs:]
    n[...] = np.tanh(gi[:, 2 * hs:] + r * gh[:, 2 * hs:])
    h_new[...] = n + z * (h - n)


def gru_cell_backward_(dh: np.ndarray, h: np.ndarray, rz: np.ndarray, n: np.ndarray,
                       gh: np.ndarray, dgi: np.ndarray, dgh: np.ndarray) -> None:
    """One GRU step back. ``dh`` (N, H): the gradient reaching h', overwritten with ``dh' z``
    (the part of h's gradient that skips the matrix product); ``h``, ``rz``, ``n``, ``gh``:
    as `gru_cell_forward_` saw and left them. Written: ``dgi``, ``dgh`` (N, 3H)."""
    hs = h.shape[-1]
    r, z = rz[:, :hs], rz[:, hs:]
    dn = dh * (1 - z) * (1 - n * n)
    dgi[:, :hs] = dn * gh[:, 2 * hs:] * r * (1 - r)
    dgi[:, hs:2 * hs] = dh * (h - n) * z * (1 - z)
    dgi[:, 2 * hs:] = dn
    dgh[:, :2 * hs] = dgi[:, :2 * hs]
    dgh[:, 2 * hs:] = dn * r
    dh *= z
