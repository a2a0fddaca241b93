"""Reductions: ops that collapse dims (sum, mean, prod, logsumexp) and cumsum, all, any.

A reduction maps many inputs to one output, so its backward does the opposite: it sends
one incoming gradient back to many inputs. Every backward here starts the same way: put
the reduced dims back as size 1 (undoing ``keepdim=False``) and broadcast the gradient
over the input's shape (`unreduce`), then multiply by the local derivative::

    y = sum(x)          dy/dx_i = 1                  grad, broadcast
    y = mean(x)         dy/dx_i = 1/N                grad / N
    y = prod(x)         dy/dx_i = prod_{j != i} x_j  (= y / x_i when no x_j is 0)
    y = logsumexp(x)    dy/dx_i = exp(x_i - y)       (the softmax of x)
    y = cumsum(x)       dy_k/dx_i = [i <= k]         reversed cumsum of grad

``dim`` follows torch: an int, a tuple/list of ints (negative ones count from the end),
or None for every dim; ``()`` also means every dim. ``keepdim=True`` keeps each reduced
dim as size 1.

One module per kind: `sums` (sum, mean, prod, cumsum, logsumexp, all, any, count_nonzero),
`minmax` (max, min, amax, amin, aminmax, argmax, argmin), `norms` (var, std, norm, renorm,
vector_norm, matrix_norm), on the helpers of `axes` (which dims collapse, and putting them back).
"""

from __future__ import annotations

from tapegrad.ops.reduction import minmax, norms, sums
from tapegrad.ops.reduction.minmax import (
    amax,
    amin,
    aminmax,
    argmax,
    argmin,
    max,
    min,
    return_types,
)
from tapegrad.ops.reduction.norms import norm, renorm, std, var
from tapegrad.ops.reduction.sums import (
    all,
    any,
    count_nonzero,
    cumsum,
    logsumexp,
    mean,
    prod,
    sum,
)

__all__ = ["sum", "mean", "prod", "cumsum", "logsumexp", "all", "any", "count_nonzero",
           "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "var", "std", "norm",
           "renorm", "return_types"]

# Tensor methods this family provides (installed by tapegrad.ops).
METHODS = {**sums.METHODS, **minmax.METHODS, **norms.METHODS}
