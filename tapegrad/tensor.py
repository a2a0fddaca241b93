"""`Tensor`: an n-d array that can record the ops applied to it.

A Tensor is a numpy array (``_data``) plus the autograd state of `Variable`
(``requires_grad``, ``grad``, ``grad_fn``...). This file holds what does not depend on
any op: construction, metadata, conversion to Python and numpy, and ``repr``. The maths
(``+``, ``exp``, ``sum``, ``reshape``, indexing...) lives in `tapegrad.ops`, which installs
those methods on the class: each one calls a `Function`, and the Function records itself
on the tape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.variable import Variable, VersionCounter
from tapegrad.device import CPU, CUDA, move, resolve
from tapegrad.kernels.cuda.array import CudaArray
from tapegrad.printing import tensor_repr


class Size(tuple):
    """A tensor's shape: a tuple that prints like torch's (``tapegrad.Size([2, 3])``)."""

    def __repr__(self) -> str:
        return f"tapegrad.Size({list(self)})"

    def __getitem__(self, index: Any) -> Any:
        # a slice of a shape is a shape (torch: x.shape[1:] is a torch.Size)
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


class Tensor(Variable):
    """An n-d array with autograd; create one with `tapegrad.tensor` or a factory."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        # torch.Tensor(2, 3) -> uninitialised float tensor; torch.Tensor([1, 2]) -> float data
        if len(args) == 1 and not isinstance(args[0], int):
            arr = np.asarray(args[0], dtype=dtypes.get_default_dtype().numpy)
        else:
            arr = np.zeros(tuple(args), dtype=dtypes.get_default_dtype().numpy)
        return cls._from_array(arr)

    @classmethod
    def _from_array(cls, data: np.ndarray, requires_grad: bool = False) -> Tensor:
        """Wrap a numpy array without copying or checking (the fast internal constructor)."""
        t = object.__new__(cls)
        t._data = data
        t._requires_grad = requires_grad
        t._grad = None
        t._grad_fn = None
        t._output_nr = 0
        t._version_counter = VersionCounter()
        t._hooks = None
        t._post_acc_hooks = None
        t._accumulator_ref = None
        t._base = None
        t._view_meta = None
        t._is_inference = _state.inference
        t._retains_grad = False
        t._name = None
        return t

    @classmethod
    def _zeros(cls, shape: tuple, dt: dtypes.dtype, like: Any = None) -> Tensor:
        """Zeros of ``shape``; on the device of the array ``like`` when given."""
        if like is None:
            return cls._from_array(np.zeros(shape, dtype=dt.numpy))
        return cls._from_array(np.zeros(shape, dtype=dt.numpy, like=like))

    def _alias(self) -> Tensor:
        """A new tensor object on the same storage and version counter (a trivial view)."""
        out = Tensor._from_array(self._data)
        out._version_counter = self._version_counter
        out._base = self._base if self._base is not None else self
        return out

    # ---------------------------------------------------------------- metadata
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Size | int:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy(self._data.dtype)

    @property
    def device(self):
        """``device(type='cpu')``, or ``device(type='cuda', index=0)`` when the storage is
        a `CudaArray` (GPU memory): a tensor's device is the type of its storage."""
        return CUDA if type(self._data) is CudaArray else CPU

    @property
    def is_cuda(self) -> bool:
        return type(self._data) is CudaArray

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> tuple | int:
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[wrap_dim(dim, self._data.ndim)]

    # ---------------------------------------------------------------- conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The numpy array behind this tensor (shared memory, like torch)."""
        if type(self._data) is CudaArray:
            raise TypeError(_NOT_ON_HOST)
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self._data

    def item(self) -> float | int | bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # numpy conversion drops history without an error, as torch's __array__ does
        if type(self._data) is CudaArray:
            raise TypeError(_NOT_ON_HOST)
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(self._data.reshape(()))

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, protocol: int):
        if type(self._data) is CudaArray:  # pickles hold host data, then go back
            return (_rebuild, (type(self), self._data.get(), self._requires_grad, "cuda"))
        return (_rebuild, (type(self), self._data.copy(), self._requires_grad))

    def __deepcopy__(self, memo: dict) -> Tensor:
        """``copy.deepcopy`` of a leaf: new storage, same flags and class (Parameter stays
        Parameter), ``.grad`` copied too; copying a non-leaf is refused, as in torch."""
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment.  If you were attempting to deepcopy a module, "
                "this may be because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)._from_array(self._data.copy())
        out._requires_grad = self._requires_grad
        out.name = self.name
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        if self.__dict__:  # attributes users or subclasses attached
            import copy

            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
        memo[id(self)] = out
        return out

    # ---------------------------------------------------------------- devices
    def cpu(self) -> Tensor:
        """This tensor in host memory (itself when it is there already; differentiable)."""
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """This tensor in GPU memory (itself when it is there already; differentiable)."""
        return self.to(device if device is not None else "cuda")

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` with self's dtype and device unless others are given."""
        from tapegrad.creation import tensor

        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return self.new_full(shape_from_args(size), 0, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return self.new_full(shape_from_args(size), 1, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return self.new_full(shape_from_args(size), 0, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_empty_strided(self, size: Any, stride: Any, dtype: Any = None, device: Any = None,
                          requires_grad: bool = False) -> Tensor:
        """``empty_strided`` with this tensor's dtype and device by default."""
        from tapegrad.creation import empty_strided

        return empty_strided(size, stride, dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A new tensor of ``size`` filled with ``fill_value``, with this tensor's dtype and
        device unless ``dtype``/``device`` say otherwise."""
        dt = dtypes.to_dtype(dtype) if dtype is not None else self.dtype
        out = Tensor._from_array(np.full(tuple(size), fill_value, dtype=dt.numpy,
                                         like=self._data))
        if device is not None and resolve(device) != self.device:
            out = Tensor._from_array(move(out._data, resolve(device)))
        out.requires_grad = requires_grad
        return out


_NOT_ON_HOST = ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                "tensor to host memory first.")


def _rebuild(cls: type, data: np.ndarray, requires_grad: bool, device: str = "cpu") -> Tensor:
    if device != "cpu":
        data = move(data, resolve(device))
    t = cls._from_array(data)
    t._requires_grad = requires_grad
    return t


def shape_from_args(size: tuple) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def wrap_dim(dim: int, ndim: int) -> int:
    """A possibly negative ``dim`` as an index in ``range(ndim)`` (0-d tensors accept 0/-1),
    with torch's IndexError when it is out of range."""
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return int(dim) % max(ndim, 1)


Variable._tensor_type = Tensor
