"""The numpy-update optimizers (Adadelta, Adafactor, Adamax, ASGD, NAdam, RAdam, Rprop, Muon)
and LBFGS against torch.optim.

Each trajectory: the same least-squares problem in both libraries (weight (3, 4), bias (4,),
and a parameter that never gets a gradient), each library computing its own gradients, 60
steps; the parameters must agree after every step, float64 within rtol 1e-10 and float32
within rtol 1e-4 (atol the same times the largest entry; float32 differs from torch in how
fused multiply-adds round, and the errors compound over steps). The state_dict must have
torch's keys, dtypes and values, and a checkpoint must resume exactly.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import tapegrad as tg
import tapegrad.optim as tgo

LIBS = {"tapegrad": (tg, tgo), "torch": (torch, torch.optim)}
TOL = {"float32": 1e-4, "float64": 1e-10}

RNG = np.random.default_rng(4321)
X = RNG.standard_normal((8, 3))
Y = RNG.standard_normal((8, 4))
W0 = RNG.standard_normal((3, 4))
B0 = RNG.standard_normal(4)


def make_params(lib, dtype):
    dt = getattr(lib, dtype)
    return (lib.tensor(W0, dtype=dt, requires_grad=True),
            lib.tensor(B0, dtype=dt, requires_grad=True),
            lib.tensor(np.ones(2), dtype=dt, requires_grad=True))


def loss_fn(lib, w, b, dtype):
    dt = getattr(lib, dtype)
    pred = lib.tensor(X, dtype=dt) @ w + b
    return ((pred - lib.tensor(Y, dtype=dt)) ** 2).mean()


def trajectory(libname, cls, kwargs, dtype, steps=60, params=None, opt=None):
    lib, optim = LIBS[libname]
    w, b, unused = params if params is not None else make_params(lib, dtype)
    opt = opt if opt is not None else getattr(optim, cls)([w, b, unused], **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_fn(lib, w, b, dtype)
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    np.testing.assert_array_equal(unused.detach().numpy(), np.ones(2))  # never had a grad
    return np.array(out), opt, (w, b, unused)


CASES = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.95, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1, "betas": (0.8, 0.99)}),
    ("ASGD", {"lr": 0.02}),
    ("ASGD", {"lr": 0.02, "lambd": 0.1, "t0": 10, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.006}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-6}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.002, "etas": (0.4, 1.5), "step_sizes": (1e-5, 0.05)}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "weight_decay": 0.1, "d": 1.5, "beta2_decay": -1.0}),
    ("LBFGS", {"lr": 0.1, "max_iter": 4}),
    ("LBFGS", {"line_search_fn": "strong_wolfe", "max_iter": 3, "history_size": 4}),
]
IDS = [f"{c}-{k}" for c, k in CASES]


def compare(a, b, dtype):
    rtol = TOL[dtype]
    for step, (x, y) in enumerate(zip(a, b, strict=True)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(),
                                   err_msg=f"step {step + 1}")


def state_arrays(value):
    if isinstance(value, (list, tuple)):
        return [state_arrays(v) for v in value]
    if isinstance(value, (tg.Tensor, torch.Tensor)):
        return value.detach().numpy()
    return value


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_trajectory_and_state_match_torch(cls, kwargs, dtype):
    steps = 10 if cls == "LBFGS" else 60
    a, opt, _ = trajectory("tapegrad", cls, kwargs, dtype, steps)
    b, topt, _ = trajectory("torch", cls, kwargs, dtype, steps)
    assert a.dtype == np.dtype(dtype)
    compare(a, b, dtype)
    assert np.abs(a[-1] - a[0]).max() > 1e-3, "the parameters barely moved"
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["param_groups"] == tsd["param_groups"]
    assert sd["state"].keys() == tsd["state"].keys()
    for idx, st in sd["state"].items():
        assert sorted(st) == sorted(tsd["state"][idx])
        for key, value in st.items():
            if cls == "LBFGS" and (dtype == "float32" or key in ("al", "ro", "H_diag", "t",
                                                                 "prev_loss")):
                # scalars: torch keeps 0-d tensors, tapegrad floats; float32: near the
                # optimum the direction is rounding noise (the path itself agrees)
                continue
            ref = state_arrays(tsd["state"][idx][key])
            got = state_arrays(value)
            if isinstance(ref, list):
                assert len(got) == len(ref), key
                continue
            got, ref = np.asarray(got), np.asarray(ref)
            assert got.dtype == ref.dtype and got.shape == ref.shape, key
            np.testing.assert_allclose(got, ref, rtol=TOL[dtype] * 10,
                                       atol=TOL[dtype] * 10 * max(np.abs(ref).max(), 1e-30),
                                       err_msg=key)


NOT_LBFGS = [(c, k) for c, k in CASES if c != "LBFGS"]  # LBFGS has no maximize option


@pytest.mark.parametrize(("cls", "kwargs"), NOT_LBFGS, ids=[f"{c}-{k}" for c, k in NOT_LBFGS])
def test_maximize_is_minimizing_the_negation(cls, kwargs):
    """``maximize=True`` on -loss follows the same path as minimizing loss (torch's
    definition: the gradient is negated before the update)."""
    plain, _, _ = trajectory("tapegrad", cls, kwargs, "float64", steps=10)
    lib, optim = tg, tgo
    w, b, unused = make_params(lib, "float64")
    opt = getattr(optim, cls)([w, b, unused], maximize=True, **kwargs)
    out = []
    for _ in range(10):
        opt.zero_grad()
        (-loss_fn(lib, w, b, "float64")).backward()
        opt.step()
        out.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    np.testing.assert_allclose(np.array(out), plain, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("cls", "kwargs"), CASES, ids=IDS)
def test_resume_from_state_dict(cls, kwargs):
    """5 steps, checkpoint (deep-copied), fresh parameters + optimizer, load, 5 more ==
    10 straight: exactly, except that loading casts ASGD's ``eta``/``mu`` and NAdam's
    ``mu_product`` (float32 scalars) to the parameter's float64, as torch's
    load_state_dict does, so the rest of the path rounds them less (~1e-11)."""
    straight, _, _ = trajectory("tapegrad", cls, kwargs, "float64", steps=10)
    first, opt, params = trajectory("tapegrad", cls, kwargs, "float64", steps=5)
    saved = copy.deepcopy(opt.state_dict())
    fresh = tuple(tg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params)
    opt2 = getattr(tgo, cls)(list(fresh), **kwargs)
    opt2.load_state_dict(saved)
    rest, _, _ = trajectory("tapegrad", cls, kwargs, "float64", steps=5, params=fresh,
                            opt=opt2)
    tol = 1e-9 if cls in ("ASGD", "NAdam") else 0
    np.testing.assert_allclose(np.concatenate([first, rest]), straight, rtol=tol, atol=tol)
    if cls in ("ASGD", "NAdam"):
        key = "eta" if cls == "ASGD" else "mu_product"
        assert opt2.state[fresh[0]][key].dtype == tg.float64  # torch casts the same way


MUON_CASES = [
    ((5, 3), {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.9}),
    ((3, 6), {"lr": 0.02, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"}),
    ((7, 2), {"lr": 0.05, "ns_steps": 6, "ns_coefficients": (3.4, -4.7, 2.0)}),
]


@pytest.mark.parametrize(("shape", "kwargs"), MUON_CASES, ids=[str(c) for c in MUON_CASES])
def test_muon_matches_torch_on_matrices(shape, kwargs):
    """Muon (2-d weights only) against torch, 10 steps in float64. torch runs Newton-Schulz
    in bfloat16; tapegrad rounds each product to bfloat16 the same way (numpy has no
    bfloat16), so on these small matrices the paths agree to 1e-12."""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((16, shape[0])), rng.standard_normal((16, shape[1]))
    w0 = rng.standard_normal(shape)
    paths = {}
    for name, lib, optim in (("tg", tg, tgo), ("torch", torch, torch.optim)):
        w = lib.tensor(w0.copy(), requires_grad=True)
        opt = optim.Muon([w], **kwargs)
        out = []
        for _ in range(10):
            opt.zero_grad()
            ((lib.tensor(x) @ w - lib.tensor(y)) ** 2).mean().backward()
            opt.step()
            out.append(w.detach().numpy().copy())
        paths[name] = np.array(out)
    np.testing.assert_allclose(paths["tg"], paths["torch"], atol=1e-12, rtol=1e-12)
    assert np.abs(paths["tg"][-1] - w0).max() > 0.05  # it moved


def test_muon_state_dict_resumes():
    """Muon keeps no step counter; its checkpoint loads and continues exactly."""
    rng = np.random.default_rng(2)
    x, w0 = rng.standard_normal((8, 4)), rng.standard_normal((4, 3))

    def run(w, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((tg.tensor(x) @ w) ** 2).mean().backward()
            opt.step()
        return w.detach().numpy().copy()

    w = tg.tensor(w0, requires_grad=True)
    straight = run(w, tgo.Muon([w], lr=0.02, nesterov=False), 6)
    w = tg.tensor(w0, requires_grad=True)
    opt = tgo.Muon([w], lr=0.02, nesterov=False)
    run(w, opt, 3)
    w2 = tg.tensor(w.detach().numpy().copy(), requires_grad=True)
    opt2 = tgo.Muon([w2], lr=0.5)
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    assert list(opt2.state[w2]) == ["momentum_buffer"]
    np.testing.assert_array_equal(run(w2, opt2, 3), straight)


def test_newton_schulz_orthogonalises():
    """The orthogonalised update has singular values near 1 (in [0.5, 1.5], the quintic's
    documented band) whatever the input's spread of singular values."""
    from tapegrad.optim.muon import NS_COEFFICIENTS, newton_schulz, to_bfloat16

    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    v, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    g = u[:, :4] @ np.diag([100.0, 3.0, 0.5, 0.01]) @ v.T
    s = np.linalg.svd(newton_schulz(g, NS_COEFFICIENTS, 5, 1e-7).astype(np.float64),
                      compute_uv=False)
    assert s.max() < 1.5 and s[:3].min() > 0.5, s
    # bfloat16 rounding: 8 significant bits, ties to even, as torch.bfloat16
    vals = np.array([1.0 + 2**-8, 1.0 + 3 * 2**-8, 3.14159, -2.5e-3, 1e30], np.float32)
    np.testing.assert_array_equal(
        to_bfloat16(vals), torch.tensor(vals).bfloat16().float().numpy())


def test_muon_rejects_non_matrices_like_torch():
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        tgo.Muon([tg.zeros(3, requires_grad=True)])
    with pytest.raises(ValueError, match="not supported"):
        tgo.Muon([tg.zeros(3, 3, requires_grad=True)], adjust_lr_fn="bad")


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    ("Adadelta", {"rho": 1.5}, "Invalid rho value"),
    ("Adamax", {"betas": (1.0, 0.9)}, "Invalid beta parameter at index 0"),
    ("NAdam", {"momentum_decay": -1.0}, "Invalid momentum_decay value"),
    ("RAdam", {"weight_decay": -1.0}, "Invalid weight_decay value"),
    ("Rprop", {"etas": (1.5, 1.2)}, "Invalid eta values"),
    ("Adafactor", {"d": 0.5}, "Clipping threshold d"),
    ("ASGD", {"lr": -1.0}, "Invalid learning rate"),
    ("LBFGS", {"lr": -1.0}, "Invalid learning rate"),
])
def test_bad_hyperparameters_raise_like_torch(cls, kwargs, message):
    for lib, optim in ((tg, tgo), (torch, torch.optim)):
        with pytest.raises(ValueError, match=message):
            getattr(optim, cls)([lib.zeros(2, 2, requires_grad=True)], **kwargs)


def test_lbfgs_needs_one_group_and_a_closure():
    w = tg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        tgo.LBFGS([{"params": [w]}, {"params": [tg.zeros(2, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        tgo.LBFGS([w]).step(None)
