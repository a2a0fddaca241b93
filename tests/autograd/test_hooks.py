"""Tensor hooks, post-accumulate hooks and node hooks: firing, replacement, order, removal."""

import pytest

import tapegrad as tg


def test_hook_sees_and_replaces_gradient_of_non_leaf():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.register_hook(lambda g: g * 10)  # replaces: later hooks and the producer see it
    (h * 1.0).backward(tg.ones(2))
    assert seen == [[1.0, 1.0]]
    assert x.grad.tolist() == [20.0, 20.0]


def test_leaf_hook_runs_before_accumulation():
    x = tg.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g * 0.5)
    (x * 4).backward(tg.ones(1))
    assert x.grad.tolist() == [2.0]


def test_removed_hook_no_longer_fires():
    x = tg.tensor([1.0], requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append(1))
    (x * 2).backward(tg.ones(1))
    handle.remove()
    (x * 2).backward(tg.ones(1))
    assert calls == [1]


def test_hook_on_tensor_without_grad_errors():
    with pytest.raises(RuntimeError,
                       match="cannot register a hook on a tensor that doesn't require"):
        tg.tensor([1.0]).register_hook(lambda g: g)


def test_post_accumulate_grad_hook_sees_updated_grad():
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * 3).backward(tg.ones(2))
    assert seen == [[3.0, 3.0]]
    with pytest.raises(RuntimeError,
                       match="post accumulate grad hooks cannot be registered on non-leaf"):
        (x * 1).register_post_accumulate_grad_hook(lambda t: None)


def test_hook_order_tensor_hook_then_retain_grad():
    # torch: tensor hooks run before the retained .grad is written
    x = tg.tensor([1.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    (h * 1).backward(tg.ones(1))
    assert h.grad.tolist() == [3.0]


def test_node_hooks_see_grad_inputs_and_outputs():
    x = tg.tensor([2.0], requires_grad=True)
    y = x * 3
    log = []
    y.grad_fn.register_prehook(lambda gout: log.append(("pre", gout[0].tolist())))
    y.grad_fn.register_hook(
        lambda gin, gout: log.append(("post", gin[0].tolist(), gout[0].tolist())))
    y.backward(tg.ones(1))
    assert log == [("pre", [1.0]), ("post", [3.0], [1.0])]


def test_hooks_fire_for_autograd_grad_inputs():
    x = tg.tensor([1.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g + 1)
    (gh,) = tg.autograd.grad(h * 5, h, tg.ones(1))
    assert gh.tolist() == [6.0]
