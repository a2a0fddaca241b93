"""Devices: where a tensor's storage lives.

tapegrad stores CPU tensors in numpy arrays. ``device("cuda")`` is accepted as a name (so
that ``torch.device("cuda:0" if torch.cuda.is_available() else "cpu")`` runs unchanged),
but CUDA storage is a later piece of work: asking to *put* a tensor there raises an error
that says so.
"""

from __future__ import annotations

from typing import Any


class device:  # noqa: N801 - torch's name
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


def check_cpu(dev: Any) -> device:
    """Resolve a ``device=`` argument; only the CPU has storage so far."""
    if dev is None:
        return CPU
    d = device(dev) if not isinstance(dev, device) else dev
    if d.type != "cpu":
        raise RuntimeError(
            f"tapegrad has no storage for device '{d}' yet: only 'cpu' tensors exist "
            "(tapegrad.cuda.is_available() is False)"
        )
    return d
