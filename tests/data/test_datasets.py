"""Bundled digits, generated toy data, and the MNIST / CIFAR-10 file readers."""

from __future__ import annotations

import gzip
import os
import pickle
import sys

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import datasets
from tapegrad.datasets import digits as digits_mod
from tapegrad.datasets import readers
from tapegrad.utils.data import DataLoader


# ---------------------------------------------------------------------- digits
def test_digits_file_is_small_and_holds_plain_arrays():
    assert digits_mod.DIGITS_PATH.stat().st_size < 64 * 1024
    with np.load(digits_mod.DIGITS_PATH, allow_pickle=False) as f:
        assert sorted(f.files) == ["images", "labels"]
        assert f["images"].dtype == np.uint8 and f["labels"].dtype == np.int64


def test_load_digits_shapes_scaling_and_known_values():
    images, labels = datasets.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == tg.float32
    assert labels.shape == (1797,) and labels.dtype == tg.int64
    arr = images.numpy()
    assert arr.min() == 0.0 and arr.max() == 1.0
    np.testing.assert_array_equal(np.unique(arr * 16), np.arange(17))  # pixels were 0..16
    # class counts and the first image of the UCI / scikit-learn copy
    assert np.bincount(labels.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179,
                                                    174, 180]
    assert (arr[0, 0] * 16).tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert labels[:10].tolist() == list(range(10))


def test_load_digits_returns_fresh_tensors():
    a, _ = datasets.load_digits()
    a.numpy()[:] = 0.0
    b, _ = datasets.load_digits()
    assert b.numpy().max() == 1.0


def test_digits_split_is_fixed_disjoint_and_complete():
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    all_imgs = np.concatenate([train.data, test.data]).reshape(1797, -1)
    raw, _ = digits_mod._raw()
    key = {r.tobytes() for r in all_imgs}
    assert key == {r.tobytes() for r in raw.reshape(1797, -1)}
    np.testing.assert_array_equal(datasets.Digits(train=False).data, test.data)
    assert set(np.unique(test.targets.numpy())) == set(range(10))


def test_digits_items_and_transforms():
    ds = datasets.Digits(train=True, transform=lambda x: x * 2, target_transform=str)
    img, label = ds[0]
    assert img.shape == (1, 8, 8) and img.dtype == tg.float32
    assert img.numpy().max() <= 2.0 and isinstance(label, str)
    np.testing.assert_allclose(img.numpy()[0], ds.data[0] / 16.0 * 2, rtol=1e-6)


def test_digits_through_dataloader():
    loader = DataLoader(datasets.Digits(train=False), batch_size=64, shuffle=True)
    xb, yb = next(iter(loader))
    assert xb.shape == (64, 1, 8, 8) and yb.dtype == tg.int64 and len(loader) == 6


def test_digits_are_learnable_by_a_linear_softmax():
    """A few hundred steps of plain gradient descent on the train split reach >85% on test:
    the bundled data is real, labelled data (not noise)."""
    x, y = (t.numpy() for t in datasets.load_digits())
    idx_tr = digits_mod._split_indices(True)
    idx_te = digits_mod._split_indices(False)
    xs = x.reshape(1797, 64).astype(np.float64)
    onehot = np.eye(10)[y]
    w = np.zeros((64, 10))
    for _ in range(300):
        logits = xs[idx_tr] @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= 0.5 * xs[idx_tr].T @ (p - onehot[idx_tr]) / len(idx_tr)
    acc = ((xs[idx_te] @ w).argmax(1) == y[idx_te]).mean()
    assert acc > 0.85


# ---------------------------------------------------------------------- synthetic
def test_make_moons_geometry_balance_and_seeding():
    X, y = datasets.make_moons(101, noise=0.0, random_state=0)
    assert X.shape == (101, 2) and X.dtype == tg.float32 and y.dtype == tg.int64
    x, lab = X.numpy().astype(np.float64), y.numpy()
    assert (lab == 0).sum() == 50 and (lab == 1).sum() == 51
    r_outer = np.hypot(x[lab == 0, 0], x[lab == 0, 1])
    r_inner = np.hypot(x[lab == 1, 0] - 1, x[lab == 1, 1] - 0.5)
    np.testing.assert_allclose(r_outer, 1, atol=1e-6)
    np.testing.assert_allclose(r_inner, 1, atol=1e-6)
    a = datasets.make_moons(50, noise=0.1, random_state=3)[0].numpy()
    assert np.array_equal(a, datasets.make_moons(50, noise=0.1, random_state=3)[0].numpy())
    assert not np.array_equal(a, datasets.make_moons(50, noise=0.1, random_state=4)[0].numpy())
    tg.manual_seed(7)
    b = datasets.make_moons(20, noise=0.1)[0].numpy()
    tg.manual_seed(7)
    assert np.array_equal(b, datasets.make_moons(20, noise=0.1)[0].numpy())
    assert datasets.make_moons(4, dtype=tg.float64)[0].dtype == tg.float64


def test_make_spirals():
    X, y = datasets.make_spirals(301, 3, noise=0.0, random_state=tg.Generator().manual_seed(0))
    assert X.shape == (301, 2) and np.bincount(y.numpy()).tolist() == [101, 100, 100]
    assert np.hypot(*X.numpy().T).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="n_classes"):
        datasets.make_spirals(10, 0)


def test_make_linear_regression_is_the_lesson_line():
    x, y = datasets.make_linear_regression(seed=0)
    assert x.shape == y.shape == (50, 1) and x.dtype == tg.float32
    assert 0 <= x.numpy().min() and x.numpy().max() < 1
    np.testing.assert_allclose(y.numpy(), 3 * x.numpy() + 0.8, rtol=1e-6)
    xn, yn = datasets.make_linear_regression(2000, w=-2.0, b=0.5, noise=0.1, seed=1)
    w, b = np.polyfit(xn.numpy()[:, 0], yn.numpy()[:, 0], 1)
    assert abs(w + 2.0) < 0.05 and abs(b - 0.5) < 0.05


# ---------------------------------------------------------------------- IDX / MNIST
def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_mnist(folder, n=5, gz=False, prefix="train"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, arr in [(f"{prefix}-images-idx3-ubyte", images),
                      (f"{prefix}-labels-idx1-ubyte", labels)]:
        raw = _idx(arr)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_read_mnist_plain_and_gz(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz)
    got_i, got_l = datasets.read_mnist(tmp_path)
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)
    assert got_i.dtype == np.uint8 and got_l.dtype == np.int64


def test_read_idx_other_types(tmp_path):
    arr = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    (tmp_path / "x").write_bytes(_idx(arr, 0x0C))
    out = datasets.read_idx(tmp_path / "x")
    np.testing.assert_array_equal(out, arr)
    assert out.dtype == np.dtype("int32") and out.flags.writeable


def test_mnist_dataset_torchvision_layout(tmp_path):
    images, labels = _write_mnist(tmp_path / "MNIST" / "raw", n=4, prefix="t10k")
    ds = datasets.MNIST(tmp_path, train=False, download=True)  # present: no download needed
    img, lab = ds[2]
    assert len(ds) == 4 and img.shape == (1, 28, 28) and img.dtype == tg.float32
    np.testing.assert_allclose(img.numpy()[0], images[2] / 255.0, rtol=1e-6)
    assert lab == int(labels[2]) and isinstance(lab, int)
    _write_mnist(tmp_path / "FashionMNIST" / "raw", n=3)
    assert len(datasets.FashionMNIST(tmp_path)) == 3


def test_mnist_missing_files_name_the_paths(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.read_mnist(tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "train-images-idx3-ubyte") in msg
    assert str(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz") in msg
    with pytest.raises(RuntimeError, match="does not download"):
        datasets.MNIST(tmp_path, download=True)


def test_idx_corrupt_header_wrong_magic_and_truncation(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="corrupt header"):
        datasets.read_idx(bad)
    bad.write_bytes(b"")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(bad)
    bad.write_bytes(_idx(np.zeros(3, np.uint8)))  # a label file where images belong
    with pytest.raises(ValueError, match="wrong IDX magic number 2049, expected 2051"):
        datasets.read_idx(bad, 2051)
    bad.write_bytes(_idx(np.zeros((2, 28, 28), np.uint8))[:-5])
    with pytest.raises(ValueError, match=r"header says shape \(2, 28, 28\)"):
        datasets.read_idx(bad)
    bad.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="ends inside"):
        datasets.read_idx(bad)


# ---------------------------------------------------------------------- CIFAR-10
def _write_cifar(folder, names, n=3, protocol=2, bytes_keys=False):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    out = {}
    for name in names:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        batch = {"batch_label": "fake", "labels": labels, "data": data,
                 "filenames": [f"{i}.png" for i in range(n)]}
        if bytes_keys:  # what Python 2's pickles look like when read with encoding="bytes"
            batch = {k.encode(): v for k, v in batch.items()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
        out[name] = (data, labels)
    return out


@pytest.mark.parametrize("protocol, bytes_keys", [(2, False), (5, False), (2, True)])
def test_read_cifar10_layout_and_channel_order(tmp_path, protocol, bytes_keys):
    written = _write_cifar(tmp_path / "cifar-10-batches-py", ["test_batch"],
                           protocol=protocol, bytes_keys=bytes_keys)
    images, labels = datasets.read_cifar10(tmp_path, train=False)
    data, lab = written["test_batch"]
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == lab and labels.dtype == np.int64
    # row layout: 1024 red, 1024 green, 1024 blue values, each 32x32 row-major
    assert images[1, 0, 0, 0] == data[1, 0] and images[1, 0, 0, 1] == data[1, 1024]
    assert images[1, 31, 31, 2] == data[1, 3071] and images[1, 0, 5, 0] == data[1, 5]


def test_cifar10_dataset_train_batches_and_meta(tmp_path):
    names = [f"data_batch_{i}" for i in range(1, 6)]
    written = _write_cifar(tmp_path, names, n=2)
    (tmp_path / "batches.meta").write_bytes(pickle.dumps(
        {"label_names": [f"c{i}" for i in range(10)]}, protocol=2))
    ds = datasets.CIFAR10(tmp_path, train=True)
    assert len(ds) == 10 and ds.classes[3] == "c3" and ds.class_to_idx["c9"] == 9
    img, lab = ds[4]  # third batch, first row
    data, labels = written["data_batch_3"]
    assert img.shape == (3, 32, 32) and lab == labels[0]
    np.testing.assert_allclose(img.numpy().reshape(-1), data[0] / 255.0, rtol=1e-6)


def test_cifar10_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="test_batch"):
        datasets.read_cifar10(tmp_path, train=False)
    (tmp_path / "test_batch").write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        datasets.read_cifar10(tmp_path, train=False)
    (tmp_path / "test_batch").write_bytes(pickle.dumps({"data": np.zeros((2, 5), np.uint8),
                                                        "labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"expected data of shape \(N, 3072\)"):
        datasets.read_cifar10(tmp_path, train=False)


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_rejected_without_running(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": _Evil(marker), "labels": [0]}, protocol=2)
    (tmp_path / "test_batch").write_bytes(payload)
    with pytest.raises(pickle.UnpicklingError) as info:
        datasets.read_cifar10(tmp_path, train=False)
    assert os.name + ".system" in str(info.value) and "test_batch" in str(info.value)
    assert not marker.exists()
    # the same bytes through plain pickle WOULD run the command: the test is meaningful
    if sys.platform != "win32":
        pickle.loads(payload)
        assert marker.exists()


@pytest.mark.parametrize("target", [eval, getattr, __import__, np.load])
def test_restricted_unpickler_refuses_other_callables(target):
    payload = pickle.dumps(_Call(target), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load global"):
        readers.restricted_loads(payload)


class _Call:
    def __init__(self, fn):
        self.fn = fn

    def __reduce__(self):
        return (self.fn, ("1",))


def test_python2_style_pickle_with_old_numpy_names_loads():
    """The official CIFAR batches were written by Python 2 + numpy 1: byte strings (read as
    latin1) and globals named numpy.core.multiarray (numpy 2 calls it numpy._core)."""
    payload = (b"\x80\x02}q\x00(U\x04dataq\x01cnumpy.core.multiarray\n_reconstruct\nq\x02"
               b"cnumpy\nndarray\nq\x03K\x00\x85U\x01b\x87Rq\x04(K\x01K\x01K\x03\x86cnumpy\n"
               b"dtype\nq\x05U\x02u1K\x00K\x01\x87Rq\x06(K\x03U\x01|NNNJ\xff\xff\xff\xff"
               b"J\xff\xff\xff\xffK\x00tb\x89U\x03\x01\x02\xfftbU\x06labelsq\x07]q\x08K\x07au.")
    out = readers.restricted_loads(payload, encoding="latin1")
    assert out["labels"] == [7]
    np.testing.assert_array_equal(out["data"], np.array([[1, 2, 255]], dtype=np.uint8))
