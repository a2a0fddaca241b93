"""Recording: requires_grad propagation, leaves, grad_fn names and next_functions."""

import numpy as np
import pytest
import torch

import tapegrad as tg


def test_requires_grad_propagates_only_from_inputs_that_require_it():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0])
    assert (a * b).requires_grad
    assert not (b * b).requires_grad
    assert (b * b).grad_fn is None


def test_leaf_rules_match_torch():
    a = tg.rand(3, requires_grad=True)
    b = a + 2
    assert a.is_leaf and not b.is_leaf
    assert tg.tensor([1.0]).is_leaf  # requires_grad=False tensors are leaves by convention
    at = torch.rand(3, requires_grad=True)
    assert (at + 2).is_leaf is b.is_leaf


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        tg.tensor([1, 2], requires_grad=True)


def test_flags_of_non_leaves_cannot_change():
    b = tg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf"):
        b.requires_grad = False


def test_grad_fn_names_and_next_functions_follow_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    w = tg.tensor([3.0, 4.0], requires_grad=True)
    y = x * w + x
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    wt = torch.tensor([3.0, 4.0], requires_grad=True)
    yt = xt * wt + xt
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__ == "AddBackward0"
    mul_node, nr = y.grad_fn.next_functions[0]
    assert type(mul_node).__name__ == "MulBackward0" and nr == 0
    acc_x, _ = mul_node.next_functions[0]
    assert type(acc_x).__name__ == "AccumulateGrad" and acc_x.variable is x
    # the same leaf used twice is reached through the same AccumulateGrad node
    assert y.grad_fn.next_functions[1][0] is acc_x
    assert repr(y.grad_fn).startswith("<AddBackward0 object at 0x")


def test_constant_inputs_have_no_edge():
    x = tg.tensor([1.0], requires_grad=True)
    c = tg.tensor([2.0])
    assert (x * c).grad_fn.next_functions[1] == (None, 0)


def test_sequence_numbers_increase_in_execution_order():
    x = tg.tensor([1.0], requires_grad=True)
    a = x * 2
    b = a + 1
    c = b * a
    seqs = [t.grad_fn.sequence_nr for t in (a, b, c)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_repr_matches_torch_layout():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    assert repr(x) == "tensor([[1., 2.]], requires_grad=True)"
    assert repr(x * 2) == "tensor([[2., 4.]], grad_fn=<MulBackward0>)"
    assert repr(tg.tensor([1.5, 2.25])) == repr(torch.tensor([1.5, 2.25]))
    assert repr(tg.tensor(3.0)) == "tensor(3.)"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor([1.0], dtype=tg.float64)) == "tensor([1.], dtype=tapegrad.float64)"
    assert repr(tg.tensor([[1.0, 2.0], [3.0, 4.0]])) == repr(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


def test_numpy_of_tensor_requiring_grad_raises_torch_error():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        x.numpy()
    assert np.array_equal(x.detach().numpy(), [1.0])
