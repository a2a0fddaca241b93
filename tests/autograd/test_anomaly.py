"""detect_anomaly: a NaN/inf made in backward names the node and the forward line."""

import warnings

import pytest

import tapegrad as tg


def test_nan_in_backward_names_node_and_forward_line():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tg.autograd.detect_anomaly():
            y = x ** 0.5  # FORWARD-LINE-MARKER: d/dx at 0 is inf
            with pytest.raises(RuntimeError) as err:
                (y * 0.0).backward(tg.ones(2))
    msg = str(err.value)
    assert "Function 'PowBackward0' returned" in msg
    assert "FORWARD-LINE-MARKER" in msg


def test_detect_anomaly_warns_and_restores():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with tg.autograd.detect_anomaly():
            assert tg.autograd.anomaly.is_enabled()
    assert not tg.autograd.anomaly.is_enabled()


def test_errors_inside_backward_carry_the_forward_trace():
    class Broken(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            raise ValueError("boom")

    x = tg.tensor([1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with tg.autograd.detect_anomaly():
            y = Broken.apply(x)  # BROKEN-MARKER
            with pytest.raises(ValueError, match="BROKEN-MARKER"):
                y.backward(tg.ones(1))
