"""Losses vs torch: values and gradients for every reduction and option, node names, the
fused cross-entropy path (and its double backward), legacy flags, modules.

Error messages and warnings are in test_loss_errors.py."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tapegrad as tg
import tapegrad.nn.functional as F
from tapegrad.nn.modules import loss as nn  # the classes (also exported as tapegrad.nn.X)
from tapegrad.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)
N, C = 4, 5


def _randn(*shape):
    return RNG.standard_normal(shape)


def _probs(*shape, axis=1):
    e = np.exp(_randn(*shape))
    return e / e.sum(axis=axis, keepdims=True)


def _logp(*shape, axis=1):
    return np.log(_probs(*shape, axis=axis))


def _labels(*shape, ignore=()):
    t = RNG.integers(0, C, shape)
    for pos in ignore:
        t[pos] = -100
    return t


@dataclass
class Case:
    id: str
    fn: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    grads: tuple = (0,)  # positions of args that require grad
    reductions: tuple = ("none", "mean", "sum")


X, Y = _randn(N, C), _randn(N, C)
Y_TIES = X.copy()
Y_TIES[0] = X[0] + np.array([0.0, 1.0, -1.0, 0.5, -0.5])  # d = 0 and d = +-beta/delta
W = RNG.uniform(0.5, 2.0, C)
P_IN = RNG.uniform(0.02, 0.98, (N, C))
P_T = RNG.uniform(0, 1, (N, C))
P_EDGE = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 1e-50])  # logs clamp at -100
T_EDGE = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0])

CASES = [
    Case("mse", "mse_loss", (X, Y), grads=(0, 1)),
    Case("mse-broadcast", "mse_loss", (X, Y[0]), grads=(0, 1)),
    Case("l1", "l1_loss", (X, Y_TIES), grads=(0, 1)),
    Case("smooth_l1", "smooth_l1_loss", (X, Y_TIES), grads=(0, 1)),
    Case("smooth_l1-beta0.5", "smooth_l1_loss", (X, Y_TIES), {"beta": 0.5}, grads=(0, 1)),
    Case("smooth_l1-beta0", "smooth_l1_loss", (X, Y_TIES), {"beta": 0.0}, grads=(0, 1)),
    Case("huber", "huber_loss", (X, Y_TIES), grads=(0, 1)),
    Case("huber-delta0.5", "huber_loss", (X, Y_TIES), {"delta": 0.5}, grads=(0, 1)),
    Case("huber-delta2", "huber_loss", (X * 3, Y), {"delta": 2.0}, grads=(0, 1)),
    Case("nll", "nll_loss", (_logp(N, C), _labels(N))),
    Case("nll-weight", "nll_loss", (_logp(N, C), _labels(N)), {"weight": W}),
    Case("nll-ignore", "nll_loss", (_logp(N, C), _labels(N, ignore=[1, 3])), {"weight": W}),
    Case("nll-ignore1", "nll_loss", (_logp(N, C), np.array([1, 0, 1, 4])), {"ignore_index": 1}),
    Case("nll-all-ignored", "nll_loss", (_logp(N, C), np.full(N, -100))),
    Case("nll-4d", "nll_loss", (_logp(2, C, 3, 2), _labels(2, 3, 2, ignore=[(0, 1, 1)])),
         {"weight": W}),
    Case("nll-3d", "nll_loss", (_logp(2, C, 3), _labels(2, 3))),
    Case("nll-5d", "nll_loss", (_logp(2, C, 2, 2, 2), _labels(2, 2, 2, 2)), {"weight": W}),
    Case("nll-unbatched", "nll_loss", (_logp(C, axis=0), np.array(3)), {"weight": W}),
    Case("nll-byte", "nll_loss", (_logp(N, C), _labels(N).astype(np.uint8))),
    Case("ce", "cross_entropy", (X, _labels(N))),
    Case("ce-weight-ignore", "cross_entropy", (X, _labels(N, ignore=[2])), {"weight": W}),
    Case("ce-ignore3", "cross_entropy", (X, np.array([3, 0, 3, 1])), {"ignore_index": 3}),
    Case("ce-all-ignored", "cross_entropy", (X, np.full(N, -100)), {"weight": W}),
    Case("ce-unbatched", "cross_entropy", (X[0], np.array(2))),
    Case("ce-4d", "cross_entropy", (_randn(2, C, 3, 2), _labels(2, 3, 2, ignore=[(1, 0, 0)])),
         {"weight": W}),
    Case("ce-3d", "cross_entropy", (_randn(2, C, 3), _labels(2, 3))),
    Case("ce-smooth", "cross_entropy", (X, _labels(N)), {"label_smoothing": 0.2}),
    Case("ce-smooth-weight", "cross_entropy", (X, _labels(N, ignore=[0])),
         {"label_smoothing": 0.3, "weight": W}),
    Case("ce-smooth-4d", "cross_entropy", (_randn(2, C, 2, 2), _labels(2, 2, 2)),
         {"label_smoothing": 0.1, "weight": W}),
    Case("ce-smooth-unbatched", "cross_entropy", (X[1], np.array(4)), {"label_smoothing": 0.5}),
    Case("ce-smooth-all-ignored", "cross_entropy", (X, np.full(N, -100)),
         {"label_smoothing": 0.1}),
    Case("ce-smooth-1", "cross_entropy", (X, _labels(N)), {"label_smoothing": 1.0}),
    Case("ce-probs", "cross_entropy", (X, _probs(N, C)), grads=(0, 1)),
    Case("ce-probs-weight-smooth", "cross_entropy", (X, _probs(N, C)),
         {"weight": W, "label_smoothing": 0.25}, grads=(0, 1)),
    Case("ce-probs-4d", "cross_entropy", (_randn(2, C, 2, 3), _probs(2, C, 2, 3)),
         {"weight": W}, grads=(0, 1)),
    Case("ce-probs-unbatched", "cross_entropy", (X[0], _probs(C, axis=0)), grads=(0, 1)),
    Case("bce", "binary_cross_entropy", (P_IN, P_T), grads=(0, 1)),
    Case("bce-weight", "binary_cross_entropy", (P_IN, P_T), {"weight": W}, grads=(0, 1)),
    Case("bce-weight-col", "binary_cross_entropy", (P_IN, P_T), {"weight": W[:N, None]}),
    Case("bce-clamp", "binary_cross_entropy", (P_EDGE, T_EDGE), grads=()),
    Case("bcel", "binary_cross_entropy_with_logits", (X * 3, P_T), grads=(0, 1)),
    Case("bcel-weights", "binary_cross_entropy_with_logits", (X * 3, P_T),
         {"weight": W[:N, None], "pos_weight": W}, grads=(0, 1)),
    Case("bcel-pos-col", "binary_cross_entropy_with_logits", (X, P_T),
         {"pos_weight": W[:N, None]}, grads=(0, 1)),
    Case("bcel-extreme", "binary_cross_entropy_with_logits",
         (np.array([-300.0, -40.0, 0.0, 40.0, 300.0]), np.array([1.0, 0.0, 0.5, 1.0, 0.0])),
         {"pos_weight": np.array(3.0)}, grads=(0, 1)),
    Case("kl", "kl_div", (_logp(N, C), _probs(N, C)), grads=(0, 1),
         reductions=("none", "mean", "sum", "batchmean")),
    Case("kl-zero-target", "kl_div", (_logp(N, C), np.where(P_T > 0.5, P_T, 0.0)),
         reductions=("none", "mean", "sum", "batchmean")),
    Case("kl-log-target", "kl_div", (_logp(N, C), _logp(N, C)), {"log_target": True},
         grads=(0, 1), reductions=("none", "mean", "sum", "batchmean")),
]
PARAMS = [pytest.param(c, r, id=f"{c.id}-{r}") for c in CASES for r in c.reductions]


def tensor(lib, a, dtype, requires_grad=False):
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return lib.tensor(a)
    return lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=requires_grad)


def run(lib, case, reduction, dtype):
    """The loss and the gradients of the case's grad args, after backward of a random seed."""
    fns = TF if lib is torch else F
    args = [tensor(lib, a, dtype, i in case.grads) for i, a in enumerate(case.args)]
    kwargs = {k: tensor(lib, v, dtype) if isinstance(v, np.ndarray) else v
              for k, v in case.kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(fns, case.fn)(*args, reduction=reduction, **kwargs)
    if case.grads:
        seed = np.random.default_rng(3).standard_normal(tuple(out.shape))
        out.backward(tensor(lib, seed, dtype))
    return out, [args[i].grad for i in case.grads]


def arr(t):
    return t.detach().numpy().astype(np.float64)


@pytest.mark.parametrize(("case", "reduction"), PARAMS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_loss_matches_torch(case, reduction, dtype):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    out, grads = run(tg, case, reduction, dtype)
    out_t, grads_t = run(torch, case, reduction, dtype)
    assert tuple(out.shape) == tuple(out_t.shape)
    assert out.dtype.name == dtype
    np.testing.assert_allclose(arr(out), arr(out_t), equal_nan=True, **tol)
    for g, g_t in zip(grads, grads_t, strict=True):
        assert g.dtype.name == dtype
        np.testing.assert_allclose(arr(g), arr(g_t), equal_nan=True, **tol)


NODE_NAMES = {
    "mse": "MseLossBackward0", "l1": {"none": "AbsBackward0", "mean": "MeanBackward0"},
    "smooth_l1": "SmoothL1LossBackward0", "huber": "HuberLossBackward0",
    "nll": "NllLossBackward0", "nll-4d": "NllLoss2DBackward0", "ce": "NllLossBackward0",
    "ce-smooth": "AddBackward0", "bce": "BinaryCrossEntropyBackward0",
    "bcel": "BinaryCrossEntropyWithLogitsBackward0",
    "kl": {"none": "SubBackward0", "sum": "SumBackward0", "batchmean": "DivBackward0"},
}


@pytest.mark.parametrize("case", [c for c in CASES if c.id in NODE_NAMES], ids=lambda c: c.id)
def test_node_names_are_torchs(case):
    names = NODE_NAMES[case.id]
    for reduction in case.reductions:
        want = names if isinstance(names, str) else names.get(reduction)
        if want is None:
            continue
        out, _ = run(tg, case, reduction, "float64")
        out_t, _ = run(torch, case, reduction, "float64")
        assert out.grad_fn.name() == want == out_t.grad_fn.name()


# ------------------------------------------------------------------ fused cross-entropy
def test_cross_entropy_on_2d_is_one_fused_entry():
    x = tg.tensor(X, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor(_labels(N)))
    assert loss.grad_fn.op_name == "cross_entropy"
    # its input edge goes straight to the leaf: no separate log_softmax entry
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"


@pytest.mark.parametrize("kwargs", [{}, {"weight": W}, {"reduction": "sum"},
                                    {"reduction": "none", "weight": W}])
def test_fused_cross_entropy_double_backward_matches_torch(kwargs):
    t = _labels(N, ignore=[1])
    v = _randn(N, C)
    results = []
    for lib in (tg, torch):
        fns = F if lib is tg else TF
        x = lib.tensor(X, requires_grad=True)
        kw = {k: lib.tensor(a) if isinstance(a, np.ndarray) else a for k, a in kwargs.items()}
        loss = fns.cross_entropy(x, lib.tensor(t), **kw)
        (g,) = lib.autograd.grad(loss.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * lib.tensor(v)).sum(), x)
        results.append((arr(g), arr(gg)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


GRADCHECKS = [
    ("mse", lambda x, y: F.mse_loss(x, y), (_randn(2, 3), _randn(2, 3))),
    ("l1", lambda x, y: F.l1_loss(x, y, reduction="sum"), (_randn(2, 3), _randn(2, 3))),
    ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.7, reduction="none"),
     (_randn(2, 3), _randn(2, 3))),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.6), (_randn(2, 3), _randn(2, 3))),
    ("nll", lambda x: F.nll_loss(x, tg.tensor([0, 2, -100]), weight=tg.tensor(W[:3])),
     (_randn(3, 3),)),
    ("nll-4d", lambda x: F.nll_loss(x, tg.tensor([[[0, 1]], [[2, 2]]]), reduction="none"),
     (_randn(2, 3, 1, 2),)),
    ("ce", lambda x: F.cross_entropy(x, tg.tensor([0, 2, 1]), weight=tg.tensor(W[:3])),
     (_randn(3, 3),)),
    ("ce-none", lambda x: F.cross_entropy(x, tg.tensor([0, -100, 1]), reduction="none"),
     (_randn(3, 3),)),
    ("ce-smooth", lambda x: F.cross_entropy(x, tg.tensor([0, 2]), label_smoothing=0.3,
                                            weight=tg.tensor(W[:3])), (_randn(2, 3),)),
    ("ce-probs", lambda x, p: F.cross_entropy(x, p, label_smoothing=0.1),
     (_randn(2, 3), _probs(2, 3))),
    ("bce", lambda x, y: F.binary_cross_entropy(x, y, weight=tg.tensor(W[:3])),
     (RNG.uniform(0.1, 0.9, (2, 3)), RNG.uniform(0.1, 0.9, (2, 3)))),
    ("bcel", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=tg.tensor(W[:3]), weight=tg.tensor(W[1:4]), reduction="none"),
     (_randn(2, 3), RNG.uniform(0, 1, (2, 3)))),
    ("kl", lambda x, y: F.kl_div(x, y, reduction="batchmean"), (_logp(2, 3), _probs(2, 3))),
    ("kl-log-target", lambda x, y: F.kl_div(x, y, reduction="sum", log_target=True),
     (_logp(2, 3), _logp(2, 3))),
]


@pytest.mark.parametrize(("fn", "arrays"), [g[1:] for g in GRADCHECKS],
                         ids=[g[0] for g in GRADCHECKS])
def test_gradcheck_and_gradgradcheck(fn, arrays):
    inputs = tuple(tg.tensor(a, requires_grad=True) for a in arrays)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ------------------------------------------------------------------ dtypes and weights
def test_result_dtypes_follow_torch():
    pairs = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("huber_loss", {}),
             ("binary_cross_entropy_with_logits", {}), ("kl_div", {"reduction": "sum"})]
    for name, kw in pairs:
        for a, b in [("float32", "float64"), ("float64", "float32")]:
            got = getattr(F, name)(tg.rand(3, dtype=getattr(tg, a)),
                                   tg.rand(3, dtype=getattr(tg, b)), **kw)
            want = getattr(TF, name)(torch.rand(3, dtype=getattr(torch, a)),
                                     torch.rand(3, dtype=getattr(torch, b)), **kw)
            assert got.dtype.name == str(want.dtype).removeprefix("torch."), (name, a, b)


def test_class_weights_are_not_differentiable():
    x = tg.tensor(X, requires_grad=True)
    w = tg.tensor(W, requires_grad=True)
    t = tg.tensor(_labels(N))
    for fn in (lambda: F.cross_entropy(x, t, weight=w), lambda: F.nll_loss(x, t, weight=w),
               lambda: F.cross_entropy(x, t, weight=w, label_smoothing=0.1)):
        with pytest.raises(RuntimeError, match="'nll_loss_forward' is not differentiable with "
                                               "respect to argument 'weight'"):
            fn()
    with tg.no_grad():  # torch allows it when nothing is recorded
        F.nll_loss(x, t, weight=w)
    p = tg.tensor(P_IN, requires_grad=True)
    with pytest.raises(RuntimeError, match="'binary_cross_entropy' is not differentiable"):
        F.binary_cross_entropy(p, tg.tensor(P_T), weight=w)
    with pytest.raises(RuntimeError, match="argument 'pos_weight'"):
        F.binary_cross_entropy_with_logits(x, tg.tensor(P_T), pos_weight=w)
    # and a weight that does not require grad gets no gradient
    w2 = tg.tensor(W)
    F.cross_entropy(x, t, weight=w2).backward()
    assert w2.grad is None and x.grad is not None


def test_all_ignored_mean_is_nan_with_zero_gradient():
    for fn in (F.nll_loss, F.cross_entropy):
        x = tg.tensor(X, requires_grad=True)
        loss = fn(x, tg.tensor(np.full(N, -100)))
        assert np.isnan(loss.item())
        loss.backward()
        assert np.array_equal(x.grad.numpy(), np.zeros((N, C)))
        assert fn(x, tg.tensor(np.full(N, -100)), reduction="sum").item() == 0.0


# ------------------------------------------------------------------ legacy flags
def test_legacy_flags_map_to_reductions():
    x, y = tg.tensor(X), tg.tensor(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for flags, reduction in [({"size_average": False}, "sum"), ({"reduce": False}, "none"),
                                 ({"size_average": True, "reduce": True}, "mean")]:
            got = F.mse_loss(x, y, reduction="sum" if reduction != "sum" else "none", **flags)
            np.testing.assert_allclose(got.numpy(), F.mse_loss(x, y, reduction=reduction).numpy())
            assert nn.L1Loss(**flags).reduction == reduction


# ------------------------------------------------------------------ modules
MODULES = [
    ("L1Loss", {}, (X, Y)), ("MSELoss", {"reduction": "sum"}, (X, Y)),
    ("SmoothL1Loss", {"beta": 0.5}, (X, Y)), ("HuberLoss", {"delta": 0.5}, (X, Y)),
    ("NLLLoss", {"weight": W, "ignore_index": 1}, (_logp(N, C), np.array([1, 0, 2, 4]))),
    ("CrossEntropyLoss", {"weight": W, "label_smoothing": 0.1, "reduction": "none"},
     (X, _labels(N))),
    ("CrossEntropyLoss", {}, (X, _labels(N))),
    ("BCELoss", {"weight": W}, (P_IN, P_T)),
    ("BCEWithLogitsLoss", {"weight": W, "pos_weight": W[::-1].copy()}, (X, P_T)),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, (_logp(N, C), _logp(N, C))),
]


@pytest.mark.parametrize(("name", "kwargs", "arrays"), MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, kwargs, arrays):
    results = []
    for lib in (tg, torch):
        kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        module = getattr(nn if lib is tg else torch.nn, name)(**kw)
        x = tensor(lib, arrays[0], "float64", True)
        out = module(x, tensor(lib, arrays[1], "float64"))
        out.sum().backward()
        state = {k: v.numpy() for k, v in module.state_dict().items()}
        results.append((arr(out), arr(x.grad), state, repr(module), module.reduction))
    (out, g, state, text, red), (out_t, g_t, state_t, text_t, red_t) = results
    np.testing.assert_allclose(out, out_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, g_t, rtol=1e-10, atol=1e-12)
    assert state.keys() == state_t.keys()
    for k in state:
        np.testing.assert_array_equal(state[k], state_t[k])
    assert text == text_t and red == red_t


def test_module_weight_is_a_buffer_and_reduction_is_checked_when_called():
    loss = nn.CrossEntropyLoss(weight=tg.ones(3))
    assert list(loss.parameters()) == [] and [n for n, _ in loss.named_buffers()] == ["weight"]
    assert loss.double().weight.dtype is tg.float64
    assert loss.ignore_index == -100 and loss.label_smoothing == 0.0
    bad = nn.MSELoss(reduction="foo")  # accepted here, as in torch
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        bad(tg.ones(2), tg.ones(2))
