"""nn.functional: rearranging channels and pixels: ``pixel_shuffle``, ``pixel_unshuffle``
and ``channel_shuffle``. Each is a reshape, a permutation of axes and a reshape back, so its
gradient is the inverse rearrangement (no arithmetic at all).

* ``pixel_shuffle(x, r)``: (*, C*r*r, H, W) -> (*, C, H*r, W*r). The r*r channels of each
  group become an r x r block of pixels: the "sub-pixel convolution" upsampling of ESPCN
  (a convolution to C*r*r channels, then a shuffle, instead of a transposed convolution).
* ``pixel_unshuffle(x, r)``: its inverse, space-to-depth.
* ``channel_shuffle(x, g)``: (N, C, *) viewed as (N, g, C/g, *), the two channel axes swapped:
  after a grouped convolution, the next one sees channels of every group (ShuffleNet).
"""

from __future__ import annotations

from tapegrad.ops.checks.tensor_args import require_tensor
from tapegrad.tensor import Tensor

__all__ = ["channel_shuffle", "pixel_shuffle", "pixel_unshuffle"]


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r) with ``r = upscale_factor``."""
    require_tensor(input, "pixel_shuffle")
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{c} is not divisible by {r * r}")
    m = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(m), m, m + 3, m + 1, m + 4, m + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W) with ``r = downscale_factor``: the inverse of
    `pixel_shuffle`."""
    require_tensor(input, "pixel_unshuffle")
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    m = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(m), m, m + 2, m + 4, m + 1, m + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups: (N, C, *) as (N, g, C/g, *), transposed."""
    require_tensor(input, "channel_shuffle")
    if input.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)
