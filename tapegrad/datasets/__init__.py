"""``tapegrad.datasets``: data to learn from without a download.

* bundled: `load_digits` / `Digits`, the UCI 8x8 handwritten digits (1,797 images);
* generated: `make_moons`, `make_spirals`, `make_linear_regression`;
* read from files you already have: `read_mnist` / `MNIST` / `FashionMNIST` (IDX files)
  and `read_cifar10` / `CIFAR10` (python batches, unpickled safely).

Nothing here downloads anything.
"""

from tapegrad.datasets.digits import Digits, load_digits
from tapegrad.datasets.readers import (
    CIFAR10,
    MNIST,
    FashionMNIST,
    read_cifar10,
    read_idx,
    read_mnist,
)
from tapegrad.datasets.synthetic import make_linear_regression, make_moons, make_spirals

__all__ = ["CIFAR10", "MNIST", "Digits", "FashionMNIST", "load_digits", "make_linear_regression",
           "make_moons", "make_spirals", "read_cifar10", "read_idx", "read_mnist"]
