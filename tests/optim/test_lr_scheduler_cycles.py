"""PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, SequentialLR and
ChainedScheduler against torch.optim.lr_scheduler.

Schedules are Python float arithmetic in torch's order, so the lr (and momentum) sequences
must be *equal*, not merely close, over several periods; the state_dict must round-trip.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import tapegrad as tg
import tapegrad.optim as tgo
from tapegrad.optim import lr_scheduler as tgs

LIBS = {"tapegrad": (tg, tgo, tgs), "torch": (torch, torch.optim, torch.optim.lr_scheduler)}


def make_opt(libname, cls="SGD"):
    lib, optim, _ = LIBS[libname]
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0], requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.03}]
    if cls == "SGD":
        return optim.SGD(groups, lr=0.1, momentum=0.9)
    return optim.Adam(groups, lr=0.1)


def momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def sequence(libname, build, epochs=45, cls="SGD"):
    """optimizer.step() then scheduler.step() each epoch; record lr and momentum."""
    _, _, mod = LIBS[libname]
    opt = make_opt(libname, cls)
    sched = build(mod, opt)
    seq = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups], momenta(opt))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right call order must not warn
        for _ in range(epochs):
            opt.step()
            sched.step()
            seq.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                        momenta(opt)))
    return seq, sched, opt


BUILDS = {
    "poly": lambda m, o: m.PolynomialLR(o, total_iters=20),
    "poly-power2": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "warm-restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=0.001),
    "warm-restarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "cyclic": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "cyclic-tri2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.2,
                                           step_size_up=3, step_size_down=5,
                                           mode="triangular2"),
    "cyclic-exp": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range",
                                          gamma=0.97, base_momentum=0.7, max_momentum=0.95),
    "cyclic-fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=2,
                                         scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
                                         cycle_momentum=False),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=45),
    "onecycle-linear-3": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=5,
                                                   steps_per_epoch=9, pct_start=0.25,
                                                   anneal_strategy="linear",
                                                   three_phase=True),
    "sequential": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
            m.CosineAnnealingLR(o, T_max=15),
            m.ExponentialLR(o, gamma=0.9)], milestones=[5, 20]),
    "chained": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.95),
         m.StepLR(o, step_size=7, gamma=0.5)]),
    "chained-in-sequential": lambda m, o: m.SequentialLR(
        o, [m.ChainedScheduler([m.ExponentialLR(o, gamma=0.9), m.PolynomialLR(o, 30)]),
            m.ConstantLR(o, factor=0.2, total_iters=3)],
        milestones=[6]),
}


@pytest.mark.parametrize("cls", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(BUILDS))
def test_lr_and_momentum_sequences_equal_torch(name, cls):
    if cls == "Adam" and not name.startswith(("cyclic", "onecycle")):
        cls = "SGD"  # only the cyclic schedules touch momentum / betas
    ours, _, _ = sequence("tapegrad", BUILDS[name], cls=cls)
    theirs, _, _ = sequence("torch", BUILDS[name], cls=cls)
    assert ours == theirs
    assert len({tuple(lrs) for lrs, _, _ in ours}) >= 4  # the schedule really moves


@pytest.mark.parametrize("name", list(BUILDS))
def test_state_dict_resumes(name):
    """20 epochs, state_dict, a fresh optimizer + scheduler loads it, 20 more == 40."""
    straight, _, _ = sequence("tapegrad", BUILDS[name], epochs=40)
    _, sched, opt = sequence("tapegrad", BUILDS[name], epochs=20)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    opt2 = make_opt("tapegrad")
    sched2 = BUILDS[name](tgs, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    rest = []
    for _ in range(20):
        opt2.step()
        sched2.step()
        rest.append((list(sched2.get_last_lr()), [g["lr"] for g in opt2.param_groups],
                     momenta(opt2)))
    assert straight[21:] == rest


def test_onecycle_past_total_steps_raises():
    for mod, lib, optim in ((tgs, tg, tgo), (torch.optim.lr_scheduler, torch, torch.optim)):
        opt = optim.SGD([lib.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        sched = mod.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(2):
            opt.step()
            sched.step()
        opt.step()
        sched.step()  # step 3 of 3 is fine
        with pytest.raises(ValueError, match="Tried to step 4 times"):
            opt.step()
            sched.step()


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps OR"),
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=2.0), ValueError,
     "pct_start"),
    (lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="zigzag"), ValueError, "mode is invalid"),
    (lambda m, o: m.CyclicLR(o, [0.1], 1.0), ValueError, "same length"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0"),
    (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]), ValueError,
     "one more than the number of milestone"),
    (lambda m, o: m.ChainedScheduler([]), ValueError, "at least one scheduler"),
    (lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o)], []), ValueError,
     "ReduceLROnPlateau"),
])
def test_bad_arguments_raise_like_torch(build, error, match):
    for libname in ("tapegrad", "torch"):
        opt = make_opt(libname)
        with pytest.raises(error, match=match):
            build(LIBS[libname][2], opt)


def test_cyclic_momentum_needs_a_momentum():
    for libname in ("tapegrad", "torch"):
        lib, optim, mod = LIBS[libname]
        opt = optim.Adagrad([lib.zeros(1, requires_grad=True)])
        with pytest.raises(ValueError, match="must support momentum"):
            mod.CyclicLR(opt, 0.1, 1.0)
