"""Differentiable ops, one family per module, each op's forward beside its backward.

Families: `arithmetic` (+ - * / **), `elementwise` (exp, log, comparisons, where, clamp...),
`activation` (relu, sigmoid, tanh, softmax...), `reduction` (sum, mean, max, var...),
`linalg` (matmul), `shape` (reshape, permute...), `joining` (cat, stack, split...),
`indexing` (x[...], x[...] = v), `scatter` (gather, scatter, index_select, masked_fill...).

Each family lists the Tensor methods it provides in a ``METHODS`` table; importing this
package installs them on `tapegrad.Tensor`, so ``x.exp()`` is ``ops.elementwise.exp(x)``.
"""

from __future__ import annotations

from tapegrad.ops import (
    activation,
    arithmetic,
    elementwise,
    indexing,
    joining,
    linalg,
    reduction,
    scatter,
    shape,
)
from tapegrad.tensor import Tensor

FAMILIES = (arithmetic, elementwise, activation, reduction, linalg, shape, joining, indexing,
            scatter)


def _install_tensor_methods() -> None:
    for family in FAMILIES:
        for name, fn in family.METHODS.items():
            setattr(Tensor, name, fn)


_install_tensor_methods()
