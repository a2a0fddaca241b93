"""Optimizer update kernels compiled with numba: `optim_reference`, one fused pass each.

In NumPy, Adam's update is a dozen array operations, each reading and writing the whole
parameter (and allocating a temporary). Here each optimizer is one loop that reads ``param``,
``grad`` and the state buffers once per element and writes the results back in place, which is
what torch's "fused" optimizers do on GPUs.

The loops perform the same floating-point operations in the same order as `optim_reference`
(itself torch's order: see its docstring): no fastmath, so no reassociation and no fused
multiply-adds, and the two backends agree bit for bit in float32 and float64 (tested).

Like `tapegrad.kernels.cpu`, numba is imported on the first call, kernels are cached on disk
(``cache=True``, see `_jit.lazy_njit`) and compiled once per dtype; other dtypes (float16) run
the NumPy reference. Loops are serial: an update is memory-bound and parameters are small (a
784x512 weight is 0.4M elements, well under the size where a parallel kernel pays off on two
cores).
"""

from __future__ import annotations

import numpy as np

from . import optim_reference as reference
from ._jit import lazy_njit

__all__ = reference.__all__

adam_scalars = reference.adam_scalars
adagrad_lr = reference.adagrad_lr

_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------------------------------------
# Kernel bodies (plain Python, compiled by numba on first use). Arrays are 1-D, C-contiguous
# and of one dtype; hyperparameters arrive as Python floats and are rounded to that dtype once,
# where torch rounds them. An unused buffer is an empty array.


def _sgd_py(p, g, buf, lr, wd, mom, damp, nesterov, maximize, first):
    neg_lr = p.dtype.type(-lr)
    wd_ = p.dtype.type(wd)
    mom_ = p.dtype.type(mom)
    keep = p.dtype.type(1 - damp)
    use_wd = wd != 0
    use_mom = mom != 0
    for i in range(p.shape[0]):
        gi = -g[i] if maximize else g[i]
        if use_wd:
            gi = gi + wd_ * p[i]
        if use_mom:
            b = gi if first else buf[i] * mom_ + keep * gi
            buf[i] = b
            gi = gi + mom_ * b if nesterov else b
        p[i] = p[i] + neg_lr * gi


def _lerp_py(start, end, w, small, one_minus_w):
    # torch's two-branch lerp (see optim_reference._lerp_)
    if small:
        return start + w * (end - start)
    return end - (end - start) * one_minus_w


def _adam_py(p, g, m, v, vmax, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled,
             step_size, bc2_sqrt):
    t1 = p.dtype.type(1)
    w = p.dtype.type(1 - beta1)
    small = abs(w) < 0.5
    omw = t1 - w
    b2 = p.dtype.type(beta2)
    omb2 = p.dtype.type(1 - beta2)
    eps_ = p.dtype.type(eps)
    bc = p.dtype.type(bc2_sqrt)
    neg_step = p.dtype.type(-step_size)
    wd_ = p.dtype.type(wd)
    decay = p.dtype.type(1 - lr * wd)
    use_wd = wd != 0
    for i in range(p.shape[0]):
        gi = -g[i] if maximize else g[i]
        pi = p[i]
        if use_wd:
            if decoupled:
                pi = pi * decay
            else:
                gi = gi + wd_ * pi
        mi = _lerp(m[i], gi, w, small, omw)
        m[i] = mi
        vi = v[i] * b2 + (omb2 * gi) * gi
        v[i] = vi
        if amsgrad:
            vm = vmax[i]
            if vi > vm or vi != vi:  # np.maximum: the larger, NaN if either is NaN
                vm = vi
            vmax[i] = vm
            vi = vm
        denom = np.sqrt(vi) / bc + eps_
        p[i] = pi + (neg_step * mi) / denom


def _rmsprop_py(p, g, sq, gavg, buf, lr, alpha, eps, wd, mom, centered, maximize):
    t1 = p.dtype.type(1)
    a = p.dtype.type(alpha)
    oma = p.dtype.type(1 - alpha)
    small = abs(oma) < 0.5
    one_minus_oma = t1 - oma
    eps_ = p.dtype.type(eps)
    wd_ = p.dtype.type(wd)
    mom_ = p.dtype.type(mom)
    neg_lr = p.dtype.type(-lr)
    neg_one = p.dtype.type(-1)
    use_wd = wd != 0
    use_mom = mom > 0
    for i in range(p.shape[0]):
        gi = -g[i] if maximize else g[i]
        if use_wd:
            gi = gi + wd_ * p[i]
        si = sq[i] * a + (oma * gi) * gi
        sq[i] = si
        if centered:
            ga = _lerp(gavg[i], gi, oma, small, one_minus_oma)
            gavg[i] = ga
            avg = np.sqrt(si + (neg_one * ga) * ga) + eps_
        else:
            avg = np.sqrt(si) + eps_
        if use_mom:
            b = buf[i] * mom_ + gi / avg
            buf[i] = b
            p[i] = p[i] + neg_lr * b
        else:
            p[i] = p[i] + (neg_lr * gi) / avg


def _adagrad_py(p, g, s, clr, wd, eps, maximize):
    t1 = p.dtype.type(1)
    eps_ = p.dtype.type(eps)
    wd_ = p.dtype.type(wd)
    neg_clr = p.dtype.type(-clr)
    use_wd = wd != 0
    for i in range(p.shape[0]):
        gi = -g[i] if maximize else g[i]
        if use_wd:
            gi = gi + wd_ * p[i]
        si = s[i] + (t1 * gi) * gi
        s[i] = si
        p[i] = p[i] + (neg_clr * gi) / (np.sqrt(si) + eps_)


# ---------------------------------------------------------------------------------------------
# Compiled on first call (`_jit.lazy_njit`).

_lerp = lazy_njit(_lerp_py)
_sgd = lazy_njit(_sgd_py)
_adam = lazy_njit(_adam_py)
_rmsprop = lazy_njit(_rmsprop_py)
_adagrad = lazy_njit(_adagrad_py)

# ---------------------------------------------------------------------------------------------
# Wrappers: layout plumbing in Python, arithmetic in the kernels.


class _Flat:
    """``with _Flat(dtype, a, b, None) as (fa, fb, fe):`` 1-D C-contiguous views of arrays that
    a kernel updates in place. An array that cannot be viewed that way (a transposed or sliced
    parameter) is copied and the result copied back on exit; ``None`` becomes an empty array."""

    def __init__(self, dtype: np.dtype, *arrays: np.ndarray | None) -> None:
        self.dtype = dtype
        self.arrays = arrays
        self.copies: list[tuple[np.ndarray, np.ndarray]] = []

    def __enter__(self) -> list[np.ndarray]:
        flats = []
        for a in self.arrays:
            if a is None:
                flats.append(np.empty(0, self.dtype))
            elif a.flags.c_contiguous and a.flags.writeable and a.dtype == self.dtype:
                flats.append(a.reshape(-1))
            else:
                flat = np.ascontiguousarray(a, dtype=self.dtype).reshape(-1)
                self.copies.append((a, flat))
                flats.append(flat)
        return flats

    def __exit__(self, *exc: object) -> None:
        for a, flat in self.copies:
            a[...] = flat.reshape(a.shape)


_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32),
          np.dtype(np.float64): np.empty(0, np.float64)}


def _is_flat(a: np.ndarray, dtype: np.dtype | None = None) -> bool:
    """Can ``a.reshape(-1)`` be handed to a kernel as is (a writable C-contiguous view)?"""
    return a.flags.c_contiguous and a.flags.writeable and (dtype is None or a.dtype == dtype)


def _check(param: np.ndarray, *arrays: np.ndarray | None) -> None:
    # numba does no bounds checks: a short buffer would read or write stray memory.
    for a in arrays:
        if a is not None and a.shape != param.shape:
            raise ValueError(f"optimizer kernel: shape {a.shape} does not match param "
                             f"shape {param.shape}")


def _src(grad: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.ascontiguousarray(grad, dtype=dtype).reshape(-1)


def sgd_(param, grad, momentum_buffer, *, lr, weight_decay, momentum, dampening, nesterov,
         maximize, first_step) -> None:
    """`optim_reference.sgd_` in one pass."""
    if param.dtype not in _COMPILED:
        return reference.sgd_(param, grad, momentum_buffer, lr=lr, weight_decay=weight_decay,
                              momentum=momentum, dampening=dampening, nesterov=nesterov,
                              maximize=maximize, first_step=first_step)
    _check(param, grad, momentum_buffer if momentum != 0 else None)
    args = (float(lr), float(weight_decay), float(momentum), float(dampening), bool(nesterov),
            bool(maximize), bool(first_step))
    if momentum == 0 and _is_flat(param) and _is_flat(grad, param.dtype):
        # The common case, without the copy-back bookkeeping (it runs for every parameter
        # of every step).
        _sgd(param.reshape(-1), grad.reshape(-1), _EMPTY[param.dtype], *args)
        return
    with _Flat(param.dtype, param, momentum_buffer if momentum != 0 else None) as (p, b):
        _sgd(p, _src(grad, param.dtype), b, *args)


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, beta1, beta2, eps,
          weight_decay, amsgrad, maximize, decoupled_weight_decay) -> None:
    """`optim_reference.adam_` in one pass."""
    if param.dtype not in _COMPILED:
        return reference.adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step=step,
                               lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                               weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                               decoupled_weight_decay=decoupled_weight_decay)
    vmax = max_exp_avg_sq if amsgrad else None
    _check(param, grad, exp_avg, exp_avg_sq, vmax)
    step_size, bc2_sqrt = adam_scalars(step, lr, beta1, beta2)
    with _Flat(param.dtype, param, exp_avg, exp_avg_sq, vmax) as (p, m, v, vm):
        _adam(p, _src(grad, param.dtype), m, v, vm, float(lr), float(beta1), float(beta2),
              float(eps), float(weight_decay), bool(amsgrad), bool(maximize),
              bool(decoupled_weight_decay), float(step_size), float(bc2_sqrt))


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, *, lr, alpha, eps,
             weight_decay, momentum, centered, maximize) -> None:
    """`optim_reference.rmsprop_` in one pass."""
    if param.dtype not in _COMPILED:
        return reference.rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr=lr,
                                  alpha=alpha, eps=eps, weight_decay=weight_decay,
                                  momentum=momentum, centered=centered, maximize=maximize)
    gavg = grad_avg if centered else None
    buf = momentum_buffer if momentum > 0 else None
    _check(param, grad, square_avg, gavg, buf)
    with _Flat(param.dtype, param, square_avg, gavg, buf) as (p, s, ga, b):
        _rmsprop(p, _src(grad, param.dtype), s, ga, b, float(lr), float(alpha), float(eps),
                 float(weight_decay), float(momentum), bool(centered), bool(maximize))


def adagrad_(param, grad, state_sum, *, step, lr, lr_decay, weight_decay, eps,
             maximize) -> None:
    """`optim_reference.adagrad_` in one pass."""
    if param.dtype not in _COMPILED:
        return reference.adagrad_(param, grad, state_sum, step=step, lr=lr, lr_decay=lr_decay,
                                  weight_decay=weight_decay, eps=eps, maximize=maximize)
    _check(param, grad, state_sum)
    clr = adagrad_lr(step, lr, lr_decay)
    with _Flat(param.dtype, param, state_sum) as (p, s):
        _adagrad(p, _src(grad, param.dtype), s, float(clr), float(weight_decay), float(eps),
                 bool(maximize))

