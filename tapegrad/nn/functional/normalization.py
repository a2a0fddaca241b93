"""Normalisation: ``batch_norm``, ``layer_norm`` and ``normalize``.

Batch norm and layer norm both *standardise* groups of values and then apply a learned
per-feature affine map (see `tapegrad.kernels.norm_reference` for the maths and backward)::

    y = (x - mean) / sqrt(var + eps) * weight + bias        (var: biased, divide by M)

* ``batch_norm`` groups by channel (dim 1) across the batch and all spatial positions. In
  training it uses the batch's statistics and updates the running averages in place
  (``running = (1 - momentum) * running + momentum * batch``, with the *unbiased* batch
  variance); in eval it normalises with the running averages, which are constants.
* ``layer_norm`` groups the trailing ``normalized_shape`` dims of each sample: the same
  computation in training and eval.

Each is one fused tape entry (torch's ``NativeBatchNormBackward0`` /
``NativeLayerNormBackward0``) whose forward and backward are numba kernels. When a graph of
the backward is requested (``create_graph=True``) backward instead evaluates the same
formula with tensor ops, so second derivatives work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.ops._util import wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Size, Tensor


def _ncs(a: np.ndarray) -> np.ndarray:
    """(N, C, *) viewed as (N, C, S): batch norm's groups are the (N, S) slices of a channel.
    S is spelled out rather than -1, which numpy cannot infer when N is 0."""
    return a.reshape(a.shape[0], a.shape[1], int(np.prod(a.shape[2:], dtype=np.int64)))


def _data(t: Tensor | None) -> np.ndarray | None:
    """The array of an affine parameter, flattened: kernels take (C,) / (D,) vectors."""
    return None if t is None else t._data.reshape(-1)


def _meta(t: Tensor | None) -> tuple | None:
    return None if t is None else (t._data.shape, t._data.dtype)


def _grads(ctx: Node, x: Tensor, dx: np.ndarray, dw: np.ndarray, db: np.ndarray) -> tuple:
    """Kernel results as the gradients of (x, weight, bias), each only when needed."""
    need = ctx.needs_input_grad
    (w_shape, w_dt), (b_shape, b_dt) = ctx.affine_meta
    return (wrap(dx.reshape(x._data.shape)) if need[0] else None,
            wrap(dw.astype(w_dt).reshape(w_shape)) if need[1] else None,
            wrap(db.astype(b_dt).reshape(b_shape)) if need[2] else None)


# ------------------------------------------------------------------ batch norm
class BatchNorm(Function):
    """y = (x - mean_c) * invstd_c * w_c + b_c; mean/invstd come precomputed (batch or
    running statistics) as options, so this op only normalises and differentiates.

    Equals ``(x - mean) / (var + eps).sqrt() * w + b`` per channel; in training ``mean`` and
    the biased ``var`` are ``x``'s over (N, *), differentiated; in eval the running buffers,
    constants (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('(γ{g} − mean(γ{g}) − x̂·mean(γ{g}·x̂)) / σ per channel : {s0}',
               'Σ {g}·x̂ over batch and positions : {s1}',
               'Σ {g} over batch and positions : {s2}')
    node_name = "NativeBatchNormBackward0"
    op_name = "batch_norm"

    @staticmethod
    def forward(ctx: Node, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                mean: np.ndarray = None, invstd: np.ndarray = None, training: bool = True,
                eps: float = 1e-5) -> Tensor:
        ctx.mean, ctx.invstd, ctx.training, ctx.eps = mean, invstd, training, eps
        ctx.affine_meta = (_meta(weight) or (None, None), _meta(bias) or (None, None))
        ctx.save_for_backward(x, weight)
        k = kernels.on(x._data)  # the CPU or the CUDA kernels, by the input's device
        y = k.batch_norm_forward(_ncs(x._data), mean, invstd, _data(weight), _data(bias))
        return wrap(y.reshape(x._data.shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        """Training: dx = w invstd (dy - mean(dy) - x_hat mean(dy x_hat)) per channel;
        eval: dx = w invstd dy. dw = sum(dy x_hat), db = sum(dy)."""
        x, weight = ctx.saved_tensors
        if is_grad_enabled():
            return _batch_norm_backward_graph(ctx, grad, x, weight)
        k = kernels.on(grad._data)
        dx, dw, db = k.batch_norm_backward(_ncs(grad._data), _ncs(x._data), ctx.mean,
                                           ctx.invstd, _data(weight), ctx.training)
        return _grads(ctx, x, dx, dw, db)


def _batch_norm_backward_graph(ctx: Node, grad: Tensor, x: Tensor, weight: Tensor | None
                               ) -> tuple:
    """The backward as tensor ops (recorded when create_graph=True). In training the
    statistics are recomputed from ``x`` with ops, so they are differentiated too."""
    dims = (0,) + tuple(range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    dt = x._data.dtype
    if ctx.training:
        mean = x.mean(dims, keepdim=True)
        centred = x - mean
        invstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps).rsqrt()
    else:
        centred = x - wrap(ctx.mean.astype(dt).reshape(shape))
        invstd = wrap(ctx.invstd.astype(dt).reshape(shape))
    xhat = centred * invstd
    g = grad if weight is None else grad * weight.reshape(shape)
    if ctx.training:
        dx = (g - g.mean(dims, keepdim=True) - xhat * (g * xhat).mean(dims, keepdim=True)) \
            * invstd
    else:
        dx = g * invstd
    need = ctx.needs_input_grad
    return (dx if need[0] else None,
            (grad * xhat).sum(dims) if need[1] else None,
            grad.sum(dims) if need[2] else None)


def _verify_batch_size(size: Size) -> None:
    values = size[0]
    for s in size[2:]:
        values *= s
    if values == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )


def _check_channels(name: str, t: Tensor | None, channels: int) -> None:
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def _update_running(running: Tensor, batch: np.ndarray, momentum: float) -> None:
    """running <- (1 - momentum) * running + momentum * batch, in place (a buffer, not part
    of any graph: this is bookkeeping, like torch's in-place update inside the op)."""
    old = running._data.astype(np.float64)
    new = (1.0 - momentum) * old + momentum * batch.reshape(old.shape)
    running._data[...] = new.astype(running._data.dtype)
    running._bump_version()


def batch_norm(input: Tensor, running_mean: Tensor | None,
               running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation over dim 1 of an (N, C, *) input (see the module docstring).

    ``training=True`` normalises with the batch statistics and, when running buffers are
    given, updates them in place; ``training=False`` needs the running buffers.
    """
    require_tensor(input, "batch_norm")
    if training:
        _verify_batch_size(input.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    if input.dim() < 2:
        raise RuntimeError(f"batch_norm: expected at least a 2-D input, got {input.dim()}-D")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, channels)
    if training and input.numel() == 0:
        # An empty batch has no statistics: normalise nothing and leave the running
        # averages alone (as torch does) instead of folding 0/0 = NaN into them, which
        # would poison every later eval output. Any finite mean/var gives the same empty
        # output and zero weight/bias gradients.
        mean, var = np.zeros(channels), np.ones(channels)
    elif training:
        mean, var = kernels.on(input._data).batch_norm_stats(_ncs(input._data))
        count = input.numel() // channels
        if running_mean is not None:
            _update_running(running_mean, mean, momentum)
        if running_var is not None:
            _update_running(running_var, var * (count / max(count - 1, 1)), momentum)
    else:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        if running_var is None:
            raise RuntimeError("running_var must be defined in evaluation mode")
        mean = running_mean._data.astype(np.float64).reshape(channels)
        var = running_var._data.astype(np.float64).reshape(channels)
    invstd = 1.0 / np.sqrt(var + eps)
    return BatchNorm.apply(input, weight, bias, mean=mean, invstd=invstd, training=training,
                           eps=eps)


# ------------------------------------------------------------------ layer norm
class LayerNorm(Function):
    """Each sample's trailing ``D = prod(normalized_shape)`` values standardised, then
    ``* weight + bias`` elementwise (weight and bias have ``normalized_shape``).

    Equals ``(x - mean) / (var + eps).sqrt() * weight + bias`` with ``mean`` and the biased
    ``var`` over the trailing dims, differentiated (checked in tests/ops/test_fused_composites.py).
    """

    caption = ('(γ{g} − mean(γ{g}) − x̂·mean(γ{g}·x̂)) / σ per sample : {s0}',
               'Σ {g}·x̂ over the batch : {s1}',
               'Σ {g} over the batch : {s2}')
    node_name = "NativeLayerNormBackward0"
    op_name = "layer_norm"

    @staticmethod
    def forward(ctx: Node, x: Tensor, weight: Tensor | None, bias: Tensor | None,
                normalized_shape: tuple = (), eps: float = 1e-5) -> Tensor:
        d = int(np.prod(normalized_shape))
        x2 = x._data.reshape(-1, d)
        y, mean, rstd = kernels.on(x2).layer_norm_forward(x2, _data(weight), _data(bias), eps)
        ctx.mean, ctx.rstd, ctx.eps, ctx.d = mean, rstd, eps, d
        ctx.norm_dims = len(normalized_shape)
        ctx.affine_meta = (_meta(weight) or (None, None), _meta(bias) or (None, None))
        ctx.save_for_backward(x, weight)
        return wrap(y.reshape(x._data.shape))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        """g = dy * w; dx = rstd (g - mean(g) - x_hat mean(g x_hat)) over each sample's
        group; dw = sum over samples of dy x_hat, db = sum of dy."""
        x, weight = ctx.saved_tensors
        if is_grad_enabled():
            return _layer_norm_backward_graph(ctx, grad, x, weight)
        d = ctx.d
        dx, dw, db = kernels.on(grad._data).layer_norm_backward(grad._data.reshape(-1, d),
                                                     x._data.reshape(-1, d),
                                                     ctx.mean, ctx.rstd, _data(weight))
        return _grads(ctx, x, dx, dw, db)


def _layer_norm_backward_graph(ctx: Node, grad: Tensor, x: Tensor, weight: Tensor | None
                               ) -> tuple:
    """The backward as tensor ops, statistics recomputed from ``x`` (create_graph=True)."""
    k = ctx.norm_dims
    dims = tuple(range(x.dim() - k, x.dim()))
    lead = tuple(range(x.dim() - k))
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    rstd = ((centred * centred).mean(dims, keepdim=True) + ctx.eps).rsqrt()
    xhat = centred * rstd
    g = grad if weight is None else grad * weight
    dx = (g - g.mean(dims, keepdim=True) - xhat * (g * xhat).mean(dims, keepdim=True)) * rstd
    need = ctx.needs_input_grad
    if not lead:  # one sample (input of normalized_shape): nothing to sum over (sum(()) is all)
        return (dx if need[0] else None, grad * xhat if need[1] else None,
                grad if need[2] else None)
    return (dx if need[0] else None,
            (grad * xhat).sum(lead) if need[1] else None,
            grad.sum(lead) if need[2] else None)


def _normalized_shape(normalized_shape: Any) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the trailing ``normalized_shape`` dims (see the module
    docstring); train and eval are the same."""
    require_tensor(input, "layer_norm")
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0 or input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {list(shape)}"
            )
    for t in (weight, bias):
        if t is not None and t.dtype != input.dtype:  # torch does not promote here
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    return LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=eps)


# ------------------------------------------------------------------ normalize
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``: unit vectors (composite of tensor ops)."""
    require_tensor(input, "normalize")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    return result if out is None else out.copy_(result)


__all__ = ["batch_norm", "layer_norm", "normalize"]
