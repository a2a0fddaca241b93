"""The 8x8 handwritten digits, bundled: a real dataset that needs no download.

1,797 grey images of the digits 0-9, 8x8 pixels each, every pixel an integer 0..16 (the
number of "on" pixels in a 4x4 block of a 32x32 bitmap). Small enough to ship inside the
package (``digits.npz``, about 45 KB) and to train an MLP or a small CNN on in seconds,
yet real enough that test accuracy means something (~97% for a small MLP).

Source and license: the UCI Machine Learning Repository, "Optical Recognition of
Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998; https://doi.org/10.24432/C50P49),
licensed CC BY 4.0. This is the copy of its test set that scikit-learn ships as
``load_digits`` (``sklearn/datasets/data/digits.csv.gz``), converted once to an npz of
``images`` (uint8, (1797, 8, 8), values 0..16) and ``labels`` (int64, (1797,)).
The file is read with ``np.load(..., allow_pickle=False)``: arrays only, never code.

    images, labels = tapegrad.datasets.load_digits()     # float32 in [0, 1], int64
    train = tapegrad.datasets.Digits(train=True)         # 1437 samples, fixed split
    test = tapegrad.datasets.Digits(train=False)         # the other 360
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from tapegrad.creation import from_numpy
from tapegrad.datasets.readers import ImageArrayDataset
from tapegrad.tensor import Tensor

__all__ = ["DIGITS_PATH", "Digits", "load_digits"]

DIGITS_PATH = Path(__file__).with_name("digits.npz")
N_TEST = 360  # 20% of 1797, rounded
SPLIT_SEED = 0  # the train/test split never changes


@functools.lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """The uint8 images and int64 labels, read once per process (read-only arrays)."""
    with np.load(DIGITS_PATH, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    if images.shape != (1797, 8, 8) or labels.shape != (1797,):
        raise RuntimeError(f"{DIGITS_PATH}: unexpected shapes {images.shape}, {labels.shape}")
    images.setflags(write=False)  # shared by every caller: guard against edits
    labels.setflags(write=False)
    return images, labels


def load_digits() -> tuple[Tensor, Tensor]:
    """``(images, labels)``: float32 ``(1797, 8, 8)`` scaled to [0, 1] (pixel / 16) and
    int64 ``(1797,)`` labels 0..9, as new tensors (free to modify)."""
    images, labels = _raw()
    return (from_numpy(images.astype(np.float32) / np.float32(16.0)),
            from_numpy(labels.astype(np.int64)))


def _split_indices(train: bool) -> np.ndarray:
    perm = np.random.default_rng(SPLIT_SEED).permutation(1797)
    return np.sort(perm[N_TEST:] if train else perm[:N_TEST])


class Digits(ImageArrayDataset):
    """The digits as a Dataset: sample ``i`` is ``(image, label)``.

    ``image`` is a float32 tensor ``(1, 8, 8)`` in [0, 1] (like a ``ToTensor``'d MNIST
    image: one channel), passed through ``transform`` if given; ``label`` is an int.
    ``train=True`` gives a fixed 1437 samples, ``train=False`` the other 360 (the split
    uses a fixed seed, so it is the same on every machine and never mixes).
    ``data`` holds the raw uint8 ``(N, 8, 8)`` pixels (0..16), ``targets`` int64 labels.
    """

    max_value = 16.0
    classes = [str(d) for d in range(10)]

    def __init__(self, train: bool = True, transform: Any = None,
                 target_transform: Any = None) -> None:
        images, labels = _raw()
        idx = _split_indices(train)
        self.train = train
        super().__init__(images[idx], from_numpy(labels[idx]), transform, target_transform)
