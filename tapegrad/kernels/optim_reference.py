"""Optimizer update kernels, plain NumPy: the definition of every per-parameter update.

One function per optimizer updates one parameter *in place* from its gradient and its state
buffers. `tapegrad.kernels.optim_cpu` holds the same functions compiled with numba (one fused
pass over the arrays instead of a NumPy temporary per operation) and must agree with these.

Why the arithmetic looks fussy. torch's single-tensor optimizers (the CPU default) are chains of
in-place tensor ops, e.g. Adam's ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``.
Each op rounds its result to the parameter's dtype, and every Python-float hyperparameter is
first rounded to that dtype too. In float32 the order of those roundings decides the last bits,
and over hundreds of steps the last bits decide whether two runs stay within 1e-5 of each other.
So each kernel below performs torch's ops in torch's order, with hyperparameters cast by
``t = param.dtype.type`` exactly where torch casts them, and the scalar-only maths (bias
corrections, decayed learning rates) done in Python floats (float64) as torch does.

Conventions: ``param`` and the state buffers are modified in place; ``grad`` is read only;
all arrays have the parameter's shape and dtype. A state buffer an option does not use is
passed as ``None``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adagrad_", "adam_", "adam_scalars", "adagrad_lr", "rmsprop_", "sgd_"]


def _lerp_(start: np.ndarray, end: np.ndarray, weight: np.generic) -> None:
    """``start += weight * (end - start)`` in place, in torch's two-branch form.

    torch evaluates ``lerp`` as ``start + w*(end - start)`` when ``|w| < 0.5`` and as
    ``end - (end - start)*(1 - w)`` otherwise: each form is the more accurate one on its half
    (the result lands exactly on ``end`` at ``w = 1``).
    """
    one = start.dtype.type(1)
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (one - weight)


def sgd_(
    param: np.ndarray,
    grad: np.ndarray,
    momentum_buffer: np.ndarray | None,
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    maximize: bool,
    first_step: bool,
) -> None:
    """Stochastic gradient descent with optional momentum (torch's form).

    With ``g`` the gradient (negated when maximizing) plus ``weight_decay * p`` (an L2 penalty
    folded into the gradient)::

        b = g                              on the first step (a copy: no dampening)
        b = momentum * b + (1 - dampening) * g      afterwards
        g = g + momentum * b   (nesterov)   or   g = b
        p = p - lr * g

    Note the learning rate multiplies the whole buffer, so changing ``lr`` mid-run rescales
    the accumulated velocity too (Sutskever's form, ``b = momentum*b + lr*g``, would not).
    """
    t = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + t(weight_decay) * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer *= t(momentum)
            momentum_buffer += t(1 - dampening) * g
        g = g + t(momentum) * momentum_buffer if nesterov else momentum_buffer
    param += t(-lr) * g


def adam_scalars(step: float, lr: float, beta1: float, beta2: float) -> tuple[float, float]:
    """``(step_size, sqrt(bias_correction2))`` for Adam's step ``t`` (counting from 1).

    The moments start at 0, so early on they are biased towards 0: after ``t`` steps of
    ``m = beta1*m + (1 - beta1)*g`` with a constant ``g``, ``m = (1 - beta1**t) * g``. Dividing
    by ``bias_correction = 1 - beta**t`` removes the bias. torch folds the first correction into
    the step size and the second (under a square root) into the denominator.
    """
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    return lr / bias_correction1, bias_correction2**0.5


def adam_(
    param: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray | None,
    *,
    step: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """Adam / AdamW update for step ``step`` (already incremented: 1 on the first call).

    ::

        p = p * (1 - lr*weight_decay)     (AdamW: decoupled decay, applied first)
        g = g + weight_decay * p          (Adam: L2 penalty folded into the gradient)
        m = lerp(m, g, 1 - beta1)         = beta1*m + (1 - beta1)*g
        v = beta2*v + (1 - beta2)*g*g
        v_max = max(v_max, v)             (amsgrad: never let the denominator shrink)
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom

    which is ``p - lr * m_hat / (sqrt(v_hat) + eps)`` with the bias-corrected moments, written
    the way torch evaluates it (eps is added after the bias correction of ``v``).
    """
    t = param.dtype.type
    step_size, bias_correction2_sqrt = adam_scalars(step, lr, beta1, beta2)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= t(1 - lr * weight_decay)
        else:
            g = g + t(weight_decay) * param
    _lerp_(exp_avg, g, t(1 - beta1))
    exp_avg_sq *= t(beta2)
    exp_avg_sq += (t(1 - beta2) * g) * g
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)  # NaN propagates, as torch
        second = max_exp_avg_sq
    else:
        second = exp_avg_sq
    denom = np.sqrt(second) / t(bias_correction2_sqrt)
    denom += t(eps)
    param += (t(-step_size) * exp_avg) / denom


def rmsprop_(
    param: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray | None,
    momentum_buffer: np.ndarray | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """RMSprop: divide the gradient by a running root-mean-square of recent gradients.

    ::

        g = g + weight_decay * p
        v = alpha*v + (1 - alpha)*g*g
        centered:  gbar = lerp(gbar, g, 1 - alpha);  avg = sqrt(v - gbar**2) + eps
        otherwise: avg = sqrt(v) + eps
        momentum > 0:  b = momentum*b + g/avg;  p = p - lr*b
        otherwise:     p = p - lr*g/avg

    Centering divides by an estimate of the gradient's standard deviation instead of its RMS.
    There is no bias correction (unlike Adam), so the first steps are large: ``v`` starts at 0.
    """
    t = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + t(weight_decay) * param
    square_avg *= t(alpha)
    square_avg += (t(1 - alpha) * g) * g
    if centered:
        _lerp_(grad_avg, g, t(1 - alpha))
        avg = np.sqrt(square_avg + (t(-1) * grad_avg) * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += t(eps)
    if momentum > 0:
        momentum_buffer *= t(momentum)
        momentum_buffer += g / avg
        param += t(-lr) * momentum_buffer
    else:
        param += (t(-lr) * g) / avg


def adagrad_lr(step: float, lr: float, lr_decay: float) -> float:
    """Adagrad's decayed learning rate ``lr / (1 + (t - 1) * lr_decay)`` for step ``t >= 1``."""
    return lr / (1 + (step - 1) * lr_decay)


def adagrad_(
    param: np.ndarray,
    grad: np.ndarray,
    state_sum: np.ndarray,
    *,
    step: float,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """Adagrad: per-coordinate step sizes shrinking with the sum of all squared gradients.

    ::

        g = g + weight_decay * p
        s = s + g*g                      (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps),   clr = lr / (1 + (t - 1)*lr_decay)

    Coordinates that saw large gradients take small steps; rarely-updated ones keep large steps.
    The sum only grows, so the effective learning rate decays towards 0.
    """
    t = param.dtype.type
    clr = adagrad_lr(step, lr, lr_decay)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + t(weight_decay) * param
    state_sum += (t(1) * g) * g
    std = np.sqrt(state_sum)
    std += t(eps)
    param += (t(-clr) * g) / std

