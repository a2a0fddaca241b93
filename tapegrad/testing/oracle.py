"""PyTorch as the oracle: run the same code with tapegrad and torch, compare everything.

You write the function once against torch's API, taking the library as its first
argument::

    def f(lib, x, w):
        return (x @ w).tanh().sum(dim=1)

    compare_with_torch(f, x_array, w_array)

and it runs as ``f(tapegrad, ...)`` and ``f(torch, ...)`` on copies of the same values.
Then it compares every output, runs backward in both with the *same* random upstream
gradient for each output, and compares the gradient of every input. The report is the
``cmp()`` table of Karpathy's "backprop ninja" lesson: for each tensor, is it exactly
equal, is it close, and how far apart are the two worst elements::

    name            shape   dtype    exact  allclose  max abs diff  max rel diff
    output          [3]     float64  no     yes       2.22e-16      1.80e-16
    grad x          [3, 4]  float64  yes    yes       0             0

torch is imported only when a comparison runs, so ``import tapegrad.testing`` works
without it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tapegrad
from tapegrad.tensor import Size, Tensor

# (atol, rtol) per dtype, for outputs and for gradients.
FORWARD_TOL = {"float64": (1e-10, 1e-7), "float32": (1e-5, 1e-4), "float16": (1e-3, 1e-2)}
GRAD_TOL = {"float64": (1e-10, 1e-7), "float32": (1e-4, 1e-3), "float16": (1e-2, 1e-2)}


def import_torch() -> Any:
    """torch, or an ImportError that says how to install the pinned version."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            "tapegrad's torch oracle needs PyTorch, the reference it checks tapegrad "
            "against: pip install torch==2.13.0  (or pip install 'tapegrad[test]')"
        ) from exc
    return torch


def make_noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values in a transposed, strided layout (a slice of a bigger buffer).

    The array is written into every other column of a buffer whose axes are reversed,
    then viewed back in the original axis order: neither C- nor Fortran-contiguous, with
    gaps, which is what a kernel that assumes ``x.ravel()`` order gets wrong.
    """
    if a.ndim == 0 or a.size == 0:
        return a.copy()
    big = list(a.shape[::-1])
    big[-1] *= 2
    buf = np.zeros(big, dtype=a.dtype)
    view = buf[..., ::2].transpose(tuple(range(a.ndim))[::-1])
    view[...] = a
    return view


def _layout_copy(a: np.ndarray, noncontiguous: bool) -> np.ndarray:
    if noncontiguous:
        return make_noncontiguous(a)
    return np.array(a, order="K", copy=True)


@dataclass
class Row:
    """One compared value: ``kind`` is ``"forward"`` or ``"grad"``."""

    name: str
    kind: str
    shape: str = ""
    dtype: str = ""
    exact: bool = False
    allclose: bool = False
    max_abs: float = 0.0
    max_rel: float = 0.0
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.allclose and not self.note


@dataclass
class OracleResult:
    """Every row of one comparison; ``str(result)`` is the table."""

    rows: list[Row] = field(default_factory=list)
    tapegrad_output: Any = None
    torch_output: Any = None

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.rows)

    def max_error(self, kind: str) -> float | None:
        """Largest ``max abs diff`` over the rows of ``kind`` (None if there are none)."""
        errs = [r.max_abs for r in self.rows if r.kind == kind]
        return max(errs) if errs else None

    @property
    def max_forward_error(self) -> float | None:
        return self.max_error("forward")

    @property
    def max_grad_error(self) -> float | None:
        return self.max_error("grad")

    def table(self) -> str:
        head = ("name", "shape", "dtype", "exact", "allclose", "max abs diff", "max rel diff")
        lines = [head]
        for r in self.rows:
            lines.append((r.name, r.shape, r.dtype, "yes" if r.exact else "no",
                          "yes" if r.allclose else "no", f"{r.max_abs:.3g}",
                          f"{r.max_rel:.3g}"))
        widths = [max(len(line[c]) for line in lines) for c in range(len(head))]
        out = []
        for k, line in enumerate(lines):
            text = "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
            row = self.rows[k - 1] if k else None
            if row is not None and not row.ok:
                text += "  <-- " + (row.note or "not close")
            out.append(text.rstrip())
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


class OracleMismatch(AssertionError):
    """tapegrad and torch disagree; ``.result`` holds the full comparison."""

    def __init__(self, message: str, result: OracleResult) -> None:
        super().__init__(message)
        self.result = result


def _dtype_name(t: Any) -> str:
    return str(t.dtype).split(".")[-1]


def _compare_arrays(row: Row, got: np.ndarray, want: np.ndarray, atol: float,
                    rtol: float) -> None:
    """Fill exact/allclose/max diffs of ``row``; ``want`` (torch's) is the reference."""
    if got.shape != want.shape:
        row.note = f"shape {list(got.shape)} but torch has {list(want.shape)}"
        return
    row.exact = bool(np.array_equal(got, want, equal_nan=got.dtype.kind == "f"))
    if got.size == 0 or row.exact:
        row.allclose = True
        return
    if got.dtype.kind != "f" and want.dtype.kind != "f":
        row.allclose = False  # integers and booleans must match exactly
        g, w = got.astype(np.float64), want.astype(np.float64)
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        row.allclose = bool(np.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        same = (g == w) | (np.isnan(g) & np.isnan(w))
        diff = np.where(same, 0.0, np.abs(g - w))
        diff = np.where(np.isnan(diff), np.inf, diff)
        rel = np.where(diff == 0, 0.0, diff / np.abs(w))
    row.max_abs = float(diff.max())
    row.max_rel = float(np.nan_to_num(rel, nan=np.inf).max())


class _Comparer:
    def __init__(self, torch: Any, atol, rtol, grad_atol, grad_rtol) -> None:
        self.torch = torch
        self.tol = {"forward": (atol, rtol), "grad": (grad_atol, grad_rtol)}
        self.rows: list[Row] = []

    def tolerances(self, kind: str, dtype: str) -> tuple[float, float]:
        atol, rtol = self.tol[kind]
        table = FORWARD_TOL if kind == "forward" else GRAD_TOL
        d_atol, d_rtol = table.get(dtype, (0.0, 0.0))
        return (d_atol if atol is None else atol, d_rtol if rtol is None else rtol)

    def tensor(self, name: str, kind: str, got: Any, want: Any) -> None:
        row = Row(name, kind, shape=str(list(want.shape)), dtype=_dtype_name(want))
        self.rows.append(row)
        if not isinstance(got, Tensor):
            row.note = f"tapegrad gave {type(got).__name__}, torch a tensor"
            return
        want_np = want.detach().cpu().resolve_conj().resolve_neg().numpy()
        atol, rtol = self.tolerances(kind, row.dtype)
        _compare_arrays(row, got._data, want_np, atol, rtol)
        if not row.note and got.dtype.name != row.dtype:
            row.note = f"dtype {got.dtype.name} but torch has {row.dtype}"
        if not row.note and kind == "forward" and got.requires_grad != want.requires_grad:
            row.note = (f"requires_grad={got.requires_grad} but torch has "
                        f"requires_grad={want.requires_grad}")

    def value(self, name: str, kind: str, got: Any, want: Any) -> None:
        """Compare any output structure: tensors, tuples (named too), numbers, None."""
        torch = self.torch
        if isinstance(want, torch.Tensor):
            self.tensor(name, kind, got, want)
        elif isinstance(want, torch.Size) or isinstance(got, Size):
            row = Row(name, kind, shape="size", dtype="", exact=tuple(got) == tuple(want))
            row.allclose = row.exact
            self.rows.append(row)
        elif isinstance(want, (tuple, list)):
            if not isinstance(got, (tuple, list)) or len(got) != len(want):
                self.rows.append(Row(name, kind, note=(
                    f"tapegrad gave {type(got).__name__} of length "
                    f"{len(got) if hasattr(got, '__len__') else '-'}, torch "
                    f"{type(want).__name__} of length {len(want)}")))
                return
            fields = getattr(got, "_fields", None)
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                sub = f"{name}.{fields[i]}" if fields else f"{name}[{i}]"
                self.value(sub, kind, g, w)
        elif want is None or got is None:
            ok = want is None and got is None
            self.rows.append(Row(name, kind, exact=ok, allclose=ok, note="" if ok else (
                f"tapegrad gave {type(got).__name__}, torch {type(want).__name__}")))
        elif isinstance(want, (int, float, bool, np.generic)):
            row = Row(name, kind, shape="number", dtype=type(want).__name__)
            self.rows.append(row)
            if isinstance(got, Tensor) or not isinstance(got, (int, float, bool, np.generic)):
                row.note = f"tapegrad gave {type(got).__name__}, torch a number"
                return
            atol, rtol = self.tolerances(kind, "float64")
            _compare_arrays(row, np.asarray(got), np.asarray(want), atol, rtol)
        else:
            ok = bool(got == want)
            self.rows.append(Row(name, kind, exact=ok, allclose=ok,
                                 note="" if ok else f"{got!r} != {want!r}"))


def _prepare(inputs: tuple, requires_grad: Sequence[bool] | None, names: Sequence[str] | None,
             noncontiguous: bool, torch: Any):
    """Copies of every input for each library; floating arrays become leaves needing grad.
    Arrays inside lists/tuples (``cat([a, b])``) are converted too."""
    leaves: list[tuple[str, Tensor, Any]] = []  # the inputs that require grad
    arrays: list[tuple[str, Tensor, Any]] = []  # every array input

    def convert(x: Any, name: str, grad: bool) -> tuple[Any, Any]:
        if isinstance(x, Tensor):
            x, grad = x._data, grad and x.requires_grad
        if isinstance(x, np.ndarray):
            a, b = _layout_copy(x, noncontiguous), _layout_copy(x, noncontiguous)
            tg, th = Tensor._from_array(a), torch.from_numpy(b)
            arrays.append((name, tg, th))
            if grad and x.dtype.kind == "f":
                tg.requires_grad_(True)
                th.requires_grad_(True)
                leaves.append((name, tg, th))
            return tg, th
        if isinstance(x, (list, tuple)) and any(isinstance(e, (np.ndarray, Tensor)) for e in x):
            pairs = [convert(e, f"{name}[{k}]", grad) for k, e in enumerate(x)]
            return type(x)(p[0] for p in pairs), type(x)(p[1] for p in pairs)
        return x, x

    tg_args, th_args = [], []
    for i, x in enumerate(inputs):
        name = names[i] if names is not None else f"input{i}"
        grad = True if requires_grad is None else bool(requires_grad[i])
        tg, th = convert(x, name, grad)
        tg_args.append(tg)
        th_args.append(th)
    return tg_args, th_args, leaves, arrays


def _grad_pairs(got: Any, want: Any, torch: Any) -> list[tuple[Tensor, Any]]:
    """(tapegrad, torch) output pairs that both carry gradient."""
    if isinstance(want, torch.Tensor):
        if (isinstance(got, Tensor) and want.requires_grad and got.requires_grad
                and want.is_floating_point() and got.shape == tuple(want.shape)):
            return [(got, want)]
        return []
    if isinstance(want, (tuple, list)) and isinstance(got, (tuple, list)):
        return [p for g, w in zip(got, want, strict=False) for p in _grad_pairs(g, w, torch)]
    return []


def _input_names(fn: Callable[..., Any], n: int) -> list[str]:
    """The names of ``fn(lib, x, w)``'s inputs from its signature (``x``, ``w``); ``input0``,
    ``input1``... where it has none (``*args``, a builtin)."""
    try:
        params = list(inspect.signature(fn).parameters.values())[1:]  # after ``lib``
    except (TypeError, ValueError):
        params = []
    named = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        named.append(p.name)
    return [named[i] if i < len(named) else f"input{i}" for i in range(n)]


def upstream_gradients(pairs: list[tuple[Tensor, Any]], seed: int) -> list[np.ndarray]:
    """The random upstream gradient of each (tapegrad, torch) output pair, the same for
    every check with this ``seed`` (so `first_wrong_gradient` replays a comparison)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(w.shape)).astype(g._data.dtype) for g, w in pairs]


def backward_both(pairs: list[tuple[Tensor, Any]], seeds: list[np.ndarray], torch: Any) -> None:
    """Backward in both libraries from the same upstream gradients (copies for each)."""
    torch.autograd.backward([w for _, w in pairs], [torch.from_numpy(s.copy()) for s in seeds])
    tapegrad.autograd.backward([g for g, _ in pairs],
                               [Tensor._from_array(s.copy()) for s in seeds])


def compare_with_torch(
    fn: Callable[..., Any],
    *inputs: Any,
    atol: float | None = None,
    rtol: float | None = None,
    grad_atol: float | None = None,
    grad_rtol: float | None = None,
    grad: bool = True,
    seed: int = 0,
    requires_grad: Sequence[bool] | None = None,
    names: Sequence[str] | None = None,
    noncontiguous: bool = False,
    locate: bool = True,
) -> OracleResult:
    """Run ``fn(lib, *tensors)`` with ``lib=tapegrad`` and ``lib=torch`` and compare.

    ``inputs`` are numpy arrays or tapegrad tensors (copied, so both libraries see the
    same values; lists of them too) or anything else, numpy scalars included (passed as
    is). Floating arrays require grad, tapegrad tensors keep their flag, and
    ``requires_grad`` (one flag per input) can switch either off. With ``grad``, backward runs
    in both from the same random upstream gradient per output (seeded by ``seed``) and
    every input's ``.grad`` is compared; the rows name the inputs as ``fn``'s signature does
    (``names`` overrides them). Tolerances default per dtype (`FORWARD_TOL`,
    `GRAD_TOL`); ``grad_atol``/``grad_rtol`` default to ``atol``/``rtol`` when given.

    Returns an `OracleResult` (print it for the table); raises `OracleMismatch` (an
    AssertionError) with the table when anything differs. When the outputs agree and a
    gradient does not, ``locate`` adds where the first wrong gradient was made
    (`tapegrad.testing.locate.first_wrong_gradient`: the op, your line, the worst elements,
    the graph and a stepper page opened at that step).
    """
    __tracebackhide__ = True  # a failing test points at its own line, not into the oracle
    torch = import_torch()
    if names is None:
        names = _input_names(fn, len(inputs))
    cmp = _Comparer(torch, atol, rtol, atol if grad_atol is None else grad_atol,
                    rtol if grad_rtol is None else grad_rtol)
    tg_args, th_args, leaves, arrays = _prepare(inputs, requires_grad, names, noncontiguous,
                                                torch)
    tapegrad.manual_seed(seed)
    # the CPU generator only: torch.manual_seed also queues seeding of every accelerator
    # backend, which costs more than a small comparison
    torch.random.default_generator.manual_seed(seed)
    got = fn(tapegrad, *tg_args)
    want = fn(torch, *th_args)
    cmp.value("output", "forward", got, want)
    for name, tg, th in arrays:  # in-place ops must modify the inputs alike
        if not np.array_equal(tg._data, th.detach().numpy(), equal_nan=True):
            cmp.value(f"{name} after forward", "forward", tg.detach(), th.detach())
    if grad and leaves:
        pairs = _grad_pairs(got, want, torch)
        if pairs:
            backward_both(pairs, upstream_gradients(pairs, seed), torch)
            for name, tg, th in leaves:
                cmp.value(f"grad {name}", "grad", tg._grad, th.grad)
    result = OracleResult(cmp.rows, got, want)
    if not result.passed:
        message = "tapegrad and torch disagree:\n" + result.table()
        forward_ok = all(r.ok for r in result.rows if r.kind == "forward")
        if locate and forward_ok:
            # locate builds on this module's helpers (and loads graphviz): imported here
            from tapegrad.testing.locate import first_wrong_gradient

            found = first_wrong_gradient(fn, *inputs, seed=seed, names=names,
                                         requires_grad=requires_grad)
            if found is not None:
                message += "\n\n" + str(found)
        raise OracleMismatch(message, result)
    return result


class TorchOracle:
    """What the ``torch_oracle`` pytest fixture returns: ``torch_oracle.compare(fn, *inputs,
    **tolerances)`` is `compare_with_torch`; ``torch_oracle.torch`` is the torch module."""

    def compare(self, fn: Callable[..., Any], *inputs: Any, **kwargs: Any) -> OracleResult:
        __tracebackhide__ = True
        return compare_with_torch(fn, *inputs, **kwargs)

    @property
    def torch(self) -> Any:
        return import_torch()
