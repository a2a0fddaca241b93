"""``check_function``: every check a hand-written ``autograd.Function`` needs, in one call.

A custom Function is two claims: ``forward`` computes y, ``backward`` computes the
vector-Jacobian product of y. Each check below catches a different way the second claim
goes wrong, so a user who writes ::

    report = check_function(MyLinear, x, w, b)

gets, in one readable report (and an AssertionError under pytest when anything fails):

1. **forward** runs in float64 and gives outputs that require grad, and backward runs
   through the engine;
2. **backward contract**: ``backward`` called directly on the recorded ``ctx`` returns one
   gradient per forward input (``None`` for non-tensors), each shaped and typed like its
   input. The engine quietly sums a ``[3, 4]`` gradient down to a ``[4]`` bias, so a
   backward that forgot that sum passes gradcheck; it does not pass this. Tensors kept on
   ``ctx`` as attributes instead of ``ctx.save_for_backward`` are reported (an in-place
   change of them would go unnoticed), and backward must work when only one input requires
   grad (code that reads ``ctx.needs_input_grad`` takes other branches then);
3. **gradcheck** in float64: finite differences against backward, the worst elements listed;
4. **gradgradcheck** in float64: the backward of the backward (skipped for a backward marked
   ``@once_differentiable`` or with ``gradgrad=False``);
5. **float32**: outputs and gradients in float32 stay float32 and agree with float64 within
   the stated tolerances (`FLOAT32_TOL`);
6. **non-contiguous inputs**: the same values in a strided, transposed layout give the same
   outputs and gradients (a kernel that assumes ``ravel()`` order fails here);
7. **broadcast inputs**: inputs that are ``expand``-ed views (stride 0) give the same results
   as their contiguous copies, and their gradients reach the small tensor they expand;
8. **torch reference** (with ``reference=``): outputs and gradients equal torch's.

Inputs are named from ``forward``'s signature (``x``, ``weight``), never ``input0``.
torch is imported only for check 8.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tapegrad
from tapegrad import autograd
from tapegrad.autograd import Function
from tapegrad.tensor import Tensor
from tapegrad.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck, input_names
from tapegrad.testing.oracle import OracleMismatch, compare_with_torch, make_noncontiguous

__all__ = ["FLOAT32_TOL", "Check", "FunctionCheckFailed", "FunctionReport", "check_function"]

# (atol, rtol) of float32 results against the float64 run, outputs and gradients alike
FLOAT32_TOL = (1e-4, 1e-3)
# layouts (non-contiguous, expanded) must not change results beyond rounding
LAYOUT_TOL = (1e-12, 1e-10)


@dataclass
class Check:
    """One check of the battery: ``status`` is ``"ok"``, ``"FAIL"`` or ``"skip"``."""

    name: str
    status: str
    detail: str = ""


@dataclass
class FunctionReport:
    """All the checks of one `check_function` call; ``str()`` is the readable report."""

    function: str
    inputs: str
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.status != "FAIL" for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "FAIL"]

    def __str__(self) -> str:
        lines = [f"check_function({self.function}) with {self.inputs}"]
        for c in self.checks:
            lines.append(f"  {c.status:<4}  {c.name}")
            if c.detail and c.status != "ok":
                lines += [f"        {line}" for line in c.detail.splitlines()]
        ran = [c for c in self.checks if c.status != "skip"]
        lines.append(f"{len(ran) - len(self.failed)} of {len(ran)} checks passed"
                     + (f", {len(self.checks) - len(ran)} skipped"
                        if len(ran) < len(self.checks) else ""))
        return "\n".join(lines)


class FunctionCheckFailed(AssertionError):
    """Some check failed; ``.report`` is the `FunctionReport`, the message its text."""

    def __init__(self, report: FunctionReport) -> None:
        super().__init__(str(report))
        self.report = report


# ---------------------------------------------------------------- inputs
class _Inputs:
    """The example inputs as numpy values, rebuilt as fresh tensors for every run (in a
    dtype, a layout, with a chosen set requiring grad), so no run sees another's graph."""

    def __init__(self, values: tuple, names: list[str]) -> None:
        self.names = names
        self.values: list[Any] = []  # np.ndarray for tensors, the value itself otherwise
        self.grad: list[bool] = []
        for v in values:
            if isinstance(v, Tensor):
                self.values.append(np.array(v.detach().numpy(), copy=True))
                self.grad.append(v.requires_grad)
            elif isinstance(v, np.ndarray):
                self.values.append(v.copy())
                self.grad.append(v.dtype.kind == "f")
            else:
                self.values.append(v)
                self.grad.append(False)
        self.tensor = [isinstance(v, np.ndarray) for v in self.values]

    def differentiable(self) -> list[int]:
        return [i for i, g in enumerate(self.grad) if g]

    def build(self, dtype: str = "float64", layout: Callable | None = None,
              grad: Sequence[bool] | None = None) -> list[Any]:
        grad = self.grad if grad is None else grad
        out = []
        for v, g in zip(self.values, grad, strict=True):
            if not isinstance(v, np.ndarray):
                out.append(v)
                continue
            a = v.astype(dtype) if v.dtype.kind == "f" else v.copy()
            if layout is not None:
                a = layout(a)
            out.append(Tensor._from_array(a, requires_grad=bool(g and a.dtype.kind == "f")))
        return out

    def describe(self) -> str:
        parts = []
        for name, v in zip(self.names, self.values, strict=True):
            if isinstance(v, np.ndarray):
                parts.append(f"{name}: {list(v.shape)} {v.dtype}")
            else:
                parts.append(f"{name}={v!r}")
        return ", ".join(parts) or "no inputs"


def _outputs(out: Any) -> list[Tensor]:
    items = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in items if isinstance(o, Tensor)]


def _run(call: Callable, xs: list[Any], seed: int = 0) -> tuple[list[np.ndarray],
                                                               list[np.ndarray | None]]:
    """Outputs and the gradients of every input requiring grad, for a fixed random
    cotangent (the same for every run: it depends only on the output shapes and ``seed``)."""
    outs = _outputs(call(*xs))
    diff = [o for o in outs if o.requires_grad and o.is_floating_point()]
    wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
    grads: list[np.ndarray | None] = []
    if diff and wrt:
        rng = np.random.default_rng(seed)
        seeds = [Tensor._from_array(rng.standard_normal(o.shape).astype(o._data.dtype))
                 for o in diff]
        found = autograd.grad(diff, wrt, grad_outputs=seeds, allow_unused=True)
        grads = [None if g is None else np.array(g._data) for g in found]
    return [np.array(o._data) for o in outs], grads


def _first_difference(got: list, want: list, what: str, names: list[str], atol: float,
                      rtol: float) -> str:
    """'' when every array is close, else one line naming the first that is not."""
    for k, (g, w) in enumerate(zip(got, want, strict=False)):
        label = f"{what} {names[k]}" if names else f"{what} {k}"
        if g is None or w is None:
            if (g is None) != (w is None):
                return f"{label}: one run gave no gradient"
            continue
        if g.shape != w.shape:
            return f"{label}: shape {list(g.shape)}, expected {list(w.shape)}"
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        if not np.allclose(g64, w64, atol=atol, rtol=rtol, equal_nan=True):
            diff = np.abs(g64 - w64)
            where = np.unravel_index(int(np.nanargmax(diff)), diff.shape) if diff.size else ()
            return (f"{label}: max abs diff {np.nanmax(diff):.3g} at index "
                    f"{tuple(int(i) for i in where)} ({g64[where]:.6g} vs {w64[where]:.6g}; "
                    f"atol={atol:g}, rtol={rtol:g})")
    if len(got) != len(want):
        return f"{what}: {len(got)} values, expected {len(want)}"
    return ""


def _error(exc: BaseException) -> str:
    """An exception as the user needs it: type, message, and the line of *their* code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/tapegrad/" not in f.filename.replace("\\", "/")]
    where = f"\n(at {frames[-1].filename}:{frames[-1].lineno}: {frames[-1].line})" \
        if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


# ---------------------------------------------------------------- the checks
def _shape_hint(name: str, got: tuple, want: tuple) -> str:
    line = (f"backward returned a gradient of shape {list(got)} for `{name}`, which has shape "
            f"{list(want)}: a gradient must have its input's shape.")
    if len(got) >= len(want) and all(w in (1, g) for g, w in zip(got[::-1], want[::-1],
                                                                   strict=False)):
        return line + (f" `{name}` was broadcast in forward: sum the gradient over the "
                       f"broadcast dims (`grad.sum_to_size({list(want)})`); the engine does it "
                       "for you, a direct caller of backward gets the wrong shape.")
    if int(np.prod(got)) == int(np.prod(want)):
        return line + (" Same number of elements: keep the size-1 dims "
                       f"(`grad.reshape({list(want)})`), or is a transpose missing?")
    return line + " Is a transpose or a sum missing?"


def _contract(function: type[Function], call: Callable, inputs: _Inputs) -> Check:
    """Call backward directly on the recorded ctx and look at what it returns."""
    name = "backward contract (ctx, gradient count, shapes, dtypes)"
    xs = inputs.build()
    outs = _outputs(call(*xs))
    node = next((o.grad_fn for o in outs if o.grad_fn is not None), None)
    if node is None:
        return Check(name, "skip", "no output has a grad_fn (does any input require grad?)")
    problems = []
    held = [k for k, v in vars(node).items() if isinstance(v, Tensor) and not k.startswith("_")
            and any(v is t for t in (*xs, *outs))]
    for k in held:
        problems.append(f"ctx.{k} holds an input or output tensor: save it with "
                        f"ctx.save_for_backward(...) and read ctx.saved_tensors, so that an "
                        "in-place change of it before backward is detected")
    if list(node.needs_input_grad) != [isinstance(x, Tensor) and x.requires_grad for x in xs]:
        problems.append(f"ctx.needs_input_grad is {node.needs_input_grad}")
    rng = np.random.default_rng(1)
    seeds = [Tensor._from_array(rng.standard_normal(o.shape).astype(o._data.dtype))
             for o in outs]
    try:
        with autograd.no_grad():
            result = function.backward(node, *seeds)
    except Exception as exc:
        return Check(name, "FAIL", f"backward raised {_error(exc)}")
    grads = result if isinstance(result, tuple) else (result,)
    if len(grads) != len(xs):
        problems.append(f"backward returned {len(grads)} gradient(s) for {len(xs)} forward "
                        f"input(s) ({', '.join(inputs.names)}): one per input, in order, None "
                        "for inputs that are not tensors or need no gradient")
    for x, g, label in zip(xs, grads, inputs.names, strict=False):
        if g is None:
            continue
        if not isinstance(x, Tensor):
            problems.append(f"backward returned a gradient for `{label}`, which is not a "
                            f"tensor ({type(x).__name__}): return None there")
        elif not isinstance(g, Tensor):
            problems.append(f"backward returned a {type(g).__name__} for `{label}`: return a "
                            "Tensor (or None)")
        elif tuple(g.shape) != tuple(x.shape):
            problems.append(_shape_hint(label, tuple(g.shape), tuple(x.shape)))
        elif g.dtype != x.dtype:
            problems.append(f"backward returned a {g.dtype.name} gradient for `{label}`, which "
                            f"is {x.dtype.name}: a gradient has its input's dtype")
    # each input alone requiring grad: the branches of `if ctx.needs_input_grad[i]`
    diff = inputs.differentiable()
    if len(diff) > 1 and not problems:
        _, full = _run(call, inputs.build())
        for pos, i in enumerate(diff):
            only = [k == i for k in range(len(xs))]
            try:
                _, alone = _run(call, inputs.build(grad=only))
            except Exception as exc:
                problems.append(f"with only `{inputs.names[i]}` requiring grad, backward "
                                f"raised {_error(exc)}\n(read ctx.needs_input_grad[{i}] "
                                "before computing a gradient)")
                continue
            note = _first_difference(alone, [full[pos]], "gradient of", [inputs.names[i]],
                                     *LAYOUT_TOL)
            if note:
                problems.append(f"with only `{inputs.names[i]}` requiring grad: {note}")
    return Check(name, "FAIL" if problems else "ok", "\n".join(problems))


def _gradchecks(call: Callable, inputs: _Inputs, gradgrad: bool,
                once: bool) -> list[Check]:
    checks = []
    for label, checker in (("gradcheck (float64)", gradcheck),
                           ("gradgradcheck (float64)", gradgradcheck)):
        if checker is gradgradcheck and (not gradgrad or once):
            why = ("backward is @once_differentiable" if once else "gradgrad=False")
            checks.append(Check(label, "skip", why))
            continue
        try:
            checker(call, tuple(inputs.build()), names=inputs.names)
            checks.append(Check(label, "ok"))
        except GradcheckError as exc:
            hint = ("\n(the backward of backward: write backward with tensor operations, "
                    "not ._data or numpy, or mark it @once_differentiable and pass "
                    "gradgrad=False)" if checker is gradgradcheck else "")
            checks.append(Check(label, "FAIL", f"{exc}{hint}"))
        except Exception as exc:
            checks.append(Check(label, "FAIL", _error(exc)))
    return checks


def _float32(call: Callable, inputs: _Inputs, reference: tuple) -> Check:
    atol, rtol = FLOAT32_TOL
    name = f"float32 (atol={atol:g}, rtol={rtol:g} against float64)"
    try:
        xs = inputs.build("float32")
        outs = _outputs(call(*xs))
        wrong = [o.dtype.name for o in outs if o.is_floating_point() and o.dtype.name != "float32"]
        if wrong:
            return Check(name, "FAIL", f"float32 inputs gave {', '.join(wrong)} outputs")
        got = _run(call, inputs.build("float32"))
    except Exception as exc:
        return Check(name, "FAIL", _error(exc))
    names = [inputs.names[i] for i in inputs.differentiable()]
    note = (_first_difference(got[0], reference[0], "output", [], atol, rtol)
            or _first_difference(got[1], reference[1], "gradient of", names, atol, rtol))
    bad = [n for n, g in zip(names, got[1], strict=False)
           if g is not None and g.dtype != np.float32]
    if not note and bad:
        note = f"gradient of {bad[0]} is not float32"
    return Check(name, "FAIL" if note else "ok", note)


def _layout(label: str, call: Callable, inputs: _Inputs, reference: tuple) -> Check:
    try:
        got = _run(call, inputs.build(layout=make_noncontiguous))
    except Exception as exc:
        return Check(label, "FAIL", _error(exc))
    names = [inputs.names[i] for i in inputs.differentiable()]
    note = (_first_difference(got[0], reference[0], "output", [], *LAYOUT_TOL)
            or _first_difference(got[1], reference[1], "gradient of", names, *LAYOUT_TOL))
    return Check(label, "FAIL" if note else "ok", note)


def _broadcast(call: Callable, inputs: _Inputs) -> Check:
    """Every differentiable input with a first dim > 1 becomes ``small.expand(shape)`` (a
    stride-0 view of its first slice); results must equal those of a contiguous copy."""
    label = "broadcast (expanded, stride-0) inputs"
    picked = [i for i in inputs.differentiable()
              if inputs.values[i].ndim >= 1 and inputs.values[i].shape[0] > 1]
    if not picked:
        return Check(label, "skip", "no differentiable input has a first dim > 1")
    smalls, expanded, copies = {}, inputs.build(), inputs.build()
    for i in picked:
        v = inputs.values[i].astype(np.float64)
        small = Tensor._from_array(v[:1].copy(), requires_grad=True)
        smalls[i] = small
        expanded[i] = small.expand(*v.shape)
        copies[i] = Tensor._from_array(np.broadcast_to(v[:1], v.shape).copy(),
                                       requires_grad=True)
    try:
        out_e = _outputs(call(*expanded))
        out_c = _outputs(call(*copies))
        note = _first_difference([np.array(o._data) for o in out_e],
                                 [np.array(o._data) for o in out_c], "output", [], *LAYOUT_TOL)
        diff_e = [o for o in out_e if o.requires_grad]
        diff_c = [o for o in out_c if o.requires_grad]
        if not note and diff_e:
            rng = np.random.default_rng(2)
            seeds = [rng.standard_normal(o.shape) for o in diff_e]
            g_e = autograd.grad(diff_e, [smalls[i] for i in picked],
                                grad_outputs=[Tensor._from_array(s) for s in seeds],
                                allow_unused=True)
            g_c = autograd.grad(diff_c, [copies[i] for i in picked],
                                grad_outputs=[Tensor._from_array(s) for s in seeds],
                                allow_unused=True)
            note = _first_difference(
                [None if g is None else np.array(g._data) for g in g_e],
                [None if g is None else np.array(g._data).sum(0, keepdims=True) for g in g_c],
                "gradient of", [inputs.names[i] for i in picked], *LAYOUT_TOL)
    except Exception as exc:
        return Check(label, "FAIL", _error(exc))
    return Check(label, "FAIL" if note else "ok", note)


def _torch_reference(call: Callable, inputs: _Inputs, reference: Callable | None) -> Check:
    label = "torch reference (outputs and gradients, float64)"
    if reference is None:
        return Check(label, "skip", "no reference given (pass reference=a torch function)")
    if inspect.isclass(reference) and hasattr(reference, "apply"):
        reference = reference.apply  # a torch.autograd.Function subclass
    arrays = [v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
              for v in inputs.values]

    def both(lib: Any, *xs: Any) -> Any:
        return call(*xs) if lib is tapegrad else reference(*xs)

    try:
        compare_with_torch(both, *arrays, requires_grad=inputs.grad, names=inputs.names)
    except OracleMismatch as exc:
        return Check(label, "FAIL", exc.result.table())
    except Exception as exc:
        return Check(label, "FAIL", _error(exc))
    return Check(label, "ok")


def check_function(function: Any, *example_inputs: Any, reference: Callable | None = None,
                   names: Sequence[str] | None = None, gradgrad: bool = True,
                   raise_on_failure: bool = True) -> FunctionReport:
    """Run the whole battery (see the module docstring) on ``function`` with
    ``example_inputs``.

    ``function`` is an `autograd.Function` subclass (called through ``apply``; the backward
    contract is checked on it) or any function of tensors. ``example_inputs`` are tapegrad
    tensors (their ``requires_grad`` says which are differentiated), numpy arrays
    (floating ones are differentiated) or other values, passed as they are. Floating
    values are run in float64 and float32 whatever their dtype. ``reference`` is the same
    computation written with torch (a ``torch.autograd.Function``'s ``apply`` or a plain
    function); ``names`` overrides the names read from ``forward``'s signature.

    Returns the `FunctionReport`; raises `FunctionCheckFailed` (an AssertionError) with the
    report as its message when a check fails, unless ``raise_on_failure=False``.
    """
    __tracebackhide__ = True  # a failing test points at the call, not into this file
    is_function = inspect.isclass(function) and issubclass(function, Function)
    call = function.apply if is_function else function
    label = getattr(function, "__name__", type(function).__name__)
    names = list(names) if names is not None else input_names(call, len(example_inputs))
    inputs = _Inputs(example_inputs, names)
    report = FunctionReport(label, inputs.describe())
    if not inputs.differentiable():
        raise ValueError("check_function needs at least one floating input to differentiate "
                         "(a numpy float array, or a tensor with requires_grad=True)")
    try:
        outs = _outputs(call(*inputs.build()))
    except Exception as exc:
        report.checks.append(Check("forward (float64)", "FAIL", _error(exc)))
        return _finish(report, raise_on_failure)
    if not any(o.requires_grad for o in outs):
        report.checks.append(Check("forward (float64)", "FAIL",
                                   "no output requires grad: forward must return tensors "
                                   "computed from its inputs"))
        return _finish(report, raise_on_failure)
    report.checks.append(Check("forward (float64)", "ok"))
    if is_function:  # before the engine runs backward: its own checks are terser
        report.checks.append(_contract(function, call, inputs))
    try:
        reference64 = _run(call, inputs.build())
    except Exception as exc:
        report.checks.append(Check("backward through the engine (float64)", "FAIL",
                                   _error(exc)))
        return _finish(report, raise_on_failure)
    report.checks.append(Check("backward through the engine (float64)", "ok"))
    once = is_function and hasattr(function.backward, "__wrapped__")
    report.checks += _gradchecks(call, inputs, gradgrad, once)
    report.checks.append(_float32(call, inputs, reference64))
    report.checks.append(_layout("non-contiguous (strided, transposed) inputs", call, inputs,
                                 reference64))
    report.checks.append(_broadcast(call, inputs))
    report.checks.append(_torch_reference(call, inputs, reference))
    return _finish(report, raise_on_failure)


def _finish(report: FunctionReport, raise_on_failure: bool) -> FunctionReport:
    __tracebackhide__ = True
    if raise_on_failure and not report.passed:
        raise FunctionCheckFailed(report)
    return report
