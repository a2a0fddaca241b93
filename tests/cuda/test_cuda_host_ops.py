"""Ops computed on the host (`tapegrad.ops.host.computed_on_host`) accept GPU tensors: the
result and the gradient come back on the GPU and equal the CPU run's."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.kernels.cuda import available

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)

CASES = {
    "sort": lambda x: tg.sort(x, descending=True).values,
    "topk": lambda x: x.topk(2, dim=0).values,
    "median": lambda x: x.median(1).values,
    "quantile": lambda x: tg.quantile(x, tg.tensor([0.2, 0.7], dtype=x.dtype,
                                                   device=x.device), dim=1),
    "cumprod": lambda x: tg.cumprod(x, 1),
    "cummax": lambda x: tg.cummax(x, 0).values,
    "logcumsumexp": lambda x: tg.logcumsumexp(x, 1),
    "inv": lambda x: tg.linalg.inv(x[:, :3] + 3 * tg.eye(3, device=x.device)),
    "det": lambda x: tg.linalg.det(x[:, :3]),
    "nuc": lambda x: tg.linalg.matrix_norm(x, "nuc"),
    "pdist": lambda x: tg.nn.functional.pdist(x),
    "cdist": lambda x: tg.cdist(x, x * 2),
    "cov": lambda x: tg.cov(x),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_host_op_on_the_gpu_matches_the_cpu(name):
    a = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for device in ("cpu", "cuda"):
        x = tg.tensor(a, device=device, requires_grad=True)
        y = CASES[name](x)
        assert y.device.type == device
        y.sum().backward()
        assert x.grad.device.type == device
        results.append((y.detach().cpu().numpy(), x.grad.cpu().numpy()))
    (y0, g0), (y1, g1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g1, g0, rtol=1e-12, atol=1e-12)
