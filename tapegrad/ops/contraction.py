"""Tensor contractions: ``einsum``, ``tensordot``, ``inner`` and ``kron``.

``einsum("bij,bjk->bik", a, b)`` names every dim of every operand with a letter. A letter
shared by two operands is multiplied along; a letter missing from the output is summed
over. Everything here is a composite of ops that already have a backward, in three steps:

1. **within one operand**: a letter repeated (``"ii->i"``) takes that diagonal
   (``diagonal``); a letter nobody else needs is summed at once (``sum``);
2. **between two operands**, left to right: each is permuted to ``(batch, own, shared)``
   and reshaped to 3 dims, and one batched ``matmul`` does all the multiplying and summing
   (a letter used later is a *batch* letter, kept; one used nowhere after is *contracted*);
3. the result is permuted into the output's order.

So the gradient of an einsum is the gradient of a few permutes, reshapes, diagonals, sums
and matmuls, and it is exact; matmul makes it fast. ``...`` stands for the dims not named
(right-aligned and broadcast between operands, as in numpy); without ``->`` the output is
``...`` followed by the letters used exactly once, in alphabetical order.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from tapegrad import dtypes
from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.ops.dims import diagonal, permute
from tapegrad.ops.linalg import matmul
from tapegrad.ops.shape import expand, reshape
from tapegrad.tensor import Tensor

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # torch's sublist ints 0..51


# ---------------------------------------------------------------- parsing
def _from_sublists(args: tuple) -> tuple[str, list[Tensor]]:
    """``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as an equation and its operands."""
    operands, terms = [], []
    rest = list(args)
    while len(rest) >= 2:
        operands.append(rest.pop(0))
        terms.append(_sublist_term(rest.pop(0)))
    eq = ",".join(terms)
    if rest:
        eq += "->" + _sublist_term(rest[0])
    return eq, operands


def _sublist_term(sub: Any) -> str:
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        elif isinstance(s, int) and 0 <= s < 52:
            out.append(_LETTERS[s])
        else:
            raise ValueError(f"einsum(): expected subscript to be within the range [0, 52), "
                             f"but got {s}")
    return "".join(out)


def _parse(eq: str, operands: list[Tensor]) -> tuple[list[list[Any]], list[Any]]:
    """Each operand's labels (letters; ``...`` dims as ints 0..E-1, right-aligned) and the
    output's labels, with torch's errors for malformed equations."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation" if len(operands) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the "
                           "equation")
    ell_dims = 0
    parsed: list[tuple[str, str, str | None]] = []
    for term, op in zip(terms, operands, strict=True):
        head, dots, tail = term.partition("...")
        if "." in head or "." in tail:
            raise RuntimeError("einsum(): found '.' for operand that is not part of any "
                               "ellipsis")
        for ch in head + tail:
            if ch not in _LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index "
                                   f"{eq.index(ch)} in the equation string, subscripts must "
                                   "be in [a-zA-Z]")
        named = len(head) + len(tail)
        if (op.ndim != named) if not dots else (op.ndim < named):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) "
                + ("is more than" if dots else "does not match")
                + f" the number of dimensions ({op.ndim}) for operand "
                f"{len(parsed)}" + ("" if dots else " and no ellipsis was given"))
        if dots:
            ell_dims = max(ell_dims, op.ndim - named)
        parsed.append((head, dots, tail))
    labels = []
    for (head, dots, tail), op in zip(parsed, operands, strict=True):
        k = op.ndim - len(head) - len(tail) if dots else 0
        labels.append(list(head) + list(range(ell_dims - k, ell_dims)) + list(tail))
    if arrow:
        head, dots, tail = rhs.partition("...")
        for ch in head + tail:
            if ch not in _LETTERS:
                raise RuntimeError("einsum(): invalid subscript given in the output, "
                                   "subscripts must be in [a-zA-Z]")
            if (head + tail).count(ch) > 1:
                raise RuntimeError(f"einsum(): output subscript {ch} appears more than once "
                                   "in the output")
            if not any(ch in lab for lab in labels):
                raise RuntimeError(f"einsum(): output subscript {ch} does not appear in the "
                                   "equation for any input operand")
        out = list(head) + (list(range(ell_dims)) if dots else []) + list(tail)
    else:
        counts: dict[str, int] = {}
        for lab in labels:
            for ch in lab:
                if isinstance(ch, str):
                    counts[ch] = counts.get(ch, 0) + 1
        out = list(range(ell_dims)) + sorted(
            (ch for ch, n in counts.items() if n == 1), key=_LETTERS.index)
    return labels, out


# ---------------------------------------------------------------- evaluation
def _take_diagonals(x: Tensor, labels: list, number: int) -> tuple[Tensor, list]:
    """A label repeated within one operand means its diagonal: ``"ii"`` -> ``diagonal``."""
    labels = list(labels)
    while True:
        repeated = next((lab for lab in labels if labels.count(lab) > 1), None)
        if repeated is None:
            return x, labels
        i = labels.index(repeated)
        j = labels.index(repeated, i + 1)
        if x.shape[i] != x.shape[j]:
            raise RuntimeError(
                f"einsum(): subscript {repeated} is repeated for operand {number} but the sizes "
                "don't "
                f"match, {x.shape[j]} != {x.shape[i]}")
        x = diagonal(x, 0, i, j)
        labels = [lab for k, lab in enumerate(labels) if k not in (i, j)] + [repeated]


def _sum_out(x: Tensor, labels: list, keep: set) -> tuple[Tensor, list]:
    """Sum the dims whose labels nobody needs any more."""
    drop = [k for k, lab in enumerate(labels) if lab not in keep]
    if drop:
        x = x.sum(dim=tuple(drop))  # an integer sum widens to int64, as torch's does
        labels = [lab for k, lab in enumerate(labels) if k not in drop]
    return x, labels


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set) -> tuple[Tensor, list]:
    """Multiply two operands along their shared labels, summing those not in ``keep``, as
    one batched matmul: a as (batch, own, shared), b as (batch, shared, own)."""
    if a.dtype is not b.dtype:  # an operand summed early may have been widened to int64
        common = dtypes.result_type(a, b)
        a, b = a.to(common), b.to(common)
    batch = [lab for lab in la if lab in lb and lab in keep]
    summed = [lab for lab in la if lab in lb and lab not in keep]
    left = [lab for lab in la if lab not in lb]
    right = [lab for lab in lb if lab not in la]
    sa, sb = dict(zip(la, a.shape, strict=True)), dict(zip(lb, b.shape, strict=True))
    size = {lab: max(sa.get(lab, 1), sb.get(lab, 1)) for lab in (*la, *lb)}
    for lab in batch + summed:
        if sa[lab] != sb[lab] and 1 not in (sa[lab], sb[lab]):
            raise RuntimeError(
                f"einsum(): operands do not broadcast with remapped shapes (original->remapped)"
                f": {list(a.shape)} and {list(b.shape)}")

    def arrange(x: Tensor, labels: list, order: list) -> Tensor:
        x = permute(x, tuple(labels.index(lab) for lab in order))
        return expand(x, tuple(size[lab] if lab in batch + summed else x.shape[k]
                               for k, lab in enumerate(order)))

    def prod(labs: list) -> int:
        n = 1
        for lab in labs:
            n *= size[lab]
        return n

    a3 = reshape(arrange(a, la, batch + left + summed), (prod(batch), prod(left), prod(summed)))
    b3 = reshape(arrange(b, lb, batch + summed + right),
                 (prod(batch), prod(summed), prod(right)))
    out = matmul(a3, b3)
    labels = batch + left + right
    return reshape(out, tuple(size[lab] for lab in labels)), labels


def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation (see the module docstring): ``einsum("ij,jk->ik", a, b)`` is
    ``a @ b``, ``einsum("ii", a)`` the trace, ``einsum("...ij->...ji", a)`` a batched
    transpose. Also torch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``, and the
    operands may be given as one list."""
    if not isinstance(equation, str):
        equation, ops = _from_sublists((equation, *operands))
    else:
        ops = list(operands[0]) if len(operands) == 1 and isinstance(
            operands[0], Sequence) and not isinstance(operands[0], Tensor) else list(operands)
    if not ops:
        raise RuntimeError("einsum(): must provide at least one operand")
    for i, op in enumerate(ops):
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): expected Tensor as element {i} in argument 1, but got "
                            f"{type(op).__name__}")
    labels, out_labels = _parse(equation, ops)
    items = []
    for k, (x, lab) in enumerate(zip(ops, labels, strict=True)):
        items.append(_take_diagonals(x, lab, k))
    seen: dict = {}
    for k, (x, labs) in enumerate(items):
        for lab, n in zip(labs, x.shape, strict=True):
            if lab in seen and n != seen[lab] and 1 not in (n, seen[lab]):
                raise RuntimeError(
                    f"einsum(): subscript {lab} has size {n} for operand {k} which does not "
                    f"broadcast with previously seen size {seen[lab]}")
            seen[lab] = n if lab not in seen or seen[lab] == 1 else seen[lab]
    result, res_labels = items[0]
    for k in range(len(items) + 1):
        if k > 0:
            if k == len(items):
                break
            later = {lab for _, ls in items[k + 1:] for lab in ls} | set(out_labels)
            result, res_labels = _contract(result, res_labels, *items[k], later)
            continue
        # the first operand: sum what no one else uses before multiplying
        later = {lab for _, ls in items[1:] for lab in ls} | set(out_labels)
        result, res_labels = _sum_out(result, res_labels, later)
    result, res_labels = _sum_out(result, res_labels, set(out_labels))
    if len(items) == 1 and res_labels == out_labels:
        return result if result is not ops[0] else permute(result, tuple(range(result.ndim)))
    return permute(result, tuple(res_labels.index(lab) for lab in out_labels))


# ---------------------------------------------------------------- built on einsum's parts
def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Sum of products over ``dims``: an int n contracts the last n dims of ``a`` with the
    first n of ``b``; a pair of lists names the dims of each. The kept dims of ``a`` come
    first, then those of ``b``. As in torch, a contracted dim of size 1 broadcasts against
    the other operand's."""
    require_tensor(a, "tensordot", "a", 1)
    require_tensor(b, "tensordot", "b", 2)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims="
                               f"{dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    da = [d % a.ndim if a.ndim else d for d in da]
    db = [d % b.ndim if b.ndim else d for d in db]
    for x, y in zip(da, db, strict=True):
        if a.shape[x] != b.shape[y] and 1 not in (a.shape[x], b.shape[y]):
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[x]} in dim {x} and second has size {b.shape[y]} in "
                               f"dim {y}")
    la = [f"a{k}" for k in range(a.ndim)]
    lb = [f"b{k}" for k in range(b.ndim)]
    for x, y in zip(da, db, strict=True):
        lb[y] = la[x]
    keep = {lab for k, lab in enumerate(la) if k not in da} | {
        lab for k, lab in enumerate(lb) if k not in db}
    return _contract(a, la, b, lb, keep)[0]


def inner(a: Tensor, b: Tensor) -> Tensor:
    """The sum of products over the last dim of both (a number times a tensor when one is
    0-d): for vectors the dot product, for matrices ``a @ b.T``."""
    require_tensor(a, "inner", "input", 1)
    require_tensor(b, "inner", "other", 2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(a.shape)} and {list(b.shape)}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product: block ``(i, j)`` of the result is ``a[i, j] * b`` (for any
    number of dims: the shorter shape is padded with leading 1s)."""
    require_tensor(a, "kron", "input", 1)
    require_tensor(b, "kron", "other", 2)
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    wide_a = reshape(a, tuple(x for s in sa for x in (s, 1)))
    wide_b = reshape(b, tuple(x for s in sb for x in (1, s)))
    return reshape(wide_a * wide_b, tuple(x * y for x, y in zip(sa, sb, strict=True)))


__all__ = ["einsum", "tensordot", "inner", "kron"]

METHODS = {"inner": inner, "kron": kron}
