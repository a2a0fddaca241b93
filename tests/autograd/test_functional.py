"""tapegrad.autograd.functional against torch.autograd.functional, in float64.

Every function is compared with torch's on the same inputs (values to 1e-12), over the four
input/output structures (tensor or tuple in, tensor or tuple out), with create_graph=True
(the result must be differentiable: its gradient is compared too), with strict=True (the
same RuntimeError for an output independent of an input) and with the argument errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import tapegrad as tg
from tapegrad.autograd import functional as F

RNG = np.random.default_rng(11)
A = RNG.standard_normal((3, 2))
B = RNG.standard_normal(2)
VA = RNG.standard_normal((3, 2))
VB = RNG.standard_normal(2)


def both(*arrays):
    return tuple(tg.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


def close(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            close(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12,
                               atol=1e-12)


FUNCS = {  # name: (function, number of inputs)
    "tensor->tensor": (lambda x: (x.sin() * x).sum(1) ** 2, 1),
    "tensor->tuple": (lambda x: (x.exp().sum(), x.cos() * 3), 1),
    "tuple->tensor": (lambda x, y: (x * y).tanh() @ y, 2),
    "tuple->tuple": (lambda x, y: ((x * y).sin().sum(0) * y.exp(), (x**2).sum()), 2),
}
SCALAR_FUNCS = {
    "tensor": (lambda x: (x.sin() * x.cos().sum()).sum() ** 2, 1),
    "tuple": (lambda x, y: ((x.sin() @ y) ** 3).sum() + (y**4).sum() * x.sum(), 2),
}


def args(n):
    tg_in, t_in = both(A, B)
    if n == 1:
        return tg_in[0], t_in[0]
    return tg_in, t_in


def vectors(n):
    tg_v, t_v = both(VA, VB)
    if n == 1:
        return tg_v[0], t_v[0]
    return tg_v, t_v


@pytest.mark.parametrize("name", list(FUNCS))
def test_jacobian(name):
    fn, n = FUNCS[name]
    x, tx = args(n)
    close(F.jacobian(fn, x), TF.jacobian(fn, tx))
    close(F.jacobian(fn, x, vectorize=True), TF.jacobian(fn, tx, vectorize=True))


@pytest.mark.parametrize("name", list(FUNCS))
def test_jvp_and_vjp(name):
    fn, n = FUNCS[name]
    x, tx = args(n)
    v, tv = vectors(n)
    close(F.jvp(fn, x, v), TF.jvp(fn, tx, tv))
    out = TF.jvp(fn, tx, tv)[0]  # a cotangent shaped like the outputs
    cot = tuple(o * 0.5 + 1 for o in out) if isinstance(out, tuple) else out * 0.5 + 1
    tg_cot = tuple(tg.tensor(c.numpy()) for c in cot) if isinstance(cot, tuple) \
        else tg.tensor(cot.numpy())
    close(F.vjp(fn, x, tg_cot), TF.vjp(fn, tx, cot))


@pytest.mark.parametrize("name", list(SCALAR_FUNCS))
@pytest.mark.parametrize("which", ["hessian", "vhp", "hvp"])
def test_hessian_vhp_hvp(name, which):
    fn, n = SCALAR_FUNCS[name]
    x, tx = args(n)
    if which == "hessian":
        close(F.hessian(fn, x), TF.hessian(fn, tx))
    else:
        v, tv = vectors(n)
        close(getattr(F, which)(fn, x, v), getattr(TF, which)(fn, tx, tv))


def test_vhp_equals_hvp_for_a_smooth_function():
    fn, _ = SCALAR_FUNCS["tuple"]
    (x, y), _ = both(A, B)
    v, _ = both(VA, VB)
    close(F.vhp(fn, (x, y), v)[1], F.hvp(fn, (x, y), v)[1])


@pytest.mark.parametrize("which", ["jacobian", "hessian", "vjp", "jvp", "vhp", "hvp"])
def test_create_graph_results_are_differentiable(which):
    """With create_graph=True the result depends on the inputs through the graph: the
    gradient of (result · weights).sum() with respect to the original input matches
    torch's (a third derivative for hvp)."""
    fn, _ = SCALAR_FUNCS["tensor"] if which in ("hessian", "vhp", "hvp") else FUNCS[
        "tensor->tensor"]
    results = {}
    for lib, mod in ((tg, F), (torch, TF)):
        x = lib.tensor(A, requires_grad=True)
        v = lib.tensor(VA)
        if which in ("jacobian", "hessian"):
            r = getattr(mod, which)(fn, x, create_graph=True)
        elif which == "vjp":
            r = mod.vjp(fn, x, lib.tensor(np.arange(3.0)), create_graph=True)[1]
        else:
            r = getattr(mod, which)(fn, x, v, create_graph=True)[1]
        assert r.requires_grad
        weights = lib.tensor(np.linspace(-1, 1, r.numel()).reshape(tuple(r.shape)))
        (g,) = (torch.autograd if lib is torch else tg.autograd).grad((r * weights).sum(), x)
        results[lib.__name__] = (r, g)
    close(results["tapegrad"][0], results["torch"][0])
    close(results["tapegrad"][1], results["torch"][1])


def test_results_are_detached_without_create_graph():
    x = tg.tensor(A, requires_grad=True)
    out, g = F.vjp(lambda t: (t**2).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    assert not F.jacobian(lambda t: t.exp(), x).requires_grad
    np.testing.assert_allclose(g.numpy(), 2 * A)  # v defaults to 1: the gradient


def test_independent_input_gives_zeros_or_raises_in_strict_mode():
    def fn(x, y):
        return x.sin()

    (x, y), (tx, ty) = both(A, B)
    close(F.jacobian(fn, (x, y)), TF.jacobian(fn, (tx, ty)))
    assert not F.jacobian(fn, (x, y))[1].numpy().any()
    for mod, inputs in ((F, (x, y)), (TF, (tx, ty))):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            mod.jacobian(fn, inputs, strict=True)
        with pytest.raises(RuntimeError, match="independent of input 1"):
            mod.vjp(fn, inputs, inputs[0], strict=True)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda m, lib: m.vjp(lambda x: x * 2, lib.tensor(A)), RuntimeError,
     "v can only be None"),
    (lambda m, lib: m.jvp(lambda x: x * 2, lib.tensor(A)), RuntimeError,
     "v can only be None"),
    (lambda m, lib: m.jvp(lambda x: x * 2, lib.tensor(A), lib.tensor(B)), RuntimeError,
     "v has invalid size"),
    (lambda m, lib: m.jacobian(lambda x: x * 2, 3.0), TypeError,
     "must be either a Tensor or a tuple of Tensors"),
    (lambda m, lib: m.jacobian(lambda x: 3.0, lib.tensor(A)), TypeError,
     "must be either a Tensor or a tuple of Tensors"),
    (lambda m, lib: m.hessian(lambda x: x * 2, lib.tensor(A)), RuntimeError,
     "should contain a single element"),
    (lambda m, lib: m.vhp(lambda x: x.sum(), (lib.tensor(A), lib.tensor(B)), lib.tensor(A)),
     RuntimeError, "v is a tuple of invalid length"),
])
def test_argument_errors_match_torch(call, error, match):
    for mod, lib in ((F, tg), (TF, torch)):
        with pytest.raises(error, match=match):
            call(mod, lib)
