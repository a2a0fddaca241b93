"""``gradcheck`` and ``gradgradcheck``: prove a backward right by finite differences.

A backward formula is a claim about derivatives, and derivatives can be *measured*:
nudge one input element by ``±eps``, rerun the function, and the change of the outputs
divided by ``2 eps`` is one column of the Jacobian (a central difference, accurate to
``O(eps^2)``). Backward gives the same Jacobian another way: ``vjp(v) = v^T J``, so a
one-hot ``v`` picks out one row. gradcheck builds both and compares them::

    numerical[k, m]  = (f(x + eps e_k) - f(x - eps e_k))[m] / (2 eps)
    analytical[k, m] = grad(f(x)[m], x)[k]       (k: input element, m: output element)

(torch's layout: one row per *input* element, so messages read the same as torch's.)

That costs two forward passes per input element and one backward per output element,
fine for a few hundred numbers. For bigger inputs gradcheck switches to *fast mode*: it
compares the single number ``v^T J u`` for random unit vectors ``u`` and ``v``. The
numerical side perturbs all of ``x`` at once along ``u``; the analytical side is one
backward with ``grad_output = v`` dotted with ``u``. A wrong Jacobian almost surely
changes that number.

Run it in float64: with ``eps = 1e-6`` the rounding error of float32 (``~1e-7``
relative) divided by ``2 eps`` swamps the answer, which is why the defaults are
"designed for double precision".

``gradgradcheck`` checks the *backward of the backward* (needed for Hessians, gradient
penalties, ``create_graph=True``): it runs gradcheck on ``F(x, v) = v^T J_f(x)``,
computed by a backward that records itself.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapegrad import autograd
from tapegrad.tensor import Tensor

# Above this many input (or output) elements, auto mode compares v^T J u instead of J.
FULL_JACOBIAN_MAX = 200
# In fast mode, recompute the full Jacobians for the failure message if they are this small.
_SLOW_RERUN_MAX = 2000
# A mismatch lists this many of the worst elements (not the two full Jacobians).
WORST_SHOWN = 5


class GradcheckError(RuntimeError):
    """Raised when the analytical and numerical gradients disagree (as torch's)."""


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def input_names(fn: Callable, n: int) -> list[str]:
    """Names for ``fn``'s ``n`` positional inputs, read from its signature: a Function's
    ``apply`` is named by its ``forward`` (without ``ctx``); ``*args`` and anything that has
    no signature give ``input0``, ``input1``... (as torch numbers them)."""
    owner = getattr(fn, "__self__", None)
    target = owner.forward if isinstance(owner, type) and hasattr(owner, "forward") else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    if target is not fn and params and not getattr(owner, "_uses_setup_context", False):
        params = params[1:]  # forward(ctx, ...)
    names = []
    for p in params:
        if p.kind == p.VAR_POSITIONAL or p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD):
            break
        names.append(p.name)
    return [names[i] if i < len(names) else f"input{i}" for i in range(n)]


def worst_elements(analytical: np.ndarray, numerical: np.ndarray, in_shape: tuple,
                   out_shape: tuple, atol: float, rtol: float,
                   shown: int = WORST_SHOWN) -> str:
    """The elements of two Jacobians (rows: input elements, columns: output elements) that
    miss the tolerance the most, as a small table: where, analytical, numerical, difference.
    A person reads five rows in seconds; two full Jacobians they do not."""
    excess = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
    bad = np.flatnonzero(excess > 0) if excess.size else np.array([], dtype=np.int64)
    order = bad[np.argsort(-excess.ravel()[bad], kind="stable")][:shown]
    rows = [("input index", "output index", "analytical", "numerical", "difference")]
    for flat in order:
        k, m = np.unravel_index(flat, analytical.shape)
        a, n = analytical[k, m], numerical[k, m]
        rows.append((str(tuple(int(i) for i in np.unravel_index(k, in_shape))) if in_shape
                     else "()",
                     str(tuple(int(i) for i in np.unravel_index(m, out_shape))) if out_shape
                     else "()", f"{a:.6g}", f"{n:.6g}", f"{a - n:.3g}"))
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    table = "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                      for r in rows)
    return (f"the {len(order)} worst of {len(bad)} mismatched elements (out of "
            f"{analytical.size}; tolerance atol={atol:g} + rtol={rtol:g} * |numerical|):\n"
            f"{table}")


def _differentiable_inputs(inputs: tuple) -> list[Tensor]:
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of "
            "the them have requires_grad=True."
        )
    for i, x in enumerate(diff):
        if x.dtype.name != "float64":
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point: gradcheck's default eps and tolerances are designed for "
                "double precision.",
                UserWarning,
                stacklevel=4,  # the caller of gradcheck / gradgradcheck
            )
        data = x._data
        overlapping = data.size > 1 and any(
            st == 0 and n > 1 for st, n in zip(data.strides, data.shape, strict=True))
        if overlapping:
            raise RuntimeError(
                f"The {i}th input has a dimension with stride 0. gradcheck only supports "
                "inputs that are non-overlapping to be able to compute the numerical "
                "gradients correctly. You should call .contiguous on the input before "
                "passing it to gradcheck."
            )
        if not data.flags.writeable:
            raise RuntimeError(
                f"The {i}th input is read-only (its array is not writeable); gradcheck nudges "
                "input elements in place, so pass a copy (x.clone())."
            )
    return diff


def _floating_outputs(out: Any) -> list[Tensor]:
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o.is_floating_point()]


def _evaluate(fn: Callable, inputs: tuple) -> list[np.ndarray]:
    """Run ``fn`` and copy its floating outputs out as flat float64 arrays.

    Grad mode is left as it is (as torch does): a function may differentiate something
    itself, e.g. ``gradgradcheck``'s first derivatives or a gradient penalty."""
    return [np.array(o._data, dtype=np.float64).ravel() for o in _floating_outputs(fn(*inputs))]


def _numerical_jacobians(fn, inputs, diff, n_out_sizes, eps) -> list[list[np.ndarray]]:
    """jac[j][i] of shape (numel of input j, numel of output i), by central differences.

    Each element is changed in place in ``x._data`` (no version bump: autograd must not
    see the nudge) and restored exactly afterwards."""
    jacs = []
    for x in diff:
        data = x._data
        cols = [np.zeros((data.size, n)) for n in n_out_sizes]
        for k in range(data.size):
            idx = np.unravel_index(k, data.shape)
            orig = data[idx].copy()
            data[idx] = orig + eps
            plus = _evaluate(fn, inputs)
            data[idx] = orig - eps
            minus = _evaluate(fn, inputs)
            data[idx] = orig
            for i, (p, m) in enumerate(zip(plus, minus, strict=True)):
                cols[i][k] = (p - m) / (2 * eps)
        jacs.append(cols)
    return jacs


def _vjp(output: Tensor, diff: list[Tensor], v: np.ndarray) -> list[np.ndarray]:
    """v^T J for one output, one flat float64 array per differentiable input."""
    seed = Tensor._from_array(np.asarray(v, dtype=output._data.dtype).reshape(output.shape))
    grads = autograd.grad(output, diff, grad_outputs=seed, retain_graph=True, allow_unused=True)
    flat = []
    for x, g in zip(diff, grads, strict=True):
        if g is None:
            flat.append(np.zeros(x._data.size))
            continue
        if tuple(g.shape) != tuple(x.shape):
            raise GradcheckError("Analytical gradient has incorrect size")
        if g.dtype != x.dtype:
            raise GradcheckError("Gradient has dtype mismatch")
        flat.append(np.array(g._data, dtype=np.float64).ravel())
    return flat


def _analytical_jacobians(output: Tensor, diff: list[Tensor], nondet_tol: float):
    """jac[j] of shape (numel of input j, numel of output), one backward per output element."""
    n = output._data.size
    jacs = [np.zeros((x._data.size, n)) for x in diff]
    onehot = np.zeros(n)
    for m in range(n):
        onehot[m] = 1.0
        for j, g in enumerate(_vjp(output, diff, onehot)):
            jacs[j][:, m] = g
        onehot[m] = 0.0
    if n:
        # Reentrancy: the same backward, run again, must give the same numbers.
        onehot[n - 1] = 1.0
        again = _vjp(output, diff, onehot)
        for j, g in enumerate(again):
            if np.max(np.abs(g - jacs[j][:, n - 1]), initial=0.0) > nondet_tol:
                raise GradcheckError(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient.The tolerance for nondeterminism was "
                    f"{nondet_tol}."
                )
    return jacs


def _check_linear(output, diff, jacs, i, rng, atol, rtol, nondet_tol) -> None:
    """Backward must be linear in grad_output: one-hot rows hide ``grad**2`` style bugs
    (1**2 == 1), so compare a random v against v^T J built from those rows."""
    n = output._data.size
    if n < 2:
        return
    v = rng.standard_normal(n)
    got = _vjp(output, diff, v)
    for j, (g, jac) in enumerate(zip(got, jacs, strict=True)):
        want = jac @ v
        if not np.allclose(g, want, rtol=rtol, atol=atol + nondet_tol):
            raise GradcheckError(
                f"Backward is not linear in grad_output for output {i} with respect to input "
                f"{j}: backward(v) differs from v^T J assembled from one-hot grad_outputs by "
                f"{np.max(np.abs(g - want)):.3g} (does backward square, ignore or shift its "
                "incoming gradient?)"
            )


def _slow_check(fn, inputs, diff, outputs, eps, atol, rtol, nondet_tol, rng,
                names=None) -> None:
    sizes = [o._data.size for o in outputs]
    numerical = _numerical_jacobians(fn, inputs, diff, sizes, eps)
    for i, o in enumerate(outputs):
        analytical = _analytical_jacobians(o, diff, nondet_tol)
        for j, x in enumerate(diff):
            num, ana = numerical[j][i], analytical[j]
            if not np.allclose(ana, num, rtol=rtol, atol=atol):
                name = f"{names[j]}, " if names else ""
                raise GradcheckError(
                    f"Jacobian mismatch for output {i} with respect to input {j} "
                    f"({name}shape {list(x.shape)}),\n"
                    + worst_elements(ana, num, tuple(x.shape), tuple(o.shape), atol, rtol)
                )
        _check_linear(o, diff, analytical, i, rng, atol, rtol, nondet_tol)


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    u = rng.standard_normal(n)
    norm = np.linalg.norm(u)
    return u / norm if norm > 0 else u


def _fast_check(fn, inputs, diff, outputs, eps, atol, rtol, nondet_tol, rng,
                names=None, n_directions: int = 2) -> None:
    """Compare v^T J u per (output, input) pair for a few random unit vectors u and v."""
    for _ in range(n_directions):
        us = [_unit(rng, x._data.size) for x in diff]
        vs = [_unit(rng, o._data.size) for o in outputs]
        # analytical: one backward per output gives v^T J for every input at once
        vjps = [_vjp(o, diff, v) for o, v in zip(outputs, vs, strict=True)]
        for j, (x, u) in enumerate(zip(diff, us, strict=True)):
            data = x._data
            orig = data.copy()
            step = (eps * u).reshape(data.shape).astype(data.dtype)
            data[...] = orig + step
            plus = _evaluate(fn, inputs)
            data[...] = orig - step
            minus = _evaluate(fn, inputs)
            data[...] = orig
            for i, v in enumerate(vs):
                num = float(v @ ((plus[i] - minus[i]) / (2 * eps)))
                ana = float(vjps[i][j] @ u)
                # each Jacobian entry may be off by atol: scale it by sum|u| * sum|v|
                tol = atol * np.abs(u).sum() * np.abs(v).sum() + rtol * abs(ana)
                if abs(num - ana) > tol:
                    name = f" ({names[j]})" if names else ""
                    message = (
                        f"Jacobian mismatch for output {i} with respect to input {j}{name},\n"
                        f"numerical:{num!r}\nanalytical:{ana!r}\n\n"
                        "The above quantities relating the numerical and analytical jacobians "
                        "are computed in fast mode: v^T J u for random unit vectors u (input) "
                        "and v (output)."
                    )
                    n_in = sum(t._data.size for t in diff)
                    n_out = sum(o._data.size for o in outputs)
                    if max(n_in, n_out) <= _SLOW_RERUN_MAX:
                        try:
                            _slow_check(fn, inputs, diff, outputs, eps, atol, rtol,
                                        nondet_tol, rng, names)
                        except GradcheckError as slow:
                            message += " Recomputed in slow mode:\n\n" + str(slow)
                        else:
                            message += (" Fast gradcheck failed but element-wise differences "
                                        "are small: the test passes in slow mode "
                                        "(fast_mode=False).")
                    raise GradcheckError(message)
        # backward run twice with the same v must agree (nondeterminism)
        again = _vjp(outputs[0], diff, vs[0]) if outputs else []
        for g, h in zip(again, vjps[0] if vjps else [], strict=True):
            if np.max(np.abs(g - h), initial=0.0) > nondet_tol:
                raise GradcheckError(
                    "Backward is not reentrant, i.e., running backward with same input and "
                    "grad_output multiple times gives different values, although analytical "
                    "gradient matches numerical gradient.The tolerance for nondeterminism was "
                    f"{nondet_tol}."
                )


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool | None = None,
    nondet_tol: float = 0.0,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> bool:
    """Check the gradients of ``fn(*inputs)`` against finite differences (torch's semantics).

    Every input tensor with ``requires_grad=True`` is checked against every floating
    output that requires grad; other inputs are passed through. ``fast_mode=None`` picks
    the full Jacobian when inputs and outputs have at most ``FULL_JACOBIAN_MAX`` elements,
    else random directional checks (``seed`` seeds them). Returns True, or raises
    `GradcheckError` (returns False with ``raise_exception=False``), whose message names the
    input (``names``, by default read from ``fn``'s signature: `input_names`) and lists the
    worst elements (`worst_elements`) rather than two full Jacobians.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not gradcheck's insides
    inputs = _as_tuple(inputs)
    if names is None:
        names = input_names(fn, len(inputs))
    return _run(fn, inputs, eps, atol, rtol, raise_exception, fast_mode, nondet_tol, seed,
                names)


def _run(fn, inputs, eps, atol, rtol, raise_exception, fast_mode, nondet_tol, seed,
         names=None) -> bool:
    __tracebackhide__ = True
    diff = _differentiable_inputs(inputs)
    if names is not None:  # the names of the inputs that are checked, in order
        names = [n for n, x in zip(names, inputs, strict=False)
                 if isinstance(x, Tensor) and x.requires_grad]
    rng = np.random.default_rng(seed)
    try:
        out = fn(*inputs)
        floating = _floating_outputs(out)
        outputs = [o for o in floating if o.requires_grad]
        if not outputs:
            # Nothing claims a gradient, so the numerical one must be zero.
            sizes = [o._data.size for o in floating]
            numerical = _numerical_jacobians(fn, inputs, diff, sizes, eps)
            for cols in numerical:
                for jac in cols:
                    if not np.allclose(jac, 0.0, rtol=rtol, atol=atol):
                        raise GradcheckError(
                            "Numerical gradient for function expected to be zero")
            return True
        n_in = sum(x._data.size for x in diff)
        n_out = sum(o._data.size for o in outputs)
        fast = fast_mode if fast_mode is not None else max(n_in, n_out) > FULL_JACOBIAN_MAX
        keep = [k for k, o in enumerate(floating) if o.requires_grad]

        def differentiable_outputs(*xs: Any) -> tuple:
            # the numerical side must see the same outputs as the analytical one
            found = _floating_outputs(fn(*xs))
            return tuple(found[k] for k in keep)

        check = _fast_check if fast else _slow_check
        check(differentiable_outputs, inputs, diff, outputs, eps, atol, rtol, nondet_tol, rng,
              names)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Sequence[Tensor] | Tensor | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool | None = None,
    nondet_tol: float = 0.0,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> bool:
    """gradcheck of the backward itself: ``F(x, v) = v^T J_f(x)``, built with
    ``create_graph=True``, is checked with respect to both ``x`` and ``v``.

    ``grad_outputs`` (one per differentiable output) defaults to random values in
    [-1, 1) that require grad, in each output's dtype.
    """
    __tracebackhide__ = True
    inputs = _as_tuple(inputs)
    if names is None:
        names = input_names(fn, len(inputs))
    outputs = [o for o in _floating_outputs(fn(*inputs)) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = tuple(
            Tensor._from_array(rng.uniform(-1.0, 1.0, o.shape).astype(o._data.dtype),
                               requires_grad=True)
            for o in outputs
        )
    else:
        grad_outputs = _as_tuple(grad_outputs)
    n_grads = len(grad_outputs)

    def first_derivatives(*args: Any) -> tuple:
        split = len(args) - n_grads
        xs, vs = args[:split], args[split:]
        outs = [o for o in _floating_outputs(fn(*xs)) if o.requires_grad]
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = autograd.grad(outs, wrt, grad_outputs=list(vs), create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    names = [*names, *(f"grad_output{k}" for k in range(n_grads))]
    return _run(first_derivatives, inputs + tuple(grad_outputs), eps, atol, rtol,
                raise_exception, fast_mode, nondet_tol, seed, names)
