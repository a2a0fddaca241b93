"""Devices: where a tensor's storage lives.

tapegrad stores CPU tensors in numpy arrays and CUDA tensors in `CudaArray`s (numba.cuda
device memory, see `tapegrad.kernels.cuda`). A tensor's device is simply the type of its
storage; `move` copies storage between the two, and every such copy is counted
(``tapegrad.cuda.transfer_counter()``).
"""

from __future__ import annotations

from typing import Any

from tapegrad.kernels.cuda import runtime
from tapegrad.kernels.cuda.array import CudaArray


class device:  # torch's name
    """``device("cpu")``, ``device("cuda:0")`` or ``device("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type_or_str: Any, index: int | None = None) -> None:
        if isinstance(type_or_str, device):
            self.type, self.index = type_or_str.type, type_or_str.index
            return
        if not isinstance(type_or_str, str):
            raise TypeError(
                f"device() expects a string like 'cpu' or 'cuda:0', got {type_or_str!r}")
        name = type_or_str
        if ":" in name:
            name, _, idx = name.partition(":")
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type_or_str}")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type_or_str}'") from None
        if name not in ("cpu", "cuda"):
            raise RuntimeError(
                "Expected one of cpu, cuda device type at start of device string: "
                f"{type_or_str}"
            )
        self.type = name
        self.index = index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = device("cpu")
#: The one CUDA device tapegrad drives (``cuda:0``); tensors report it with its index.
CUDA = device("cuda", 0)


def resolve(dev: Any) -> device:
    """A ``device=`` argument as a `device` with storage behind it: None means the CPU;
    ``"cuda"`` means ``cuda:0``, and raises a clear RuntimeError when CUDA cannot be used
    here (no ``numba-cuda``, no GPU and no simulator) or the index does not exist."""
    if dev is None:
        return CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d.type == "cpu":
        return CPU
    runtime.require()
    if d.index not in (None, 0):
        raise RuntimeError(
            f"CUDA error: invalid device ordinal (asked for '{d}', but tapegrad drives one "
            "device, cuda:0)"
        )
    return CUDA


def move(data: Any, dev: device) -> Any:
    """``data`` on ``dev``: the same object when it is already there, else a copy (one
    counted host<->device transfer)."""
    on_cuda = type(data) is CudaArray
    if dev.type == "cuda":
        return data if on_cuda else CudaArray.from_host(data)
    return data.get() if on_cuda else data
