"""backward / autograd.grad: seeds, accumulation, retain_graph, inputs=, errors (torch's)."""

import numpy as np
import pytest
import torch

import tapegrad as tg


def both(values, dtype=np.float64):
    arr = np.array(values, dtype=dtype)
    return (tg.tensor(arr, requires_grad=True),
            torch.tensor(arr, requires_grad=True))


def test_grad_accumulates_across_backward_calls_like_torch():
    x, xt = both([1.0, 2.0, 3.0])
    y, yt = x * x, xt * xt
    for _ in range(2):
        y.backward(tg.ones_like(y), retain_graph=True)
        yt.backward(torch.ones_like(yt), retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())
    assert np.allclose(x.grad.numpy(), 4 * x.detach().numpy())


def test_fan_out_sums_gradients():
    x, xt = both([0.5, -1.5])
    z = x * x + x * 3.0 + x
    zt = xt * xt + xt * 3.0 + xt
    z.backward(tg.ones_like(z))
    zt.backward(torch.ones_like(zt))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_second_backward_through_freed_graph_raises_torch_error():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.backward(tg.ones_like(y))
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward(tg.ones_like(y))


def test_graph_without_saved_tensors_can_run_twice():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x + 1
    y.backward(tg.ones_like(y))
    y.backward(tg.ones_like(y))
    assert x.grad.tolist() == [2.0, 2.0]


def test_implicit_seed_only_for_single_element_outputs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError,
                       match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                           "does not have a grad_fn"):
        tg.tensor([1.0]).backward()


def test_seed_shape_mismatch_message():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of"):
        (x * 2).backward(tg.ones(3))


def test_empty_inputs_rejected():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="'inputs' argument to backward\\(\\) cannot be empty."):
        (x * 2).backward(tg.ones(1), inputs=[])


def test_backward_inputs_restricts_accumulation():
    a = tg.tensor([1.0], requires_grad=True)
    b = tg.tensor([2.0], requires_grad=True)
    (a * b).backward(tg.ones(1), inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


def test_autograd_grad_returns_and_never_touches_dot_grad():
    x, xt = both([1.0, 2.0])
    (g,) = tg.autograd.grad(x * x * x, x, tg.ones(2, dtype=tg.float64))
    (gt,) = torch.autograd.grad(xt * xt * xt, xt, torch.ones(2, dtype=torch.float64))
    np.testing.assert_allclose(g.numpy(), gt.numpy())
    assert x.grad is None


def test_autograd_grad_unused_input():
    x = tg.tensor([1.0], requires_grad=True)
    unused = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        tg.autograd.grad(x * 2, [x, unused], tg.ones(1))
    gx, gu = tg.autograd.grad(x * 2, [x, unused], tg.ones(1), allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None
    gx, gu = tg.autograd.grad(x * 2, [x, unused], tg.ones(1), materialize_grads=True)
    assert gu.tolist() == [0.0]
    with pytest.raises(ValueError):
        tg.autograd.grad(x * 2, [x], tg.ones(1), allow_unused=False, materialize_grads=True)


def test_autograd_grad_of_intermediate():
    x, xt = both([1.0, 3.0])
    h, ht = x * x, xt * xt
    y, yt = h * h + h, ht * ht + ht
    (g,) = tg.autograd.grad(y, h, tg.ones(2, dtype=tg.float64))
    (gt,) = torch.autograd.grad(yt, ht, torch.ones(2, dtype=torch.float64))
    np.testing.assert_allclose(g.numpy(), gt.numpy())


def test_second_order_gradients_with_create_graph():
    x, xt = both([0.5, 2.0])
    for lib, t in ((tg, x), (torch, xt)):
        y = t * t * t
        (g,) = lib.autograd.grad(y, t, lib.ones_like(y), create_graph=True)
        assert g.requires_grad
        (gg,) = lib.autograd.grad(g, t, lib.ones_like(g))
        np.testing.assert_allclose(gg.detach().numpy(), 6 * t.detach().numpy())


def test_third_order_gradient_of_pow():
    x, xt = both([1.5])
    results = []
    for lib, t in ((tg, x), (torch, xt)):
        g = t ** 4
        for _ in range(3):
            (g,) = lib.autograd.grad(g, t, lib.ones_like(g), create_graph=True)
        results.append(g.detach().numpy())
    np.testing.assert_allclose(results[0], results[1])  # 24 x


def test_backward_create_graph_warns_and_builds_differentiable_grad():
    x = tg.tensor([2.0], requires_grad=True, dtype=tg.float64)
    with pytest.warns(UserWarning, match="create_graph=True will create a reference cycle"):
        (x * x * x).backward(tg.ones(1, dtype=tg.float64), create_graph=True)
    assert x.grad.requires_grad and x.grad.tolist() == [12.0]


def test_retain_grad_and_non_leaf_warning():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    h2 = x * 4
    (h * h2).backward(tg.ones(2))
    assert h.grad.tolist() == (h2.detach()).tolist()
    with pytest.warns(UserWarning, match="is not a leaf Tensor is being accessed"):
        assert h2.grad is None


def test_grad_dtype_matches_input_across_promotion():
    x = tg.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    z = x * y
    assert z.dtype == tg.float64
    z.backward(tg.ones(2, dtype=tg.float64))
    assert x.grad.dtype == tg.float32 and y.grad.dtype == tg.float64


def test_broadcast_grad_is_summed_to_input_shape():
    x, xt = both(np.random.default_rng(0).standard_normal((45, 65)))
    y, yt = both(np.random.default_rng(1).standard_normal((45, 1)))
    (x + y * x).backward(tg.ones((45, 65), dtype=tg.float64))
    (xt + yt * xt).backward(torch.ones((45, 65), dtype=torch.float64))
    assert y.grad.shape == (45, 1)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy())


def test_grad_is_not_aliased_with_user_seed():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seed = tg.ones(2)
    (x + 1).backward(seed)
    x.grad.add_(5.0)
    assert seed.tolist() == [1.0, 1.0]


def test_leaves_never_share_a_grad_array():
    # Add sends the same gradient object to both inputs: the first leaf must copy it.
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x2 = tg.tensor([3.0, 4.0], requires_grad=True)
    ((x + x2) * tg.tensor([2.0, 3.0])).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), x2.grad.numpy())
    x.grad.add_(1.0)
    assert x2.grad.tolist() == [2.0, 3.0]


def test_grad_seen_by_a_hook_is_not_modified_by_later_accumulation():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(seen.append)
    (x * tg.tensor([2.0, 3.0])).sum().backward()
    (x * tg.tensor([2.0, 3.0])).sum().backward()  # accumulates into x.grad in place
    assert seen[0].tolist() == [2.0, 3.0] and x.grad.tolist() == [4.0, 6.0]
