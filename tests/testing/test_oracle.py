"""compare_with_torch, the pytest plugin and registry_check: agree when right, fail loudly
(with the comparison table) when wrong."""

from __future__ import annotations

import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest
from square_functions import WrongSquare

import tapegrad
from tapegrad.ops.registry import OpInfo, Sample
from tapegrad.testing import (
    OracleMismatch,
    check_op,
    compare_with_torch,
    format_results,
    make_noncontiguous,
)
from tapegrad.testing.oracle import import_torch


def square(lib, x):
    """Right in torch, wrong backward in tapegrad."""
    return WrongSquare.apply(x) if lib is tapegrad else x * x


def test_agreeing_function_returns_a_table(rng):
    a, b = rng.standard_normal((3, 4)), np.abs(rng.standard_normal((3, 4))) + 0.5
    result = compare_with_torch(lambda lib, x, y: x * y + x / y - 2.0 * x, a, b)
    assert result.passed
    table = str(result)
    for word in ("name", "exact", "allclose", "max abs diff", "max rel diff", "output",
                 "grad x", "grad y", "[3, 4]", "float64"):
        assert word in table
    assert result.max_forward_error < 1e-12
    assert result.max_grad_error < 1e-12


def test_wrong_backward_raises_assertion_with_table(rng):
    a = rng.standard_normal((2, 3))
    with pytest.raises(AssertionError) as info:
        compare_with_torch(square, a)
    message = str(info.value)
    assert "max abs diff" in message and "allclose" in message
    grad_line = next(line for line in message.splitlines() if line.startswith("grad x"))
    assert "<--" in grad_line and " no " in grad_line
    out_line = next(line for line in message.splitlines() if line.startswith("output"))
    assert "<--" not in out_line  # the forward is right
    assert isinstance(info.value, OracleMismatch)
    assert info.value.result.max_grad_error > 0.1


def test_forward_mismatch_and_dtype_mismatch(rng):
    a = rng.standard_normal(4)
    with pytest.raises(AssertionError, match="not close"):
        compare_with_torch(lambda lib, x: x + (1e-6 if lib is tapegrad else 0.0), a)
    with pytest.raises(AssertionError, match="dtype float32 but torch has float64"):
        compare_with_torch(lambda lib, x: x.float() if lib is tapegrad else x, a, grad=False)
    # a tolerance wide enough accepts the difference
    assert compare_with_torch(lambda lib, x: x + (1e-6 if lib is tapegrad else 0.0), a,
                              atol=1e-5).passed


def test_structured_outputs_numbers_and_sizes(rng):
    a = rng.standard_normal((2, 3))
    result = compare_with_torch(lambda lib, x: (x * 2.0, [x.shape, 3], x.ndim), a)
    names = [r.name for r in result.rows]
    assert names == ["output[0]", "output[1][0]", "output[1][1]", "output[2]", "grad x"]
    with pytest.raises(AssertionError, match="length"):
        compare_with_torch(lambda lib, x: (x,) if lib is tapegrad else (x, x), a)
    with pytest.raises(AssertionError, match="tapegrad gave float, torch a tensor"):
        compare_with_torch(lambda lib, x: 1.0 if lib is tapegrad else x, a, grad=False)


def test_namedtuple_fields_name_the_rows(rng):
    pair = namedtuple("pair", ["values", "twice"])
    a = rng.standard_normal(3)
    result = compare_with_torch(lambda lib, x: pair(x * 1.0, x * 2.0), a)
    assert [r.name for r in result.rows][:2] == ["output.values", "output.twice"]


def test_same_upstream_gradient_for_every_output(rng):
    a = rng.standard_normal((2, 2))
    # both outputs receive (different) random grads; a*3 makes them distinguishable
    result = compare_with_torch(lambda lib, x: (x * 2.0, x * 3.0), a, seed=7)
    assert result.passed and result.max_grad_error < 1e-12


def test_integer_inputs_and_requires_grad_flags(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    ints = np.array([1, 2, 3])
    result = compare_with_torch(lambda lib, x, i: x * i, a, ints)
    assert [r.name for r in result.rows] == ["output", "grad x"]  # named by the signature
    result = compare_with_torch(lambda lib, *xs: xs[0] * xs[1], a, ints)
    assert [r.name for r in result.rows] == ["output", "grad input0"]  # no names to read
    result = compare_with_torch(lambda lib, x, y: x * y, a, b, requires_grad=[False, True],
                                names=["x", "y"])
    assert [r.name for r in result.rows] == ["output", "grad y"]


def test_in_place_changes_to_inputs_are_compared(rng):
    a = rng.standard_normal(3)
    with pytest.raises(AssertionError, match="x after forward"):
        compare_with_torch(lambda lib, x: x.add_(2.0 if lib is tapegrad else 1.0), a,
                           requires_grad=[False])


def test_lists_of_arrays(rng):
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    result = compare_with_torch(lambda lib, xs: xs[0] * xs[1] - xs[1], [a, b])
    assert [r.name for r in result.rows] == ["output", "grad xs[0]", "grad xs[1]"]


def test_tapegrad_tensor_inputs_are_copied(rng):
    x = tapegrad.tensor(rng.standard_normal(3), requires_grad=True)
    compare_with_torch(lambda lib, t: t * t, x)
    assert x.grad is None  # the caller's tensor is untouched


def test_noncontiguous_inputs(rng):
    a = rng.standard_normal((3, 4))
    nc = make_noncontiguous(a)
    assert not nc.flags.c_contiguous and not nc.flags.f_contiguous
    np.testing.assert_array_equal(nc, a)
    assert make_noncontiguous(rng.standard_normal(5)).strides == (16,)
    assert compare_with_torch(lambda lib, x, y: x * y - y, a, a + 1.0, noncontiguous=True).passed


def test_import_does_not_import_torch():
    code = ("import sys, tapegrad.testing, tapegrad.testing.pytest_plugin; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(ImportError, match=r"pip install torch==2\.13\.0"):
        import_torch()


def test_fixtures(torch_oracle, gradcheck, rng):
    a = rng.standard_normal((2, 3))
    assert torch_oracle.compare(lambda lib, x: x * x, a).passed
    assert torch_oracle.torch.__version__.startswith("2.13")
    with pytest.raises(AssertionError):
        torch_oracle.compare(square, a)
    x = tapegrad.tensor(a, requires_grad=True)
    assert gradcheck(lambda t: t * t, (x,))


def test_plugin_loads_by_module_name(pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # no double registration
    pytester.makepyfile(
        """
        import numpy as np
        import pytest
        import tapegrad

        def test_ok(torch_oracle, gradcheck):
            a = np.arange(6.0).reshape(2, 3)
            torch_oracle.compare(lambda lib, x: x * 2.0, a)
            assert gradcheck(lambda t: t * t, (tapegrad.tensor(a, requires_grad=True),))

        def test_fails(torch_oracle):
            torch_oracle.compare(lambda lib, x: x * (2.0 if lib is tapegrad else 3.0),
                                 np.ones(2))
        """
    )
    result = pytester.runpytest("-p", "tapegrad.testing.pytest_plugin")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*max abs diff*"])


# --------------------------------------------------------------------- registry_check
def _samples(rng):
    return [Sample((rng.standard_normal((2, 3)),), name="matrix"),
            Sample((rng.standard_normal(()),), name="0-d")]


def test_check_op_passes_a_right_op():
    op = OpInfo("cube", lambda lib, x: x * x * x, _samples, gradgradcheck=True)
    for dtype in ("float64", "float32"):
        for noncontig in (False, True):
            results = check_op(op, dtype, noncontig)
            assert [r.sample for r in results] == ["matrix", "0-d"]
            assert all(r.passed for r in results), [r.message for r in results]
    assert results[0].id == "cube-matrix-float32-noncontig"


def test_check_op_fails_a_wrong_backward():
    op = OpInfo("square", square, _samples)
    results = check_op(op, "float64")
    assert not any(r.passed for r in results)
    assert "grad arg0" in results[0].message and "<--" in results[0].message
    assert results[0].forward_error == 0.0 and results[0].grad_error > 0.01
    table = format_results(results)
    assert "FAIL" in table and "0 passed, 2 failed" in table


def test_check_op_runs_gradcheck_itself():
    # forward and backward "agree with torch" because both are wrong the same way,
    # but gradcheck measures the derivative and is not fooled
    def wrong_everywhere(lib, x):
        return WrongSquare.apply(x) if lib is tapegrad else _torch_wrong_square(x)

    results = check_op(OpInfo("both_wrong", wrong_everywhere, _samples), "float64")
    assert not results[0].passed
    assert "gradcheck failed: Jacobian mismatch" in results[0].message
    assert "grad arg0" not in results[0].message  # torch comparison itself passed


def _torch_wrong_square(x):
    torch = import_torch()

    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return g * t

    return Wrong.apply(x)


def test_check_op_reports_exceptions():
    def broken(lib, x):
        if lib is tapegrad:
            raise ValueError("boom")
        return x

    results = check_op(OpInfo("broken", broken, _samples), "float32")
    assert not results[0].passed and "ValueError: boom" in results[0].message


def test_check_op_with_array_options_and_list_arguments(rng):
    def samples(rng):
        return [Sample(([rng.standard_normal(3), rng.standard_normal(3)],),
                       kwargs={"scale": rng.standard_normal(3)}, name="pair")]

    op = OpInfo("scaled_product", lambda lib, xs, scale: xs[0] * xs[1] * scale, samples,
                gradgradcheck=True)
    for dtype in ("float64", "float32"):
        results = check_op(op, dtype, noncontiguous=dtype == "float32")
        assert results[0].passed, results[0].message
