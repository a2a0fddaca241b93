"""The optimizers' fused update kernels against their update equations (issue 10).

Each optimizer's `step` runs one fused kernel per parameter (`tapegrad.kernels.optim_cpu`,
or its NumPy reference `optim_reference`). Here the same update is written the plain way,
as torch documents the algorithm, with tensor ops under ``no_grad``, and both are run for a
few steps in float64 on the same gradients: the parameters after every step, and the state
buffers at the end, must agree. (The fused *ops* are checked against their composites in
tests/ops/test_fused_composites.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg

RTOL, ATOL = 1e-10, 1e-12  # float64: only the order of roundings differs


def _close(got: tg.Tensor, want: tg.Tensor, what: str) -> None:
    assert tuple(got.shape) == tuple(want.shape), (what, got.shape, want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=RTOL,
                               atol=ATOL, err_msg=what)


def sgd_update(p, g, state, t, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False):
    """torch.optim.SGD's documented algorithm."""
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        b = g.clone() if t == 1 else momentum * state["momentum_buffer"] + (1 - dampening) * g
        state["momentum_buffer"] = b
        g = g + momentum * b if nesterov else b
    return p - lr * g


def adam_update(p, g, state, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                amsgrad=False, maximize=False, decoupled=False):
    """torch.optim.Adam's (and, with ``decoupled``, AdamW's) documented algorithm."""
    b1, b2 = betas
    g = -g if maximize else g
    if weight_decay and decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    m = b1 * state.get("exp_avg", 0 * p) + (1 - b1) * g
    v = b2 * state.get("exp_avg_sq", 0 * p) + (1 - b2) * g * g
    state["exp_avg"], state["exp_avg_sq"] = m, v
    if amsgrad:
        v = tg.maximum(state.get("max_exp_avg_sq", 0 * p), v)
        state["max_exp_avg_sq"] = v
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (v_hat.sqrt() + eps)


def rmsprop_update(p, g, state, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                   momentum=0.0, centered=False, maximize=False):
    """torch.optim.RMSprop's documented algorithm."""
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    v = alpha * state.get("square_avg", 0 * p) + (1 - alpha) * g * g
    state["square_avg"] = v
    if centered:
        g_avg = alpha * state.get("grad_avg", 0 * p) + (1 - alpha) * g
        state["grad_avg"] = g_avg
        v = v - g_avg * g_avg
    if momentum > 0:
        b = momentum * state.get("momentum_buffer", 0 * p) + g / (v.sqrt() + eps)
        state["momentum_buffer"] = b
        return p - lr * b
    return p - lr * g / (v.sqrt() + eps)


def adagrad_update(p, g, state, t, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                   initial_accumulator_value=0.0, eps=1e-10, maximize=False):
    """torch.optim.Adagrad's documented algorithm."""
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = state.get("sum", 0 * p + initial_accumulator_value) + g * g
    state["sum"] = s
    return p - clr * g / (s.sqrt() + eps)


OPTIMIZER_CASES = [  # optimizer, its update equations, options
    (tg.optim.SGD, sgd_update, dict(lr=0.1)),
    (tg.optim.SGD, sgd_update, dict(lr=0.1, momentum=0.9)),
    (tg.optim.SGD, sgd_update, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (tg.optim.SGD, sgd_update, dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True,
                                    maximize=True)),
    (tg.optim.Adam, adam_update, dict(lr=0.01)),
    (tg.optim.Adam, adam_update, dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1,
                                      amsgrad=True)),
    (tg.optim.Adam, adam_update, dict(lr=0.02, eps=1e-3, maximize=True)),
    (tg.optim.AdamW, adam_update, dict(lr=0.01, weight_decay=0.1)),
    (tg.optim.AdamW, adam_update, dict(lr=0.01, weight_decay=0.05, amsgrad=True,
                                       maximize=True)),
    (tg.optim.RMSprop, rmsprop_update, dict(lr=0.01)),
    (tg.optim.RMSprop, rmsprop_update, dict(lr=0.01, alpha=0.9, momentum=0.5)),
    (tg.optim.RMSprop, rmsprop_update, dict(lr=0.01, centered=True, weight_decay=0.1)),
    (tg.optim.RMSprop, rmsprop_update, dict(lr=0.01, centered=True, momentum=0.7, eps=1e-3,
                                            maximize=True)),
    (tg.optim.Adagrad, adagrad_update, dict(lr=0.1)),
    (tg.optim.Adagrad, adagrad_update, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1,
                                            initial_accumulator_value=0.5)),
    (tg.optim.Adagrad, adagrad_update, dict(lr=0.1, eps=1e-3, maximize=True)),
]


@pytest.mark.parametrize("optimizer, update, options", OPTIMIZER_CASES,
                         ids=lambda v: getattr(v, "__name__", None))
def test_optimizer_update(rng, optimizer, update, options):
    """Five steps of the fused update against the equations, on two parameters whose
    gradients change scale from step to step (so that amsgrad's max matters)."""
    shapes = [(3, 4), (5,)]
    fused = [tg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    plain = [p.detach().clone() for p in fused]
    states: list[dict] = [{} for _ in shapes]
    opt = optimizer(fused, **options)
    if update is adam_update:
        options = dict(options, decoupled=optimizer is tg.optim.AdamW)
        if optimizer is tg.optim.AdamW:
            options.setdefault("weight_decay", 1e-2)
    for t, scale in enumerate([1.0, 3.0, 0.2, 0.05, 1.0], start=1):
        grads = [rng.standard_normal(s) * scale for s in shapes]
        for p, g in zip(fused, grads, strict=True):
            p.grad = tg.tensor(g)
        opt.step()
        with tg.no_grad():
            plain = [update(p, tg.tensor(g), st, t, **options)
                     for p, g, st in zip(plain, grads, states, strict=True)]
        for i, (p, q) in enumerate(zip(fused, plain, strict=True)):
            _close(p.detach(), q, f"parameter {i} after step {t}")
    for p, st in zip(fused, states, strict=True):
        for key, value in st.items():
            _close(opt.state[p][key], value, f"state {key!r}")
