"""check_function and compare_modules on users' code with planted bugs: each bug must be
reported, by the check that owns it, in words a person reads in seconds."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import tapegrad
from tapegrad.autograd import Function, once_differentiable
from tapegrad.ops._util import wrap
from tapegrad.testing import (
    FunctionCheckFailed,
    OracleMismatch,
    check_function,
    compare_modules,
)

RNG = np.random.default_rng(0)


def _arrays(*shapes):
    return [RNG.standard_normal(s) for s in shapes]


def _check(report, name):
    return next(c for c in report.checks if c.name.startswith(name))


# ---------------------------------------------------------------- the subjects
class GoodLinear(Function):
    @staticmethod
    def forward(ctx, x, weight):
        ctx.save_for_backward(x, weight)
        return x @ weight.t()

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx = grad @ weight if ctx.needs_input_grad[0] else None
        gw = grad.t() @ x if ctx.needs_input_grad[1] else None
        return gx, gw


class WrongSignTanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return -grad * (1 - y * y)  # planted: the sign


class MissingTranspose(GoodLinear):
    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        return grad @ weight, x.t() @ grad  # planted: grad_w is (grad^T x), not (x^T grad)


class MissingBroadcastSum(Function):
    @staticmethod
    def forward(ctx, x, bias):
        return x + bias

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # planted: bias was broadcast over the rows, grad is not summed


class FlatGradient(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, grad):
        return (grad * 3).reshape(-1)  # planted: a [64] gradient for a [1, 64] input


class WrongNeedsInputGrad(GoodLinear):
    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx = grad @ weight if ctx.needs_input_grad[0] else None
        gw = grad.t() @ x if ctx.needs_input_grad[0] else None  # planted: index 0, not 1
        return gx, gw


class InputOnCtx(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x  # planted: not save_for_backward
        return x * x

    @staticmethod
    def backward(ctx, grad):
        return 2 * grad * ctx.x


class Float64Inside(Function):
    @staticmethod
    def forward(ctx, x):
        return x.double() * 2  # planted: float32 in, float64 out

    @staticmethod
    def backward(ctx, grad):
        return (grad * 2).to(tapegrad.float32) if grad.dtype == tapegrad.float32 else grad * 2


class MemoryOrder(Function):
    @staticmethod
    def forward(ctx, x):
        # planted: reads the buffer in memory order, right only for contiguous inputs
        return wrap(x._data.ravel(order="K").reshape(x.shape) * 2)

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


class NumpyBackward(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return wrap(2 * grad._data * x._data)


# ---------------------------------------------------------------- check_function
def test_a_correct_function_passes_every_check_with_a_torch_reference():
    x, w = _arrays((2, 3), (4, 3))
    report = check_function(GoodLinear, x, w, reference=lambda x, w: x @ w.t())
    assert report.passed
    assert [c.status for c in report.checks] == ["ok"] * 9, str(report)
    assert str(report).startswith("check_function(GoodLinear) with x: [2, 3] float64, "
                                  "weight: [4, 3] float64")
    assert str(report).endswith("9 of 9 checks passed")


def test_a_torch_function_class_as_the_reference():
    class TorchLinear(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight):
            ctx.save_for_backward(x, weight)
            return x @ weight.t()

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            return grad @ weight, grad.t() @ x

    x, w = _arrays((2, 3), (4, 3))
    assert check_function(GoodLinear, x, w, reference=TorchLinear).passed


def test_wrong_sign_fails_gradcheck_with_the_worst_elements():
    (x,) = _arrays((3, 4))
    with pytest.raises(FunctionCheckFailed) as info:
        check_function(WrongSignTanh, x)
    report = info.value.report
    assert isinstance(info.value, AssertionError)
    assert str(info.value) == str(report)
    check = _check(report, "gradcheck")
    assert check.status == "FAIL"
    assert "with respect to input 0 (x, shape [3, 4])" in check.detail
    assert "analytical  numerical  difference" in check.detail
    # the worst element: analytical = -numerical, both 1 - tanh^2 in size
    row = re.split(r"\s{2,}", check.detail.splitlines()[3].strip())
    assert row[0] == row[1]  # the Jacobian of an elementwise op is diagonal
    assert float(row[2]) == pytest.approx(-float(row[3]), rel=1e-5)
    # the other checks do not drown it: forward, contract and layouts pass
    assert _check(report, "forward").status == "ok"
    assert _check(report, "backward contract").status == "ok"
    assert _check(report, "non-contiguous").status == "ok"


def test_missing_transpose_is_named_by_the_weight():
    x, w = _arrays((2, 3), (3, 3))  # square: the shapes cannot give it away
    report = check_function(MissingTranspose, x, w, raise_on_failure=False)
    check = _check(report, "gradcheck")
    assert check.status == "FAIL"
    assert "with respect to input 1 (weight, shape [3, 3])" in check.detail
    assert _check(report, "backward contract").status == "ok"


def test_missing_sum_over_a_broadcast_dim_is_a_contract_failure():
    x, b = _arrays((3, 4), (4,))
    report = check_function(MissingBroadcastSum, x, b, raise_on_failure=False)
    check = _check(report, "backward contract")
    assert check.status == "FAIL"
    assert ("a gradient of shape [3, 4] for `bias`, which has shape [4]" in check.detail)
    assert "grad.sum_to_size([4])" in check.detail
    # the engine sums it silently, so gradcheck alone would not have seen it
    assert _check(report, "gradcheck").status == "ok"


def test_a_64_gradient_for_a_1_by_64_input_says_so():
    (x,) = _arrays((1, 64))
    report = check_function(FlatGradient, x, raise_on_failure=False)
    check = _check(report, "backward contract")
    assert check.status == "FAIL"
    assert "a gradient of shape [64] for `x`, which has shape [1, 64]" in check.detail
    assert "grad.reshape([1, 64])" in check.detail
    engine = _check(report, "backward through the engine")
    assert engine.status == "FAIL" and "got [64] but expected shape compatible with [1, 64]" \
        in engine.detail


def test_needs_input_grad_read_at_the_wrong_index():
    x, w = _arrays((2, 3), (4, 3))
    report = check_function(WrongNeedsInputGrad, x, w, raise_on_failure=False)
    check = _check(report, "backward contract")
    assert check.status == "FAIL"
    assert "with only `weight` requiring grad" in check.detail
    assert _check(report, "gradcheck").status == "ok"  # all inputs requiring grad: fine


def test_an_input_kept_on_ctx_is_reported():
    (x,) = _arrays((3,))
    report = check_function(InputOnCtx, x, raise_on_failure=False)
    check = _check(report, "backward contract")
    assert check.status == "FAIL" and "ctx.x holds an input or output tensor" in check.detail
    assert "save_for_backward" in check.detail


def test_float32_output_of_the_wrong_dtype():
    (x,) = _arrays((3,))
    report = check_function(Float64Inside, x, raise_on_failure=False)
    check = _check(report, "float32")
    assert check.status == "FAIL" and "float32 inputs gave float64 outputs" in check.detail


def test_a_kernel_that_assumes_contiguous_memory():
    (x,) = _arrays((3, 4))
    report = check_function(MemoryOrder, x, raise_on_failure=False)
    assert _check(report, "gradcheck").status == "ok"
    check = _check(report, "non-contiguous")
    assert check.status == "FAIL" and check.detail.startswith("output 0: max abs diff")


def test_once_differentiable_skips_gradgradcheck():
    (x,) = _arrays((3,))
    report = check_function(NumpyBackward, x)
    check = _check(report, "gradgradcheck")
    assert check.status == "skip" and "once_differentiable" in check.detail


def test_a_plain_function_and_a_wrong_torch_reference():
    x, y = _arrays((2, 3), (2, 3))

    def f(a, b):
        return (a * b).sin()

    report = check_function(f, x, y, reference=lambda a, b: (a * b).cos(),
                            raise_on_failure=False)
    check = _check(report, "torch reference")
    assert check.status == "FAIL"
    assert "output" in check.detail and "grad a" in check.detail and "not close" in check.detail
    assert not any(c.name.startswith("backward contract") for c in report.checks)


def test_non_tensor_inputs_and_tensors_that_need_no_grad():
    x, w = _arrays((2, 3), (4, 3))
    weight = tapegrad.tensor(w)  # requires_grad=False: not differentiated
    report = check_function(lambda a, b, scale: (a @ b.t()) * scale, x, weight, 2.0)
    assert report.passed
    assert "scale=2.0" in report.inputs
    with pytest.raises(ValueError, match="at least one floating input"):
        check_function(lambda a: a * 2, tapegrad.tensor(x))


# ---------------------------------------------------------------- compare_modules
class _TgNet(tapegrad.nn.Module):
    def __init__(self, act="tanh"):
        super().__init__()
        self.fc = tapegrad.nn.Linear(4, 3)
        self.bn = tapegrad.nn.BatchNorm1d(3)
        self.act = act

    def forward(self, features):
        return getattr(self.bn(self.fc(features)), self.act)()


class _TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
        self.bn = torch.nn.BatchNorm1d(3)

    def forward(self, features):
        return self.bn(self.fc(features)).tanh()


def test_compare_modules_passes_in_train_and_eval():
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    result = compare_modules(_TgNet(), _TorchNet(), x)
    names = [r.name for r in result.rows]
    for mode in ("train", "eval"):
        assert f"{mode} output" in names and f"{mode} grad features" in names
        for p in ("fc.weight", "fc.bias", "bn.weight", "bn.bias"):
            assert f"{mode} grad {p}" in names
    assert result.passed


def test_compare_modules_reports_the_difference_as_a_table():
    x = RNG.standard_normal((5, 4))
    with pytest.raises(OracleMismatch) as info:
        compare_modules(_TgNet("sigmoid").double(), _TorchNet().double(), x)
    table = str(info.value)
    assert "train output" in table and "<-- not close" in table
    assert "eval grad fc.weight" in table


def test_compare_modules_names_missing_parameters():
    class Smaller(tapegrad.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = tapegrad.nn.Linear(4, 3)

        def forward(self, features):
            return self.fc(features)

    with pytest.raises(KeyError, match=r"only in torch's: \['bn.bias'"):
        compare_modules(Smaller(), _TorchNet(), RNG.standard_normal((5, 4)))


def test_pytest_shows_the_report_and_none_of_the_helpers_frames(pytester, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(
        """
        import numpy as np
        from tapegrad.autograd import Function

        class Double(Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad * 3  # wrong on purpose

        def test_double(check_function):
            check_function(Double, np.ones(3))
        """
    )
    result = pytester.runpytest("-p", "tapegrad.testing.pytest_plugin")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*check_function(Double) with x: [[]3[]] float64*",
                                 "*FAIL  gradcheck (float64)*"])
    assert "check_function(Double, np.ones(3))" in out  # the user's line is shown
    assert "function_check.py" not in out and "gradcheck.py" not in out
