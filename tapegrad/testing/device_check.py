"""The CPU backend as the oracle of the CUDA backend.

`check_sample_on_device` runs one registered op's sample twice with tapegrad -- once on CPU
tensors, once on CUDA tensors holding the same values -- feeds the same upstream gradient into
both backward passes, and compares the outputs and every input's ``.grad``. The CPU backend is
itself checked against torch (`registry_check`), so agreement here carries torch's authority
over to the GPU kernels without needing torch on the GPU.

Non-contiguous mode gives the CUDA side transposed, strided copies of the inputs (the CPU side
stays contiguous), so a GPU kernel that assumes C order fails.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

import tapegrad
from tapegrad.ops.registry import OpInfo, Sample
from tapegrad.testing.oracle import make_noncontiguous
from tapegrad.testing.registry_check import _cast, _grad_flags

#: (atol, rtol) per dtype: the two backends sum in different orders, nothing more.
DEVICE_TOL = {"float64": (1e-10, 1e-8), "float32": (2e-5, 2e-4)}


@dataclass
class DeviceResult:
    op: str
    sample: str
    dtype: str
    noncontiguous: bool
    passed: bool
    message: str = ""


def _leaf(tapegrad: Any, x: Any, flag: bool, device: str, noncontiguous: bool) -> Any:
    """A tapegrad leaf on ``device`` (lists of arrays become lists of leaves)."""
    if isinstance(x, (list, tuple)) and any(isinstance(e, np.ndarray) for e in x):
        return type(x)(_leaf(tapegrad, e, flag, device, noncontiguous) for e in x)
    if not isinstance(x, np.ndarray):
        return x
    t = tapegrad.from_numpy(x.copy())
    if device != "cpu":
        t = t.to(device)
        if noncontiguous and x.ndim >= 1 and x.size > 1:
            # the same values through a transposed, strided device view
            base = tapegrad.from_numpy(make_noncontiguous(x).transpose().copy()).to(device)
            t = base.permute(*range(x.ndim - 1, -1, -1))
    if flag and x.dtype.kind == "f":
        t = t.detach().requires_grad_(True)
    return t


def _leaves(args: Any) -> list:
    out = []
    for a in args:
        if isinstance(a, (list, tuple)):
            out.extend(_leaves(a))
        elif hasattr(a, "requires_grad") and a.requires_grad:
            out.append(a)
    return out


def _outputs(result: Any) -> list:
    if isinstance(result, tapegrad.Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [r for r in result if isinstance(r, tapegrad.Tensor)]
    return []


def _host(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy()


def _compare(label: str, got: np.ndarray, want: np.ndarray, dtype: str) -> str | None:
    atol, rtol = DEVICE_TOL.get(dtype, DEVICE_TOL["float32"])
    if got.shape != want.shape or got.dtype != want.dtype:
        return (f"{label}: cuda gave shape {got.shape} {got.dtype}, cpu gave "
                f"{want.shape} {want.dtype}")
    if got.dtype.kind in "fc":
        ok = np.allclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    else:
        ok = np.array_equal(got, want)
    if ok:
        return None
    diff = np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))) if got.size else 0
    return f"{label}: cuda and cpu differ (max abs diff {diff:.3g})\ncuda {got}\ncpu  {want}"


def check_sample_on_device(opinfo: OpInfo, sample: Sample, dtype: str = "float64",
                           noncontiguous: bool = False, name: str = "sample",
                           device: str = "cuda") -> DeviceResult:
    """Compare one sample of ``opinfo`` on ``device`` with the CPU backend; never raises."""
    args = tuple(_cast(a, dtype) for a in sample.args)
    kwargs = {k: _cast(v, dtype) for k, v in sample.kwargs.items()}
    flags = _grad_flags(opinfo, sample)
    failures: list[str] = []
    try:
        runs = []
        for dev in ("cpu", device):
            xs = [_leaf(tapegrad, a, f, dev, noncontiguous) for a, f in zip(args, flags,
                                                                          strict=True)]
            opts = {k: tapegrad.from_numpy(v.copy()).to(dev) if isinstance(v, np.ndarray)
                    else v for k, v in kwargs.items()}
            outs = _outputs(opinfo.call(tapegrad, *xs, **opts))
            leaves = _leaves(xs)
            runs.append((outs, leaves))
        (cpu_outs, cpu_leaves), (dev_outs, dev_leaves) = runs
        if len(cpu_outs) != len(dev_outs):
            failures.append(f"{len(dev_outs)} outputs on {device}, {len(cpu_outs)} on cpu")
        for i, (got, want) in enumerate(zip(dev_outs, cpu_outs, strict=False)):
            if got.device.type != device:
                failures.append(f"output {i} is on {got.device}, not {device}")
            problem = _compare(f"output {i}", _host(got), _host(want), dtype)
            if problem:
                failures.append(problem)
        differentiable = [(g, w) for g, w in zip(dev_outs, cpu_outs, strict=False)
                          if w.requires_grad and w.dtype.is_floating_point]
        if opinfo.differentiable and differentiable and cpu_leaves and not failures:
            rng = np.random.default_rng(1)
            dev_roots, cpu_roots, seeds_dev, seeds_cpu = [], [], [], []
            for got, want in differentiable:
                seed = rng.standard_normal(want.shape).astype(want.dtype.numpy)
                cpu_roots.append(want)
                dev_roots.append(got)
                seeds_cpu.append(tapegrad.from_numpy(seed.copy()))
                seeds_dev.append(tapegrad.from_numpy(seed.copy()).to(device))
            tapegrad.autograd.backward(cpu_roots, seeds_cpu)
            tapegrad.autograd.backward(dev_roots, seeds_dev)
            for k, (g, w) in enumerate(zip(dev_leaves, cpu_leaves, strict=True)):
                if (w.grad is None) != (g.grad is None):
                    failures.append(f"grad {k}: None on one device only")
                elif w.grad is not None:
                    if g.grad.device.type != device:
                        failures.append(f"grad {k} is on {g.grad.device}, not {device}")
                    problem = _compare(f"grad {k}", _host(g.grad), _host(w.grad), dtype)
                    if problem:
                        failures.append(problem)
    except Exception:
        failures.append("raised:\n" + traceback.format_exc(limit=-6))
    return DeviceResult(opinfo.name, name, dtype, noncontiguous, not failures,
                        "\n\n".join(failures) or "ok")
