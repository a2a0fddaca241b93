"""The numpy-update optimizers and LBFGS on CUDA parameters equal the same run on the CPU;
the random samplers draw on the host and land on the device.

Their updates are numpy expressions: on CUDA arrays most dispatch to tapegrad's CUDA
kernels through numpy's ufunc protocol; Adafactor and Muon (norms, bfloat16 matrix
products) update a host copy and write it back. 5 steps on a (3, 2) weight, float64, must
agree to 1e-12 (LBFGS: to rounding, its dot products sum in another order).
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.kernels.cuda import available

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)

W0 = np.random.default_rng(0).standard_normal((3, 2))
CASES = {"Adadelta": {}, "Adamax": {"weight_decay": 0.1}, "ASGD": {"t0": 1},
         "NAdam": {"weight_decay": 0.1}, "RAdam": {"lr": 0.1}, "Rprop": {},
         "Adafactor": {"weight_decay": 0.1}, "Muon": {"lr": 0.05}, "LBFGS": {"max_iter": 3}}


def run(name, device):
    w = tg.tensor(W0, device=device, requires_grad=True)
    opt = getattr(tg.optim, name)([w], **CASES[name])

    def closure():
        opt.zero_grad()
        loss = (w.sin() * w).sum()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    return w, opt


@pytest.mark.parametrize("name", list(CASES))
def test_cuda_step_equals_cpu_step(name):
    w_cpu, _ = run(name, "cpu")
    w_gpu, opt = run(name, "cuda")
    assert w_gpu.device.type == "cuda"
    np.testing.assert_allclose(w_gpu.detach().cpu().numpy(), w_cpu.detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    assert np.abs(w_cpu.detach().numpy() - W0).max() > 1e-3  # it moved
    for key, value in opt.state[w_gpu].items():  # the state stays where the weight is
        if isinstance(value, tg.Tensor) and value.dim() > 0:
            assert value.device.type == "cuda", key


@pytest.mark.parametrize("call", [
    lambda: tg.zeros(4, device="cuda").normal_(),
    lambda: tg.zeros(4, device="cuda").uniform_(2, 3),
    lambda: tg.zeros(4, device="cuda").bernoulli_(tg.full((4,), 0.5, device="cuda")),
    lambda: tg.bernoulli(tg.full((3,), 0.5, device="cuda")),
    lambda: tg.normal(tg.zeros(3, device="cuda"), 1.0),
    lambda: tg.normal(0.0, 1.0, (2,), device="cuda"),
    lambda: tg.multinomial(tg.ones(3, device="cuda"), 2),
    lambda: tg.randint_like(tg.zeros(4, device="cuda"), 5),
], ids=["normal_", "uniform_", "bernoulli_", "bernoulli", "normal", "normal-size",
        "multinomial", "randint_like"])
def test_sampling_on_cuda_stays_on_cuda(call):
    """Draws come from the host generator (same numbers as on the CPU for the same seed)
    and land on the device."""
    tg.manual_seed(5)
    out = call()
    assert out.device.type == "cuda"
    values = out.cpu().numpy()
    assert np.isfinite(values).all()
    tg.manual_seed(5)
    np.testing.assert_array_equal(call().cpu().numpy(), values)  # seeded: repeatable
