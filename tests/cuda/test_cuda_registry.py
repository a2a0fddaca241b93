"""Every registered op on ``device="cuda"``, compared with the CPU backend.

The CPU backend is checked against torch in ``tests/test_registry_ops.py``; here each op's
samples run on CUDA tensors (numba's simulator in CI) and must give the CPU's outputs and
gradients: every sample in float64 with contiguous inputs, and each op's first two samples in
float32 with transposed, strided inputs (the simulator is slow; the float32 layouts add
little beyond what the first samples show).
"""

from __future__ import annotations

import pytest

from tapegrad.ops import registry
from tapegrad.testing.device_check import check_sample_on_device
from tapegrad.testing.registry_check import samples_of


def _cases() -> list:
    cases = []
    for op in registry.all_ops():
        for i, (name, sample) in enumerate(samples_of(op)):
            cases.append(pytest.param(op, name, sample, "float64", False,
                                      id=f"{op.name}-{name}-float64-contig"))
            if op.noncontiguous and i < 2:
                cases.append(pytest.param(op, name, sample, "float32", True,
                                          id=f"{op.name}-{name}-float32-noncontig"))
    return cases


@pytest.mark.parametrize(("op", "name", "sample", "dtype", "noncontig"), _cases())
def test_op_on_cuda_matches_cpu(op, name, sample, dtype, noncontig):
    result = check_sample_on_device(op, sample, dtype, noncontig, name, device="cuda")
    assert result.passed, result.message
