"""Normalisation: ``batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``,
``rms_norm``, ``local_response_norm``, ``normalize`` and torch's ``native_*`` forms.

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

The others differ only in *which* values form a group, so they are composites of those two
or of plain tensor ops (exact, and differentiable to any order without a backward here):

* ``group_norm`` splits the C channels of each sample into ``num_groups`` groups and
  standardises each group over its channels and positions (``num_groups=1``: a layer norm
  over (C, *); ``num_groups=C``: an instance norm); the affine map is per channel;
* ``instance_norm`` standardises each (sample, channel) over its positions: batch norm of
  the input seen as one sample with N*C channels (torch's own trick);
* ``rms_norm`` only rescales: ``x / sqrt(mean(x^2) + eps) * weight`` (no centring, no bias);
* ``local_response_norm`` divides each value by ``(k + alpha * mean of x^2 over ``size``
  neighbouring channels)^beta`` (AlexNet's lateral inhibition).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import kernels
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import is_grad_enabled
from tapegrad.nn.functional.padding import pad
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
    if input.dim() == 0:
        raise RuntimeError("batch_norm: expected at least a 1-D input, got 0-D")
    if input.dim() == 1:
        # torch reads a 1-D input as a batch with no channel dim, so 0 channels: only an
        # empty one (with empty buffers) is normalised, to itself
        for name, t in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
            _check_channels(name, t, 0)
        if input.numel() == 0 and (training or running_mean is not None):
            return input.clone()
        if training:
            raise IndexError("Dimension out of range (expected to be in range of [-1, 0], "
                             "but got 1)")
    channels = input.shape[1] if input.dim() > 1 else 0
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


# ------------------------------------------------------------------ group norm
def _group_stats(input: Tensor, num_groups: int, eps: float) -> tuple:
    """(x grouped as (N, G, rest), mean (N, G, 1), rstd (N, G, 1)) with the biased variance;
    built from ops, so mean and rstd are differentiable too (as in torch's native op)."""
    n = input.shape[0]
    grouped = input.reshape(n, num_groups, -1) if input.numel() else \
        input.reshape(n, num_groups, input.numel() // max(n * num_groups, 1))
    mean = grouped.mean(-1, keepdim=True)
    centred = grouped - mean
    rstd = ((centred * centred).mean(-1, keepdim=True) + eps).rsqrt()
    return centred, mean, rstd


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """``y * weight + bias`` with per-channel (dim 1) vectors."""
    shape = (1, y.shape[1]) + (1,) * (y.dim() - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _check_group_norm(input: Tensor, num_groups: int, weight: Tensor | None,
                      bias: Tensor | None) -> None:
    channels = input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}")


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation of an (N, C, *) input: each sample's channels split into
    ``num_groups`` groups of C / num_groups, each group standardised over its channels and
    positions, then the per-channel affine map. Same in training and eval.

    Equals ``layer_norm`` of ``x.reshape(N, G, -1)`` followed by the channel affine map; it is
    written with ops (mean, rsqrt) so every derivative order comes for free.
    """
    require_tensor(input, "group_norm")
    if input.dim() < 2:
        raise RuntimeError("Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    values = input.shape[0] * input.shape[1] // max(num_groups, 1)
    for s in input.shape[2:]:
        values *= s
    if values == 1 and num_groups > 0:
        size = [input.shape[0] * input.shape[1] // num_groups, num_groups, *input.shape[2:]]
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {size}")
    _check_group_norm(input, num_groups, weight, bias)
    centred, _, rstd = _group_stats(input, num_groups, eps)
    return _affine((centred * rstd).reshape(input.shape), weight, bias)


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int,
                      C: int, HxW: int, group: int, eps: float) -> tuple:
    """torch's ATen form of `group_norm`: ``(output, mean, rstd)``, mean and rstd of shape
    (N, group); all three are differentiable (as in torch)."""
    require_tensor(input, "native_group_norm")
    if input.numel() != N * C * HxW:
        raise RuntimeError(f"Expected input to have {N * C * HxW} elements, got "
                           f"{input.numel()}")
    _check_group_norm(input, group, weight, bias)
    centred, mean, rstd = _group_stats(input, group, eps)
    out = _affine((centred * rstd).reshape(input.shape), weight, bias)
    return out, mean.reshape(N, group), rstd.reshape(N, group)


def native_layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple:
    """torch's ATen form of `layer_norm`: ``(output, mean, rstd)``, mean and rstd with the
    normalised dims kept as size 1. Only the output is differentiable (as in torch): the
    statistics come back as constants."""
    require_tensor(input, "native_layer_norm")
    shape = _normalized_shape(normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    out = layer_norm(input, shape, weight, bias, eps)
    k = len(shape)
    dims = tuple(range(input.dim() - k, input.dim()))
    data = input._data.astype(np.float64)
    mean = data.mean(axis=dims, keepdims=True) if data.size else \
        np.zeros(input._data.shape[:input.dim() - k] + (1,) * k)
    var = ((data - mean) ** 2).mean(axis=dims, keepdims=True) if data.size else mean
    rstd = 1.0 / np.sqrt(var + eps)
    dt = input._data.dtype
    return out, wrap(mean.astype(dt)), wrap(rstd.astype(dt))


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
                      running_mean: Tensor | None, running_var: Tensor | None,
                      training: bool, momentum: float, eps: float) -> tuple:
    """torch's ATen form of `batch_norm`: ``(output, save_mean, save_invstd)``: the batch's
    per-channel mean and 1/sqrt(var + eps) in training, empty tensors in eval. Only the
    output is differentiable (as in torch)."""
    require_tensor(input, "native_batch_norm")
    out = batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    dt = input._data.dtype
    if not training:
        return out, wrap(np.zeros(0, dtype=dt)), wrap(np.zeros(0, dtype=dt))
    channels = input.shape[1]
    if input.numel() == 0:
        mean, var = np.zeros(channels), np.full(channels, np.nan)
    else:
        mean, var = kernels.on(input._data).batch_norm_stats(_ncs(input._data))
    return out, wrap(np.asarray(mean).astype(dt)), wrap((1.0 / np.sqrt(var + eps)).astype(dt))


# ------------------------------------------------------------------ instance norm
def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation of an (N, C, *) input: each (sample, channel) standardised
    over its positions, then the per-channel affine map.

    As torch does, this is `batch_norm` of the input viewed as (1, N*C, *) with the weight,
    bias and running buffers repeated N times; the running buffers, when given, are then
    updated with the average over the N samples. ``use_input_stats=False`` normalises with
    the running buffers instead (their per-channel values, for every sample).
    """
    require_tensor(input, "instance_norm")
    if input.dim() < 2:
        raise RuntimeError(f"instance_norm: expected at least a 2-D input, got {input.dim()}-D")
    if use_input_stats:
        spatial = 1
        for s in input.shape[2:]:
            spatial *= s
        if spatial == 1:
            raise ValueError("Expected more than 1 spatial element when training, got input "
                             f"size {input.shape}")
    n, c = input.shape[0], input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_channels(name, t, c)
    flat = input.reshape((1, n * c) + tuple(input.shape[2:]))
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    rm = None if running_mean is None else running_mean.detach().repeat(n)
    rv = None if running_var is None else running_var.detach().repeat(n)
    out = batch_norm(flat, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:  # fold the N per-sample updates back into the C buffers
        for running, repeated in ((running_mean, rm), (running_var, rv)):
            if running is not None:
                mean = repeated._data.reshape(n, c).astype(np.float64).mean(axis=0)
                running._data[...] = mean.astype(running._data.dtype)
                running._bump_version()
    return out.reshape(input.shape)


# ------------------------------------------------------------------ RMS norm
def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims:
    ``x / sqrt(mean(x^2) + eps) * weight`` (no centring and no bias; ``eps`` defaults to
    the dtype's machine epsilon, as in torch). A composite of ops."""
    require_tensor(input, "rms_norm")
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            "Expected weight to be of same shape as normalized_shape, but got weight of "
            f"shape {list(weight.shape)} and normalized_shape = {list(shape)}")
    if input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps) if input.dtype.is_floating_point else 0.0
    dims = tuple(range(input.dim() - k, input.dim()))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


# ------------------------------------------------------------------ local response norm
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``x / (k + alpha * avg(x^2 over size channels around c))^beta`` on an (N, C, *)
    input; the window is zero-padded by ``size // 2`` channels before and ``(size - 1) // 2``
    after, and the average always divides by ``size`` (as torch's avg_pool does).

    The window sum is ``size`` shifted slices of the zero-padded squares, added: a
    composite of ops."""
    require_tensor(input, "local_response_norm")
    if input.dim() < 3:
        raise ValueError("Expected 3D or higher dimensionality input (got "
                         f"{input.dim()} dimensions)")
    if input.numel() == 0:
        return input
    c = input.shape[1]
    sq = input * input
    widths = (0, 0) * (input.dim() - 2) + (size // 2, (size - 1) // 2)
    padded = pad(sq, widths)
    window = padded.narrow(1, 0, c)
    for j in range(1, size):
        window = window + padded.narrow(1, j, c)
    div = (window * (alpha / size) + k) ** beta
    return input / div


__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
           "native_batch_norm", "native_group_norm", "native_layer_norm", "normalize",
           "rms_norm"]
