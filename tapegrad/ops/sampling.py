"""Random sampling ops: the in-place samplers (``x.normal_()``, ``x.uniform_()``,
``x.random_()``...), and
``bernoulli``, ``normal`` and ``multinomial``.

Draws come from tapegrad's seeded generator (`tapegrad.random`: ``manual_seed`` makes them
reproducible; a ``generator=`` argument uses an independent stream). The numbers cannot
match torch's for the same seed (different algorithms), only their distributions.

Gradients. A sample is not a differentiable function of its parameters here: as in torch,
``normal(mean, std)`` and ``bernoulli(p)`` are recorded with a gradient of **zero** for the
tensors they were given (torch's ``NormalBackward`` and ``BernoulliBackward``), and an
in-place sampler gives the overwritten tensor a zero gradient, like a fill. To
backpropagate through a Gaussian sample, write it yourself as ``mean + std * randn_like(std)``
(the reparameterisation trick): that expression *is* differentiable in ``mean`` and ``std``.

The in-place samplers are what ``nn.init`` uses (``w.uniform_(-b, b)`` under ``no_grad``);
outside ``no_grad`` a leaf that requires grad refuses them, as any in-place op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad import dtypes, random
from tapegrad.autograd.function import Function, Node
from tapegrad.device import move, resolve
from tapegrad.ops._util import broadcast_shapes, wrap
from tapegrad.ops.fill import begin_inplace, finish_inplace, writable, zeros_like
from tapegrad.ops.out_arg import write_out
from tapegrad.tensor import Tensor

__all__ = ["bernoulli", "multinomial", "normal"]


# ------------------------------------------------------------------ in-place samplers
class Sample(Function):
    """x.<distribution>_(...): overwrite x with draws; the old x gets gradient 0."""

    op_name = "sample_"
    caption = ("0 (every element was overwritten by a random draw) : {s0}",)

    @staticmethod
    def forward(ctx: Node, x: Tensor, draw: Callable[[tuple], np.ndarray]) -> Tensor:
        values = np.asarray(draw(x._data.shape)).astype(x._data.dtype, copy=False)
        if type(x._data) is np.ndarray:
            writable(x._data)[...] = values
        else:  # drawn on the host, copied to the device (one counted transfer)
            x._data.assign(move(values, x.device))
        return finish_inplace(ctx, x)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        return zeros_like(grad)


def _require_float(x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_torch_type_name(x.dtype)}'")


def _torch_type_name(dt: dtypes.dtype) -> str:
    """torch's scalar-type name in kernel errors ('Long', 'Int', 'Bool'...)."""
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
            "uint8": "Byte", "bool": "Bool", "float64": "Double", "float32": "Float",
            "float16": "Half"}.get(dt.numpy.name, dt.numpy.name)


def _sample_(x: Tensor, draw: Callable[[tuple], np.ndarray]) -> Tensor:
    begin_inplace(x, overlap_ok=True)
    return Sample.apply(x, draw=draw)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None,
             **kwargs: Any) -> Tensor:
    """Fill with draws from the uniform distribution on ``[a, b)`` (torch names the bounds
    ``from``/``to``, Python keywords, so they are passed positionally)."""
    a, b = kwargs.pop("from", a), kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"uniform_() got an unexpected keyword argument {next(iter(kwargs))!r}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    _require_float(self, "check_uniform_bounds")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.uniform(a, b, shape))


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
            generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std²)."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    _require_float(self, "normal_kernel_cpu")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.normal(mean, std, shape))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator: Any = None) -> Tensor:
    """Fill with draws from the Cauchy distribution, density
    ``1/(πσ(1 + ((x - median)/σ)²))`` (heavy tails: no mean, no variance)."""
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    _require_float(self, "cauchy_cpu")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: median + sigma * rng.standard_cauchy(shape))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with draws from the exponential distribution of rate λ (density ``λe^(-λx)``,
    mean 1/λ)."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    _require_float(self, "exponential_cpu")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.exponential(1.0 / lambd, shape))


def geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with draws from the geometric distribution: the number of Bernoulli(p) trials up
    to and including the first success (1, 2, 3...; P(k) = (1-p)^(k-1)·p). Integer tensors
    are allowed."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.geometric(p, shape))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator: Any = None) -> Tensor:
    """Fill with ``exp(N(mean, std²))`` draws (``mean``/``std`` are those of the logarithm)."""
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    _require_float(self, "log_normal_cpu")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.lognormal(mean, std, shape))


def _host(t: Tensor) -> np.ndarray:
    """``t``'s values as a numpy array (a copy from the device for a CUDA tensor): every
    draw happens on the host, from tapegrad's numpy generator."""
    return move(t._data, resolve("cpu"))


def random_(self: Tensor, low: int | None = None, high: int | None = None, *,
            generator: Any = None, **kwargs: Any) -> Tensor:
    """Fill with integers drawn uniformly: ``random_(high)`` from [0, high), ``random_(low,
    high)`` from [low, high), and ``random_()`` from [0, M] where M is the largest integer
    the dtype holds exactly (2^24 for float32, 2^53 for float64, the maximum for integer
    types, 1 for bool). torch names the bounds ``from``/``to``."""
    low, high = kwargs.pop("from", low), kwargs.pop("to", high)
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument {next(iter(kwargs))!r}")
    dt = self._data.dtype
    if low is not None and high is None:
        low, high = 0, low
    if low is None:
        low = 0
        if dt == np.bool_:
            high = 2
        elif dt.kind == "f":
            high = 2 ** (np.finfo(dt).nmant + 1) + 1
        else:
            high = int(np.iinfo(dt).max) + 1
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.integers(low, high, shape, dtype=np.int64
                                                      if high <= 2**63 else np.uint64))


def _check_probabilities(p: np.ndarray) -> None:
    if p.size and not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number, or a tensor broadcast to self's shape:
    one probability per element), else 0."""
    probs = _host(p) if isinstance(p, Tensor) else np.asarray(p, dtype=np.float64)
    _check_probabilities(probs)
    rng = random.generator_of(generator)
    return _sample_(self, lambda shape: rng.random(shape) < np.broadcast_to(probs, shape))


# ------------------------------------------------------------------ out-of-place samplers
class Drawn(Function):
    """A sample computed from tensor parameters (``normal(mean, std)``, ``bernoulli(p)``):
    the draw is done outside autograd; every parameter gets a zero gradient, as in torch."""

    op_name = "sample"
    caption = ("0 (a random draw is not differentiated, as in torch)",)

    @staticmethod
    def forward(ctx: Node, *params: Any, values: np.ndarray) -> Tensor:
        ctx.shapes = [p._data.shape if isinstance(p, Tensor) else None for p in params]
        ctx.dtypes = [p._data.dtype if isinstance(p, Tensor) else None for p in params]
        return wrap(values)

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> tuple:
        return tuple(None if shape is None else
                     wrap(np.zeros(shape, dtype=dt, like=grad._data))
                     for shape, dt in zip(ctx.shapes, ctx.dtypes, strict=True))


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None,
              out: Tensor | None = None) -> Tensor:
    """Draw 0 or 1 per element: 1 with probability ``input[i]`` (or with ``p`` for every
    element when ``p`` is given). Same shape and dtype as ``input``; gradient 0 (see the
    module docstring)."""
    rng = random.generator_of(generator)
    probs = _host(input) if p is None else np.full(input._data.shape, p)
    _check_probabilities(np.asarray(probs))
    values = (rng.random(input._data.shape) < probs).astype(input._data.dtype)
    result = Drawn.apply(input, values=move(values, input.device))
    return result if out is None else write_out("bernoulli", result, out, input)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           out: Tensor | None = None, dtype: Any = None, layout: Any = None, device: Any = None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Gaussian draws, ``mean + std·N(0, 1)``, in torch's four forms:

    * ``normal(mean_tensor, std_tensor)``: one draw per element of their broadcast shape;
    * ``normal(mean_tensor, std=1.0)`` / ``normal(mean=0.0, std_tensor)``: one per element;
    * ``normal(mean, std, size, dtype=..., device=...)``: numbers, and a shape.

    Gradients with respect to tensor ``mean``/``std`` are zero, as in torch (use
    ``mean + std * randn_like(std)`` for a differentiable sample).
    """
    rng = random.generator_of(generator)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if isinstance(std, Tensor):
        if std._data.size and (_host(std) < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if not tensors:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with "
                            "number mean and std, give a size")
        shape = tuple(size) if isinstance(size, (tuple, list)) else (int(size),)
        dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
        if not dt.is_floating_point:
            raise NotImplementedError(f'"normal_kernel_cpu" not implemented for '
                                      f"'{_torch_type_name(dt)}'")
        values = rng.normal(mean, std, shape).astype(dt.numpy)
        result = wrap(values)
        if device is not None:
            result = result.to(device)
        if requires_grad:
            result.requires_grad_(True)
        return result if out is None else write_out("normal", result, out)
    dt = dtypes.result_type(*tensors)
    shape = broadcast_shapes(*(t._data.shape for t in tensors))
    m = _host(mean) if isinstance(mean, Tensor) else mean
    s = _host(std) if isinstance(std, Tensor) else std
    values = (m + s * rng.standard_normal(shape)).astype(dt.numpy)
    result = Drawn.apply(mean, std, values=move(values, tensors[0].device))
    return result if out is None else write_out("normal", result, out, *tensors)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Any = None, out: Tensor | None = None) -> Tensor:
    """Draw ``num_samples`` category indices from each row of ``input`` (non-negative
    weights, not necessarily summing to 1): int64, shape ``(num_samples,)`` or
    ``(rows, num_samples)``.

    With replacement each draw inverts the cumulative distribution at a uniform number.
    Without replacement (the default) this uses the exponential-race trick torch uses:
    with ``E_i ~ Exp(1)``, the categories sorted by ``w_i / E_i`` (largest first) are a
    sample without replacement proportional to the weights, so the first ``num_samples``
    of them are the answer (zero-weight categories come last).
    """
    x = _host(input)
    if x.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_torch_type_name(input.dtype)}")
    if out is not None and out.dtype != dtypes.int64:
        raise RuntimeError(f"multinomial expects Long tensor out, got: "
                           f"{_torch_type_name(out.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = x.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if categories > 2**24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = x.reshape(-1, categories).astype(np.float64)
    if not replacement:
        if not (np.isfinite(rows) & (rows >= 0)).all():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    else:
        if (rows < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not np.isfinite(rows).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = random.generator_of(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random((rows.shape[0], num_samples))
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u,
                                                                                strict=True)])
        picks = np.minimum(picks, categories - 1)  # u just below 1 and rounding in cdf
    else:
        with np.errstate(divide="ignore"):
            keys = rows / rng.exponential(1.0, rows.shape)
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    result = picks.reshape(x.shape[:-1] + (num_samples,)).astype(np.int64)
    result = wrap(move(result, input.device))
    return result if out is None else write_out("multinomial", result, out, input)


def _bernoulli_method(self: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self: Tensor, num_samples: int, replacement: bool = False, *,
                        generator: Any = None) -> Tensor:
    return multinomial(self, num_samples, replacement, generator=generator)


METHODS = {
    "uniform_": uniform_, "normal_": normal_, "random_": random_, "cauchy_": cauchy_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "bernoulli_": bernoulli_, "bernoulli": _bernoulli_method,
    "multinomial": _multinomial_method,
}
