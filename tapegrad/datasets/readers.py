"""Readers for MNIST-style IDX files and the CIFAR-10 "python version" batches.

tapegrad never downloads anything: put the files where these readers look and they read
them. The layouts torchvision uses are found too, so a ``./data`` folder that torchvision
filled works unchanged:

* MNIST: ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``) in ``root``, ``root/MNIST/raw`` (or
  ``root/FashionMNIST/raw`` for Fashion-MNIST, whose files have the same names).
* CIFAR-10: ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` (and ``batches.meta``) in
  ``root`` or ``root/cifar-10-batches-py``.

**The IDX format** (LeCun's MNIST files) is a tiny header and then raw big-endian numbers:
two zero bytes, a type code (``0x08`` = uint8, ...), the number of dimensions ``d``, then
``d`` 4-byte big-endian sizes. Read as one big-endian int, the first four bytes are the
"magic number": 2051 for an image file (uint8, 3-d), 2049 for a label file (uint8, 1-d).

**The CIFAR-10 batches** are Python pickles. Unpickling can run arbitrary code (a pickle
is a little program that may import and call anything), so they are read with a
*restricted* unpickler that may only build numpy arrays and plain containers; any other
import the file asks for raises ``pickle.UnpicklingError`` before it can run.
"""

from __future__ import annotations

import functools
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from tapegrad.creation import from_numpy
from tapegrad.utils.data.dataset import Dataset

__all__ = ["CIFAR10", "MNIST", "FashionMNIST", "ImageArrayDataset", "RestrictedUnpickler",
           "read_cifar10", "read_idx", "read_mnist", "restricted_loads"]

# IDX type code -> numpy dtype (big-endian, as the format stores them)
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
MNIST_IMAGES_MAGIC, MNIST_LABELS_MAGIC = 2051, 2049


#: A ``.gz`` IDX file may expand to at most this many times its size (or `IDX_GZ_FLOOR`
#: bytes, for tiny files), checked against the header's sizes before decompressing: real
#: MNIST files expand about 5 times, a decompression bomb about 1000 times.
IDX_GZ_MAX_RATIO = 32
IDX_GZ_FLOOR = 1 << 20
_CHUNK = 1 << 20  # decompress / read 1 MiB at a time


def _read_exactly(fh: Any, n: int, path: Path, what: str) -> bytes:
    """``n`` bytes of ``fh`` (ValueError naming the file when it ends sooner)."""
    data = fh.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: not an IDX file (file ends inside the {what})")
    return data


def _read_idx_stream(fh: Any, path: Path, limit: int, expected_magic: int | None
                     ) -> np.ndarray:
    """Parse an IDX stream whose data may take at most ``limit`` bytes: the header is read
    first, and the data size it declares is checked before any data is read."""
    head = fh.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (corrupt header: expected two zero bytes and "
                         f"a known type code, got {head.hex() or 'an empty file'})")
    magic = int.from_bytes(head, "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: wrong IDX magic number {magic}, expected {expected_magic}")
    ndim = head[3]
    dims = _read_exactly(fh, 4 * ndim, path, f"{ndim} sizes of its header")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[head[2]]
    expected = dtype.itemsize
    for d in shape:
        expected *= d  # Python ints: a product of 4-byte sizes cannot overflow
    if expected > limit:
        raise ValueError(f"{path}: corrupt IDX file: header says shape {shape} ({expected} "
                         f"bytes of data) but the file can hold at most {limit}")
    buf = np.empty(expected, np.uint8)
    view, pos = memoryview(buf), 0
    while pos < expected:
        n = fh.readinto(view[pos:pos + _CHUNK])
        if not n:
            break
        pos += n
    if pos != expected or fh.read(1):
        held = f"{pos}" if pos != expected else "more"
        raise ValueError(f"{path}: corrupt IDX file: header says shape {shape} "
                         f"({expected} bytes of data) but the file holds {held}")
    return buf.view(dtype).reshape(shape)


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Parse one IDX file (``.gz`` too) into a native-endian numpy array.

    Raises ValueError naming the file when the header is not IDX, the magic number is not
    ``expected_magic``, or the data is shorter or longer than the header promises. Memory is
    bounded by the file: the header's sizes are checked against the file's size (times
    `IDX_GZ_MAX_RATIO` for ``.gz``) before the data is read, in 1 MiB chunks.
    """
    path = Path(path)
    size = path.stat().st_size  # a missing file: FileNotFoundError, as open() gives
    if path.suffix != ".gz":
        with open(path, "rb") as fh:
            arr = _read_idx_stream(fh, path, size, expected_magic)
    else:
        import gzip  # lazily, like numba: only .gz readers pay for it
        import zlib

        try:
            with gzip.open(path, "rb") as fh:
                arr = _read_idx_stream(fh, path, max(IDX_GZ_MAX_RATIO * size, IDX_GZ_FLOOR),
                                       expected_magic)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # bad stream, CRC, truncation
            raise ValueError(f"{path}: corrupt gzip data ({type(exc).__name__}: {exc})"
                             ) from None
    return arr.astype(arr.dtype.newbyteorder("="))  # a native, writeable copy


def _find(root: Path, subdirs: tuple[str, ...], name: str, gz: bool = True) -> Path:
    """The first existing candidate for ``name``; FileNotFoundError listing them all."""
    candidates = []
    for sub in subdirs:
        base = root / sub if sub else root
        candidates.append(base / name)
        if gz:
            candidates.append(base / (name + ".gz"))
    for c in candidates:
        if c.is_file():
            return c
    tried = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"{name} not found; tapegrad does not download datasets. Looked for:\n  {tried}"
    )


def read_mnist(root: str | os.PathLike, train: bool = True,
               folder: str = "MNIST") -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 28, 28), labels int64 (N,))`` from MNIST's IDX files.

    ``folder`` is torchvision's subfolder name (``root/<folder>/raw``); Fashion-MNIST
    uses ``"FashionMNIST"``.
    """
    root = Path(root)
    prefix = "train" if train else "t10k"
    subdirs = ("", f"{folder}/raw", folder)
    images = read_idx(_find(root, subdirs, f"{prefix}-images-idx3-ubyte"), MNIST_IMAGES_MAGIC)
    labels = read_idx(_find(root, subdirs, f"{prefix}-labels-idx1-ubyte"), MNIST_LABELS_MAGIC)
    if len(images) != len(labels):
        raise ValueError(f"{root}: {len(images)} MNIST images but {len(labels)} labels")
    return images, labels.astype(np.int64)


# ---------------------------------------------------------------------- safe pickles
@functools.lru_cache(maxsize=1)
def _numpy_globals() -> dict[tuple[str, str], Any]:
    from numpy._core import multiarray, numeric

    reconstruct, scalar = multiarray._reconstruct, multiarray.scalar
    frombuffer = numeric._frombuffer
    table: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray,
                                         ("numpy", "dtype"): np.dtype}
    # numpy 2 renamed numpy.core to numpy._core; files written by numpy 1 (or Python 2,
    # as the real CIFAR-10 batches were) name the old module
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        table[(f"{core}.multiarray", "scalar")] = scalar
        table[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return table


_SAFE_BUILTINS = {name: getattr(__import__("builtins"), name) for name in (
    "dict", "list", "tuple", "set", "frozenset", "str", "bytes", "bytearray", "int", "float",
    "complex", "bool")}


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that can only rebuild numpy arrays, numpy scalars and builtin containers.

    A pickle names every class or function it needs as ``module.name`` and the unpickler
    looks each one up through `find_class` (then may *call* it: that is how a malicious
    pickle runs ``os.system``). Here `find_class` answers only from an allowlist, so any
    other name raises ``pickle.UnpicklingError`` before anything is called.
    """

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        if (module, name) == ("_codecs", "encode"):
            import _codecs  # protocol-2 pickles spell bytes as _codecs.encode(str, "latin1")

            return _codecs.encode
        found = _numpy_globals().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load global '{module}.{name}': only numpy arrays and builtin "
                "containers are allowed in this file"
            )
        return found


def restricted_loads(data: bytes, *, encoding: str = "ASCII") -> Any:
    """``pickle.loads`` through `RestrictedUnpickler`."""
    import io

    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def _load_batch(path: Path) -> dict:
    try:
        # latin1: the official batches were pickled by Python 2 (str keys, byte-string data)
        obj = restricted_loads(path.read_bytes(), encoding="latin1")
    except pickle.UnpicklingError as exc:
        raise pickle.UnpicklingError(f"{path}: {exc}") from exc
    except MemoryError:
        raise
    except Exception as exc:  # a malformed pickle fails in many ways; name file and cause
        raise ValueError(f"{path}: not a CIFAR-10 python batch "
                         f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a CIFAR-10 python batch (holds a {type(obj).__name__})")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def read_cifar10(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 (N, 32, 32, 3), labels int64 (N,))`` from the CIFAR-10 python batches.

    Each batch stores rows of 3072 bytes: the 1024 red pixels, then green, then blue (row
    major), so a row reshapes to ``(3, 32, 32)``; like torchvision we return HWC images.
    """
    root = Path(root)
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    images, labels = [], []
    for name in names:
        path = _find(root, ("", "cifar-10-batches-py"), name, gz=False)
        batch = _load_batch(path)
        try:
            data = np.asarray(batch["data"], dtype=np.uint8)
            lab = np.asarray(batch["labels"] if "labels" in batch else batch["fine_labels"],
                             dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"{path}: not a CIFAR-10 python batch (no {exc} entry)") from None
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. strings, None, nesting
            raise ValueError(f"{path}: not a CIFAR-10 python batch (data or labels are not "
                             f"arrays of integers: {type(exc).__name__}: {exc})") from None
        if data.ndim != 2 or data.shape[1] != 3072 or lab.ndim != 1 or len(lab) != len(data):
            raise ValueError(f"{path}: expected data of shape (N, 3072) and N labels, got "
                             f"data of shape {data.shape} and labels of shape {lab.shape}")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(lab)
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def cifar10_classes(root: str | os.PathLike) -> list[str]:
    """Class names from ``batches.meta`` when present, else the standard ten."""
    try:
        path = _find(Path(root), ("", "cifar-10-batches-py"), "batches.meta", gz=False)
    except FileNotFoundError:
        return list(CIFAR10_CLASSES)
    names = _load_batch(path).get("label_names", CIFAR10_CLASSES)
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"{path}: label_names should be a list of names, not a "
                         f"{type(names).__name__}")
    return [str(n) for n in names]


# ---------------------------------------------------------------------- Dataset classes
class ImageArrayDataset(Dataset):
    """Images held as one uint8 array; sample ``i`` is ``(image, label)``.

    The image comes out the way torchvision's ``ToTensor()`` would make it: a float32
    tensor ``(C, H, W)`` scaled to [0, 1] (pixels divided by ``max_value``), then
    ``transform`` (if any) is applied to that tensor, and ``target_transform`` to the int
    label. ``data`` keeps the raw array (``(N, H, W)`` or ``(N, H, W, C)``) and ``targets``
    the labels, as torchvision's datasets do.
    """

    max_value = 255.0
    classes: list[str] = []

    def __init__(self, data: np.ndarray, targets: Any, transform: Any = None,
                 target_transform: Any = None) -> None:
        self.data = data
        self.targets = targets
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = self.data[index]
        img = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)  # CHW, like ToTensor
        image: Any = from_numpy(np.ascontiguousarray(img, dtype=np.float32)
                                / np.float32(self.max_value))
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}"


def _no_download(download: bool, root: Any, name: str) -> None:
    if download:
        raise RuntimeError(
            f"tapegrad does not download {name}: put the files under {root} yourself "
            "(see tapegrad.datasets.readers for the expected names), then pass download=False"
        )


class MNIST(ImageArrayDataset):
    """MNIST digits from IDX files under ``root`` (never downloaded; see `read_mnist`).

    ``download=True`` is accepted for torchvision compatibility when the files are already
    there; when they are missing it raises instead of fetching them.
    """

    folder = "MNIST"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Any = None,
                 target_transform: Any = None, download: bool = False) -> None:
        try:
            images, labels = read_mnist(root, train, folder=self.folder)
        except FileNotFoundError:
            _no_download(download, root, type(self).__name__)
            raise
        self.root, self.train = root, train
        super().__init__(images, from_numpy(labels), transform, target_transform)


class FashionMNIST(MNIST):
    """Fashion-MNIST: MNIST's file format and sizes, pictures of clothes."""

    folder = "FashionMNIST"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class CIFAR10(ImageArrayDataset):
    """CIFAR-10 from the python batches under ``root`` (never downloaded; see
    `read_cifar10`). ``targets`` is a list of ints, as in torchvision."""

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Any = None,
                 target_transform: Any = None, download: bool = False) -> None:
        try:
            images, labels = read_cifar10(root, train)
        except FileNotFoundError:
            _no_download(download, root, "CIFAR10")
            raise
        self.root, self.train = root, train
        self.classes = cifar10_classes(root)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        super().__init__(images, labels.tolist(), transform, target_transform)
