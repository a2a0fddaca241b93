"""Optimizer API against torch.optim: zero_grad, steps that skip or decay, closures,
versions, step hooks, param groups and options, constructor and parameter errors, float16."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.optim as tgo


def test_zero_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = tgo.SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_step_skips_none_grads_and_zero_grads_still_decay():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = tgo.SGD([a, b], lr=0.1, weight_decay=0.5)
    b.grad = tg.zeros_like(b)
    opt.step()
    assert a.tolist() == [1.0, 2.0]  # no grad: untouched
    np.testing.assert_allclose(b.detach().numpy(), [0.95, 1.9])  # zero grad: decayed


def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    opt = tgo.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert w.tolist() == [0.5, -1.0]


def test_step_bumps_version_and_is_not_recorded():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = tgo.Adam([w], lr=0.1)
    w.grad = tg.ones_like(w)
    v = w._version
    opt.step()
    assert w._version > v and w.is_leaf and w.grad_fn is None


def test_step_hooks():
    w = tg.tensor([1.0], requires_grad=True)
    opt = tgo.AdamW([w])
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kw: calls.append(("pre", o, args)))
    opt.register_step_post_hook(lambda o, args, kw: calls.append(("post", o)))
    opt.step()
    assert calls == [("pre", opt, (opt,)), ("post", opt)]  # args include self, as in torch
    h1.remove()
    opt.step()
    assert calls[-1] == ("post", opt) and len(calls) == 3


def errors(fn_tg, fn_torch):
    with pytest.raises(Exception) as got:
        fn_tg()
    with pytest.raises(Exception) as want:
        fn_torch()
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value).replace("torch", "tapegrad")


def both(lib, **kw):
    return lib.tensor([1.0, 2.0], requires_grad=True, **kw)


BAD_ARGS = [
    ("SGD", {"lr": -1.0}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -0.1}), ("Adam", {"eps": -1.0}), ("Adam", {"betas": (1.0, 0.9)}),
    ("Adam", {"betas": (0.9, -0.1)}), ("Adam", {"betas": (0, 0.999)}),
    ("Adam", {"weight_decay": -1.0}), ("AdamW", {"lr": -1.0}),
    ("RMSprop", {"alpha": -1.0}), ("RMSprop", {"momentum": -1.0}), ("RMSprop", {"eps": -1.0}),
    ("Adagrad", {"lr_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
    ("SGD", {"fused": True, "foreach": True}),
]


@pytest.mark.parametrize(("cls", "kwargs"), BAD_ARGS, ids=[f"{c}-{k}" for c, k in BAD_ARGS])
def test_constructor_errors_match_torch(cls, kwargs):
    errors(lambda: getattr(tgo, cls)([both(tg)], **kwargs),
           lambda: getattr(torch.optim, cls)([both(torch)], **kwargs))


@pytest.mark.parametrize("case", ["tensor", "empty", "int", "set", "nonleaf", "dup_groups"])
def test_param_errors_match_torch(case):
    def build(lib, optim):
        p = both(lib)
        if case == "tensor":
            return optim.SGD(p)
        if case == "empty":
            return optim.SGD([])
        if case == "int":
            return optim.SGD([p, 3])
        if case == "set":
            return optim.SGD([{"params": {p}}])
        if case == "nonleaf":
            return optim.SGD([p * 2])
        return optim.SGD([{"params": [p]}, {"params": [p]}])

    errors(lambda: build(tg, tgo), lambda: build(torch, torch.optim))


def test_duplicate_params_in_one_group_warn():
    p = both(tg)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        tgo.SGD([p, p])


def test_add_param_group_and_defaults():
    a, b = both(tg), both(tg)
    opt = tgo.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["params"] == [b] or opt.param_groups[1]["params"][0] is b
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    assert list(opt.param_groups[1])[0] == "params"


def test_unsupported_options():
    with pytest.raises(NotImplementedError, match="differentiable"):
        tgo.Adam([both(tg)], differentiable=True)
    # accepted and ignored: the implementation is always one fused kernel per parameter
    for cls in (tgo.SGD, tgo.Adam, tgo.Adagrad):
        cls([both(tg)], foreach=True)
        cls([both(tg)], fused=True)
    tgo.Adam([both(tg)], capturable=True)


def test_adagrad_state_created_in_constructor():
    p = both(tg)
    opt = tgo.Adagrad([p], initial_accumulator_value=0.25)
    topt = torch.optim.Adagrad([both(torch)], initial_accumulator_value=0.25)
    assert opt.state[p]["sum"].tolist() == [0.25, 0.25]
    assert list(opt.state_dict()["state"][0]) == list(topt.state_dict()["state"][0])


def test_float16_params():
    """float16 runs the NumPy reference kernel; torch computes each op in float32 and rounds,
    so agreement is to float16 precision."""
    a = tg.tensor([0.5, -1.25, 2.0], dtype=tg.float16, requires_grad=True)
    t = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float16, requires_grad=True)
    opt, topt = tgo.SGD([a], lr=0.1, momentum=0.9), torch.optim.SGD([t], lr=0.1, momentum=0.9)
    for _ in range(5):
        a.grad = tg.tensor(a.detach().numpy() * 2)
        t.grad = torch.tensor(t.detach().numpy() * 2)
        opt.step()
        topt.step()
    assert a.dtype == tg.float16
    np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=5e-3, atol=1e-3)
