"""`Dropout` and its variants: random zeroing in training mode, identity in eval mode.

`Dropout1d`/`2d`/`3d` drop whole channels, `AlphaDropout`/`FeatureAlphaDropout` keep a SELU
network's mean and variance (see `tapegrad.nn.functional.dropout`).
"""

from __future__ import annotations

from tapegrad.nn.functional.dropout import (
    _check_p,
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
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


class _DropoutNd(Dropout):
    """A dropout module that calls ``_function`` (same options as `Dropout`)."""

    _function = staticmethod(dropout)

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel dropout of (N, C, L) or (C, L) inputs."""

    _function = staticmethod(dropout1d)


class Dropout2d(_DropoutNd):
    """Channel dropout of (N, C, H, W) inputs."""

    _function = staticmethod(dropout2d)


class Dropout3d(_DropoutNd):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) inputs."""

    _function = staticmethod(dropout3d)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps a SELU network's activations at mean 0, variance 1."""

    _function = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels."""

    _function = staticmethod(feature_alpha_dropout)


__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "FeatureAlphaDropout"]
