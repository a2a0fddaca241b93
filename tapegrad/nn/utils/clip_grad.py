"""Gradient clipping: keep one bad batch from throwing the parameters far away.

* `clip_grad_norm_` rescales *all* gradients together so that their joint norm (the norm of
  every gradient entry of every parameter, as if concatenated into one vector) is at most
  ``max_norm``. The direction of the update is kept; only its length shrinks. Standard for RNNs
  and transformers, where exploding gradients are common.
* `clip_grad_value_` clamps every gradient entry into ``[-clip_value, clip_value]``
  independently (this changes the direction).

Both work in place on ``p.grad`` and skip parameters whose grad is None. They run on the
gradients' arrays directly (no tape: clipping is never differentiated).
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

import numpy as np

from tapegrad import dtypes
from tapegrad.kernels.arrays import as_array, contiguous
from tapegrad.tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]


def _as_list(tensors: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """The p-norm of all entries of ``a`` as a 0-d float64 array on ``a``'s device (sums
    accumulated in float64). Never a Python float: reading a CUDA value back to the host
    would stall the GPU and cost a transfer in every clipped training step.

    ``p = inf``: largest ``|x|``; ``-inf``: smallest; ``0``: number of non-zeros;
    otherwise ``(sum |x|^p)^(1/p)``.
    """
    x = np.abs(a.astype(np.float64, copy=False)).reshape(-1)
    if p == math.inf or p == -math.inf:
        if x.size == 0:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {p} norm on an empty tensor because "
                "the operation does not have an identity"
            )
        return x.max() if p > 0 else x.min()
    if p == 0:
        return as_array((x != 0).sum(), np.float64)
    if p == 1:
        return x.sum()
    if p == 2:
        return np.sqrt(np.dot(x, x))
    return np.sum(x**p) ** (1.0 / p)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The ``norm_type``-norm of the given tensors viewed as one long vector: the norm of the
    vector of per-tensor norms (each rounded to its tensor's dtype, as torch computes it).
    Returns a 0-d tensor of the tensors' (promoted) dtype."""
    arrays = [t._data for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if len(arrays) == 0:
        return Tensor._zeros((), dtypes.get_default_dtype())
    out_dtype = np.result_type(*[a.dtype for a in arrays])
    # each tensor's norm rounded to its dtype, then the norm of those norms
    norms = [as_array(_vector_norm(a, norm_type), a.dtype).astype(out_dtype).reshape(1)
             for a in arrays]
    total = as_array(_vector_norm(np.concatenate(norms), norm_type), out_dtype)
    if error_if_nonfinite and not math.isfinite(float(total)):  # a read, as in torch
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._from_array(contiguous(total.reshape(())))


def _scale_(g: Tensor, coef: np.ndarray) -> None:
    if g._data.flags.writeable:
        np.multiply(g._data, coef.astype(g._data.dtype), out=g._data)
    else:  # a read-only array (e.g. a broadcast view): give the grad its own storage
        g._data = g._data * coef.astype(g._data.dtype)
    g._bump_version()


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Scale every gradient by ``min(max_norm / (total_norm + 1e-6), 1)`` in place.

    The 1e-6 keeps an all-zero gradient from dividing by zero; the clamp at 1 means gradients
    are only ever shrunk, never enlarged.
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if len(grads) == 0:
        return
    t = (total_norm._data if isinstance(total_norm, Tensor)
         else np.asarray(total_norm, dtypes.get_default_dtype().numpy))
    t = as_array(t, t.dtype)  # a 0-d array, never a numpy scalar
    one = t.dtype.type(1)
    # torch evaluates max_norm / (total + 1e-6) as reciprocal(total + 1e-6) * max_norm
    coef = (one / (t + t.dtype.type(1e-6))) * t.dtype.type(max_norm)
    coef = np.minimum(coef, one)  # clamp(max=1); a NaN norm gives NaN (propagated, as torch)
    for g in grads:
        _scale_(g, coef)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so their joint ``norm_type``-norm is at most ``max_norm``.

    ``total = ‖(‖g₁‖, ‖g₂‖, ...)‖`` (= the norm of all entries together); every gradient is
    multiplied by ``min(max_norm / (total + 1e-6), 1)``. Returns ``total`` (before clipping)
    as a 0-d tensor: logging it is a cheap way to watch for exploding gradients.
    ``error_if_nonfinite=True`` raises instead of scaling by a NaN/inf norm.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float,
                   norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """Deprecated alias of `clip_grad_norm_` (warns, as torch does)."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` in place (NaN stays NaN)."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is None:
            continue
        lo, hi = g._data.dtype.type(-clip_value), g._data.dtype.type(clip_value)
        if g._data.flags.writeable:
            np.clip(g._data, lo, hi, out=g._data)
        else:
            g._data = np.clip(g._data, lo, hi)
        g._bump_version()
