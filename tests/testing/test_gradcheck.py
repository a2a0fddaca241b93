"""gradcheck / gradgradcheck: they pass on right backwards and catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
from square_functions import SquareForward, WrongSquare

import tapegrad
from tapegrad.autograd import Function
from tapegrad.ops._util import wrap
from tapegrad.testing import GradcheckError, gradcheck, gradgradcheck


def leaf(rng: np.random.Generator, *shape: int, positive: bool = False,
         dtype: str = "float64") -> tapegrad.Tensor:
    a = rng.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return tapegrad.tensor(a.astype(dtype), requires_grad=True)


class SquaredGradSquare(SquareForward):
    """y = x^2 whose backward squares its incoming gradient: right for one-hot grads
    (1**2 == 1), wrong for any other, so only the linearity check can see it."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * grad * x * 2.0


class NoisySquare(SquareForward):
    """A right backward plus a tiny different noise every call (nondeterministic)."""

    calls = 0

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        NoisySquare.calls += 1
        return grad * x * 2.0 + 1e-9 * NoisySquare.calls


class TwoOut(Function):
    """(a*b, a+b) with a wrong d(a+b)/db: the message must name output 1, input 1."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return wrap(a._data * b._data), wrap(a._data + b._data)

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        a, b = ctx.saved_tensors
        return g_prod * b + g_sum, g_prod * a - g_sum


class DetachedBackward(SquareForward):
    """y = x^2 whose backward treats x as a constant: first derivatives right, second wrong."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.detach() * 2.0


def test_passes_on_arithmetic(rng):
    x, y = leaf(rng, 3, 4), leaf(rng, 3, 4, positive=True)
    assert gradcheck(lambda a, b: a * b + a / b, (x, y)) is True


def test_passes_on_pow_and_subtraction(rng):
    x = leaf(rng, 2, 3, positive=True)
    assert gradcheck(lambda a: a ** 2.5 - a ** 3, (x,))
    assert gradcheck(lambda a: 2.0 ** a, (x,))


def test_non_tensor_inputs_are_passed_through(rng):
    x = leaf(rng, 4)
    assert gradcheck(lambda a, c: a * c - c / (a * a + 1.0), (x, 2.5))


def test_single_tensor_input_and_unused_input(rng):
    x, y = leaf(rng, 3), leaf(rng, 3)
    assert gradcheck(lambda a: a * a, x)
    assert gradcheck(lambda a, b: a * 3.0, (x, y))  # b unused: both Jacobians are zero


def test_wrong_backward_raises_with_torch_message(rng):
    x = leaf(rng, 3)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, (x,))
    message = str(info.value)
    # torch's first line, with the input's name (from forward's signature) and shape
    assert message.startswith("Jacobian mismatch for output 0 with respect to input 0 "
                              "(x, shape [3]),\n")
    assert isinstance(info.value, RuntimeError)
    # not two full Jacobians: a table of the worst elements, worst first
    head, *rows = message.split("\n")[2:]
    assert head.split() == ["input", "index", "output", "index", "analytical", "numerical",
                            "difference"]
    assert len(rows) == 3  # the Jacobian is diagonal: 3 elements are wrong
    worst = int(np.argmax(np.abs(x._data)))
    cells = rows[0].split()
    assert cells[0] == f"({worst},)" and cells[1] == f"({worst},)"
    # numerical 2x, analytical x, difference -x
    assert float(cells[2]) == pytest.approx(x._data[worst], rel=1e-5)
    assert float(cells[3]) == pytest.approx(2 * x._data[worst], rel=1e-5)
    assert float(cells[4]) == pytest.approx(-x._data[worst], rel=1e-2)


def test_mismatch_table_is_capped_and_names_come_from_the_signature(rng):
    x = leaf(rng, 4, 5)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, (x,), fast_mode=False)
    message = str(info.value)
    assert "the 5 worst of 20 mismatched elements (out of 400;" in message
    assert len(message.splitlines()) == 2 + 1 + 5

    def scaled(inp, weight):
        return WrongSquare.apply(inp) * weight

    w = leaf(rng, 4, 5)
    with pytest.raises(GradcheckError, match=r"input 0 \(inp, shape \[4, 5\]\)"):
        gradcheck(scaled, (x, w))
    with pytest.raises(GradcheckError, match=r"input 0 \(first, shape"):
        gradcheck(scaled, (x, w), names=["first", "second"])


def test_raise_exception_false_returns_false(rng):
    x = leaf(rng, 3)
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_names_the_wrong_output_and_input(rng):
    a, b = leaf(rng, 2, 2), leaf(rng, 2, 2)
    with pytest.raises(GradcheckError,
                       match=r"for output 1 with respect to input 1 \(b, shape \[2, 2\]\),"):
        gradcheck(TwoOut.apply, (a, b))


def test_nonlinear_backward_is_caught(rng):
    x = leaf(rng, 4)
    with pytest.raises(GradcheckError, match="not linear in grad_output"):
        gradcheck(SquaredGradSquare.apply, (x,))


def test_nondeterministic_backward_and_nondet_tol(rng):
    x = leaf(rng, 3)
    with pytest.raises(GradcheckError, match="not reentrant"):
        gradcheck(NoisySquare.apply, (x,))
    assert gradcheck(NoisySquare.apply, (x,), nondet_tol=1e-6)


def test_float32_warns_about_double_precision(rng):
    x = leaf(rng, 3, dtype="float32")
    with pytest.warns(UserWarning, match="designed for double precision"):
        assert gradcheck(lambda a: a * a, (x,), eps=1e-3, atol=1e-2, rtol=1e-2)


def test_no_input_requiring_grad_is_an_error():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (tapegrad.tensor([1.0, 2.0], dtype=tapegrad.float64),))


def test_overlapping_input_is_refused(rng):
    base = tapegrad.from_numpy(np.broadcast_to(rng.standard_normal(3), (2, 3)))
    base.requires_grad_(True)
    with pytest.raises(RuntimeError, match="stride 0"):
        gradcheck(lambda a: a * 2, (base,))


def test_read_only_input_is_refused(rng):
    a = rng.standard_normal(3)
    a.flags.writeable = False
    x = tapegrad.from_numpy(a).requires_grad_()
    with pytest.raises(RuntimeError, match="read-only"):
        gradcheck(lambda t: t * 2, (x,))


def test_inputs_are_restored(rng):
    x = leaf(rng, 3, 2)
    before = x._data.copy()
    version = x._version
    gradcheck(lambda a: a * a * a, (x,))
    gradcheck(lambda a: a * a * a, (x,), fast_mode=True)
    np.testing.assert_array_equal(x._data, before)
    assert x._version == version


def test_fast_mode_for_large_inputs(rng):
    x, y = leaf(rng, 20, 15), leaf(rng, 20, 15, positive=True)  # 600 elements: auto fast
    assert gradcheck(lambda a, b: a * b - a / b, (x, y))
    big = leaf(rng, 300)
    with pytest.raises(GradcheckError, match="fast mode"):
        gradcheck(WrongSquare.apply, (big,))


def test_fast_mode_forced_on_small_input_reports_slow_jacobians(rng):
    x = leaf(rng, 3)
    assert gradcheck(lambda a: a * a, (x,), fast_mode=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSquare.apply, (x,), fast_mode=True)
    assert "fast mode" in str(info.value)
    assert "worst of 3 mismatched elements" in str(info.value)  # the slow rerun's table


def test_output_that_needs_no_grad(rng):
    x = leaf(rng, 3)
    # nothing in the output requires grad: the numerical Jacobian must then be zero
    assert gradcheck(lambda a: a.detach() * 0.0, (x,))
    with pytest.raises(GradcheckError, match="expected to be zero"):
        gradcheck(lambda a: a.detach() * 2.0, (x,))


def test_gradgradcheck_passes_on_arithmetic(rng):
    x, y = leaf(rng, 2, 3), leaf(rng, 2, 3, positive=True)
    assert gradgradcheck(lambda a, b: a * b, (x, y))
    assert gradgradcheck(lambda a, b: a / b + a * a, (x, y))
    assert gradgradcheck(lambda a: a ** 3, (x,))


def test_gradgradcheck_with_given_grad_outputs(rng):
    x = leaf(rng, 3)
    v = leaf(rng, 3)
    assert gradgradcheck(lambda a: a * a * a, (x,), (v,))


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable(rng):
    x = leaf(rng, 3)
    assert gradcheck(DetachedBackward.apply, (x,))  # first order is right
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to"):
        gradgradcheck(DetachedBackward.apply, (x,))
    assert gradgradcheck(DetachedBackward.apply, (x,), raise_exception=False) is False


def test_function_that_differentiates_inside(rng):
    # like torch, outputs are evaluated with grad mode on, so fn may call autograd.grad
    x = leaf(rng, 3)

    def derivative_of_cube(t):
        y = t * t * t
        seed = tapegrad.ones_like(y)
        return tapegrad.autograd.grad(y, t, grad_outputs=seed, create_graph=True)[0]

    assert gradcheck(derivative_of_cube, (x,))  # d/dx 3x^2 = 6x


def test_outputs_that_need_no_grad_are_skipped(rng):
    x = leaf(rng, 3)
    # the detached first output carries no gradient; only the second one is checked
    assert gradcheck(lambda t: (t.detach() * 2.0, t * t), (x,))
    with pytest.raises(GradcheckError, match="for output 0 with respect to input 0"):
        gradcheck(lambda t: (t.detach() * 2.0, WrongSquare.apply(t)), (x,))
