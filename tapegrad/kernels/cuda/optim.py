"""CUDA twins of `tapegrad.kernels.optim_reference`: fused, in-place optimizer updates.

Same functions and arguments as the reference (``optim_reference.__all__``), on `CudaArray`s.
Each update is **one kernel launch per parameter per step**: a thread reads one element of the
parameter, its gradient and its state buffers, computes every moment update and the parameter
update in registers, and writes the results back in place. That is what torch's "fused"
optimizers do; the unfused alternative (a dozen array ops, each a launch that reads and writes
the whole parameter) moves ~10x more memory, and an update is bound by memory, not arithmetic.

Nothing crosses to the host: hyperparameters are kernel arguments (numbers, not arrays), and
the bias corrections (`adam_scalars`, `adagrad_lr`) are Python floats computed on the host from
the step count, as torch does.

Agreement with the CPU. The reference performs torch's in-place ops in torch's order, rounding
every hyperparameter to the parameter's dtype where torch does (read its docstring). The
kernels do the same operations in the same order: the host rounds the hyperparameters
(``t = param.dtype.type``: ``t(lr)`` is a float32 for a float32 parameter, so numba compiles
float32 arithmetic) and the kernels contain no float literals, which would be float64 and
promote. One difference remains on a GPU: the compiler may fuse ``a * b + c`` into one
fused multiply-add, rounded once instead of twice, so the last bit can differ from the CPU
(~1e-7 relative in float32 per step).

Layouts: any strided parameter, gradient or buffer works in place (a thread finds its element
in each array through the array's own strides); a gradient of another dtype is cast first.
A buffer that an option does not use is passed as None, as in the reference.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from .. import optim_reference
from . import runtime
from .array import CudaArray, device_mismatch
from .row_kernels import build_once, device, kernel_globals, layout

__all__ = list(optim_reference.__all__)

adam_scalars = optim_reference.adam_scalars
adagrad_lr = optim_reference.adagrad_lr

# bound by `kernel_globals` on first use (the simulator swaps `cuda` while a kernel runs)
cuda: Any = None
_sqrt: Any = None

_cache: dict[Any, SimpleNamespace] = {}


def _kernels() -> SimpleNamespace:
    return build_once(_cache, "optim", _build)


def _build() -> SimpleNamespace:
    kernel_globals(globals())
    offset_of = device().offset_of

    @cuda.jit(device=True)
    def lerp(start, end, w, small, one_minus_w):
        # torch's two-branch lerp (optim_reference._lerp_)
        if small:
            return start + w * (end - start)
        return end - (end - start) * one_minus_w

    @cuda.jit
    def sgd(n, shape, p, po, ps, g, go, gs, b, bo, bs, neg_lr, wd, mom, keep,
            use_wd, use_mom, nesterov, maximize, first):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            ip = po + offset_of(i, shape, ps)
            gi = g[go + offset_of(i, shape, gs)]
            if maximize:
                gi = -gi
            if use_wd:
                gi = gi + wd * p[ip]
            if use_mom:
                ib = bo + offset_of(i, shape, bs)
                bi = gi if first else b[ib] * mom + keep * gi
                b[ib] = bi
                gi = gi + mom * bi if nesterov else bi
            p[ip] = p[ip] + neg_lr * gi

    @cuda.jit
    def adam(n, shape, p, po, ps, g, go, gs, m, mo, ms, v, vo, vs, vm, vmo, vms,
             w, small, omw, b2, omb2, eps, bc, neg_step, wd, decay,
             use_wd, decoupled, amsgrad, maximize):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            ip = po + offset_of(i, shape, ps)
            im = mo + offset_of(i, shape, ms)
            iv = vo + offset_of(i, shape, vs)
            gi = g[go + offset_of(i, shape, gs)]
            if maximize:
                gi = -gi
            pi = p[ip]
            if use_wd:
                if decoupled:
                    pi = pi * decay
                else:
                    gi = gi + wd * pi
            mi = lerp(m[im], gi, w, small, omw)
            m[im] = mi
            vi = v[iv] * b2 + (omb2 * gi) * gi
            v[iv] = vi
            if amsgrad:
                ivm = vmo + offset_of(i, shape, vms)
                top = vm[ivm]
                if vi > top or vi != vi:  # np.maximum: the larger, NaN if either is NaN
                    top = vi
                vm[ivm] = top
                vi = top
            denom = _sqrt(vi) / bc + eps
            p[ip] = pi + (neg_step * mi) / denom

    @cuda.jit
    def rmsprop(n, shape, p, po, ps, g, go, gs, sq, so, ss, ga, gao, gas, b, bo, bs,
                alpha, oma, small, one_minus_oma, eps, wd, mom, neg_lr, neg_one,
                use_wd, centered, use_mom, maximize):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            ip = po + offset_of(i, shape, ps)
            isq = so + offset_of(i, shape, ss)
            gi = g[go + offset_of(i, shape, gs)]
            if maximize:
                gi = -gi
            if use_wd:
                gi = gi + wd * p[ip]
            si = sq[isq] * alpha + (oma * gi) * gi
            sq[isq] = si
            if centered:
                iga = gao + offset_of(i, shape, gas)
                gai = lerp(ga[iga], gi, oma, small, one_minus_oma)
                ga[iga] = gai
                avg = _sqrt(si + (neg_one * gai) * gai) + eps
            else:
                avg = _sqrt(si) + eps
            if use_mom:
                ib = bo + offset_of(i, shape, bs)
                bi = b[ib] * mom + gi / avg
                b[ib] = bi
                p[ip] = p[ip] + neg_lr * bi
            else:
                p[ip] = p[ip] + (neg_lr * gi) / avg

    @cuda.jit
    def adagrad(n, shape, p, po, ps, g, go, gs, s, so, ss, one, neg_clr, wd, eps, use_wd,
                maximize):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            ip = po + offset_of(i, shape, ps)
            isum = so + offset_of(i, shape, ss)
            gi = g[go + offset_of(i, shape, gs)]
            if maximize:
                gi = -gi
            if use_wd:
                gi = gi + wd * p[ip]
            si = s[isum] + (one * gi) * gi
            s[isum] = si
            p[ip] = p[ip] + (neg_clr * gi) / (_sqrt(si) + eps)

    return SimpleNamespace(sgd=sgd, adam=adam, rmsprop=rmsprop, adagrad=adagrad)


# ------------------------------------------------------------------ argument plumbing
def _operand(param: CudaArray, a: Any, name: str, used: bool = True,
             cast: bool = False) -> tuple:
    """``(buffer, offset, strides)`` of ``a`` (param-shaped). An unused buffer (its option is
    off) is param's own, which the kernel never reads. ``cast``: convert to param's dtype
    first (the gradient; the buffers are updated in place, so they must already have it)."""
    if not used:
        a = param
    elif a is None:
        raise ValueError(f"optimizer kernel: {name} is required by the options given")
    if not isinstance(a, CudaArray):
        raise device_mismatch(a) if np.ndim(a) else TypeError(f"{name}: a CUDA array")
    if a.shape != param.shape:
        raise ValueError(f"optimizer kernel: {name} shape {a.shape} does not match param "
                         f"shape {param.shape}")
    if a.dtype != param.dtype:
        if not cast:
            raise TypeError(f"optimizer kernel: {name} is {a.dtype}, param is {param.dtype}")
        a = a.astype(param.dtype)
    return a._buf, a.offset, layout(a)[1]


def _launch(kernel: Any, param: CudaArray, *args: Any) -> None:
    """One fused launch over the parameter's elements (a grid-stride loop)."""
    if not isinstance(param, CudaArray):
        raise device_mismatch(param) if np.ndim(param) else TypeError("param: a CUDA array")
    n = param.size
    if n:
        threads = runtime.threads_per_block()
        kernel[runtime.blocks_for(n, threads), threads](
            n, layout(param)[0], param._buf, param.offset, layout(param)[1], *args)


# ------------------------------------------------------------------ the optimizers
def sgd_(param: CudaArray, grad: CudaArray, momentum_buffer: CudaArray | None, *, lr: float,
         weight_decay: float, momentum: float, dampening: float, nesterov: bool,
         maximize: bool, first_step: bool) -> None:
    """`optim_reference.sgd_` in one launch."""
    t = param.dtype.type
    use_mom = momentum != 0
    _launch(_kernels().sgd, param, *_operand(param, grad, "grad", cast=True),
            *_operand(param, momentum_buffer, "momentum_buffer", use_mom),
            t(-lr), t(weight_decay), t(momentum), t(1 - dampening), weight_decay != 0,
            use_mom, bool(nesterov), bool(maximize), bool(first_step))


def adam_(param: CudaArray, grad: CudaArray, exp_avg: CudaArray, exp_avg_sq: CudaArray,
          max_exp_avg_sq: CudaArray | None, *, step: float, lr: float, beta1: float,
          beta2: float, eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
          decoupled_weight_decay: bool) -> None:
    """`optim_reference.adam_` in one launch."""
    t = param.dtype.type
    step_size, bc2_sqrt = adam_scalars(step, lr, beta1, beta2)
    w = t(1 - beta1)
    _launch(_kernels().adam, param, *_operand(param, grad, "grad", cast=True),
            *_operand(param, exp_avg, "exp_avg"), *_operand(param, exp_avg_sq, "exp_avg_sq"),
            *_operand(param, max_exp_avg_sq, "max_exp_avg_sq", bool(amsgrad)),
            w, bool(abs(w) < 0.5), t(1) - w, t(beta2), t(1 - beta2), t(eps), t(bc2_sqrt),
            t(-step_size), t(weight_decay), t(1 - lr * weight_decay), weight_decay != 0,
            bool(decoupled_weight_decay), bool(amsgrad), bool(maximize))


def rmsprop_(param: CudaArray, grad: CudaArray, square_avg: CudaArray,
             grad_avg: CudaArray | None, momentum_buffer: CudaArray | None, *, lr: float,
             alpha: float, eps: float, weight_decay: float, momentum: float, centered: bool,
             maximize: bool) -> None:
    """`optim_reference.rmsprop_` in one launch."""
    t = param.dtype.type
    oma = t(1 - alpha)
    _launch(_kernels().rmsprop, param, *_operand(param, grad, "grad", cast=True),
            *_operand(param, square_avg, "square_avg"),
            *_operand(param, grad_avg, "grad_avg", bool(centered)),
            *_operand(param, momentum_buffer, "momentum_buffer", momentum > 0),
            t(alpha), oma, bool(abs(oma) < 0.5), t(1) - oma, t(eps), t(weight_decay),
            t(momentum), t(-lr), t(-1), weight_decay != 0, bool(centered), momentum > 0,
            bool(maximize))


def adagrad_(param: CudaArray, grad: CudaArray, state_sum: CudaArray, *, step: float,
             lr: float, lr_decay: float, weight_decay: float, eps: float,
             maximize: bool) -> None:
    """`optim_reference.adagrad_` in one launch."""
    t = param.dtype.type
    clr = adagrad_lr(step, lr, lr_decay)
    _launch(_kernels().adagrad, param, *_operand(param, grad, "grad", cast=True),
            *_operand(param, state_sum, "state_sum"), t(1), t(-clr), t(weight_decay),
            t(eps), weight_decay != 0, bool(maximize))
