"""autograd.Function: both styles, ctx API, engine checks on returned gradients."""

import numpy as np
import pytest
import torch

import tapegrad as tg
from tapegrad.autograd import Function, once_differentiable


class MyReLU(Function):
    """The seed lesson's custom ReLU."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return tg.tensor(np.maximum(x.numpy(force=True), 0.0))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mask = tg.tensor((x.numpy(force=True) > 0).astype(np.float32))
        return grad * mask


class ScaleSetupContext(Function):
    @staticmethod
    def forward(x, factor):
        return x * factor

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.factor = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def test_custom_relu_matches_torch_relu():
    data = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    x = tg.tensor(data, requires_grad=True)
    y = MyReLU.apply(x)
    assert type(y.grad_fn).__name__ == "MyReLUBackward"
    (y * y).backward(tg.ones(3))
    xt = torch.tensor(data, requires_grad=True)
    (xt.relu() * xt.relu()).backward(torch.ones(3))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_setup_context_style_and_non_tensor_arguments():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    ScaleSetupContext.apply(x, 3.0).backward(tg.ones(2))
    assert x.grad.tolist() == [3.0, 3.0]


def test_forward_is_not_recorded_and_needs_input_grad():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["grad_enabled"] = tg.is_grad_enabled()
            seen["needs"] = ctx.needs_input_grad
            return a * b * k

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None

    Probe.apply(tg.ones(1, requires_grad=True), tg.ones(1), 2.0)
    assert seen == {"grad_enabled": False, "needs": (True, False, False)}


def test_wrong_number_of_gradients():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad

    y = Bad.apply(tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError,
                       match=r"returned an incorrect number of gradients \(expected 2, got 1\)"):
        y.backward(tg.ones(2))


def test_gradient_for_non_tensor_input_must_be_none():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(RuntimeError,
                       match="returned a gradient different than None at position 2"):
        Bad.apply(tg.ones(2, requires_grad=True), 3.0).backward(tg.ones(2))


def test_returned_gradient_summed_to_shape_or_rejected():
    class Broadcasting(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            return tg.ones(4, 3)  # broadcastable to (3,) -> summed

    x = tg.ones(3, requires_grad=True)
    Broadcasting.apply(x).backward(tg.ones(3))
    assert x.grad.tolist() == [4.0, 4.0, 4.0]

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            return tg.ones(5)

    expected = r"returned an invalid gradient at index 0 - got \[5\] but expected shape compatible"
    with pytest.raises(RuntimeError, match=expected + r" with \[3\]"):
        WrongShape.apply(tg.ones(3, requires_grad=True)).backward(tg.ones(3))


def test_returned_gradient_cast_to_input_dtype():
    class Double(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad.to(tg.float64)

    x = tg.ones(2, requires_grad=True)
    Double.apply(x).backward(tg.ones(2))
    assert x.grad.dtype == tg.float32


def test_mark_non_differentiable_and_materialize_grads():
    received = {}

    class SortLike(Function):
        @staticmethod
        def forward(ctx, x):
            idx = tg.tensor(np.argsort(x.numpy(force=True)).astype(np.float32))
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g_values, g_idx):
            received["g_idx"] = g_idx
            return g_values * 2

    x = tg.tensor([3.0, 1.0], requires_grad=True)
    values, idx = SortLike.apply(x)
    assert not idx.requires_grad and values.requires_grad
    values.backward(tg.ones(2))
    assert received["g_idx"].tolist() == [0.0, 0.0]  # materialized zeros

    class NoMaterialize(SortLike):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return SortLike.forward(ctx, x)

    values, _ = NoMaterialize.apply(tg.tensor([3.0, 1.0], requires_grad=True))
    values.backward(tg.ones(2))
    assert received["g_idx"] is None


def test_mark_dirty_in_place_function():
    class AddOneInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            x._data += 1.0
            x._bump_version()
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    a = tg.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    out = AddOneInPlace.apply(h)
    assert out is h and type(h.grad_fn).__name__ == "AddOneInPlaceBackward"
    (h * 1.0).backward(tg.ones(2))
    assert a.grad.tolist() == [2.0, 2.0] and h.tolist() == [3.0, 5.0]


def test_once_differentiable_refuses_double_backward():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    x = tg.tensor([2.0], requires_grad=True)
    (g,) = tg.autograd.grad(Cube.apply(x), x, tg.ones(1), create_graph=True)
    assert not g.requires_grad  # as torch: nothing to differentiate when the seed is constant
    v = tg.ones(1, requires_grad=True)
    (g,) = tg.autograd.grad(Cube.apply(x), x, v, create_graph=True)
    assert g.tolist() == [12.0] and g.requires_grad
    with pytest.raises(RuntimeError,
                       match="trying to differentiate twice a function that was marked"):
        g.backward(tg.ones(1))


def test_saved_tensors_freed_after_backward():
    x = tg.tensor([2.0], requires_grad=True)
    y = x * x
    y.backward(tg.ones(1))
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = y.grad_fn.saved_tensors
