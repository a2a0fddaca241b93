"""Toy datasets generated on the spot: the classic first problems for a neural network.

* `make_moons`: two interleaving half circles, the micrograd demo's data (a straight line
  cannot separate them; a small MLP can).
* `make_spirals`: ``K`` interleaved spiral arms (CS231n's example), harder still.
* `make_linear_regression`: points on ``y = w x + b`` (default ``y = 3x + 0.8``, the line
  the first-steps lesson fits by gradient descent), optionally with noise.

Each returns tensors ``(X, y)``; features use the default dtype (float32) unless ``dtype``
is given. Randomness: ``random_state``/``seed`` may be an int, a `tapegrad.Generator`, or
None for the global generator (so ``tapegrad.manual_seed`` makes the data reproducible).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad import dtypes
from tapegrad import random as _random
from tapegrad.creation import from_numpy
from tapegrad.tensor import Tensor

__all__ = ["make_linear_regression", "make_moons", "make_spirals"]


def _rng(random_state: Any) -> np.random.Generator:
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    return _random.generator_of(random_state)


def _features(x: np.ndarray, dtype: Any) -> Tensor:
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    return from_numpy(np.ascontiguousarray(x, dtype=dt.numpy))


def _check_n(n: int, name: str = "n_samples") -> None:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")


def make_moons(n_samples: int = 100, *, noise: float = 0.0, shuffle: bool = True,
               random_state: Any = None, dtype: Any = None) -> tuple[Tensor, Tensor]:
    """Two half circles: class 0 on the upper one, class 1 on the lower, shifted one.

    ``X`` is ``(n_samples, 2)``, ``y`` int64 0/1 (``n_samples // 2`` of class 0). Gaussian
    noise of std ``noise`` is added to every coordinate. Same construction as
    scikit-learn's ``make_moons`` (values differ: another random generator).
    """
    _check_n(n_samples)
    rng = _rng(random_state)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(t_out), 1 - np.cos(t_in)])
    y = np.concatenate([np.sin(t_out), 1 - np.sin(t_in) - 0.5])
    X = np.stack([x, y], axis=1)
    labels = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if shuffle:
        perm = rng.permutation(n_samples)
        X, labels = X[perm], labels[perm]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _features(X, dtype), from_numpy(labels)


def make_spirals(n_samples: int = 300, n_classes: int = 3, *, noise: float = 0.2,
                 shuffle: bool = True, random_state: Any = None,
                 dtype: Any = None) -> tuple[Tensor, Tensor]:
    """``n_classes`` spiral arms around the origin (CS231n's "spiral" data).

    Arm ``k`` has radius ``r`` growing 0 -> 1 while the angle runs over
    ``[4k, 4(k+1)]`` radians plus Gaussian noise of std ``noise``; a point is
    ``(r sin t, r cos t)``. The ``n_samples`` points are shared out evenly (the first
    arms get one more when it does not divide). ``y`` holds the arm index (int64).
    """
    _check_n(n_samples)
    _check_n(n_classes, "n_classes")
    rng = _rng(random_state)
    sizes = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
    xs, ys = [], []
    for k, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n) + rng.normal(scale=noise, size=n)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n, k, dtype=np.int64))
    X, labels = np.concatenate(xs), np.concatenate(ys)
    if shuffle:
        perm = rng.permutation(n_samples)
        X, labels = X[perm], labels[perm]
    return _features(X, dtype), from_numpy(labels)


def make_linear_regression(n: int = 50, w: float = 3.0, b: float = 0.8, noise: float = 0.0,
                           seed: Any = None, dtype: Any = None) -> tuple[Tensor, Tensor]:
    """``x`` uniform in [0, 1) of shape ``(n, 1)`` and ``y = w * x + b (+ noise)``.

    The defaults are the first-steps lesson's data: ``x = torch.rand([50, 1]);
    y = x * 3 + 0.8``; fitting a ``Linear(1, 1)`` should recover ``w`` and ``b``.
    ``noise`` is the std of Gaussian noise added to ``y``.
    """
    _check_n(n, "n")
    rng = _rng(seed)
    x = rng.random((n, 1))
    y = w * x + b
    if noise:
        y = y + rng.normal(scale=noise, size=y.shape)
    return _features(x, dtype), _features(y, dtype)
