"""Recurrent networks as functions: fused LSTM/GRU steps and the loop over time.

A recurrent layer applies the same cell at every time step, feeding each step's hidden
state into the next. The work splits in two:

* the **input projection** ``x_t W_ih^T + b`` does not depend on the recurrence, so it is
  done for the whole sequence in *one* matrix product (L*N rows at once: BLAS at its best)
  and cut into per-step slices (``unbind``);
* the **recurrence** ``h_{t-1} W_hh^T`` must wait for the previous step, so it runs in a
  Python loop over time steps.

Per step an LSTM does a matrix product and ~10 elementwise ops (4 activations, products,
sums). Recorded one by one that is ~12 tape entries per step, and the Python overhead of
recording and differentiating them costs more than the arithmetic. So each step is one
`Function` with a hand-derived backward: `LSTMStep` (``h W_hh^T`` + the gates) and
`GRUStep`; the plain RNN stays two ordinary ops (``addmm``, ``tanh``). Autograd sees one
entry per time step and differentiates the Python loop like any program; the gradient of
``W_hh`` is the sum of every step's contribution, added up by the engine.

LSTM (gates packed i, f, g, o)::

    i, f, o = sigmoid(.)   g = tanh(.)   c' = f c + i g   h' = o tanh(c')

    dc' total = dc' + dh' o (1 - tanh(c')^2)
    di = dc' g,  df = dc' c,  dg = dc' i,  do = dh' tanh(c'),  dc = dc' f
    (then times the activation derivatives: s (1 - s) for sigmoid, 1 - t^2 for tanh)

GRU (gates packed r, z, n; gi = x W_ih^T + b_ih, gh = h W_hh^T + b_hh)::

    r, z = sigmoid(gi + gh)   n = tanh(gi_n + r gh_n)   h' = (1 - z) n + z h

    dh = dh' z,  dz = dh' (h - n),  dn = dh' (1 - z),  dr = dn_pre gh_n,
    d gh_n = dn_pre r        (dn_pre = dn (1 - n^2): the gradient at tanh's input)

When a graph of the backward is requested (``create_graph=True``) the fused steps evaluate
their backward with tensor ops instead, so double backward works.
"""

from __future__ import annotations

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.nn.functional.dropout import dropout
from tapegrad.nn.functional.linear import linear
from tapegrad.ops._util import as_array, contiguous, wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.joining import cat, stack
from tapegrad.ops.linalg import addmm, mm
from tapegrad.ops.pointwise import relu, sigmoid, tanh
from tapegrad.tensor import Tensor


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return as_array(kernels.on(a).sigmoid(a), a.dtype)


# ------------------------------------------------------------------ fused LSTM step
class LSTMStep(Function):
    """(proj, h, c, W_hh) -> (h', c'): one LSTM time step after the input projection,
    ``gates = proj + h W_hh^T`` then the gate nonlinearities, in one tape entry.

    ``proj`` is ``x W_ih^T + b_ih + b_hh`` (computed for the whole sequence beforehand).
    Backward: the cell's formula (module docstring) gives ``dgates``; then
    ``dproj = dgates``, ``dh = dgates W_hh``, ``dW_hh = dgates^T h``.
    ``w_t`` is W_hh^T in C order, made once per sequence (numpy multiplies faster by it).

    Equals ``i, f, g, o = (proj + h @ w_hh.T).chunk(4, -1)``,
    ``c' = f.sigmoid() * c + i.sigmoid() * g.tanh()``, ``h' = o.sigmoid() * c'.tanh()``
    (checked in tests/ops/test_fused_composites.py).
    """

    caption = ("∂L/∂input through the LSTM cell's gates : {s0}",)
    node_name = "LSTMStepBackward"
    op_name = "lstm_step"

    @staticmethod
    def forward(ctx: Node, proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor,
                w_t: np.ndarray = None) -> tuple[Tensor, Tensor]:
        gd = np.matmul(h._data, w_t)
        gd += proj._data
        hs = gd.shape[-1] // 4
        act = _sigmoid(gd)  # i, f, o; the g block is replaced by tanh just below
        act[..., 2 * hs:3 * hs] = np.tanh(gd[..., 2 * hs:3 * hs])
        i, f, g, o = (act[..., k * hs:(k + 1) * hs] for k in range(4))
        c_new = f * c._data + i * g
        tc = np.tanh(c_new)
        ctx.act, ctx.tc = act, tc
        ctx.save_for_backward(proj, h, c, w_hh)
        return wrap(o * tc), wrap(c_new)

    @staticmethod
    def backward(ctx: Node, dh: Tensor, dc: Tensor) -> tuple:
        proj, h, c, w_hh = ctx.saved_tensors
        if is_grad_enabled():
            return _lstm_backward_graph(ctx, proj, h, c, w_hh, dh, dc)
        act, tc = ctx.act, ctx.tc
        hs = act.shape[-1] // 4
        i, f, g, o = (act[..., k * hs:(k + 1) * hs] for k in range(4))
        dhd = dh._data
        dct = dc._data + dhd * o * (1 - tc * tc)
        dgates = np.empty_like(act)
        dgates[..., :hs] = dct * g * i * (1 - i)
        dgates[..., hs:2 * hs] = dct * c._data * f * (1 - f)
        dgates[..., 2 * hs:3 * hs] = dct * i * (1 - g * g)
        dgates[..., 3 * hs:] = dhd * tc * o * (1 - o)
        need = ctx.needs_input_grad
        return (wrap(dgates) if need[0] else None,
                wrap(np.matmul(dgates, w_hh._data)) if need[1] else None,
                wrap(dct * f) if need[2] else None,
                wrap(np.matmul(dgates.T, h._data)) if need[3] else None)


def _lstm_backward_graph(ctx: Node, proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor,
                         dh: Tensor, dc: Tensor) -> tuple:
    """The LSTM step's backward as tensor ops (recorded when create_graph=True)."""
    i, f, g, o = (proj + h.mm(w_hh.t())).chunk(4, -1)
    i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
    tc = tanh(f * c + i * g)
    dct = dc + dh * o * (1 - tc * tc)
    dgates = cat([dct * g * i * (1 - i), dct * c * f * (1 - f), dct * i * (1 - g * g),
                  dh * tc * o * (1 - o)], -1)
    need = ctx.needs_input_grad
    return (dgates, dgates.mm(w_hh) if need[1] else None, dct * f if need[2] else None,
            dgates.t().mm(h) if need[3] else None)


# ------------------------------------------------------------------ fused GRU step
class GRUStep(Function):
    """(gi, h, W_hh, b_hh) -> h': one GRU time step after the input projection
    ``gi = x W_ih^T + b_ih``; ``gh = h W_hh^T + b_hh`` is computed here, and kept apart
    from gi because the reset gate multiplies only its n block.

    Backward: the cell's formula gives ``dgi`` and ``dgh``; then ``dh += dgh W_hh``,
    ``dW_hh = dgh^T h``, ``db_hh = sum over the batch of dgh``.

    Equals, with ``gh = h @ w_hh.T + b_hh`` and gi, gh chunked into (r, z, n):
    ``r, z = (gi_r + gh_r).sigmoid(), (gi_z + gh_z).sigmoid()``,
    ``n = (gi_n + r * gh_n).tanh()``, ``h' = (1 - z) * n + z * h`` (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("∂L/∂input through the GRU cell's gates : {s0}",)
    node_name = "GRUStepBackward"
    op_name = "gru_step"

    @staticmethod
    def forward(ctx: Node, gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                w_t: np.ndarray = None) -> Tensor:
        a = gi._data
        b = np.matmul(h._data, w_t)
        if b_hh is not None:
            b += b_hh._data
        hs = a.shape[-1] // 3
        rz = _sigmoid(a[..., :2 * hs] + b[..., :2 * hs])
        r, z = rz[..., :hs], rz[..., hs:]
        n = np.tanh(a[..., 2 * hs:] + r * b[..., 2 * hs:])
        ctx.rz, ctx.n, ctx.gh_n = rz, n, b[..., 2 * hs:]
        ctx.save_for_backward(gi, h, w_hh, b_hh)
        return wrap(n + z * (h._data - n))

    @staticmethod
    def backward(ctx: Node, dh: Tensor) -> tuple:
        gi, h, w_hh, b_hh = ctx.saved_tensors
        if is_grad_enabled():
            return _gru_backward_graph(ctx, gi, h, w_hh, b_hh, dh)
        rz, n = ctx.rz, ctx.n
        hs = n.shape[-1]
        r, z = rz[..., :hs], rz[..., hs:]
        d = dh._data
        dn = d * (1 - z) * (1 - n * n)  # gradient at tanh's input
        dgi = np.empty(rz.shape[:-1] + (3 * hs,), dtype=n.dtype, like=n)
        dgi[..., :hs] = dn * ctx.gh_n * r * (1 - r)
        dgi[..., hs:2 * hs] = d * (h._data - n) * z * (1 - z)
        dgi[..., 2 * hs:] = dn
        dgh = dgi.copy()
        dgh[..., 2 * hs:] *= r
        need = ctx.needs_input_grad
        dh_prev = None
        if need[1]:
            dh_prev = d * z
            dh_prev += np.matmul(dgh, w_hh._data)
        return (wrap(dgi) if need[0] else None,
                None if dh_prev is None else wrap(dh_prev),
                wrap(np.matmul(dgh.T, h._data)) if need[2] else None,
                wrap(dgh.sum(axis=0)) if need[3] else None)


def _gru_backward_graph(ctx: Node, gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                        dh: Tensor) -> tuple:
    """The GRU step's backward as tensor ops (recorded when create_graph=True)."""
    gh = h.mm(w_hh.t()) if b_hh is None else h.mm(w_hh.t()) + b_hh
    ir, iz, i_n = gi.chunk(3, -1)
    hr, hz, h_n = gh.chunk(3, -1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    n = tanh(i_n + r * h_n)
    dn = dh * (1 - z) * (1 - n * n)
    dr = dn * h_n * r * (1 - r)
    dz = dh * (h - n) * z * (1 - z)
    dgh = cat([dr, dz, dn * r], -1)
    need = ctx.needs_input_grad
    return (cat([dr, dz, dn], -1), dh * z + dgh.mm(w_hh) if need[1] else None,
            dgh.t().mm(h) if need[2] else None, dgh.sum(0) if need[3] else None)


# ------------------------------------------------------------------ cells as functions
def _c_order_t(w: Tensor) -> np.ndarray:
    """W^T as a C-ordered array: numpy's matmul by a transposed (F-ordered) right operand
    measured ~30% slower, and the steps multiply by W_hh^T once per time step."""
    return contiguous(w._data.T)


def lstm_cell(input: Tensor, hx: tuple[Tensor, Tensor], w_ih: Tensor,
              w_hh: Tensor, b_ih: Tensor | None = None, b_hh: Tensor | None = None
              ) -> tuple[Tensor, Tensor]:
    """One LSTM step for a batch (N, input_size): returns (h', c')."""
    require_tensor(input, "lstm_cell")
    proj = linear(input, w_ih, None if b_ih is None else b_ih + b_hh)
    return LSTMStep.apply(proj, hx[0], hx[1], w_hh, w_t=_c_order_t(w_hh))


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """One GRU step for a batch (N, input_size): returns h'."""
    require_tensor(input, "gru_cell")
    return GRUStep.apply(linear(input, w_ih, b_ih), hx, w_hh, b_hh, w_t=_c_order_t(w_hh))


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    require_tensor(input, "rnn_tanh_cell")
    return tanh(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> Tensor:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    require_tensor(input, "rnn_relu_cell")
    return relu(linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh))


# ------------------------------------------------------------------ the loop over time
def _direction(mode: str, inp: Tensor, h: Tensor, c: Tensor | None, weights: list,
               reverse: bool) -> tuple[Tensor, Tensor, Tensor | None]:
    """Run one direction of one layer over ``inp`` (L, N, in) from state (h, c).

    Returns the outputs stacked (L, N, H_out) and the final (h, c)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    steps, batch = inp.shape[0], inp.shape[1]
    x2 = inp.reshape(steps * batch, inp.shape[2])
    if mode == "GRU" or b_ih is None:
        proj = linear(x2, w_ih, b_ih)
    else:  # both biases are constant over time: fold b_hh into the sequence projection
        proj = linear(x2, w_ih, b_ih + b_hh)
    proj_t = proj.reshape(steps, batch, proj.shape[1]).unbind(0)
    w_t = _c_order_t(w_hh) if mode in ("LSTM", "GRU") else None
    w_hh_t = w_hh.t()
    w_hr_t = None if w_hr is None else w_hr.t()
    outputs: list = [None] * steps
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    for t in order:
        if mode == "LSTM":
            h, c = LSTMStep.apply(proj_t[t], h, c, w_hh, w_t=w_t)
            if w_hr_t is not None:
                h = mm(h, w_hr_t)
        elif mode == "GRU":
            h = GRUStep.apply(proj_t[t], h, w_hh, b_hh, w_t=w_t)
        else:  # plain RNN: two ordinary ops per step
            pre = addmm(proj_t[t], h, w_hh_t)
            h = tanh(pre) if mode == "RNN_TANH" else relu(pre)
        outputs[t] = h
    return stack(outputs, 0), h, c


def rnn_forward(mode: str, input: Tensor, hx: Tensor, cx: Tensor | None,
                weights: list[list], num_layers: int, dropout_p: float, training: bool,
                bidirectional: bool) -> tuple[Tensor, Tensor, Tensor | None]:
    """A multi-layer (bi)directional RNN over a time-major input (L, N, input_size).

    ``mode`` is ``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``; ``weights[k]`` is
    ``[w_ih, w_hh, b_ih, b_hh, w_hr]`` (None where absent) for layer ``k // D``, direction
    ``k % D``; ``hx`` (and the LSTM's ``cx``) are (D * num_layers, N, H). Dropout is
    applied to every layer's output except the last one's, in training only.
    Returns (output (L, N, D * H_out), h_n, c_n or None).
    """
    dirs = 2 if bidirectional else 1
    h0 = hx.unbind(0)
    c0 = cx.unbind(0) if cx is not None else None
    h_n, c_n = [], []
    layer_input = input
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h, c = _direction(mode, layer_input, h0[k], None if c0 is None else c0[k],
                                   weights[k], reverse=d == 1)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = outs[0] if dirs == 1 else cat(outs, 2)
        if dropout_p > 0 and training and layer < num_layers - 1:
            layer_input = dropout(layer_input, dropout_p, True)
    return layer_input, stack(h_n, 0), None if cx is None else stack(c_n, 0)


# Torch keeps these under torch._VF / torch.lstm_cell, not in nn.functional: nothing is
# star-exported into F.
__all__: list[str] = []
