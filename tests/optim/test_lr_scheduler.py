"""Learning-rate schedulers against torch.optim.lr_scheduler.

The schedules are pure Python float arithmetic done in the same order as torch, so the lr
sequences must be *equal*, not merely close (checked over 40+ epochs; 3 full periods for
cosine annealing).
"""

from __future__ import annotations

import warnings

import pytest
import torch

import tapegrad as tg
import tapegrad.optim as tgo
from tapegrad.optim import lr_scheduler as tgs

LIBS = {"tapegrad": (tg, tgo, tgs), "torch": (torch, torch.optim, torch.optim.lr_scheduler)}


def make_opt(libname, two_groups=True, lr=0.1):
    lib, optim, _ = LIBS[libname]
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.03}] if two_groups else [a, b]
    return optim.SGD(groups, lr=lr, momentum=0.9)


def lr_sequence(libname, build, epochs=40, metrics=None):
    """Train loop shape: optimizer.step() then scheduler.step() each epoch; record lrs."""
    _, _, sched_mod = LIBS[libname]
    opt = make_opt(libname)
    sched = build(sched_mod, opt)
    seq = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right call order must not warn
        for epoch in range(epochs):
            opt.step()
            if metrics is None:
                sched.step()
            else:
                sched.step(metrics[epoch])
            seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups]))
    return seq, sched, opt


def _double(epoch):
    return 0.5 ** (epoch // 3)


class Scale:
    """A callable object (its __dict__ goes into LambdaLR's state_dict)."""

    def __init__(self, base):
        self.base = base

    def __call__(self, epoch):
        return self.base ** epoch


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "CosineAnnealingLR-0": lambda m, o: m.CosineAnnealingLR(o, T_max=7),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=_double),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, lr_lambda=[_double, Scale(0.9)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
    "LinearLR": lambda m, o: m.LinearLR(o),
    "LinearLR-custom": lambda m, o: m.LinearLR(o, start_factor=0.5, end_factor=0.1,
                                               total_iters=12),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_lr_sequence_equals_torch(name):
    epochs = 60 if name.startswith("Cosine") else 40  # 3 periods of 2*T_max for T_max=10
    ours, sched, opt = lr_sequence("tapegrad", SCHEDULES[name], epochs)
    theirs, tsched, _ = lr_sequence("torch", SCHEDULES[name], epochs)
    assert ours == theirs
    assert len({lr for lrs, _ in ours for lr in lrs}) > 2, "the schedule never changed"
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]
    assert sched.base_lrs == [0.1, 0.03]
    assert list(sched.state_dict()) == list(tsched.state_dict())


def test_chained_schedulers_equal_torch():
    def build(m, o):
        return [m.ExponentialLR(o, gamma=0.9), m.StepLR(o, step_size=4, gamma=0.5)]

    seqs = {}
    for libname in LIBS:
        opt = make_opt(libname)
        scheds = build(LIBS[libname][2], opt)
        seq = []
        for _ in range(30):
            opt.step()
            for s in scheds:
                s.step()
            seq.append([g["lr"] for g in opt.param_groups])
        seqs[libname] = seq
    assert seqs["tapegrad"] == seqs["torch"]


def test_epoch_argument_uses_closed_form_and_warns():
    out = {}
    for libname in LIBS:
        opt = make_opt(libname)
        sched = LIBS[libname][2].CosineAnnealingLR(opt, T_max=10)
        opt.step()
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
            sched.step(7)
        out[libname] = sched.get_last_lr()
    assert out["tapegrad"] == out["torch"]


PLATEAU = [
    ({}, None),
    ({"mode": "max", "patience": 2, "factor": 0.5}, None),
    ({"patience": 1, "cooldown": 2, "min_lr": 0.004}, None),
    ({"patience": 0, "threshold_mode": "abs", "threshold": 0.05, "min_lr": [0.01, 0.001]}, None),
    ({"patience": 1, "eps": 0.02, "factor": 0.5}, None),
]
METRICS = [1.0, 0.9, 0.95, 0.9, 0.899, 0.9, 0.91, 0.92, 0.8, 0.8, 0.81, 0.5, 0.6, 0.7, 0.7,
           0.7, 0.69, 0.71, 0.72, 0.73, 0.74, 0.75, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
           0.3, 0.3, 0.3, 0.25, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


@pytest.mark.parametrize("case", range(len(PLATEAU)))
def test_reduce_lr_on_plateau_equals_torch(case):
    kwargs = PLATEAU[case][0]

    def build(m, o):
        return m.ReduceLROnPlateau(o, **kwargs)

    ours, sched, _ = lr_sequence("tapegrad", build, len(METRICS), METRICS)
    theirs, tsched, _ = lr_sequence("torch", build, len(METRICS), METRICS)
    assert ours == theirs
    assert ours[-1] != ours[0], "lr was never reduced"
    sd, tsd = sched.state_dict(), tsched.state_dict()
    assert sd.keys() == tsd.keys()
    assert {k: sd[k] for k in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")} == \
        {k: tsd[k] for k in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")}


def test_plateau_accepts_a_tensor_metric():
    opt = make_opt("tapegrad")
    sched = tgs.ReduceLROnPlateau(opt, patience=0)
    sched.step(tg.tensor(1.0))
    sched.step(tg.tensor(2.0))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.03 * 0.1]


def test_scheduler_before_optimizer_warns():
    for libname in LIBS:
        opt = make_opt(libname)
        sched = LIBS[libname][2].StepLR(opt, step_size=2)
        with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                             "`optimizer.step\\(\\)`"):
            sched.step()


def test_overridden_optimizer_step_warns():
    opt = make_opt("tapegrad")
    sched = tgs.StepLR(opt, step_size=2)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = tgs.StepLR(make_opt("tapegrad"), step_size=2)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_optimizer_step_still_works_after_patching():
    opt = make_opt("tapegrad")
    p = opt.param_groups[0]["params"][0]
    tgs.ExponentialLR(opt, gamma=0.5)
    tgs.StepLR(opt, step_size=1)  # a second scheduler does not wrap twice
    assert getattr(opt.step, "_wrapped_by_lr_sched", False)
    p.grad = tg.ones_like(p)
    opt.step()
    assert opt._opt_called and p.tolist() == pytest.approx([0.9, 1.9])


def test_resume_from_state_dict():
    straight, _, _ = lr_sequence("tapegrad", SCHEDULES["CosineAnnealingLR"], 25)
    opt = make_opt("tapegrad")
    sched = tgs.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    for _ in range(12):
        opt.step()
        sched.step()
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    opt2 = make_opt("tapegrad")
    opt2.load_state_dict(saved_opt)
    sched2 = tgs.CosineAnnealingLR(opt2, T_max=10, eta_min=0.001, last_epoch=11)
    sched2.load_state_dict(saved_sched)
    lrs = []
    for _ in range(13):
        opt2.step()
        sched2.step()
        lrs.append(sched2.get_last_lr())
    assert lrs == [s[0] for s in straight[13:]]


def test_lambda_state_dict_keeps_callable_objects_only():
    opt = make_opt("tapegrad")
    sched = tgs.LambdaLR(opt, lr_lambda=[_double, Scale(0.9)])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"base": 0.9}]
    sd["lr_lambdas"][1] = {"base": 0.5}
    sched.load_state_dict(sd)
    assert sched.lr_lambdas[1].base == 0.5 and "lr_lambdas" in sd


ERRORS = [
    lambda m, o: m.LambdaLR(o, lr_lambda=[_double]),
    lambda m, o: m.MultiplicativeLR(o, lr_lambda=3),
    lambda m, o: m.LinearLR(o, start_factor=0),
    lambda m, o: m.LinearLR(o, end_factor=2),
    lambda m, o: m.ConstantLR(o, factor=2),
    lambda m, o: m.ReduceLROnPlateau(o, factor=1.5),
    lambda m, o: m.ReduceLROnPlateau(o, mode="median"),
    lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="log"),
    lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1]),
    lambda m, o: m.StepLR(o, step_size=3, last_epoch=5),
    lambda m, o: m.StepLR("not an optimizer", step_size=3),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    got = want = None
    try:
        ERRORS[case](tgs, make_opt("tapegrad"))
    except Exception as e:  # compared with torch's below
        got = e
    try:
        ERRORS[case](torch.optim.lr_scheduler, make_opt("torch"))
    except Exception as e:
        want = e
    assert want is not None and got is not None
    assert type(got) is type(want)
    assert str(got) == str(want).replace("torch", "tapegrad")


def test_plateau_min_lr_length_change_error():
    opt = make_opt("tapegrad")
    sched = tgs.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [tg.tensor([1.0], requires_grad=True)]})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was"):
        sched.step(2.0)
