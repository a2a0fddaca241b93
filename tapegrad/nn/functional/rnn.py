"""Recurrent networks as functions: fused LSTM/GRU steps and layers, the loop over time.

A recurrent layer applies the same cell at every time step, feeding each step's hidden
state into the next. The work splits in two:

* the **input projection** ``x_t W_ih^T + b`` does not depend on the recurrence, so it is
  done for the whole sequence in *one* matrix product (L*N rows at once: BLAS at its best);
* the **recurrence** ``h_{t-1} W_hh^T`` must wait for the previous step, so it runs in a
  Python loop over time steps.

Per step an LSTM does a matrix product and ~10 elementwise ops (4 activations, products,
sums). Recorded one by one that is ~12 tape entries per step, and the Python overhead of
recording and differentiating them costs more than the arithmetic. Two levels of fusion:

* **one step, one entry**: `LSTMStep` (``h W_hh^T`` + the gates) and `GRUStep` each have a
  hand-derived backward. This is what the cells (`lstm_cell`, `gru_cell`, ``nn.LSTMCell``)
  record, and it is how to read a recurrence as autograd sees it: one entry per time step,
  the Python loop differentiated like any program, ``W_hh``'s gradient the sum of every
  step's contribution, added up by the engine.
* **one layer, one entry**: `LSTMLayer` and `GRULayer` run the whole loop over time inside
  one `Function` (one per layer and direction of ``nn.LSTM`` / ``nn.GRU``), the way cuDNN
  and torch's fused RNN kernels do. Forward keeps every step's gate activations and states
  in a few (L, N, ...) buffers; backward runs the time loop in reverse through the same
  step formulas, and what does not depend on the recurrence is done once for the whole
  sequence: ``W_hh``'s gradient is *one* matrix product ``dgates^T @ h_prev`` over all
  L*N rows instead of L products and L additions, and the gradient of the input projection
  is the ``dgates`` buffer itself (no per-step slices to cut and stack). No per-step tape
  entries, no per-step gradient tensors. The gate arithmetic is one kernel call each way
  per step (`tapegrad.kernels.rnn_reference`, compiled in `tapegrad.kernels.rnn_cpu`),
  shared with the step Functions.

Measured on the benchmark's LSTM(32, 128), 32 steps of batch 32, one thread: the per-step
entries with NumPy gate arithmetic took ~12 ms per training step, the fused layer with the
kernels ~8 ms, of which ~6 ms are the matrix products themselves.

The plain RNN stays two ordinary ops per step (``addmm``, ``tanh``): its step has little
pointwise work to fuse.

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
their backward with tensor ops instead, and the fused layer replays its loop as `LSTMStep`
entries and differentiates that, so double backward works.
"""

from __future__ import annotations

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.api import grad as autograd_grad
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.nn.functional.dropout import dropout
from tapegrad.nn.functional.linear import linear
from tapegrad.ops._util import contiguous, wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.joining import cat, stack
from tapegrad.ops.linalg import addmm, mm
from tapegrad.ops.pointwise import relu, sigmoid, tanh
from tapegrad.tensor import Tensor


def _empty_like(a: np.ndarray) -> np.ndarray:
    """A new C-contiguous array of ``a``'s shape and dtype, on ``a``'s device."""
    return np.empty(a.shape, dtype=a.dtype, like=a)


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
        act = np.matmul(h._data, w_t)  # h W_hh^T; the kernel adds proj and applies the gates
        c_new, tc, h_new = (_empty_like(c._data) for _ in range(3))
        kernels.on(act).lstm_cell_forward_(act, contiguous(proj._data), contiguous(c._data),
                                           c_new, tc, h_new)
        ctx.act, ctx.tc = act, tc
        ctx.save_for_backward(proj, h, c, w_hh)
        return wrap(h_new), wrap(c_new)

    @staticmethod
    def backward(ctx: Node, dh: Tensor, dc: Tensor) -> tuple:
        proj, h, c, w_hh = ctx.saved_tensors
        if is_grad_enabled():
            return _lstm_backward_graph(ctx, proj, h, c, w_hh, dh, dc)
        act = ctx.act
        dgates = _empty_like(act)
        dc_prev = _empty_like(c._data)
        dc_prev[...] = dc._data  # the kernel turns it into the previous state's gradient
        kernels.on(act).lstm_cell_backward_(contiguous(dh._data), dc_prev, act,
                                            contiguous(c._data), ctx.tc, dgates)
        need = ctx.needs_input_grad
        return (wrap(dgates) if need[0] else None,
                wrap(np.matmul(dgates, w_hh._data)) if need[1] else None,
                wrap(dc_prev) if need[2] else None,
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


# ------------------------------------------------------------------ fused LSTM layer
class LSTMLayer(Function):
    """(proj, h0, c0, W_hh, W_hr) -> (output, h_n, c_n): one direction of one LSTM layer over a
    whole sequence, in one tape entry (the module docstring says why).

    ``proj`` (L, N, 4H) is ``x W_ih^T + b_ih + b_hh`` for every step, ``h0`` (N, P) and
    ``c0`` (N, H) the initial states, ``w_hr`` (P, H) the optional projection of ``h``
    (``proj_size``; None: P = H). ``reverse=True`` runs from the last step to the first.
    Returns every step's h (L, N, P) in time order and the final h and c.

    Forward keeps, for backward: the gate activations (L, N, 4H), tanh(c) (L, N, H), the
    states h and c before and after every step ((L+1, N, .) each: step t reads one and
    writes the next), and with a projection the unprojected h's (L, N, H).

    Backward walks the steps in reverse. ``dh`` reaching step t's output is what the
    layer's output received plus what step t+1 sent back through ``h W_hh^T``
    (``dgates_{t+1} W_hh``); ``dc`` is carried by the kernel. Then, once for the sequence:
    ``dW_hh = dgates^T @ h_prev`` and ``dW_hr = dh^T @ h_unprojected`` with all L*N rows
    stacked, and ``dproj = dgates``.

    Threads: the per-step products are small (32x128 by 128x512 in the benchmark), yet
    OpenBLAS's second thread still speeds them up (~50 -> ~30-35 us each on the 2-core
    development machine) more than its spinning between calls slows the gate kernels
    (~0.7 -> ~0.8 ms per sequence), so BLAS keeps its threads here.

    Equals running `LSTMStep` (and ``h @ w_hr.T``) step by step, as `_lstm_steps` does
    (checked in tests/ops/test_fused_composites.py, where that loop is itself written out in
    plain ops).
    """

    caption = ("∂L/∂input through the LSTM layer's gates at every step : {s0}",)
    node_name = "LSTMLayerBackward"
    op_name = "lstm_layer"

    @staticmethod
    def forward(ctx: Node, proj: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor,
                w_hr: Tensor | None, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
        pd = contiguous(proj._data)
        steps, batch, width = pd.shape
        hidden, out_size = width // 4, w_hh.shape[1]
        k = kernels.on(pd)
        w_t = contiguous(w_hh._data.T)  # numpy multiplies faster by a C-ordered W_hh^T
        hs = np.empty((steps + 1, batch, out_size), dtype=pd.dtype, like=pd)
        cs = np.empty((steps + 1, batch, hidden), dtype=pd.dtype, like=pd)
        act = np.empty((steps, batch, width), dtype=pd.dtype, like=pd)
        tc = np.empty((steps, batch, hidden), dtype=pd.dtype, like=pd)
        raw = None if w_hr is None else np.empty((steps, batch, hidden), dtype=pd.dtype, like=pd)
        wr_t = None if w_hr is None else contiguous(w_hr._data.T)
        # step t reads state slot `prev` and writes slot `new`: forward 0 -> 1 -> ... -> L,
        # reversed L -> L-1 -> ... -> 0, so the outputs are one contiguous slice either way
        first = steps if reverse else 0
        hs[first] = h0._data
        cs[first] = c0._data
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            prev, new = (t + 1, t) if reverse else (t, t + 1)
            np.matmul(hs[prev], w_t, out=act[t])
            h_out = hs[new] if raw is None else raw[t]
            k.lstm_cell_forward_(act[t], pd[t], cs[prev], cs[new], tc[t], h_out)
            if raw is not None:
                np.matmul(raw[t], wr_t, out=hs[new])
        last = 0 if reverse else steps
        out = wrap(hs[:steps] if reverse else hs[1:])
        ctx.buffers = (act, tc, hs, cs, raw)
        ctx.reverse = reverse
        # `out` is a view of the buffer backward reads: saved, so that writing into it in
        # place makes backward raise instead of silently using the new values
        ctx.save_for_backward(proj, h0, c0, w_hh, w_hr, out)
        return out, wrap(hs[last].copy()), wrap(cs[last].copy())

    @staticmethod
    def backward(ctx: Node, d_out: Tensor, d_hn: Tensor, d_cn: Tensor) -> tuple:
        proj, h0, c0, w_hh, w_hr, _ = ctx.saved_tensors
        reverse = ctx.reverse
        if is_grad_enabled():
            return _differentiate_replay(ctx, (proj, h0, c0, w_hh, w_hr),
                                         _lstm_steps(proj, h0, c0, w_hh, w_hr, reverse),
                                         (d_out, d_hn, d_cn))
        act, tc, hs, cs, raw = ctx.buffers
        steps, batch, width = act.shape
        k = kernels.on(act)
        w = w_hh._data
        wr = None if w_hr is None else w_hr._data
        dgates = np.empty(act.shape, dtype=act.dtype, like=act)
        d_hs = None if raw is None else np.empty(hs[1:].shape, dtype=act.dtype, like=act)
        rec = _empty_like(hs[0])  # the gradient reaching h from the step after it
        rec[...] = d_hn._data
        dc = _empty_like(cs[0])  # the gradient reaching c, carried from step to step
        dc[...] = d_cn._data
        dh = _empty_like(hs[0])
        do = d_out._data
        need = ctx.needs_input_grad
        last = steps - 1 if reverse else 0  # the step backward reaches last: it read h0
        for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
            prev = t + 1 if reverse else t
            np.add(do[t], rec, out=dh)
            if wr is not None:  # back through the projection h = raw W_hr^T
                d_hs[t] = dh
                dh_raw = np.matmul(dh, wr)
            k.lstm_cell_backward_(dh if wr is None else dh_raw, dc, act[t], cs[prev], tc[t],
                                  dgates[t])
            if t != last or need[1]:  # (h0's gradient: only when h0 wants one)
                np.matmul(dgates[t], w, out=rec)
        rows = steps * batch
        dw_hh = dw_hr = None
        if need[3]:
            h_prev = hs[1:] if reverse else hs[:steps]
            dw_hh = np.matmul(dgates.reshape(rows, width).T, h_prev.reshape(rows, w.shape[1]))
        if wr is not None and need[4]:
            dw_hr = np.matmul(d_hs.reshape(rows, wr.shape[0]).T,
                              raw.reshape(rows, wr.shape[1]))
        return (wrap(dgates) if need[0] else None, wrap(rec) if need[1] else None,
                wrap(dc) if need[2] else None, None if dw_hh is None else wrap(dw_hh),
                None if dw_hr is None else wrap(dw_hr))


def _lstm_steps(proj: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, w_hr: Tensor | None,
                reverse: bool) -> tuple[Tensor, Tensor, Tensor]:
    """What `LSTMLayer` computes, as one `LSTMStep` entry per step (and an ``mm`` for the
    projection): its composite, and its graph when a backward must be differentiable."""
    steps = proj.shape[0]
    w_t = _c_order_t(w_hh)
    w_hr_t = None if w_hr is None else w_hr.t()
    outputs: list = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h, c = LSTMStep.apply(proj[t], h, c, w_hh, w_t=w_t)
        if w_hr_t is not None:
            h = mm(h, w_hr_t)
        outputs[t] = h
    return stack(outputs, 0), h, c


def _differentiate_replay(ctx: Node, inputs: tuple, replay: tuple, grads: tuple) -> tuple:
    """A fused layer's backward, recorded (create_graph=True): ``replay`` is its forward run
    again as one entry per step (whose own backwards record tensor ops), and the gradients
    of the inputs backward needs are taken through it, graph and all."""
    need = [n and t is not None for n, t in zip(ctx.needs_input_grad, inputs, strict=True)]
    wanted = [t for t, n in zip(inputs, need, strict=True) if n]
    found = iter(autograd_grad(replay, wanted, grads, create_graph=True, allow_unused=True))
    return tuple(next(found) if n else None for n in need)


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
        gh = np.matmul(h._data, w_t)
        if b_hh is not None:
            gh += b_hh._data
        hd = contiguous(h._data)
        rz = np.empty(gh.shape[:-1] + (2 * hd.shape[-1],), dtype=gh.dtype, like=gh)
        n, h_new = _empty_like(hd), _empty_like(hd)
        kernels.on(gh).gru_cell_forward_(contiguous(gi._data), gh, hd, rz, n, h_new)
        ctx.rz, ctx.n, ctx.gh = rz, n, gh
        ctx.save_for_backward(gi, h, w_hh, b_hh)
        return wrap(h_new)

    @staticmethod
    def backward(ctx: Node, dh: Tensor) -> tuple:
        gi, h, w_hh, b_hh = ctx.saved_tensors
        if is_grad_enabled():
            return _gru_backward_graph(ctx, gi, h, w_hh, b_hh, dh)
        gh = ctx.gh
        dgi, dgh = _empty_like(gh), _empty_like(gh)
        direct = _empty_like(ctx.n)
        direct[...] = dh._data  # the kernel turns it into dh' z
        kernels.on(gh).gru_cell_backward_(direct, contiguous(h._data), ctx.rz, ctx.n, gh,
                                          dgi, dgh)
        need = ctx.needs_input_grad
        dh_prev = None
        if need[1]:
            dh_prev = direct
            dh_prev += np.matmul(dgh, w_hh._data)
        return (wrap(dgi) if need[0] else None,
                None if dh_prev is None else wrap(dh_prev),
                wrap(np.matmul(dgh.T, h._data)) if need[2] else None,
                wrap(dgh.sum(axis=0)) if need[3] else None)


# ------------------------------------------------------------------ fused GRU layer
class GRULayer(Function):
    """(gi, h0, W_hh, b_hh) -> (output, h_n): one direction of one GRU layer over a whole
    sequence in one tape entry, as `LSTMLayer` is for the LSTM.

    ``gi`` (L, N, 3H) is ``x W_ih^T + b_ih`` for every step. Forward keeps every step's
    ``gh = h W_hh^T + b_hh`` (the reset gate multiplies its n block), (r, z), n and the
    states; backward walks the steps in reverse with the step formulas of `GRUStep`, then
    ``dW_hh = dgh^T @ h_prev`` over all L*N rows at once and ``db_hh`` is ``dgh`` summed
    over them.

    Equals running `GRUStep` step by step, as `_gru_steps` does (checked in
    tests/ops/test_fused_composites.py).
    """

    caption = ("∂L/∂input through the GRU layer's gates at every step : {s0}",)
    node_name = "GRULayerBackward"
    op_name = "gru_layer"

    @staticmethod
    def forward(ctx: Node, gi: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                reverse: bool = False) -> tuple[Tensor, Tensor]:
        gd = contiguous(gi._data)
        steps, batch, width = gd.shape
        hidden = width // 3
        k = kernels.on(gd)
        w_t = contiguous(w_hh._data.T)
        bias = None if b_hh is None else b_hh._data
        hs = np.empty((steps + 1, batch, hidden), dtype=gd.dtype, like=gd)
        ghs = np.empty((steps, batch, width), dtype=gd.dtype, like=gd)
        rzs = np.empty((steps, batch, 2 * hidden), dtype=gd.dtype, like=gd)
        ns = np.empty((steps, batch, hidden), dtype=gd.dtype, like=gd)
        hs[steps if reverse else 0] = h0._data  # state slots as in LSTMLayer
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            prev, new = (t + 1, t) if reverse else (t, t + 1)
            gh = np.matmul(hs[prev], w_t, out=ghs[t])
            if bias is not None:
                gh += bias
            k.gru_cell_forward_(gd[t], gh, hs[prev], rzs[t], ns[t], hs[new])
        out = wrap(hs[:steps] if reverse else hs[1:])
        ctx.buffers = (hs, ghs, rzs, ns)
        ctx.reverse = reverse
        ctx.save_for_backward(gi, h0, w_hh, b_hh, out)  # out: see LSTMLayer
        return out, wrap(hs[0 if reverse else steps].copy())

    @staticmethod
    def backward(ctx: Node, d_out: Tensor, d_hn: Tensor) -> tuple:
        gi, h0, w_hh, b_hh, _ = ctx.saved_tensors
        reverse = ctx.reverse
        if is_grad_enabled():
            return _differentiate_replay(ctx, (gi, h0, w_hh, b_hh),
                                         _gru_steps(gi, h0, w_hh, b_hh, reverse),
                                         (d_out, d_hn))
        hs, ghs, rzs, ns = ctx.buffers
        steps, batch, hidden = ns.shape
        k = kernels.on(ns)
        w = w_hh._data
        dgi, dgh = _empty_like(ghs), _empty_like(ghs)
        rec = _empty_like(hs[0])  # the gradient reaching h from the step after it
        rec[...] = d_hn._data
        dh = _empty_like(hs[0])
        do = d_out._data
        for t in (range(steps) if reverse else range(steps - 1, -1, -1)):
            prev = t + 1 if reverse else t
            np.add(do[t], rec, out=dh)
            k.gru_cell_backward_(dh, hs[prev], rzs[t], ns[t], ghs[t], dgi[t], dgh[t])
            np.matmul(dgh[t], w, out=rec)
            rec += dh  # dh' z: the part that skips the product
        need = ctx.needs_input_grad
        rows = dgh.reshape(steps * batch, 3 * hidden)
        dw_hh = db_hh = None
        if need[2]:
            h_prev = hs[1:] if reverse else hs[:steps]
            dw_hh = wrap(np.matmul(rows.T, h_prev.reshape(steps * batch, hidden)))
        if b_hh is not None and need[3]:
            db_hh = wrap(rows.sum(axis=0))
        return (wrap(dgi) if need[0] else None, wrap(rec) if need[1] else None, dw_hh,
                db_hh)


def _gru_steps(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, reverse: bool
               ) -> tuple[Tensor, Tensor]:
    """What `GRULayer` computes, as one `GRUStep` entry per step: its composite, and its
    graph when a backward must be differentiable."""
    steps = gi.shape[0]
    w_t = _c_order_t(w_hh)
    outputs: list = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h = GRUStep.apply(gi[t], h, w_hh, b_hh, w_t=w_t)
        outputs[t] = h
    return stack(outputs, 0), h


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
    proj = proj.reshape(steps, batch, proj.shape[1])
    if mode == "LSTM":
        return LSTMLayer.apply(proj, h, c, w_hh, w_hr, reverse=reverse)
    if mode == "GRU":
        out, h = GRULayer.apply(proj, h, w_hh, b_hh, reverse=reverse)
        return out, h, None
    proj_t = proj.unbind(0)  # plain RNN: two ordinary ops per step
    w_hh_t = w_hh.t()
    outputs: list = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
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
