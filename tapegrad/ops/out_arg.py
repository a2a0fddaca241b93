"""The ``out=`` argument: write an op's result into a tensor the caller already has.

``torch.cat([a, b], out=buf)`` computes the result and copies it into ``buf``, which is
returned. It saves an allocation in torch; here it is mostly about accepting the code people
write, and about refusing what torch refuses, with torch's exception types:

* ``out`` must be a Tensor (TypeError);
* no autograd: with grad mode on, ``out=`` is refused when an input or ``out`` requires grad
  (the result is written by a copy, which the tape could not record as the op);
* ``out`` may not be *internally overlapping* (an expanded tensor: several elements on one
  memory location), nor share memory with an input (the op would read what it has already
  overwritten): RuntimeError "unsupported operation: ...";
* the dtype: ops built like ufuncs cast the result to ``out``'s dtype when the cast does not
  lose a category (float -> int is refused: "result type Float can't be cast to the desired
  output type Long"); others (``gather``, ``amax``) need exactly the result's dtype;
* the shape: an ``out`` of another shape is resized to the result's, silently when it is
  empty and with torch's UserWarning when it had elements.

An op supports ``out=`` by computing its result as usual and ending with
``return write_out("cat", result, out, *inputs)`` when ``out`` is given.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tapegrad.autograd.grad_mode import _state
from tapegrad.ops.checks.tensor_args import type_name
from tapegrad.tensor import Tensor

__all__ = ["write_out"]

_INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor "
                     "refers to a single memory location. Please clone() the tensor before "
                     "performing the operation.")
_PARTIAL_OVERLAP = ("unsupported operation: some elements of the input tensor and the "
                    "written-to tensor refer to a single memory location. Please clone() the "
                    "tensor before performing the operation.")


def _flat_tensors(values: Any) -> list[Tensor]:
    found = []
    for v in values:
        if isinstance(v, Tensor):
            found.append(v)
        elif isinstance(v, (list, tuple)):
            found += _flat_tensors(v)
    return found


def _overlapping_itself(a: Any) -> bool:
    """An expanded array: a dimension of length > 1 with stride 0 (what ``expand`` makes)."""
    strides = getattr(a, "strides", ())
    return a.size > 1 and any(s == 0 and n > 1 for s, n in zip(strides, a.shape, strict=True))


def _root(a: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The contiguous array that owns ``a``'s memory, and ``a``'s byte offset into it."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    if not base.flags.c_contiguous:
        return None
    start = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return (base, start) if start >= 0 else None


def _writeable(a: Any) -> Any:
    """``a`` itself, or, for an expanded (read-only, stride-0) view, a writeable view of the
    same memory: a reduction writes into it as torch does, the last value winning."""
    if type(a) is not np.ndarray or a.flags.writeable:
        return a
    found = _root(a)
    if found is None or not found[0].flags.writeable:
        return a
    return np.ndarray(a.shape, dtype=a.dtype, buffer=found[0], offset=found[1],
                      strides=a.strides)


def _resized(a: Any, shape: tuple) -> Any:
    """What torch's ``resize_`` makes of array ``a``: a contiguous array of ``shape`` starting
    where ``a`` starts, in the same memory when its buffer is big enough (so it may now
    overlap an input it did not overlap before), else ``None`` (new memory)."""
    found = _root(a) if type(a) is np.ndarray else None
    if found is None:
        return None
    base, start = found
    if start + int(np.prod(shape)) * a.itemsize > base.nbytes:
        return None
    return np.ndarray(shape, dtype=a.dtype, buffer=base, offset=start)


def check_out(op: str, out: Any, inputs: Any, shape: tuple | None = None,
              overlap_ok: bool = False) -> Any:
    """The checks torch makes before writing (see the module docstring). Returns the array
    to write the result of ``shape`` into (``None``: a new one). ``overlap_ok``: an
    expanded ``out`` is accepted (torch's reductions do not check)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type_name(out)}")
    tensors = _flat_tensors(inputs)
    if _state.grad_enabled and (out.requires_grad or any(t.requires_grad for t in tensors)):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if not overlap_ok and _overlapping_itself(out._data):
        raise RuntimeError(_INTERNAL_OVERLAP)
    target = out._data
    if shape is not None and tuple(target.shape) != shape:
        target = _resized(target, shape)
    # torch checks some ops before resizing out and some after: refuse an overlap in either
    for t in tensors:
        if t is out or any(type(t._data) is np.ndarray and type(a) is np.ndarray
                           and np.shares_memory(t._data, a) for a in (out._data, target)):
            raise RuntimeError(_PARTIAL_OVERLAP)
    return target


def write_out(op: str, result: Tensor, out: Any, *inputs: Any, exact_dtype: bool = False,
              overlap_ok: bool = False, cast_error: type[Exception] = RuntimeError) -> Tensor:
    """Copy ``result`` into ``out`` after torch's checks; return ``out``.

    ``inputs`` are the op's tensor arguments (lists of tensors too), checked for overlap with
    ``out``. ``exact_dtype``: ``out`` must have the result's dtype (else a castable one,
    ``cast_error`` being what an uncastable one raises: ``cat`` raises TypeError).
    ``overlap_ok``: see `check_out`."""
    shape = tuple(result.shape)
    target = check_out(op, out, inputs, shape, overlap_ok)
    got, want = out.dtype, result.dtype
    if exact_dtype and got != want:
        raise RuntimeError(f"Expected out tensor to have dtype {want.numpy.name}, but got "
                           f"{got.numpy.name} instead")
    if not exact_dtype and got._category < want._category:
        raise cast_error(f"{op}(): result type {want.scalar_type} can't be cast to the desired "
                         f"output type {got.scalar_type}")
    if tuple(out.shape) != shape:
        if out.numel() != 0:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out.shape)}, which does not match the required output shape "
                f"{list(shape)}. This behavior is deprecated, and in a future PyTorch release "
                "outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=3)
        if target is None:
            out._data = result._data.astype(got.numpy, copy=True)
            target = out._data
        else:
            out._data = target
    target = _writeable(target)
    target[...] = result._data.astype(got.numpy, copy=False)
    out._version_counter.value += 1  # saved copies of out are stale now
    return out
