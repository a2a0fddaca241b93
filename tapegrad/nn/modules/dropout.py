"""`Dropout`: random zeroing in training mode, identity in eval mode."""

from __future__ import annotations

from tapegrad.nn.functional.dropout import _check_p, dropout
from tapegrad.nn.module import Module
from tapegrad.tensor import Tensor


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


__all__ = ["Dropout"]
