"""The complex-number accessors torch code calls on real tensors: ``conj``,
``conj_physical``, ``resolve_conj``, ``resolve_neg``, ``real`` and ``isreal``.

tapegrad's dtypes are all real (complex tensors are out of scope), and for a real tensor
each of these is the identity: the conjugate of a real number is itself, its real part is
itself. torch returns the very same tensor object (not a copy, not even a view), so the
gradient flows through untouched because there is no op at all; these functions do the
same. They exist so that code written for both kinds of tensors (``x.conj().T`` for a
Hermitian transpose, ``torch.real(z)``) runs unchanged.
"""

from __future__ import annotations

import numpy as np

from tapegrad.ops._util import wrap
from tapegrad.tensor import Tensor


def conj(x: Tensor) -> Tensor:
    """The complex conjugate: a real tensor is its own conjugate (returned as is)."""
    return x


def conj_physical(x: Tensor) -> Tensor:
    """The conjugate, materialised: for a real tensor, the tensor itself."""
    return x


def resolve_conj(x: Tensor) -> Tensor:
    """Apply a lazy conjugation bit (a real tensor never has one): ``x`` itself."""
    return x


def resolve_neg(x: Tensor) -> Tensor:
    """Apply a lazy negation bit (a real tensor never has one): ``x`` itself."""
    return x


def real(x: Tensor) -> Tensor:
    """The real part: a real tensor is its own real part (returned as is)."""
    return x


def isreal(x: Tensor) -> Tensor:
    """Whether each element has no imaginary part: always, for real tensors."""
    return wrap(np.ones(x._data.shape, dtype=bool))


__all__ = ["conj", "conj_physical", "resolve_conj", "resolve_neg", "real", "isreal"]

METHODS = {"conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj,
           "resolve_neg": resolve_neg, "isreal": isreal, "real": property(real)}
