"""The 3-d convolutions and pools, interpolation, grid sampling and fold/unfold on a CUDA
tensor (numba's simulator in CI): same values and gradients as on the CPU, results and
gradients on the tensor's device. Their window tables are computed on the host; every array
that meets the tensor is moved to its device first."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad
import tapegrad.nn.functional as F
from tapegrad.kernels.cuda import available

if not available():
    pytest.skip("CUDA (or numba's simulator) is not available", allow_module_level=True)

CALLS = {
    "conv3d": lambda x, lib: F.conv3d(x, lib(np.linspace(-1, 1, 4 * 3 * 8).reshape(4, 3, 2, 2, 2))),
    "conv_transpose3d": lambda x, lib: F.conv_transpose3d(
        x, lib(np.linspace(-1, 1, 3 * 2 * 8).reshape(3, 2, 2, 2, 2)), stride=2),
    "max_pool3d": lambda x, lib: F.max_pool3d(x, 2, padding=1),
    "avg_pool3d": lambda x, lib: F.avg_pool3d(x, 2, ceil_mode=True),
    "adaptive_max_pool3d": lambda x, lib: F.adaptive_max_pool3d(x, 3),
    "unpool": lambda x, lib: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True), 2,
                                            output_size=x.shape[2:]),
    "trilinear": lambda x, lib: F.interpolate(x, scale_factor=1.5, mode="trilinear"),
    "grid_sample": lambda x, lib: F.grid_sample(
        x, lib(np.linspace(-1.2, 1.2, 2 * 2 * 3 * 2 * 3).reshape(2, 2, 3, 2, 3)),
        align_corners=False),
    "unfold": lambda x, lib: F.unfold(x[:, :, 0], 2, padding=1),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_op_on_cuda_matches_cpu(rng, name):
    a = rng.standard_normal((2, 3, 4, 5, 4))
    results = []
    for device in ("cpu", "cuda"):
        def lib(arr, device=device):
            return tapegrad.tensor(arr).to(device)

        x = lib(a).requires_grad_()
        out = CALLS[name](x, lib)
        out.pow(2).sum().backward()
        assert out.device.type == device and x.grad.device.type == device
        results.append((out.detach().cpu().numpy(), x.grad.cpu().numpy()))
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
