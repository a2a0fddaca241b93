"""Check every registered op against torch (the engine of ``tapegrad check`` and of
``tests/test_registry_ops.py``).

For one op, one sample, one dtype and one memory layout, `check_sample` runs:

1. forward: the op's ``call`` with tapegrad and with torch on the same values;
2. backward: the same random upstream gradient into both, then every input's ``.grad``;
3. in float64 with contiguous inputs: `gradcheck` (if ``opinfo.gradcheck``) and
   `gradgradcheck` (if ``opinfo.gradgradcheck``), so the backward is proven right on its
   own, not only equal to torch's.

Non-contiguous mode feeds both libraries transposed, strided copies of the same values:
kernels that silently assume C order fail there.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

import tapegrad
from tapegrad.ops import registry
from tapegrad.ops.registry import OpInfo, Sample
from tapegrad.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tapegrad.testing.oracle import OracleMismatch, compare_with_torch

DTYPES = ("float64", "float32")
# torch comparison in float64: rounding differences only
FLOAT64_TOL = dict(atol=1e-10, rtol=1e-7)
# Inputs bigger than this are gradchecked in fast mode (random directions) to stay quick;
# gradgradcheck evaluates a forward *and* a backward per nudge, so its limit is lower.
GRADCHECK_FULL_MAX = 64
GRADGRADCHECK_FULL_MAX = 16
SAMPLE_SEED = 0


@dataclass
class Result:
    """The outcome of one (op, sample, dtype, layout) check."""

    op: str
    sample: str
    dtype: str
    noncontiguous: bool
    forward_error: float | None
    grad_error: float | None
    passed: bool
    message: str = ""

    def __repr__(self) -> str:  # short: pytest shows it next to the full message
        return f"Result({self.id}: {'ok' if self.passed else 'FAIL'})"

    @property
    def id(self) -> str:
        """``mul-broadcast rhs-float32-noncontig``: the pytest id and CLI row name."""
        layout = "noncontig" if self.noncontiguous else "contig"
        return f"{self.op}-{self.sample}-{self.dtype}-{layout}"


def samples_of(opinfo: OpInfo) -> list[tuple[str, Sample]]:
    """The op's samples (always drawn with the same seed) with unique, readable names."""
    named: list[tuple[str, Sample]] = []
    seen: dict[str, int] = {}
    for i, s in enumerate(opinfo.samples(np.random.default_rng(SAMPLE_SEED))):
        name = s.name or f"sample{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}#{seen[name]}"
        else:
            seen[name] = 0
        named.append((name, s))
    return named


def _cast(x, dtype: str):
    """Floating arrays to ``dtype``, integer arrays to int64; lists converted inside.

    numpy scalars (``np.abs(rng.standard_normal(()))`` is one) count as 0-d arrays: only
    Python numbers stay numbers."""
    if isinstance(x, np.generic) and x.dtype.kind in "fiub":
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            return x.astype(dtype)
        if x.dtype.kind in "iu":
            return x.astype(np.int64)
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, np.ndarray) for e in x):
        return type(x)(_cast(e, dtype) for e in x)
    return x


def _grad_flags(opinfo: OpInfo, sample: Sample) -> list[bool]:
    if not opinfo.differentiable:
        return [False] * len(sample.args)
    return [True if sample.grad is None else bool(sample.grad[i])
            for i in range(len(sample.args))]


def _fmt(e: float | None) -> str:
    return "-" if e is None else f"{e:.2g}"


def _gradcheck_inputs(args: tuple, flags: list[bool]):
    """float64 tapegrad leaves for gradcheck; returns (flat inputs, rebuild function)."""
    flat, layout = [], []
    for x, flag in zip(args, flags, strict=True):
        if isinstance(x, (list, tuple)) and any(isinstance(e, np.ndarray) for e in x):
            layout.append((type(x), len(x)))
            for e in x:
                flat.append(_leaf(tapegrad, e, flag))
        else:
            layout.append(None)
            flat.append(_leaf(tapegrad, x, flag))

    def rebuild(*xs):
        out, k = [], 0
        for spec in layout:
            if spec is None:
                out.append(xs[k])
                k += 1
            else:
                kind, n = spec
                out.append(kind(xs[k:k + n]))
                k += n
        return out

    return flat, rebuild


def _leaf(tapegrad, x, flag: bool):
    if not isinstance(x, np.ndarray):
        return x
    t = tapegrad.from_numpy(x.copy())
    if flag and x.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def check_sample(opinfo: OpInfo, sample: Sample, dtype: str = "float64",
                 noncontiguous: bool = False, name: str | None = None) -> Result:
    """Every check of one sample; never raises (failures are in the Result)."""
    name = name or sample.name or "sample"
    args = tuple(_cast(a, dtype) for a in sample.args)
    flags = _grad_flags(opinfo, sample)
    if dtype == "float64":
        tol = dict(FLOAT64_TOL, grad_atol=FLOAT64_TOL["atol"], grad_rtol=FLOAT64_TOL["rtol"])
    else:
        tol = dict(atol=opinfo.float32_atol, rtol=opinfo.float32_rtol,
                   grad_atol=opinfo.float32_grad_atol, grad_rtol=opinfo.float32_grad_rtol)
    kwargs = {k: _cast(v, dtype) for k, v in sample.kwargs.items()}
    failures: list[str] = []
    fwd = grd = None

    def call(lib, *xs):
        # arrays among the options (an index, a mask) become constant tensors of ``lib``
        opts = {k: lib.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v
                for k, v in kwargs.items()}
        return opinfo.call(lib, *xs, **opts)

    try:
        res = compare_with_torch(call, *args, grad=opinfo.differentiable, requires_grad=flags,
                                 names=[f"arg{i}" for i in range(len(args))],
                                 noncontiguous=noncontiguous, **tol)
        fwd, grd = res.max_forward_error, res.max_grad_error
    except OracleMismatch as exc:
        fwd, grd = exc.result.max_forward_error, exc.result.max_grad_error
        failures.append(str(exc))
    except Exception:
        failures.append("comparison with torch raised:\n" + traceback.format_exc(limit=-4))

    wants_grad = opinfo.differentiable and any(
        f and _has_floating(a) for a, f in zip(args, flags, strict=True))
    if dtype == "float64" and not noncontiguous and wants_grad and not failures:
        for enabled, check, label, full_max in (
                (opinfo.gradcheck, gradcheck, "gradcheck", GRADCHECK_FULL_MAX),
                (opinfo.gradgradcheck, gradgradcheck, "gradgradcheck", GRADGRADCHECK_FULL_MAX)):
            if not enabled:
                continue
            flat, rebuild = _gradcheck_inputs(args, flags)
            n = sum(x.numel() for x in flat if isinstance(x, tapegrad.Tensor))
            try:
                check(lambda *xs, rebuild=rebuild: call(tapegrad, *rebuild(*xs)), tuple(flat),
                      fast_mode=True if n > full_max else None)
            except GradcheckError as exc:
                failures.append(f"{label} failed: {exc}")
            except Exception:
                failures.append(f"{label} raised:\n" + traceback.format_exc(limit=-4))
    message = "\n\n".join(failures)
    return Result(opinfo.name, name, dtype, noncontiguous, fwd, grd, not failures,
                  message or f"ok (forward {_fmt(fwd)}, grad {_fmt(grd)})")


def _has_floating(x) -> bool:
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype.kind == "f"
    if isinstance(x, (list, tuple)):
        return any(_has_floating(e) for e in x)
    return False


def check_op(opinfo: OpInfo, dtype: str = "float64", noncontiguous: bool = False) -> list[Result]:
    """One `Result` per sample of ``opinfo`` in ``dtype`` and the given layout."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    try:
        samples = samples_of(opinfo)
    except Exception:
        return [Result(opinfo.name, "samples", dtype, noncontiguous, None, None, False,
                       "building the samples raised:\n" + traceback.format_exc(limit=-3))]
    return [check_sample(opinfo, s, dtype, noncontiguous, name) for name, s in samples]


def check_all(names: Iterable[str] | None = None, dtypes: Iterable[str] = DTYPES,
              layouts: Iterable[bool] = (False, True)) -> list[Result]:
    """Results for every registered op (or those named), every dtype and layout."""
    ops = registry.all_ops() if names is None else [registry.get(n) for n in names]
    results = []
    for op in ops:
        for dtype in dtypes:
            for noncontig in layouts:
                if noncontig and not op.noncontiguous:
                    continue
                results.extend(check_op(op, dtype, noncontig))
    return results


def summary_line(results: list[Result]) -> str:
    """One line: how many ops and cases were checked, how many failed."""
    failed = [r for r in results if not r.passed]
    ops = sorted({r.op for r in results})
    bad_ops = sorted({r.op for r in failed})
    line = (f"ops {len(ops) - len(bad_ops)}/{len(ops)} pass, cases: "
            f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return line + (f" (failing: {', '.join(bad_ops)})" if bad_ops else "")


def format_results(results: list[Result], verbose: bool = True) -> str:
    """What ``tapegrad check`` prints: the failures spelled out and the `summary_line`; with
    ``verbose``, first a table row per case."""
    if not verbose:
        failed = [r for r in results if not r.passed]
        return "\n".join([*(f"FAIL {r.id}\n{r.message}\n" for r in failed),
                          summary_line(results)])
    rows = [("op", "sample", "dtype", "layout", "forward err", "grad err", "")]
    for r in results:
        rows.append((r.op, r.sample, r.dtype, "noncontig" if r.noncontiguous else "contig",
                     _fmt(r.forward_error), _fmt(r.grad_error), "ok" if r.passed else "FAIL"))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    failed = [r for r in results if not r.passed]
    lines.append(f"\n{len(results) - len(failed)} passed, {len(failed)} failed")
    for r in failed:
        lines.append(f"\n=== {r.id}\n{r.message}")
    return "\n".join(lines)
