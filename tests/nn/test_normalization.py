"""BatchNorm1d/2d/3d, LayerNorm and F.batch_norm / F.layer_norm / F.normalize against torch.

Weights are copied from the torch module through its state_dict (init is random); outputs,
input gradients and parameter gradients are compared in float64 (rtol 1e-10) and float32
(rtol 1e-4, atol 1e-5: the kernels accumulate in float64, torch in float32), and running
statistics after several training steps must match torch's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.nn.functional import normalization as F
from tapegrad.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from tapegrad.nn.modules.normalization import LayerNorm
from tapegrad.testing.gradcheck import gradcheck, gradgradcheck

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-10}, "float32": {"rtol": 1e-4, "atol": 1e-5}}
NP = {"float64": np.float64, "float32": np.float32}


def copy_from_torch(tg_module, torch_module):
    state = {k: tapegrad.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    tg_module.load_state_dict(state)


def close(got, want, dtype, msg=""):
    got = got.detach().numpy() if hasattr(got, "detach") else got
    want = want.detach().numpy() if hasattr(want, "detach") else want
    assert got.shape == want.shape, msg
    assert got.dtype == want.dtype, msg
    np.testing.assert_allclose(got, want, err_msg=msg, **TOL[dtype])


def run_pair(tg_mod, th_mod, x_np, dtype, seed_grad):
    """Forward both on x, backward with the same upstream gradient; compare everything."""
    x = tapegrad.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    y, yt = tg_mod(x), th_mod(xt)
    close(y, yt, dtype, "output")
    g = seed_grad(y.shape).astype(NP[dtype])
    y.backward(tapegrad.tensor(g))
    yt.backward(torch.tensor(g))
    close(x.grad, xt.grad, dtype, "input grad")
    params = dict(th_mod.named_parameters())
    for name, p in tg_mod.named_parameters():
        close(p.grad, params[name].grad, dtype, f"grad of {name}")
        p.grad = None
        params[name].grad = None
    for name, b in th_mod.named_buffers():
        close(tg_mod.get_buffer(name) if hasattr(tg_mod, "get_buffer") else getattr(tg_mod, name),
              b, dtype if b.is_floating_point() else "float64", f"buffer {name}")


def make_pair(tg_cls, th_cls, dtype, *args, **kwargs):
    th = th_cls(*args, **kwargs)
    with torch.no_grad():
        for p in th.parameters():  # non-trivial affine parameters
            p.uniform_(0.5, 1.5)
    th = th.to(getattr(torch, dtype))
    tg = tg_cls(*args, **kwargs).to(getattr(tapegrad, dtype))
    copy_from_torch(tg, th)
    return tg, th


BN_CASES = [
    (BatchNorm1d, torch.nn.BatchNorm1d, (6, 4)),
    (BatchNorm1d, torch.nn.BatchNorm1d, (5, 4, 7)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (3, 4, 5, 6)),
    (BatchNorm3d, torch.nn.BatchNorm3d, (2, 4, 3, 2, 3)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("tg_cls,th_cls,shape", BN_CASES)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_train_then_eval(rng, dtype, tg_cls, th_cls, shape, momentum):
    tg, th = make_pair(tg_cls, th_cls, dtype, shape[1], momentum=momentum)
    for _ in range(3):  # running statistics accumulate over several steps
        x = (rng.standard_normal(shape) * 2 + 1.5).astype(NP[dtype])
        run_pair(tg, th, x, dtype, lambda s: rng.standard_normal(s))
    assert int(tg.num_batches_tracked.item()) == 3
    assert tg.num_batches_tracked.dtype == tapegrad.int64
    tg.eval()
    th.eval()
    x = rng.standard_normal(shape).astype(NP[dtype])
    run_pair(tg, th, x, dtype, lambda s: rng.standard_normal(s))
    assert int(tg.num_batches_tracked.item()) == 3  # eval leaves the buffers alone


@pytest.mark.parametrize("kwargs", [
    {"affine": False},
    {"bias": False},
    {"track_running_stats": False},
    {"affine": False, "track_running_stats": False, "momentum": None},
    {"eps": 0.5},
])
def test_batchnorm_options(rng, kwargs):
    tg, th = make_pair(BatchNorm2d, torch.nn.BatchNorm2d, "float64", 3, **kwargs)
    assert [n for n, _ in tg.named_parameters()] == [n for n, _ in th.named_parameters()]
    assert list(tg.state_dict()) == list(th.state_dict())
    assert repr(tg) == repr(th)
    for mode in ("train", "eval"):
        getattr(tg, mode)()
        getattr(th, mode)()
        x = rng.standard_normal((4, 3, 2, 2))
        run_pair(tg, th, x, "float64", lambda s: rng.standard_normal(s))
    if not tg.track_running_stats:
        assert tg.running_mean is None and tg.num_batches_tracked is None


def test_batchnorm_defaults_and_repr():
    bn = BatchNorm1d(5)
    assert repr(bn) == repr(torch.nn.BatchNorm1d(5))
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.ones(5, np.float32))
    np.testing.assert_array_equal(bn.bias.detach().numpy(), np.zeros(5, np.float32))
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(5, np.float32))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(5, np.float32))
    assert bn.num_batches_tracked.item() == 0
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm1d(5).state_dict())
    assert bn.weight.dtype == tapegrad.float32


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"^Expected more than 1 value per channel when "
                       r"training, got input size tapegrad\.Size\(\[1, 3\]\)$"):
        BatchNorm1d(3)(tapegrad.randn(1, 3))
    with pytest.raises(ValueError, match=r"tapegrad\.Size\(\[1, 3, 1, 1\]\)"):
        BatchNorm2d(3)(tapegrad.randn(1, 3, 1, 1))
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        BatchNorm1d(3)(tapegrad.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"^expected 4D input \(got 3D input\)$"):
        BatchNorm2d(3)(tapegrad.randn(2, 3, 4))
    bn = BatchNorm1d(3).eval()
    assert bn(tapegrad.randn(1, 3)).shape == (1, 3)  # a single sample is fine in eval
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(tapegrad.randn(4, 3), None, None, training=False)
    with pytest.raises(RuntimeError, match="running_mean should contain 3 elements not 2"):
        F.batch_norm(tapegrad.randn(4, 3), tapegrad.zeros(2), tapegrad.ones(2))
    with pytest.raises(ValueError, match="eps must be positive during training"):
        F.batch_norm(tapegrad.randn(4, 3), None, None, training=True, eps=0.0)


def test_functional_batch_norm_updates_buffers_like_torch(rng):
    x = rng.standard_normal((8, 3, 5))
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    ours = [tapegrad.tensor(a.copy()) for a in (rm, rv)]
    theirs = [torch.tensor(a.copy()) for a in (rm, rv)]
    for training in (True, False):
        y = F.batch_norm(tapegrad.tensor(x), *ours, tapegrad.tensor(w), tapegrad.tensor(b),
                         training=training, momentum=0.25, eps=1e-3)
        yt = torch.nn.functional.batch_norm(torch.tensor(x), *theirs, torch.tensor(w),
                                            torch.tensor(b), training=training, momentum=0.25,
                                            eps=1e-3)
        close(y, yt, "float64")
        for o, t in zip(ours, theirs, strict=True):
            close(o, t, "float64")
    # the buffer changed in place: its version counter moved
    assert ours[0]._version > 0


def test_batchnorm_double_backward_matches_torch(rng):
    """create_graph=True records the backward as ops: second derivatives match torch."""
    x_np, w_np, b_np = rng.standard_normal((4, 3, 2)), rng.random(3) + 0.5, rng.standard_normal(3)
    for training in (True, False):
        rm, rv = np.zeros(3), np.ones(3) * 1.5
        x, w, b = (tapegrad.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        y = F.batch_norm(x, tapegrad.tensor(rm), tapegrad.tensor(rv), w, b, training)
        yt = torch.nn.functional.batch_norm(xt, torch.tensor(rm), torch.tensor(rv), wt, bt,
                                            training)
        gx, gw = tapegrad.autograd.grad((y * y * y).sum(), (x, w), create_graph=True)
        gxt, gwt = torch.autograd.grad((yt ** 3).sum(), (xt, wt), create_graph=True)
        close(gx, gxt, "float64")
        (gx.sum() + (gw * gw).sum()).backward()
        (gxt.sum() + (gwt * gwt).sum()).backward()
        close(x.grad, xt.grad, "float64", f"training={training}")
        close(w.grad, wt.grad, "float64", f"training={training}")


def test_batch_norm_gradcheck(rng):
    x = tapegrad.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    w = tapegrad.tensor(rng.random(2) + 0.5, requires_grad=True)
    b = tapegrad.tensor(rng.standard_normal(2), requires_grad=True)

    def fn(x, w, b):
        return F.batch_norm(x, None, None, w, b, training=True)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


# ------------------------------------------------------------------ layer norm
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape,normalized", [((4, 6), 6), ((2, 3, 5), (5,)),
                                              ((2, 3, 4, 5), (4, 5)), ((7,), [7])])
@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False},
                                    {"eps": 0.1}])
def test_layernorm_matches_torch(rng, dtype, shape, normalized, kwargs):
    tg, th = make_pair(LayerNorm, torch.nn.LayerNorm, dtype, normalized, **kwargs)
    assert repr(tg) == repr(th)
    assert list(tg.state_dict()) == list(th.state_dict())
    x = (rng.standard_normal(shape) * 3 - 1).astype(NP[dtype])
    run_pair(tg, th, x, dtype, lambda s: rng.standard_normal(s))
    tg.eval()
    th.eval()
    run_pair(tg, th, x, dtype, lambda s: rng.standard_normal(s))


def test_layer_norm_errors():
    with pytest.raises(RuntimeError, match=r"^Given normalized_shape=\[3\], expected input with "
                       r"shape \[\*, 3\], but got input of size\[2, 4\]$"):
        LayerNorm(3)(tapegrad.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as "
                       r"normalized_shape, but got weight of shape \[3\] and normalized_shape "
                       r"= \[4\]"):
        F.layer_norm(tapegrad.randn(2, 4), (4,), tapegrad.ones(3))


def test_layer_norm_double_backward_matches_torch(rng):
    x_np, w_np, b_np = rng.standard_normal((3, 2, 4)), rng.random(4) + 0.5, rng.standard_normal(4)
    x, w, b = (tapegrad.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
    y = F.layer_norm(x, (4,), w, b)
    yt = torch.nn.functional.layer_norm(xt, (4,), wt, bt)
    gx, gw = tapegrad.autograd.grad((y * y * y).sum(), (x, w), create_graph=True)
    gxt, gwt = torch.autograd.grad((yt ** 3).sum(), (xt, wt), create_graph=True)
    (gx.sum() + (gw * gw).sum()).backward()
    (gxt.sum() + (gwt * gwt).sum()).backward()
    close(x.grad, xt.grad, "float64")
    close(w.grad, wt.grad, "float64")
    close(b.grad, bt.grad, "float64")
    assert gradgradcheck(lambda x, w: F.layer_norm(x, (2, 4), w), (x, tapegrad.tensor(
        rng.random((2, 4)) + 0.5, requires_grad=True)))


def test_node_names_and_single_tape_entry(rng):
    x = tapegrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = F.layer_norm(x, (3,))
    assert type(y.grad_fn).__name__ == "NativeLayerNormBackward0"
    assert y.grad_fn.next_functions[0][0] is not None
    z = F.batch_norm(x, None, None, training=True)
    assert type(z.grad_fn).__name__ == "NativeBatchNormBackward0"


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize(rng, p, dim):
    x_np = rng.standard_normal((3, 4))
    x_np[1] = 0.0  # a zero row: eps keeps it finite
    x = tapegrad.tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    y = F.normalize(x, p=p, dim=dim)
    yt = torch.nn.functional.normalize(xt, p=p, dim=dim)
    close(y, yt, "float64")
    g = rng.standard_normal((3, 4))
    y.backward(tapegrad.tensor(g))
    yt.backward(torch.tensor(g))
    close(x.grad, xt.grad, "float64")
