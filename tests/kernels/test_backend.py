"""`tapegrad.kernels.on(array)`: one backend object per device, every family's kernels on it."""

from __future__ import annotations

import numpy as np
import pytest

from tapegrad import kernels


def test_families_share_no_kernel_name_and_every_kernel_is_reachable():
    seen: dict[str, str] = {}
    for module in kernels.REFERENCE.modules():
        for name in module.__all__:
            assert name not in seen, f"{name} is in {seen.get(name)} and {module.__name__}"
            seen[name] = module.__name__
            assert getattr(kernels.REFERENCE, name) is getattr(module, name)


@pytest.mark.parametrize("backend", [kernels.NUMBA, kernels.CUDA], ids=lambda b: b.name)
def test_every_backend_has_the_reference_kernels(backend):
    """The numba and CUDA backends implement exactly the reference API, family by family."""
    for ours, ref in zip(backend.modules(), kernels.REFERENCE.modules(), strict=True):
        assert sorted(ours.__all__) == sorted(ref.__all__), ours.__name__
        for name in ref.__all__:
            assert callable(getattr(backend, name))


def test_on_picks_the_device_backend_and_unknown_kernels_say_so():
    assert kernels.on(np.zeros(3)) is kernels.CPU
    assert kernels.CPU is (kernels.NUMBA if kernels.jit_enabled() else kernels.REFERENCE)
    with pytest.raises(AttributeError, match="the reference backend has no kernel 'fft'"):
        kernels.REFERENCE.fft  # noqa: B018
