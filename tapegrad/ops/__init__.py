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
of the others), `sorting` (sort, topk, median, quantile, unique, searchsorted...), `scan`
(cumprod, cummax, cummin, logcumsumexp), `statistics` (histc, bincount, cov, diff,
trapezoid...), `distance` (dist, cdist, cosine_similarity...), `matrix` (inv, det, solve,
the SVD: public as ``tapegrad.linalg``), `combining` (meshgrid, cartesian_prod,
block_diag...), `view_copies` (expand_copy, permute_copy...: each view op as a copy),
`view_scatter` (select_scatter, diag_embed...: writes into a view of a copy), `strided`
(as_strided, unfold), `contraction` (einsum, tensordot, kron), `complex_parts` (conj,
real...: the identity on real tensors), `special` (polygamma, mvlgamma: special
functions with an order), `sampling` (normal_, uniform_, bernoulli, multinomial...: random
draws). `host` runs the numpy-only ones for GPU tensors.

Each family lists the Tensor methods it provides in a ``METHODS`` table; importing this
package installs them on `tapegrad.Tensor`, so ``x.exp()`` is ``ops.pointwise.exp(x)``.
"""

from __future__ import annotations

from tapegrad.ops import (
    activation,
    arithmetic,
    clamp,
    combining,
    comparison,
    complex_parts,
    composite,
    contraction,
    dims,
    distance,
    elementwise,
    fill,
    index_select,
    indexing,
    joining,
    linalg,
    masking,
    matrix,
    pointwise,
    reduction,
    sampling,
    scan,
    scatter,
    setitem,
    shape,
    softmax,
    sorting,
    special,
    statistics,
    strided,
    view_copies,
    view_scatter,
)
from tapegrad.ops._numpy_names import accept_numpy_names
from tapegrad.tensor import Tensor

FAMILIES = (arithmetic, pointwise, elementwise, comparison, clamp, fill, activation,
            softmax, reduction, linalg, shape, dims, joining,
            indexing, setitem, scatter, index_select, masking, composite, sorting,
            scan, statistics, matrix, distance, combining, view_copies, view_scatter,
            strided, contraction, complex_parts, special, sampling)


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
