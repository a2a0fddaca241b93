"""Every CUDA kernel family compiled to PTX for a real GPU (compute capability 8.0), no GPU needed.

The other CUDA tests run the kernels in numba's simulator, which executes the kernel source as
plain Python: it accepts code a GPU compiler rejects -- a numpy function numba's CUDA target
does not implement, a shared array whose size is not a compile-time constant, types that do
not unify -- and it computes float32 arithmetic in float32 even where numba's typing would
silently promote it to float64 (``1 if x > 0 else x`` for a float32 ``x`` is a float64 in
numba: an int and a float32 unify to float64). Here each
kernel is compiled the way a GPU run would compile it: with the simulator off, for the argument
types its launcher passes, through libnvvm to PTX. Float32 kernels are then searched for
float64 instructions, which on most GPUs run many times slower than float32 ones.

How: this file is also a script. The test runs it in a subprocess with
``NUMBA_ENABLE_CUDASIM=0`` (numba reads the variable once, at import, and the test process
runs the simulator), where it tells tapegrad's runtime that numba.cuda is usable (there is
no driver to ask), answers numba's "which GPU is current?" query with compute capability
8.0 (device functions ask it), builds each kernel with its module's own builder, and compiles
the kernel's Python function with ``numba.cuda.compile_ptx``. It prints one JSON dict,
``{family: {kernel: "ok" (or "ok, float32 only", checked) or the error}}``; the test fails
listing every kernel that is not ok. If numba cannot compile CUDA code at all (no libnvvm)
the test fails too: it must not pass by checking nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FAMILIES = ["elementwise", "misc", "matmul", "conv", "pooling", "rows", "norm", "optim",
            "indexing"]

_REPO = Path(__file__).resolve().parents[2]
OK, OK_FLOAT32 = "ok", "ok, float32 only"  # compiled; and no float64 instruction in it

# ---------------------------------------------------------------- the script side
# Argument types, as numba types them for a launch (``numba.typeof`` of each argument):
# device buffers are 1-D C-contiguous arrays, Python ints int64, Python floats float64,
# tuples of ints UniTuple(int64, n), numpy float32 scalars float32.
nt: Any = None  # numba.core.types, bound by _start


def A(dtype: Any) -> Any:  # short names keep the signatures readable
    """A 1-D C-contiguous device buffer of ``dtype``."""
    from numba import from_dtype

    return nt.Array(from_dtype(np.dtype(dtype)), 1, "C")


def T(n: int) -> Any:
    """A tuple of ``n`` ints (shapes, strides)."""
    return nt.UniTuple(nt.int64, n)


def scalar(dtype: Any) -> Any:
    """The type of a numpy number of ``dtype`` (e.g. ``t(lr)`` in optim.py)."""
    from numba import from_dtype

    return from_dtype(np.dtype(dtype))


def number(kind: str) -> Any:
    """The type of a Python number of a loop dtype's kind (elementwise passes ``.item()``)."""
    return {"b": nt.boolean, "f": nt.float64}.get(kind, nt.int64)


Entry = tuple[str, Callable[[], str], bool]  # (name, compile -> PTX, float32-only check?)


def _start() -> Any:
    """numba.cuda, made usable for compiling without a GPU. Raises if it cannot compile."""
    global nt
    import numba.cuda
    import numba.cuda.dispatcher as dispatcher
    from numba.core import types as numba_types

    from tapegrad.kernels.cuda import runtime

    nt = numba_types
    numba.cuda.compile_ptx(lambda x: None, "(float32[::1],)", cc=(8, 0))  # libnvvm works?
    runtime._module = numba.cuda  # no driver to ask: the builders may use numba.cuda
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(8, 0))
    return numba.cuda


def _ptx(kernel: Any, *sig: Any) -> Callable[[], str]:
    """Compiles ``kernel`` (a Python function, or a dispatcher's) for ``sig`` to PTX."""
    import numba.cuda

    func = getattr(kernel, "py_func", kernel)
    return lambda: numba.cuda.compile_ptx(func, tuple(sig), cc=(8, 0))[0]


# Allowed float64 in a float32 kernel: a Python float argument (declared ``.param .f64``,
# loaded with ``ld.param.f64``, rounded once to float32) and the registers that hold it.
_ALLOWED = re.compile(r"^\s*(\.param \.f64|ld\.param\.f64|cvt\.rn\.f32\.f64|\.reg \.f64)\b")
# Also allowed: CUDA's own sinf/cosf/tanf (libdevice) reduce a huge argument (|x| > 105615)
# with one integer -> float64 conversion and one multiply by pi/2 * 2**-64, then round back.
_TRIG_SLOW_PATH = re.compile(r"^\s*mul\.f64\s+%fd\d+, %fd\d+, 0d3BF921FB54442D19;")


def float64_lines(ptx: str) -> list[str]:
    """The PTX lines of a float32 kernel that compute in float64 (see the allowances above)."""
    lines = [line.strip() for line in ptx.splitlines()
             if ".f64" in line and not _ALLOWED.match(line)]
    slow_paths = [line for line in lines if _TRIG_SLOW_PATH.match(line)]
    lines = [line for line in lines if line not in slow_paths]
    for _ in slow_paths:  # each one's integer -> float64 conversion
        conversion = next((line for line in lines if line.startswith("cvt.rn.f64.s64")), None)
        if conversion is not None:
            lines.remove(conversion)
    return lines


def _elementwise() -> Iterator[Entry]:
    from tapegrad.kernels.cuda import elementwise

    f4, f8, i8, b1 = (np.dtype(c) for c in ("f4", "f8", "i8", "?"))
    binary_math = {"arctan2", "hypot", "copysign", "fmod"}
    cases: list[tuple[str, tuple, np.dtype, str]] = []  # (name or expression, loop, out, kinds)
    for dt in (f4, f8):
        for name in ("add", "multiply", "true_divide", "power", "subtract", "negative",
                     "absolute", "reciprocal", "square", "floor_divide", "remainder"):
            nin = 1 if name in ("negative", "absolute", "reciprocal", "square") else 2
            cases.append((name, (dt,) * nin, dt, "a" * nin))
        for name in elementwise._MATH_NAMES:
            nin = 2 if name in binary_math else 1
            out = b1 if name in ("isinf", "isfinite") else dt
            cases.append((name, (dt,) * nin, out, "a" * nin))
        cases += [("add", (dt, dt), dt, "as"), ("multiply", (dt, dt), dt, "sa"),
                  ("power", (dt, dt), dt, "as"), ("sign", (dt,), dt, "a"),
                  ("isnan", (dt,), b1, "a"), ("copy", (dt,), dt, "s")]
    for dt in (f4, i8):
        cases += [("maximum", (dt, dt), dt, "aa"), ("minimum", (dt, dt), dt, "as"),
                  ("greater", (dt, dt), b1, "aa"), ("equal", (dt, dt), b1, "as")]
    cases += [
        ("logical_and", (b1, b1), b1, "aa"), ("logical_or", (f4, f4), b1, "aa"),
        ("logical_not", (b1,), b1, "a"), ("where", (b1, f4, f4), f4, "aaa"),
        ("where", (b1, f8, f8), f8, "asa"), ("copy", (f4,), f8, "a"), ("copy", (f8,), f4, "a"),
        ("copy", (i8,), f4, "a"), ("copy", (b1,), f4, "a"), ("copy", (f4,), b1, "a"),
        ("copy", (i8,), i8, "s"), ("copy", (b1,), b1, "s"), ("sign", (i8,), i8, "a"),
        ("invert", (b1,), b1, "a"), ("invert", (i8,), i8, "a"), ("add", (i8, i8), i8, "as"),
        ("floor_divide", (i8, i8), i8, "aa"), ("remainder", (i8, i8), i8, "aa"),
        ("bitwise_and", (b1, b1), b1, "aa"), ("bitwise_xor", (i8, i8), i8, "as"),
        ("absolute", (i8,), i8, "a"), ("negative", (i8,), i8, "a"),
    ]
    # the expressions core.py launches for activations and in-place updates
    for dt in (f4, f8):
        cases += [("x0 if (x0 >= x1 or x0 != x0) else x1", (dt,) * 2, dt, "as"),
                  ("x3 if x1 <= x2 else x0", (dt,) * 4, dt, "aass"),
                  ("x0 * x1 * (x2 - x1)", (dt,) * 3, dt, "aas"),
                  ("x0 * (x2 - x1 * x1)", (dt,) * 3, dt, "aas"),
                  ("x0 + x2 * x1", (dt,) * 3, dt, "aas")]
    for name, loop, out, kinds in cases:
        expr = (name if " " in name else
                elementwise.expression_for(name, len(loop), loop[0]))
        kernel = elementwise._build(expr, kinds, loop)
        nd = 2
        sig = [nt.int64, T(nd), A(out), nt.int64, T(nd)]
        for kind, dt in zip(kinds, loop, strict=True):
            sig += [A(dt), nt.int64, T(nd)] if kind == "a" else [number(dt.kind)]
        dtypes = {np.dtype(d) for d in (*loop, out)}
        label = f"elementwise {name} {'/'.join(d.str[1:] for d in loop)}->{out.str[1:]} {kinds}"
        yield label, _ptx(kernel, *sig), f4 in dtypes and f8 not in dtypes and out != i8


def _misc() -> Iterator[Entry]:
    import numba.cuda
    import numba.cuda.random as cuda_random

    from tapegrad.kernels.cuda import elementwise, random

    elementwise.cuda = random.cuda = numba.cuda
    random._draw = cuda_random.xoroshiro128p_uniform_float64
    for out, arg in (("f8", nt.float64), ("f8", nt.int64), ("i8", nt.int64)):
        yield f"launch_index ramp {out} {arg}", _ptx(elementwise._ramp, A(out), arg, arg), False
    states = nt.Array(scalar(cuda_random.xoroshiro128p_dtype), 1, "C")
    yield "random uniform", _ptx(random._uniform_kernel, states, A("f8"), nt.int64), False


def _matmul() -> Iterator[Entry]:
    from tapegrad.kernels.cuda import matmul

    for src, acc in (("f4", "f4"), ("f8", "f8"), ("i8", "i8"), ("?", "i8"), ("f2", "f4")):
        kernel = matmul._kernel(np.dtype(acc))
        for nb in (1, 2) if acc == "f4" else (1,):  # batch axes: a tuple's length
            sig = [nt.int64] * 4 + [T(nb)]
            for dt in (src, src, acc):
                sig += [A(dt), nt.int64, T(nb), nt.int64, nt.int64]
            yield (f"matmul {src}->{acc} batch axes {nb}", _ptx(kernel, *sig),
                   src == acc == "f4")


def _conv() -> Iterator[Entry]:
    import numba.cuda

    from tapegrad.kernels.cuda import conv

    conv.cuda = numba.cuda
    i = nt.int64
    layouts = {"im2col": (12, 4, 3), "col2im": (12, 3, 4), "im2col_wide": (10, 4, 3),
               "col2im_wide": (9, 3, 4)}  # leading ints, input and output tuple lengths
    for name, (ints, nin, nout) in layouts.items():
        for dt in ("f4", "f8"):
            kernel = conv._FACTORIES[name](np.dtype(dt).type)
            sig = [i] * ints + [A(dt), i, T(nin), A(dt), i, T(nout)]
            yield f"conv {name} {dt}", _ptx(kernel, *sig), dt == "f4"


def _pooling() -> Iterator[Entry]:
    import numba.cuda

    from tapegrad.kernels.cuda import pooling

    pooling.cuda = numba.cuda
    pooling.imin = numba.cuda.jit(device=True)(pooling._smaller)
    pooling.imax = numba.cuda.jit(device=True)(pooling._larger)
    i, b = nt.int64, nt.boolean
    for dt in ("f4", "f8", "i8"):
        for name in ("max", "adaptive_max"):
            kernel = pooling._FACTORIES[name](np.dtype(dt).type)
            sig = [i] * 13 + [A(dt), i, T(3), A(dt), i, T(3), A("i8"), i, T(3)]
            yield f"pooling {name} {dt}", _ptx(kernel, *sig), dt == "f4"
        for name in ("avg", "adaptive_avg"):  # sums in float64 (torch's acc_type)
            kernel = pooling._FACTORIES[name](np.dtype(dt).type)
            sig = [i] * 11 + [b, i, A(dt), i, T(3), A(dt), i, T(3)]
            yield f"pooling {name} {dt}", _ptx(kernel, *sig), False
    for grad, acc in (("f4", "f4"), ("f8", "f8"), ("i8", "i8"), ("f2", "f4")):
        kernel = pooling._FACTORIES["max_bw"](np.dtype(acc).type)
        sig = [i] * 4 + [A(grad), i, T(3), A("i8"), i, T(3), A(acc)]
        yield f"pooling max_bw {grad}->{acc}", _ptx(kernel, *sig), grad == acc == "f4"
    for dt in ("f4", "f8"):
        for name in ("avg_bw", "adaptive_avg_bw"):
            kernel = pooling._FACTORIES[name](np.dtype(dt).type)
            sig = [i] * 11 + [b, i, A(dt), i, T(3), A(dt), i, T(3)]
            yield f"pooling {name} {dt}", _ptx(kernel, *sig), dt == "f4"


def _rows() -> Iterator[Entry]:
    from tapegrad.kernels.cuda import row_kernels

    i, b = nt.int64, nt.boolean
    for dt in ("f4", "f8"):
        k = row_kernels.kernels(dt)  # partial sums are float64 by design: no float32 check
        for nd in (2,) if dt == "f8" else (1, 2):
            row = [A(dt), i, T(nd), i]  # buffer, offset, row strides, column stride
            yield (f"rows softmax_rows {dt} {nd}-d rows",
                   _ptx(k.softmax_rows, i, i, T(nd), *row, *row, b), False)
            yield (f"rows logsumexp_rows {dt} {nd}-d rows",
                   _ptx(k.logsumexp_rows, i, i, T(nd), *row, A(dt)), False)
            yield (f"rows backward_rows {dt} {nd}-d rows",
                   _ptx(k.backward_rows, i, i, T(nd), *row, *row, *row, b), False)
            yield (f"rows sum_rows {dt} {nd}-d rows",
                   _ptx(k.sum_rows, i, T(nd), T(nd), i, T(2), T(2), A(dt), i, A(dt)), False)
            yield (f"rows sigmoid {dt} {nd}-d",
                   _ptx(row_kernels.sigmoid_kernel(dt), i, T(nd), A(dt), i, T(nd), A(dt)),
                   dt == "f4")
        # without a weight the target's buffer stands in for it (never read)
        for target, weight in (("i8", dt), ("i8", "i8"), ("i4", "i4")):
            tw = [A(target), i, i, A(weight), i, i, b, i]
            yield (f"rows nll_rows {dt} target {target} weight {weight}",
                   _ptx(k.nll_rows, i, i, A(dt), i, i, i, *tw, A(dt), A(dt), A("i4")), False)
            yield (f"rows nll_grad_rows {dt} target {target} weight {weight}",
                   _ptx(k.nll_grad_rows, i, i, A(dt), i, i, i, A(dt), i, i, *tw, A(dt),
                        A("i4")), dt == "f4")


def _norm() -> Iterator[Entry]:
    from tapegrad.kernels.cuda import norm

    k = norm._kernels()  # statistics in float64 by design: no float32 check
    i, b, f8 = nt.int64, nt.boolean, "f8"
    for dt in ("f4", "f8"):
        for stat in ("f8", dt):  # batch statistics (float64) or running ones (param dtype)
            x = [A(dt), i, i, i, i]
            vec = lambda d: [A(d), i, i]  # noqa: E731 - buffer, offset, stride
            yield (f"norm bn_stats {dt}", _ptx(k.bn_stats, i, i, i, *x, A(f8), A(f8)), False)
            yield (f"norm bn_forward {dt} stats {stat}",
                   _ptx(k.bn_forward, i, i, i, *x, *vec(stat), *vec(stat), *vec(dt), b,
                        *vec(dt), b, A(dt)), False)
            yield (f"norm bn_backward {dt} stats {stat}",
                   _ptx(k.bn_backward, i, i, i, *x, *x, *vec(stat), *vec(stat), *vec(dt), b, b,
                        A(dt), A(f8), A(f8)), False)
        x2 = [A(dt), i, i, i]
        yield (f"norm ln_forward {dt}",
               _ptx(k.ln_forward, i, i, *x2, A(dt), i, i, b, A(dt), i, i, b, nt.float64,
                    A(dt), A(f8), A(f8)), False)
        stats = [A(f8), i, i, A(f8), i, i]
        yield (f"norm ln_backward_rows {dt}",
               _ptx(k.ln_backward_rows, i, i, *x2, *x2, *stats, A(dt), i, i, b, A(dt)), False)
        yield (f"norm ln_param_grads {dt}",
               _ptx(k.ln_param_grads, i, i, *x2, *x2, *stats, A(f8), A(f8)), False)


def _optim() -> Iterator[Entry]:
    from tapegrad.kernels.cuda import optim

    k = optim._kernels()
    i, b = nt.int64, nt.boolean
    for dt in ("f4", "f8"):
        f = scalar(dt)  # hyperparameters arrive as numpy numbers of the param's dtype
        buf = [A(dt), i, T(2)]  # a (2-d) parameter, gradient or state buffer
        head = [i, T(2), *buf]  # n, shape, param
        yield f"optim sgd {dt}", _ptx(k.sgd, *head, *buf * 2, *[f] * 4, *[b] * 5), dt == "f4"
        yield (f"optim adam {dt}",
               _ptx(k.adam, *head, *buf * 4, f, b, *[f] * 8, *[b] * 4), dt == "f4")
        yield (f"optim rmsprop {dt}",
               _ptx(k.rmsprop, *head, *buf * 4, f, f, b, *[f] * 6, *[b] * 4), dt == "f4")
        yield (f"optim adagrad {dt}",
               _ptx(k.adagrad, *head, *buf * 2, *[f] * 4, b, b), dt == "f4")


def _indexing() -> Iterator[Entry]:
    import numba.cuda

    from tapegrad.kernels.cuda import indexing, nonzero

    indexing.cuda = nonzero.cuda = numba.cuda
    i = nt.int64
    # (body, walked array dtype, indexed array dtype, walked axes, index arrays)
    walks = [("get", d, d, 3, 2) for d in ("f4", "f8", "i8", "?")] + [("get", "f4", "f4", 1, 1)]
    walks += [("put", d, d, 3, 2) for d in ("f4", "i8", "?")]
    walks += [("put", "f8", "f4", 3, 2), ("put", "?", "f8", 3, 2)]
    walks += [("add", d, d, 3, 2) for d in ("f4", "f8", "i8", "i4")] + [("add", "f4", "f8", 2, 1)]
    walks += [(op, d, d, 3, 2) for op in ("subtract", "maximum", "minimum") for d in ("f4", "i8")]
    for body, it, ix, nd, nadv in walks:
        sig = [i, i, i, T(nd), A(it), i, T(nd), A(ix), i, T(nd), A("i8"), T(nadv)]
        yield (f"indexing walk {body} {it}->{ix} {nd}-d {nadv} index arrays",
               _ptx(indexing._walk_kernel(body, np.dtype(ix)), *sig), it == ix == "f4")
    yield "indexing bounds check", _ptx(indexing._check, A("i8"), i, i, i, A("i8"), i), False
    yield "indexing nonzero scan", _ptx(nonzero._nz_scan, A("i8")), False
    for dt in ("?", "f4", "i8"):
        head = [i, i, T(2), A(dt), i, T(2), A("i8")]  # n, chunk, shape, mask, counts
        yield f"indexing nonzero count {dt}", _ptx(nonzero._nz_count, *head), False
        yield (f"indexing nonzero write {dt}", _ptx(nonzero._nz_write, *head, A("i8"), i),
               False)


def _run(family: str) -> dict[str, str]:
    """``{kernel: "ok" or the error}`` for one family (see the module docstring)."""
    try:
        _start()
    except Exception as exc:  # reported, and the test fails on it
        return {"setup": f"numba cannot compile CUDA code here: {type(exc).__name__}: {exc}"}
    results: dict[str, str] = {}
    try:
        for name, compile_, float32_only in globals()[f"_{family}"]():
            try:
                ptx = compile_()
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {str(exc)[-1500:]}"
                continue
            wide = float64_lines(ptx) if float32_only else []
            if wide:
                results[name] = ("float64 instructions in a float32 kernel: "
                                 + "; ".join(wide[:6]))
            else:
                results[name] = OK_FLOAT32 if float32_only else OK
    except Exception as exc:  # a builder failed: report it, keep the rest
        results[f"{family} (building)"] = f"{type(exc).__name__}: {exc}"
    return results


if __name__ == "__main__":
    print(json.dumps({family: _run(family) for family in sys.argv[1:]}))


# ---------------------------------------------------------------- the test side
def _compile_families(families: list[str]) -> dict[str, dict[str, str]]:
    # numba reads NUMBA_ENABLE_CUDASIM once, at import; the checkout first on the path, so
    # that a plain checkout (tapegrad not pip-installed) works too
    path = os.pathsep.join(p for p in (str(_REPO), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0", PYTHONPATH=path)
    proc = subprocess.run([sys.executable, __file__, *families], env=env, cwd=_REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the PTX script crashed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_kernel_family_compiles_to_ptx_for_a_real_gpu() -> None:
    results = _compile_families(FAMILIES)
    assert set(results) == set(FAMILIES)
    setup = [r["setup"] for r in results.values() if "setup" in r]
    if setup:
        pytest.fail(f"{setup[0]}. CI installs nvrtc with the test extra; libnvvm comes from "
                    "the CUDA toolkit (e.g. /usr/local/cuda)", pytrace=False)
    counts = {family: len(r) for family, r in results.items()}
    assert all(n >= 4 for n in counts.values()), counts  # each family built its kernels
    statuses = {name: status for r in results.values() for name, status in r.items()}
    bad = {name: status for name, status in statuses.items() if status not in (OK, OK_FLOAT32)}
    if bad:
        pytest.fail(f"{len(bad)} of {len(statuses)} kernels do not compile cleanly:\n"
                    + "\n".join(f"- {name}: {status}" for name, status in bad.items()),
                    pytrace=False)
    # the float32 check ran where it matters most
    for name in ("elementwise exp f4->f4 a", "elementwise add f4/f4->f4 as",
                 "matmul f4->f4 batch axes 1", "optim adam f4", "rows sigmoid f4 1-d",
                 "indexing walk add f4->f4 3-d 2 index arrays", "conv col2im f4"):
        assert statuses[name] == OK_FLOAT32, (name, statuses.get(name))


def test_the_float64_detector() -> None:
    """What counts as float64 work in a float32 kernel's PTX, and what is allowed."""
    allowed = """
        .param .f64 kernel_param_3,
        .reg .f64 %fd<3>;
        ld.param.f64 %fd1, [kernel_param_3];
        cvt.rn.f32.f64 %f1, %fd1;
        add.f32 %f2, %f1, %f3;
        cvt.rn.f64.s64 %fd1, %rd103;
        mul.f64 %fd2, %fd1, 0d3BF921FB54442D19;
    """
    assert float64_lines(allowed) == []
    promoted = allowed + "cvt.f64.f32 %fd2, %f2;\nadd.f64 %fd3, %fd2, %fd2;\n"
    assert float64_lines(promoted) == ["cvt.f64.f32 %fd2, %f2;", "add.f64 %fd3, %fd2, %fd2;"]
    # an integer -> float64 conversion outside libdevice's trig slow path is not allowed
    assert float64_lines("cvt.rn.f64.s64 %fd1, %rd1;\n") == ["cvt.rn.f64.s64 %fd1, %rd1;"]
