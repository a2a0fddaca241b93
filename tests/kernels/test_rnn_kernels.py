"""LSTM and GRU cell kernels: numba (`rnn_cpu`) against the NumPy reference, and the reference
against the cells written with torch's ops (values, and gradients by torch's autograd).

Tolerances: the two backends do the same IEEE operations per element in the same order
(no sums), but NumPy's SIMD exp/tanh may round differently on the first or last elements
of a run than on the rest, so float32 is compared at rtol 1e-6 / atol 1e-7 and float64 at
1e-14. Against torch (different exp/tanh implementations): rtol 1e-5 / atol 1e-6 in
float32, 1e-12 in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tapegrad.kernels import rnn_cpu, rnn_reference

ref, jit = rnn_reference, rnn_cpu
TOL = {np.float32: {"rtol": 1e-6, "atol": 1e-7}, np.float64: {"rtol": 1e-14, "atol": 1e-14}}
TORCH_TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}
SHAPES = [(1, 1), (3, 5), (32, 16), (4, 33), (0, 4)]  # (batch, hidden)

pytestmark = pytest.mark.filterwarnings("error")


def test_same_api():
    assert jit.__all__ == ref.__all__
    for name in ref.__all__:
        assert callable(getattr(jit, name))


def inputs(rng, n, hs, dtype, scale=3.0):
    """Pre-activations in two parts (wide enough to saturate the sigmoids), the previous cell
    state, and the gradients reaching h' and c'."""
    def draw(*shape):
        return (rng.standard_normal(shape) * scale).astype(dtype)
    return draw(n, 4 * hs), draw(n, 4 * hs), draw(n, hs), draw(n, hs), draw(n, hs)


def run_forward(module, a, b, c):
    gates = a.copy()
    c_new, tc, h = (np.full(c.shape, np.nan, c.dtype) for _ in range(3))
    assert module.lstm_cell_forward_(gates, b, c, c_new, tc, h) is None
    return gates, c_new, tc, h


def run_backward(module, dh, dc, act, c, tc):
    dc = dc.copy()
    dgates = np.full(act.shape, np.nan, act.dtype)
    assert module.lstm_cell_backward_(dh, dc, act, c, tc, dgates) is None
    return dgates, dc


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_numba_matches_reference(rng, dtype, shape):
    a, b, c, dh, dc = inputs(rng, *shape, dtype)
    if a.shape[0]:
        a[0, :3] = [0, 40, -40][:a.shape[1]]  # sigmoid's two branches and saturation
    fwd_j, fwd_r = run_forward(jit, a, b, c), run_forward(ref, a, b, c)
    for got, want in zip(fwd_j, fwd_r, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])
    act, _, tc, _ = fwd_r
    bwd_j, bwd_r = run_backward(jit, dh, dc, act, c, tc), run_backward(ref, dh, dc, act, c, tc)
    for got, want in zip(bwd_j, bwd_r, strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_strided_and_other_dtypes_take_the_reference(rng):
    """Views that are not C-contiguous, and dtypes numba does not compile, still work."""
    a, b, c, dh, dc = inputs(rng, 4, 3, np.float64)
    wide = np.zeros((4, 24))
    wide[:, ::2] = a  # a strided (4, 12) view
    got = run_forward(jit, wide[:, ::2], b, c)
    want = run_forward(ref, a, b, c)
    for x, y in zip(got, want, strict=True):
        np.testing.assert_array_equal(x, y)
    half = [x.astype(np.float16) for x in (a, b, c)]
    for x, y in zip(run_forward(jit, *half), run_forward(ref, *half), strict=True):
        assert x.dtype == np.float16
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_matches_torch(rng, dtype):
    """The cell written with torch's sigmoid/tanh, and its gradients by torch's autograd."""
    a, b, c, dh, dc = inputs(rng, 5, 6, dtype)
    act, c_new, tc, h = run_forward(ref, a, b, c)
    gates_t = torch.tensor(a + b, requires_grad=True)
    c_t = torch.tensor(c, requires_grad=True)
    i, f, g, o = gates_t.chunk(4, 1)
    c_new_t = torch.sigmoid(f) * c_t + torch.sigmoid(i) * torch.tanh(g)
    h_t = torch.sigmoid(o) * torch.tanh(c_new_t)
    for got, want in [(h, h_t), (c_new, c_new_t), (tc, torch.tanh(c_new_t)),
                      (act, torch.cat([torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g),
                                       torch.sigmoid(o)], 1))]:
        np.testing.assert_allclose(got, want.detach().numpy(), **TORCH_TOL[dtype])
    ((h_t * torch.tensor(dh)).sum() + (c_new_t * torch.tensor(dc)).sum()).backward()
    dgates, dc_prev = run_backward(ref, dh, dc, act, c, tc)
    np.testing.assert_allclose(dgates, gates_t.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(dc_prev, c_t.grad.numpy(), **TORCH_TOL[dtype])


# ------------------------------------------------------------------ GRU
def gru_inputs(rng, n, hs, dtype, scale=3.0):
    """The two products (with biases), the previous state, the gradient reaching h'."""
    def draw(*shape):
        return (rng.standard_normal(shape) * scale).astype(dtype)
    return draw(n, 3 * hs), draw(n, 3 * hs), draw(n, hs), draw(n, hs)


def run_gru_forward(module, gi, gh, h):
    rz = np.full((h.shape[0], 2 * h.shape[1]), np.nan, h.dtype)
    n, h_new = np.full(h.shape, np.nan, h.dtype), np.full(h.shape, np.nan, h.dtype)
    assert module.gru_cell_forward_(gi, gh, h, rz, n, h_new) is None
    return rz, n, h_new


def run_gru_backward(module, dh, h, rz, n, gh):
    dh = dh.copy()
    dgi, dgh = (np.full(gh.shape, np.nan, gh.dtype) for _ in range(2))
    assert module.gru_cell_backward_(dh, h, rz, n, gh, dgi, dgh) is None
    return dh, dgi, dgh


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_gru_numba_matches_reference(rng, dtype, shape):
    gi, gh, h, dh = gru_inputs(rng, *shape, dtype)
    if gi.shape[0]:
        gi[0, :3] = [0, 40, -40][:gi.shape[1]]
    fwd_j, fwd_r = run_gru_forward(jit, gi, gh, h), run_gru_forward(ref, gi, gh, h)
    for got, want in zip(fwd_j, fwd_r, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])
    rz, n, _ = fwd_r
    for got, want in zip(run_gru_backward(jit, dh, h, rz, n, gh),
                         run_gru_backward(ref, dh, h, rz, n, gh), strict=True):
        np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gru_reference_matches_torch(rng, dtype):
    """The GRU cell written with torch's sigmoid/tanh; its gradients by torch's autograd
    (the kernel leaves ``dh' z`` for h: the product with W_hh is the caller's)."""
    gi, gh, h, dh = gru_inputs(rng, 5, 6, dtype)
    rz, n, h_new = run_gru_forward(ref, gi, gh, h)
    gi_t, gh_t, h_t = (torch.tensor(a, requires_grad=True) for a in (gi, gh, h))
    ir, iz, i_n = gi_t.chunk(3, 1)
    hr, hz, h_n = gh_t.chunk(3, 1)
    r_t, z_t = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n_t = torch.tanh(i_n + r_t * h_n)
    out_t = (1 - z_t) * n_t + z_t * h_t
    for got, want in [(rz, torch.cat([r_t, z_t], 1)), (n, n_t), (h_new, out_t)]:
        np.testing.assert_allclose(got, want.detach().numpy(), **TORCH_TOL[dtype])
    (out_t * torch.tensor(dh)).sum().backward()
    dh_direct, dgi, dgh = run_gru_backward(ref, dh, h, rz, n, gh)
    np.testing.assert_allclose(dgi, gi_t.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(dgh, gh_t.grad.numpy(), **TORCH_TOL[dtype])
    np.testing.assert_allclose(dh_direct, h_t.grad.numpy(), **TORCH_TOL[dtype])
