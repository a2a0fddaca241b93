"""Collation: turning a list of samples into one batch.

The DataLoader fetches ``batch_size`` samples, e.g. ``[(x0, y0), (x1, y1), ...]``, and
`default_collate` turns that list "inside out" into ``[stack(x0, x1, ...), tensor([y0,
y1, ...])]``: it looks at the *first* sample's type and recurses into containers, so the
batch has the same structure as one sample with a new leading batch dimension.

    ========================  =================================================
    sample element            batch
    ========================  =================================================
    Tensor                    ``stack`` along a new dim 0
    numpy array               ``as_tensor`` each, then stack (strings/objects: TypeError)
    numpy scalar              tensor of that dtype
    Python float / int/bool   float64 tensor / int64 tensor / bool tensor
    str / bytes               the list, unchanged
    Mapping                   same mapping type, each key collated
    namedtuple                same namedtuple type, each field collated
    tuple / other Sequence    a LIST (tuple) or same type (list), position by position
    ========================  =================================================

(Python floats become float64, not the default float32: that is torch's rule, and the
reason tutorials write ``y.float()`` after loading.)
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.creation import as_tensor, from_numpy, tensor
from tapegrad.ops.joining import stack
from tapegrad.tensor import Tensor

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# numpy dtype strings of bytes (S, a), unicode (U) and object (O) arrays
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}"
)


def default_convert(data: Any) -> Any:
    """Convert numpy arrays (also inside containers) to tensors; leave the rest alone.

    The DataLoader uses it instead of `default_collate` when batching is off
    (``batch_size=None``): each sample is converted, not batched.
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if isinstance(data, np.ndarray) and np_str_obj_array_pattern.search(data.dtype.str):
            return data
        return _numpy_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # the mapping type cannot be built from a dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # torch's backward-compatible quirk
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _numpy_to_tensor(data: Any) -> Tensor:
    """torch.as_tensor for numpy arrays and scalars: keeps the numpy dtype (float64 stays
    float64), sharing memory with an array."""
    arr = np.asarray(data)
    dtypes.from_numpy(arr.dtype)  # TypeError for dtypes a tensor cannot hold
    return from_numpy(arr) if isinstance(data, np.ndarray) else as_tensor(arr)


def collate(batch: Any, *, collate_fn_map: dict | None = None) -> Any:
    """The recursive engine of `default_collate`, with a pluggable type table.

    ``collate_fn_map`` maps an element type (or tuple of types) to a function
    ``fn(batch, *, collate_fn_map)``; the exact type is tried first, then each key with
    ``isinstance`` in insertion order; containers are handled here.
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    def again(samples: Any) -> Any:
        return collate(samples, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                # copy the first sample so subclasses (OrderedDict, ...) and extra
                # attributes survive, then overwrite every value with its batch
                clone = copy.copy(elem)
                clone.update({key: again([d[key] for d in batch]) for key in elem})
                return clone
            return elem_type({key: again([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: again([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(again(samples) for samples in zip(*batch, strict=False)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch, strict=False))
        if isinstance(elem, tuple):
            return [again(samples) for samples in transposed]  # a list, as in torch
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = again(samples)
                return clone
            return elem_type([again(samples) for samples in transposed])
        except TypeError:
            return [again(samples) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Tensor:
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Any:
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([_numpy_to_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Tensor:
    return _numpy_to_tensor(np.array(list(batch)))


def collate_float_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(list(batch), dtype=dtypes.float64)


def collate_int_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Tensor:
    return tensor(list(batch))  # int64; a batch of bools (bool subclasses int) stays bool


def collate_str_fn(batch: Any, *, collate_fn_map: dict | None = None) -> Any:
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: Any) -> Any:
    """Merge a list of samples into a batch (see the module docstring for the rules).

    >>> default_collate([(tapegrad.zeros(2), 1), (tapegrad.ones(2), 0)])
    [tensor([[0., 0.],
            [1., 1.]]), tensor([1, 0])]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
