"""Differentiable ops, one family per module, each op's forward beside its backward.

Families: `pointwise` (exp, log, sin, tanh, relu, sigmoid...: made from the one-line rules
of `tapegrad.pointwise`), `arithmetic` (+ - * / **), `elementwise` (round, square),
`comparison` (==, <, logic, where), `clamp` (clamp, maximum, minimum), `fill` (zero_, fill_,
copy_), `activation` (leaky_relu, hardtanh, gelu, silu, elu...: the rules with options),
`softmax` (softmax, log_softmax), `reduction` (sum, mean, max, var...), `linalg` (matmul),
`shape` (reshape, expand, to...), `dims` (permute, squeeze, flatten...), `joining` (cat,
stack, split...), `indexing` (x[...], select, narrow), `setitem` (x[...] = v, index_put),
`scatter` (gather, scatter, take), `index_select` (index_select, index_add), `masking`
(masked_fill, masked_select, nonzero), `composite` (tril, roll, hstack, var_mean...: made
of the others), `sampling` (normal_, uniform_, bernoulli, multinomial...: random draws).

Each family lists the Tensor methods it provides in a ``METHODS`` table; importing this
package installs them on `tapegrad.Tensor`, so ``x.exp()`` is ``ops.pointwise.exp(x)``.
"""

from __future__ import annotations

from tapegrad.ops import (
    activation,
    arithmetic,
    clamp,
    comparison,
    composite,
    dims,
    elementwise,
    fill,
    index_select,
    indexing,
    joining,
    linalg,
    masking,
    pointwise,
    reduction,
    sampling,
    scatter,
    setitem,
    shape,
    softmax,
)
from tapegrad.ops._numpy_names import accept_numpy_names
from tapegrad.tensor import Tensor

FAMILIES = (arithmetic, pointwise, elementwise, comparison, clamp, fill, activation,
            softmax, reduction, linalg, shape, dims, joining,
            indexing, setitem, scatter, index_select, masking, composite, sampling)


def _accept_numpy_names() -> None:
    """Give every op with a ``dim``/``keepdim`` parameter torch's ``axis=``/``keepdims=``
    aliases (see `tapegrad.ops._numpy_names`): its function, as ``tapegrad.<name>`` will
    import it, and its Tensor method."""
    for family in FAMILIES:
        for name in getattr(family, "__all__", ()):
            fn = getattr(family, name, None)
            if callable(fn) and not isinstance(fn, type):
                setattr(family, name, accept_numpy_names(fn))
        family.METHODS = {k: accept_numpy_names(f) for k, f in family.METHODS.items()}


def _install_tensor_methods() -> None:
    for family in FAMILIES:
        for name, fn in family.METHODS.items():
            setattr(Tensor, name, fn)


_accept_numpy_names()
_install_tensor_methods()
