"""Special functions with an argument besides the tensor: ``polygamma(n, x)``,
``mvlgamma(x, p)`` and ``logit(x, eps)``.

The one-input special functions (``lgamma``, ``digamma``, ``erfc``, ``erfinv``, ``i0``) are
plain rules of `tapegrad.pointwise`; their numerics, and how each is computed without
scipy, are in `tapegrad.kernels.special`. The two here take an integer besides the tensor:

* ``polygamma(n, x)`` = ψ⁽ⁿ⁾(x), the n-th derivative of digamma. Its derivative is the next
  one, ψ⁽ⁿ⁺¹⁾(x): the backward is this same op with ``n + 1``, so every higher derivative
  exists too.
* ``mvlgamma(x, p)``, the log of the multivariate gamma function,
  ln Γₚ(x) = p(p − 1)/4 · ln π + Σⱼ₌₀ᵖ⁻¹ ln Γ(x − j/2): a sum of lgammas, so it needs
  no backward of its own (the gradient is Σ ψ(x − j/2)).
* ``logit(x, eps=None)`` = ln(x/(1 − x)), with x first clamped to [eps, 1 − eps] when eps
  is given: two rules of `tapegrad.pointwise` (``logit`` and ``logit_eps``).
"""

from __future__ import annotations

import math

from tapegrad.autograd.function import Function, Node
from tapegrad.kernels import special as _special
from tapegrad.ops._util import as_array, wrap
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.fill import begin_inplace
from tapegrad.ops.pointwise import FUNCTIONS, INPLACE, float_data, lgamma
from tapegrad.tensor import Tensor


class Polygamma(Function):
    """ψ⁽ⁿ⁾(x); d/dx ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁺¹⁾(x)."""

    caption = ('{g}·polygamma(n + 1, {x0}), the next derivative of digamma : {s0}',)

    node_name = "PolygammaBackward0"
    op_name = "polygamma"

    @staticmethod
    def forward(ctx: Node, x: Tensor, n: int) -> Tensor:
        ctx.n = n
        ctx.save_for_backward(x)
        d = float_data(x)
        return wrap(as_array(_special.polygamma(n, d), d.dtype))

    @staticmethod
    def backward(ctx: Node, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, n=ctx.n + 1)


def _check_order(n: int) -> None:
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")


def polygamma(n: int, input: Tensor) -> Tensor:
    """ψ⁽ⁿ⁾(input): digamma for n = 0, trigamma for n = 1..."""
    require_tensor(input, "polygamma")
    _check_order(n)
    return Polygamma.apply(input, n=n)


def _polygamma_method(self: Tensor, n: int) -> Tensor:
    return polygamma(n, self)


def _polygamma_(self: Tensor, n: int) -> Tensor:
    """In-place ``polygamma``: the value written into the tensor (a floating one)."""
    require_tensor(self, "polygamma_")
    _check_order(n)
    begin_inplace(self)
    return self.copy_(Polygamma.apply(self.clone(), n=n))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """ln Γₚ(x) = p(p − 1)/4 · ln π + Σⱼ₌₀ᵖ⁻¹ ln Γ(x − j/2), defined for x > (p − 1)/2
    (torch no longer checks that: below, it is the same sum of lgammas)."""
    require_tensor(input, "mvlgamma")
    if input.dtype.name == "bool":
        raise RuntimeError("The input tensor may not be a boolean tensor.")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    total = lgamma(input)
    for j in range(1, p):
        total = total + lgamma(input - 0.5 * j)
    return total + p * (p - 1) / 4 * math.log(math.pi)


def _mvlgamma_(self: Tensor, p: int) -> Tensor:
    """In-place ``mvlgamma``."""
    require_tensor(self, "mvlgamma_")
    begin_inplace(self)
    return self.copy_(mvlgamma(self.clone(), p))


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """ln(x/(1 − x)), the inverse of the sigmoid; with ``eps``, x is first clamped to
    [eps, 1 − eps] (and the gradient is 0 where the clamp holds)."""
    require_tensor(input, "logit")
    if eps is None:
        return FUNCTIONS["logit"].apply(input)
    return FUNCTIONS["logit_eps"].apply(input, eps=eps)


def logit_(input: Tensor, eps: float | None = None) -> Tensor:
    """In-place `logit`."""
    require_tensor(input, "logit_")
    begin_inplace(input)
    if eps is None:
        return INPLACE["logit"].apply(input)
    return INPLACE["logit_eps"].apply(input, eps=eps)


__all__ = ["polygamma", "mvlgamma", "logit", "logit_"]

# Tensor methods this family provides (installed by tapegrad.ops): ``x.polygamma(n)``.
METHODS = {"polygamma": _polygamma_method, "polygamma_": _polygamma_, "mvlgamma": mvlgamma,
           "mvlgamma_": _mvlgamma_, "logit": logit, "logit_": logit_}
