"""conv1d/2d/3d, conv_transpose1d/2d/3d, pad and the convolution layers, against torch.

Values and the gradients of input, weight and bias are compared in float64 to rtol 1e-10
(the only difference is the order of the sums inside the matrix products) and in float32 to
rtol/atol 1e-4 (24-bit rounding of sums of up to ~150 products of O(1) numbers).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad
import tapegrad.nn.functional as F
from tapegrad.nn.functional import conv as conv_module
from tapegrad.nn.modules.conv import Conv1d, Conv2d
from tapegrad.testing import gradcheck

TOL = {np.float64: {"rtol": 1e-10, "atol": 1e-10}, np.float32: {"rtol": 1e-4, "atol": 1e-4}}


def _pair_of_tensors(a, requires_grad=True):
    if a is None:
        return None, None
    return (tapegrad.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def run_both(fn_name, x, w, b=None, dtype=np.float64, rng=None, x_grad=True, **kw):
    """Run F.<fn_name> in both libraries on the same arrays; compare outputs and grads."""
    x, w = x.astype(dtype), w.astype(dtype)
    b = None if b is None else b.astype(dtype)
    xg, xt = _pair_of_tensors(x, x_grad)
    wg, wt = _pair_of_tensors(w)
    bg, bt = _pair_of_tensors(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'same' with an even kernel warns
        out_t = getattr(TF, fn_name)(xt, wt, bt, **kw)
        out_g = getattr(F, fn_name)(xg, wg, bg, **kw)
    assert out_g.dtype.name == str(out_t.dtype).removeprefix("torch.")
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **TOL[dtype])
    grad = (rng or np.random.default_rng(1)).standard_normal(out_t.shape).astype(dtype)
    out_t.backward(torch.tensor(grad))
    out_g.backward(tapegrad.tensor(grad))
    pairs = [(wg, wt)] + ([(xg, xt)] if x_grad else []) + ([(bg, bt)] if b is not None else [])
    for g, t in pairs:
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), **TOL[dtype])
    if not x_grad:
        assert xg.grad is None
    return out_g, out_t


CONV2D_CASES = [
    # (x shape, w shape, bias, options)
    ((2, 3, 7, 8), (4, 3, 3, 3), True, {}),
    ((2, 3, 7, 8), (4, 3, 3, 3), False, {"stride": 2}),
    ((2, 3, 9, 8), (4, 3, 3, 2), True, {"stride": (2, 3), "padding": (1, 2)}),
    ((1, 2, 9, 9), (3, 2, 3, 3), True, {"padding": 2, "dilation": 2}),
    ((2, 2, 10, 9), (3, 2, 2, 3), True, {"stride": (1, 2), "dilation": (3, 1), "padding": 1}),
    ((2, 4, 7, 8), (6, 2, 3, 2), True, {"groups": 2, "stride": (2, 1), "padding": (1, 2)}),
    ((2, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4, "padding": 1}),  # depthwise
    ((2, 4, 6, 6), (8, 1, 3, 3), False, {"groups": 4}),  # depthwise, multiplier 2
    ((2, 3, 7, 8), (4, 3, 3, 3), True, {"padding": "same"}),
    ((2, 3, 7, 8), (4, 3, 4, 2), True, {"padding": "same"}),  # even kernel: asymmetric
    ((2, 3, 7, 8), (4, 3, 3, 3), True, {"padding": "same", "dilation": 2}),
    ((2, 3, 7, 8), (4, 3, 2, 2), True, {"padding": "same", "dilation": (1, 3)}),
    ((2, 3, 7, 8), (4, 3, 3, 3), True, {"padding": "valid", "stride": 3}),
    ((2, 3, 5, 5), (2, 3, 5, 5), True, {}),  # kernel as large as the input: 1x1 output
    ((2, 3, 5, 5), (2, 3, 1, 1), True, {"stride": [2]}),
    ((3, 7, 8), (4, 3, 3, 3), True, {"padding": 1}),  # unbatched
    ((0, 3, 5, 5), (2, 3, 3, 3), True, {}),  # empty batch
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_matches_torch(rng, dtype, case):
    xs, ws, bias, kw = case
    b = rng.standard_normal(ws[0]) if bias else None
    run_both("conv2d", rng.standard_normal(xs), rng.standard_normal(ws), b, dtype, rng, **kw)


CONV1D_CASES = [
    ((2, 3, 9), (5, 3, 3), True, {}),
    ((2, 3, 9), (5, 3, 3), True, {"stride": 2, "padding": 1}),
    ((2, 4, 11), (6, 2, 3), False, {"groups": 2, "dilation": 2}),
    ((2, 3, 8), (6, 1, 4), True, {"groups": 3, "padding": "same"}),
    ((3, 9), (5, 3, 2), True, {"padding": "same"}),  # unbatched
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_matches_torch(rng, dtype, case):
    xs, ws, bias, kw = case
    b = rng.standard_normal(ws[0]) if bias else None
    run_both("conv1d", rng.standard_normal(xs), rng.standard_normal(ws), b, dtype, rng, **kw)


def test_input_that_needs_no_grad_gets_none(rng):
    run_both("conv2d", rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)),
             rng.standard_normal(4), np.float64, rng, x_grad=False)


@pytest.mark.parametrize("chunk_bytes", [1, 4000])
def test_batch_processed_in_chunks_is_the_same(rng, monkeypatch, chunk_bytes):
    # one sample per chunk / several per chunk; wide (stride 1) and plain (stride 2) columns
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)
    x, w = rng.standard_normal((5, 3, 8, 9)), rng.standard_normal((4, 3, 3, 3))
    for kw in ({}, {"stride": 2, "padding": 1}):
        run_both("conv2d", x, w, rng.standard_normal(4), np.float64, rng, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_split_across_threads_is_the_same(rng, monkeypatch, dtype):
    # every convolution big enough to split (MIN_WORK = 1) over 2 threads: forward, input and
    # weight gradients, grouped, strided, wide columns, 1-d and 3-d (which run 2-d ones),
    # against torch and against the serial path
    from tapegrad.kernels import threads

    monkeypatch.setattr(threads, "MIN_WORK", 1)
    monkeypatch.setattr(threads, "_judge", lambda wall, cpu: None)  # tiny: always "slow"
    monkeypatch.setitem(threads._pool, "serial_until", 0.0)
    cases = [((5, 4, 8, 9), (6, 2, 3, 3), {"groups": 2}),
             ((3, 3, 8, 9), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
             ((4, 3, 10), (5, 3, 3), {}),
             ((2, 2, 5, 6, 6), (3, 2, 2, 3, 3), {})]
    for xs, ws, kw in cases:
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        fn = {4: "conv2d", 3: "conv1d", 5: "conv3d"}[len(xs)]
        results = []
        for count in (2, 1):
            monkeypatch.setitem(threads._state, "threads", count)
            out, _ = run_both(fn, x, w, b, dtype, np.random.default_rng(3), **kw)
            results.append(out.detach().numpy())
        np.testing.assert_array_equal(results[0], results[1])  # per-sample products: same
    monkeypatch.setitem(threads._state, "threads", 2)  # and a transposed convolution
    xs = rng.standard_normal((4, 3, 7, 7))
    run_both("conv_transpose2d", xs, rng.standard_normal((3, 2, 3, 3)), None, dtype, rng,
             stride=2)


def test_integer_convolution_matches_torch(rng):
    x = rng.integers(-5, 5, (2, 3, 6, 6))
    w = rng.integers(-3, 3, (4, 3, 3, 3))
    out = F.conv2d(tapegrad.tensor(x), tapegrad.tensor(w), stride=2, padding=1)
    expected = TF.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1)
    assert out.dtype == tapegrad.int64
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_grad_fn_names_match_torch(rng):
    x = tapegrad.tensor(rng.standard_normal((1, 3, 5, 5)), requires_grad=True)
    w = tapegrad.tensor(rng.standard_normal((2, 3, 3, 3)))
    assert type(F.conv2d(x, w).grad_fn).__name__ == "ConvolutionBackward0"
    assert type(F.conv2d(x[0], w).grad_fn).__name__ == "SqueezeBackward1"
    assert type(F.conv1d(x[:, :, 0], w[:, :, 0]).grad_fn).__name__ == "ConvolutionBackward0"
    with pytest.warns(UserWarning, match="zero-padded copy"):
        y = F.conv2d(x, tapegrad.tensor(rng.standard_normal((2, 3, 2, 2))), padding="same")
    assert [type(n).__name__ for n, _ in y.grad_fn.next_functions if n is not None] == [
        "ConstantPadNdBackward0"]


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1, "dilation": 2},
                                {"groups": 2}])
def test_gradcheck_conv2d(rng, kw):
    x = tapegrad.tensor(rng.standard_normal((2, 2, 5, 5)), requires_grad=True)
    w = tapegrad.tensor(rng.standard_normal((2, 2 // kw.get("groups", 1), 3, 2)),
                        requires_grad=True)
    b = tapegrad.tensor(rng.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_gradcheck_conv1d(rng):
    x = tapegrad.tensor(rng.standard_normal((2, 2, 7)), requires_grad=True)
    w = tapegrad.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    b = tapegrad.tensor(rng.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding="valid"), (x, w, b))


def test_double_backward_matches_torch(rng):
    """A gradient penalty on a convolutional critic: differentiate dL/dx again (w.r.t. the
    weight and the input), as WGAN-GP does; every order is made of conv Functions."""
    arrays = [rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 3, 2)),
              rng.standard_normal(3)]
    grads = []
    for lib, fn in ((tapegrad, F.conv2d), (torch, TF.conv2d)):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = fn(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)).tanh().sum()
        (gx,) = lib.autograd.grad(out, x, create_graph=True)
        penalty = (gx.pow(2).sum() - 1).pow(2)
        grads.append([g.detach().numpy() for g in lib.autograd.grad(penalty, (x, w, b))])
    for got, want in zip(*grads, strict=True):
        np.testing.assert_allclose(got, want, **TOL[np.float64])


def test_weight_modified_in_place_before_backward_raises(rng):
    x = tapegrad.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    w = tapegrad.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w).sum()
    with tapegrad.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def _same_error(call):
    """Call with both libraries; the exception type and message must match torch's."""
    with pytest.raises(Exception) as t_err:
        call(torch, TF)
    with pytest.raises(Exception) as g_err:
        call(tapegrad, F)
    assert type(g_err.value) is type(t_err.value)
    assert str(g_err.value) == str(t_err.value).replace("torch", "tapegrad")


CONV_ERRORS = [
    lambda L, F: F.conv2d(L.ones(1, 4, 5, 5), L.ones(6, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(2, 3), L.ones(6, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 1, 3, 5, 5), L.ones(6, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 4, 5, 5), L.ones(6, 2, 3, 3), groups=4),
    lambda L, F: F.conv2d(L.ones(1, 4, 5, 5), L.ones(6, 2, 3, 3), groups=0),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(0, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), stride=2, padding="same"),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), padding="foo"),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), padding=-1),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), stride=0),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), dilation=0),
    lambda L, F: F.conv2d(L.ones(1, 3, 2, 2), L.ones(6, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 3, 4, 4), L.ones(6, 3, 3, 3), dilation=2),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), bias=L.ones(5)),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3).double()),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5).double(), L.ones(6, 3, 3, 3)),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), bias=L.ones(6).double()),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), stride=(1, 1, 1)),
    lambda L, F: F.conv2d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3, 3), padding=(1, 1, 1)),
    lambda L, F: F.conv1d(L.ones(1, 3, 5, 5), L.ones(6, 3, 3)),
    lambda L, F: F.conv1d(L.ones(1, 4, 5), L.ones(6, 3, 3)),
]


@pytest.mark.parametrize("call", CONV_ERRORS)
def test_conv_errors_match_torch(call):
    _same_error(call)


def test_float_stride_is_a_type_error():
    with pytest.raises(TypeError):
        F.conv2d(tapegrad.ones(1, 3, 5, 5), tapegrad.ones(6, 3, 3, 3), stride=1.5)


# ---- F.pad ---------------------------------------------------------------------------------

PAD_CASES = [
    ((2, 3, 4, 5), (1, 2), "constant"),
    ((2, 3, 4, 5), (1, -2, 3, 0), "constant"),
    ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1), "constant"),
    ((2, 3, 4, 5), (1, 2, 3, 3), "reflect"),
    ((2, 3, 4, 5), (-2, 3, 1, 0), "reflect"),
    ((2, 3, 5), (4, 1), "reflect"),
    ((1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 2), "reflect"),
    ((3, 4, 5), (1, 2, 3, 3), "replicate"),
    ((2, 3, 5), (-2, 3), "replicate"),
    ((1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 2), "replicate"),
    ((2, 3, 4, 5), (1, 2, 3, 4), "circular"),
    ((2, 3, 5), (-2, 3), "circular"),
    ((2, 3, 4, 5), (0, 0, 4, 0), "circular"),
    ((1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 2), "circular"),
]


@pytest.mark.parametrize("case", PAD_CASES)
def test_pad_matches_torch(rng, case):
    shape, widths, mode = case
    x = rng.standard_normal(shape)
    xg, xt = _pair_of_tensors(x)
    out_g, out_t = F.pad(xg, widths, mode=mode), TF.pad(xt, widths, mode=mode)
    np.testing.assert_array_equal(out_g.detach().numpy(), out_t.detach().numpy())
    assert type(out_g.grad_fn).__name__ == type(out_t.grad_fn).__name__
    grad = rng.standard_normal(out_t.shape)
    out_t.backward(torch.tensor(grad))
    out_g.backward(tapegrad.tensor(grad))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_pad_constant_value_and_dtype():
    x = tapegrad.ones(2, 3, dtype=tapegrad.float32)
    y = F.pad(x, (1, 1), value=-2.5)
    assert y.dtype == tapegrad.float32
    np.testing.assert_array_equal(y.numpy(), TF.pad(torch.ones(2, 3), (1, 1), value=-2.5))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck_and_gradgradcheck(rng, mode):
    x = tapegrad.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda a: F.pad(a, (1, 2, 2, 1), mode=mode), (x,))
    assert tapegrad.testing.gradgradcheck(lambda a: F.pad(a, (1, 2, 2, 1), mode=mode) ** 2,
                                          (x,))


PAD_ERRORS = [
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1, 2, 3)),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1,) * 10),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (-6, 0)),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1, 2), mode="reflect"),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1, 2), mode="foo"),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1, 2, 1, 1), mode="reflect", value=1.0),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (0, 0, 4, 0), mode="reflect"),
    lambda L, F: F.pad(L.ones(2, 5), (5, 0), mode="reflect"),
    lambda L, F: F.pad(L.ones(1, 2, 0, 5), (1, 1, 1, 1), mode="replicate"),
    lambda L, F: F.pad(L.ones(1, 2, 4, 5), (1, 2, 5, 0), mode="circular"),
    lambda L, F: F.pad(L.ones(2, 5), (-3, -3), mode="replicate"),
    lambda L, F: F.pad(L.ones(2, 5), (-3, -3), mode="circular"),
    lambda L, F: F.pad(L.ones(4, 5), (1, 1, 1, 1), mode="circular"),
]


@pytest.mark.parametrize("call", PAD_ERRORS)
def test_pad_errors_match_torch(call):
    _same_error(call)


# ---- modules -------------------------------------------------------------------------------

MODULE_CONFIGS = [
    (Conv2d, torch.nn.Conv2d, (3, 6, 3), {}),
    (Conv2d, torch.nn.Conv2d, (3, 6, (3, 5)), {"stride": 2, "padding": 1, "dilation": 2,
                                               "groups": 3, "bias": False,
                                               "padding_mode": "reflect"}),
    (Conv2d, torch.nn.Conv2d, (3, 6, 3), {"padding": "same"}),
    (Conv2d, torch.nn.Conv2d, (3, 6, 4), {"padding": "same", "padding_mode": "replicate"}),
    (Conv2d, torch.nn.Conv2d, (3, 6, 3), {"padding": "valid"}),
    (Conv2d, torch.nn.Conv2d, (3, 6, 3), {"padding": (1, 2), "padding_mode": "circular"}),
    (Conv2d, torch.nn.Conv2d, (4, 4, 3), {"padding": 1, "groups": 4}),
    (Conv1d, torch.nn.Conv1d, (3, 6, 3), {}),
    (Conv1d, torch.nn.Conv1d, (4, 8, 3, 2, 1, 1, 2), {}),
    (Conv1d, torch.nn.Conv1d, (4, 8, 3), {"padding": 2, "padding_mode": "circular"}),
]


@pytest.mark.parametrize("config", MODULE_CONFIGS)
def test_module_repr_forward_and_grads_match_torch(rng, config):
    cls, tcls, args, kw = config
    layer, tlayer = cls(*args, **kw).double(), tcls(*args, **kw).double()
    assert repr(layer) == repr(tlayer)
    assert [k for k, _ in layer.named_parameters()] == [k for k, _ in tlayer.named_parameters()]
    layer.load_state_dict({k: tapegrad.tensor(v.detach().numpy())
                           for k, v in tlayer.state_dict().items()})
    shape = (2, args[0], 9, 8) if cls is Conv2d else (2, args[0], 11)
    x = rng.standard_normal(shape)
    for xs in (x, x[0]):  # batched and unbatched
        xg, xt = _pair_of_tensors(xs)
        out_g, out_t = layer(xg), tlayer(xt)
        np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), **TOL[
            np.float64])
        grad = rng.standard_normal(out_t.shape)
        out_t.backward(torch.tensor(grad))
        out_g.backward(tapegrad.tensor(grad))
        np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), **TOL[np.float64])
        for (name, p), (_, tp) in zip(layer.named_parameters(), tlayer.named_parameters(),
                                      strict=True):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **TOL[np.float64],
                                       err_msg=name)
        layer.zero_grad()
        tlayer.zero_grad()


@pytest.mark.parametrize("cls,args", [(Conv2d, (6, 16, 5)), (Conv2d, (8, 4, (3, 2), 1, 0, 1, 2)),
                                      (Conv1d, (3, 10, 7))])
def test_default_init_bounds(cls, args):
    # kaiming_uniform(a=sqrt(5)): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    tapegrad.manual_seed(0)
    layer = cls(*args)
    groups = args[6] if len(args) > 6 else 1
    ks = args[2] if isinstance(args[2], tuple) else (args[2],) * (2 if cls is Conv2d else 1)
    fan_in = args[0] // groups * math.prod(ks)
    bound = 1 / math.sqrt(fan_in)
    assert layer.weight.shape == (args[1], args[0] // groups, *ks)
    assert layer.weight.dtype == tapegrad.float32 and layer.weight.requires_grad
    for p in (layer.weight, layer.bias):
        v = p.detach().numpy()
        assert np.all(np.abs(v) <= bound)
        assert np.abs(v).max() > 0.5 * bound  # spread over the interval, not squeezed
    w = layer.weight.detach().numpy()
    assert abs(w.std() - bound / math.sqrt(3)) < 0.25 * bound  # std of U(-b, b) is b/sqrt(3)


MODULE_ERRORS = [
    lambda nn: nn.Conv2d(3, 6, 3, padding_mode="foo"),
    lambda nn: nn.Conv2d(3, 6, 3, groups=2),
    lambda nn: nn.Conv2d(4, 6, 3, groups=4),
    lambda nn: nn.Conv2d(3, 6, 3, groups=0),
    lambda nn: nn.Conv2d(3, 6, 3, padding="same", stride=2),
    lambda nn: nn.Conv2d(3, 6, 3, padding="foo"),
]


@pytest.mark.parametrize("call", MODULE_ERRORS)
def test_module_argument_errors_match_torch(call):
    class NS:
        Conv2d = staticmethod(Conv2d)

    with pytest.raises(ValueError) as t_err:
        call(torch.nn)
    with pytest.raises(ValueError) as g_err:
        call(NS)

    def canon(msg: str) -> str:  # torch prints a set: its order is arbitrary
        return re.sub(r"\{[^}]*\}", lambda m: str(sorted(re.findall(r"'(\w+)'", m[0]))), msg)

    assert canon(str(g_err.value)) == canon(str(t_err.value))


def test_lenet_step_matches_torch(rng):
    """The issue's workload end to end in float32: conv, relu, pool x2, flatten, linears."""
    from tapegrad.nn.modules.pooling import MaxPool2d

    def net(lib, conv, pool):
        nn = lib.nn
        return nn.Sequential(conv(3, 6, 5), nn.ReLU(), pool(2), conv(6, 16, 5), nn.ReLU(),
                             pool(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                             nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    torch.manual_seed(0)
    tnet = net(torch, torch.nn.Conv2d, torch.nn.MaxPool2d)
    gnet = net(tapegrad, Conv2d, MaxPool2d)
    gnet.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in tnet.state_dict().items()})
    x = rng.standard_normal((8, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    lt = TF.cross_entropy(tnet(torch.tensor(x)), torch.tensor(y))
    lg = F.cross_entropy(gnet(tapegrad.tensor(x)), tapegrad.tensor(y))
    lt.backward()
    lg.backward()
    assert lg.item() == pytest.approx(lt.item(), rel=1e-5)
    for (name, p), (_, tp) in zip(gnet.named_parameters(), tnet.named_parameters(),
                                  strict=True):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_conv_forward_hook_takes_other_parameters(rng):
    # torch's Conv2d._conv_forward(input, weight, bias): used by subclasses that transform W
    layer = Conv2d(2, 3, 3, padding=1, padding_mode="reflect").double()
    x = tapegrad.tensor(rng.standard_normal((1, 2, 5, 5)))
    w = layer.weight * 2
    out = layer._conv_forward(x, w, None)
    expected = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), w)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)


# ------------------------------------------------ 3-d and transposed convolutions (issue 11)
TRANSPOSED_CASES = [  # function, x shape, w shape, options
    ("conv3d", (2, 4, 5, 6, 5), (6, 2, 2, 3, 2),
     dict(stride=(2, 1, 1), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2)),
    ("conv3d", (3, 4, 4, 4), (2, 3, 3, 1, 2), dict(padding="same")),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d", (2, 4, 5, 4), (4, 3, 3, 2),
     dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))),
    ("conv_transpose2d", (2, 2, 4, 4), (2, 3, 3, 3), dict(output_padding=1, dilation=2)),
    ("conv_transpose3d", (1, 2, 3, 4, 3), (2, 2, 2, 3, 2),
     dict(stride=2, output_padding=(1, 0, 1), dilation=(1, 1, 2))),
    ("conv_transpose3d", (2, 3, 2, 3), (2, 2, 2, 2, 2), dict(stride=(1, 2, 1))),
]


@pytest.mark.parametrize("name, x_shape, w_shape, options", TRANSPOSED_CASES)
def test_conv3d_and_transposed_match_torch_to_second_order(rng, name, x_shape, w_shape,
                                                           options):
    """Values, first and second derivatives (of a gradient penalty) of every input."""
    out_channels = w_shape[1] * options.get("groups", 1) if "transpose" in name else w_shape[0]
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape),
              rng.standard_normal(out_channels)]
    results = []
    for lib, ns in ((tapegrad, F), (torch, TF)):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 'same' with an even kernel warns about a copy
            out = getattr(ns, name)(x, w, b, **options)
        first = lib.autograd.grad(out.pow(2).sum(), (x, w, b), create_graph=True)
        second = lib.autograd.grad(sum(g.pow(2).sum() for g in first), (x, w, b))
        results.append([t.detach().numpy() for t in (out, *first, *second)])
    for got, want in zip(*results, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL[np.float64])


def test_conv1d_same_padding_with_dilation(rng):
    x, w = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 4))
    run_both("conv1d", x, w, rng.standard_normal(4), padding="same", dilation=3)


def test_conv_transpose_layer_output_size_matches_torch(rng):
    from tapegrad.nn import ConvTranspose2d

    layer, tlayer = (ConvTranspose2d(3, 2, 3, stride=2, padding=1).double(),
                     torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double())
    layer.load_state_dict({k: tapegrad.tensor(v.detach().numpy())
                           for k, v in tlayer.state_dict().items()})
    assert layer.weight.shape == (3, 2, 3, 3) and repr(layer) == repr(tlayer)
    x = rng.standard_normal((1, 3, 4, 5))
    for size in (None, (8, 10), (1, 2, 7, 9)):
        got = layer(tapegrad.tensor(x), output_size=size)
        want = tlayer(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(),
                                   **TOL[np.float64])
    with pytest.raises(ValueError, match="requested an output size"):
        layer(tapegrad.tensor(x), output_size=(11, 9))


@pytest.mark.parametrize("name", ["LazyConv3d", "LazyConvTranspose1d"])
def test_lazy_layers_learn_in_channels(rng, name):
    n = 3 if name.endswith("3d") else 1
    layer = getattr(tapegrad.nn, name)(4, 2).double()  # the placeholder takes the dtype
    assert layer.has_uninitialized_params()
    x = tapegrad.tensor(rng.standard_normal((2, 5) + (4,) * n))
    out = layer(x)
    assert layer.in_channels == 5 and not layer.has_uninitialized_params()
    expected = (5, 4, *(2,) * n) if "Transpose" in name else (4, 5, *(2,) * n)
    assert tuple(layer.weight.shape) == expected and out.shape[1] == 4
    # a state_dict loaded before the first forward gives the shapes instead
    fresh = getattr(tapegrad.nn, name)(4, 2).double()
    fresh.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(fresh(x).detach().numpy(), out.detach().numpy())


TRANSPOSED_ERRORS = [
    lambda L, F: F.conv_transpose2d(L.ones(1, 4, 5, 5), L.ones(3, 2, 3, 3)),
    lambda L, F: F.conv_transpose2d(L.ones(1, 3, 5, 5), L.ones(3, 2, 3, 3), output_padding=1),
    lambda L, F: F.conv_transpose2d(L.ones(1, 3, 5, 5), L.ones(3, 2, 3, 3), bias=L.ones(3)),
    lambda L, F: F.conv_transpose1d(L.ones(1, 3, 5, 5), L.ones(3, 2, 3)),
    lambda L, F: F.conv_transpose3d(L.ones(1, 3, 1, 1, 1), L.ones(3, 2, 1, 1, 1), padding=1),
    lambda L, F: F.conv3d(L.ones(1, 3, 2, 5, 5), L.ones(6, 3, 3, 3, 3)),
    lambda L, F: F.conv3d(L.ones(1, 4, 5, 5, 5), L.ones(6, 3, 3, 3, 3)),
]


@pytest.mark.parametrize("call", TRANSPOSED_ERRORS)
def test_transposed_and_3d_errors_match_torch_type(call):
    with pytest.raises(Exception) as t_err:
        call(torch, TF)
    with pytest.raises(Exception) as g_err:
        call(tapegrad, F)
    assert type(g_err.value) is type(t_err.value)
