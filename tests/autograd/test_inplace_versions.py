"""Version counters, in-place checks, detach vs .data (torch's semantics and messages)."""

import numpy as np
import pytest
import torch

import tapegrad as tg


def test_in_place_ops_bump_the_version():
    x = tg.zeros(3)
    assert x._version == 0
    x.add_(1.0)
    x.mul_(2.0)
    assert x._version == 2 and x.tolist() == [2.0, 2.0, 2.0]


def test_modified_saved_tensor_is_detected_with_torch_message():
    a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    h = a * 1.0
    y = h * b  # saves h
    h.add_(1.0)
    with pytest.raises(RuntimeError) as err:
        y.backward(tg.ones(3))
    msg = str(err.value)
    assert "modified by an inplace operation" in msg
    assert "is at version 1; expected version 0 instead" in msg
    at = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    bt = torch.ones(3, requires_grad=True)
    ht = at * 1.0
    yt = ht * bt
    ht.add_(1.0)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0 instead"):
        yt.backward(torch.ones(3))


def test_detach_shares_the_version_counter_but_data_does_not():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    out = a * b  # saves a and b
    a.detach().zero_()  # detected: same counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(tg.ones(2))

    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    out = a * b
    b.data.mul_(0.0)  # invisible to autograd: silently uses the new values (as torch)
    out.backward(tg.ones(2))
    assert a.grad.tolist() == [0.0, 0.0]


def test_in_place_on_leaf_requiring_grad_is_an_error():
    w = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                           "in an in-place operation."):
        w.add_(1.0)
    assert w.tolist() == [1.0]  # nothing was modified
    with tg.no_grad():
        w.add_(1.0)  # what optimizers do
    assert w.tolist() == [2.0]


def test_in_place_on_non_leaf_rebases_history():
    x, xt = (tg.tensor([1.0, 2.0], requires_grad=True),
             torch.tensor([1.0, 2.0], requires_grad=True))
    for t in (x, xt):
        h = t * 2
        h.mul_(3.0)
        h.add_(t)
        (h * h).sum_to_size(1).backward() if isinstance(t, tg.Tensor) else (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_in_place_broadcast_cannot_change_shape():
    x = tg.zeros(1, 3, 1)
    with pytest.raises(RuntimeError, match="must match the existing size"):
        x.add_(tg.zeros(3, 1, 7))


def test_in_place_float_into_int_is_refused():
    x = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        x.mul_(1.5)
