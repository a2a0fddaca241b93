"""Dataset readers against hostile files: bounded memory, and ValueError naming the file.

An IDX header declares the data's size; a ``.gz`` file can inflate ~1000 times, so the
reader checks the declared size against what the file can hold (its size, or
``IDX_GZ_MAX_RATIO`` times it for ``.gz``) *before* reading, then reads in chunks and stops
one byte past the declared end. Sizes are multiplied as Python ints: four dims of 2**16
multiply to 0 in int64, which used to turn into a raw numpy reshape error. A malformed
CIFAR-10 batch gives ValueError naming the file instead of numpy's raw errors.
"""

from __future__ import annotations

import gzip
import pickle
import tracemalloc

import numpy as np
import pytest

from tapegrad.datasets import readers


def _header(shape, code=0x08) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(int(s).to_bytes(4, "big") for s in shape)


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_gz_bomb_consistent_with_its_header_is_refused_before_inflating(tmp_path):
    n = 50_000  # 50,000 zero images: 39 MB of data, ~40 KB of gzip
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_header((n, 28, 28)) + bytes(n * 28 * 28)))
    size = path.stat().st_size
    assert n * 28 * 28 > readers.IDX_GZ_MAX_RATIO * size + readers.IDX_GZ_FLOOR

    def read():
        with pytest.raises(ValueError, match=f"{path.name}.*can hold at most"):
            readers.read_idx(path)

    assert _peak(read) < 2 << 20  # nothing near the 39 MB was allocated


def test_gz_data_beyond_the_header_stops_at_the_declared_end(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_header((10,)) + bytes(30_000_000)))

    def read():
        with pytest.raises(ValueError, match=f"{path.name}.*holds more"):
            readers.read_idx(path)

    assert _peak(read) < 4 << 20


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("shape", [(1 << 16,) * 4,            # 2**64: 0 in int64
                                   (0xFFFFFFFF,) * 3,          # huge
                                   (1 << 31, 1 << 31, 4)])     # 2**64 again
def test_idx_dims_whose_product_overflows(tmp_path, shape, gz):
    raw = _header(shape)
    path = tmp_path / ("bad-idx.gz" if gz else "bad-idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=r"bad-idx.*header says shape .* can hold at most"):
        readers.read_idx(path)


def test_corrupt_gzip_stream_names_the_file(tmp_path):
    good = gzip.compress(_header((3,)) + bytes(3))
    path = tmp_path / "crc.gz"
    path.write_bytes(good[:-8] + bytes(8))  # wrong CRC and length in the trailer
    with pytest.raises(ValueError, match="crc.gz: corrupt gzip data"):
        readers.read_idx(path)
    path.write_bytes(good[:15])  # cut inside the compressed stream
    with pytest.raises(ValueError, match="crc.gz"):
        readers.read_idx(path)


@pytest.mark.parametrize("batch", [
    {"data": ["abc", "def"], "labels": [0, 1]},
    {"data": {"x": 1}, "labels": [0, 1]},
    {"data": np.zeros((2, 3072), np.uint8), "labels": None},
    {"data": np.zeros((2, 3072), np.uint8), "labels": 3},
    {"data": np.zeros((2, 3072), np.uint8), "labels": [[0], [1, 2]]},
    {"data": [[300] * 3072], "labels": [0]},
    {"data": np.zeros((1, 3072), np.uint8), "labels": ["cat"]},
], ids=["str-data", "dict-data", "none-labels", "scalar-labels", "ragged-labels",
        "out-of-range", "str-labels"])
def test_malformed_cifar_batch_names_the_file(tmp_path, batch):
    (tmp_path / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match="test_batch"):
        readers.read_cifar10(tmp_path, train=False)


@pytest.mark.parametrize("raw", [pickle.dumps({"data": 1})[:-3], b"\x80\x02(((((((((",
                                 b"\x80\x02" + b"]" * 200_000 + b"."])
def test_truncated_or_strange_pickles_name_the_file(tmp_path, raw):
    (tmp_path / "test_batch").write_bytes(raw)
    with pytest.raises((ValueError, pickle.UnpicklingError), match="test_batch"):
        readers.read_cifar10(tmp_path, train=False)
