"""tapegrad.save / load under hostile files and hostile filesystems.

Loading: memory is bounded by what the file can hold (compression bombs, overlapping zip
entries and headers that claim terabytes are refused before anything is allocated), and
every malformed file (fuzzed by truncation, byte flips, manifest mutations and header
lies) raises RuntimeError naming the file, never another exception type. Saving: a
write-protected target is refused as ``open()`` refuses it, temp files of killed saves are
cleaned up by the next save, and errors name the path the user gave, not a temp file.

The permission tests need a process that permissions apply to: root ignores them, so when
the tests run as root those checks run in a subprocess as user ``nobody`` (``setpriv``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import serialization

save, load = serialization.save, serialization.load
ROOT = Path(__file__).resolve().parents[1]


class Named(io.BytesIO):
    """An in-memory file with a name, so the error messages have a name to show."""

    name = "fuzzed.tg"


def _good_bytes() -> bytes:
    buf = io.BytesIO()
    save({"w": tg.arange(64.0).reshape(8, 8), "b": tg.zeros(3, dtype=tg.int64),
          "meta": {"step": 7, "lr": 0.1, "tags": ["a", (1, 2.5)], "x": None}}, buf)
    return buf.getvalue()


def _manifest(arrays, root) -> bytes:
    return json.dumps({"format": "tapegrad-checkpoint", "version": 1, "arrays": arrays,
                       "root": root}).encode()


TENSOR0 = {"t": "tensor", "a": 0, "cls": "Tensor", "requires_grad": False}


def _zip(members: dict, compression: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _load_measured(data: bytes):
    """(result or exception, peak bytes traced while loading)."""
    tracemalloc.start()
    try:
        out = load(Named(data))
    except Exception as exc:  # the caller checks the type
        out = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, peak


# bytes of memory per byte of file a load may take (see `serialization` docs); the slack
# covers the interpreter's own small allocations during a load
BOUND, SLACK = 32, 1 << 20


def _refused(data: bytes, match: str) -> None:
    out, peak = _load_measured(data)
    assert isinstance(out, RuntimeError), repr(out)
    assert "fuzzed.tg" in str(out) and match in str(out), str(out)
    assert peak <= BOUND * len(data) + SLACK, (peak, len(data))


# ---------------------------------------------------------------------- bombs
def test_deflated_array_bomb_is_refused_before_inflating():
    n = 1 << 22  # 32 MiB of float64 zeros: deflates to ~32 KiB
    arrays = [{"dtype": "<f8", "shape": [n]}]
    data = _zip({"arrays/0.npy": _npy(np.zeros(n)), "tapegrad.json": _manifest(arrays, TENSOR0)},
                zipfile.ZIP_DEFLATED)
    assert len(data) < n * 8 // 500
    _refused(data, "more than 10:1")


def test_deflated_manifest_bomb_is_refused():
    root = {"t": "str", "v": " " * (32 << 20)}
    data = _zip({"tapegrad.json": _manifest([], root)}, zipfile.ZIP_DEFLATED)
    _refused(data, "'tapegrad.json' is compressed")


def test_npy_header_claiming_terabytes_is_refused_before_allocating():
    shape = [1 << 20, 1 << 20, 1]  # 8 TiB of float64, in a member of 24 data bytes
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f8", "fortran_order": False,
                                               "shape": tuple(shape)})
    member = hdr.getvalue() + np.zeros(3).tobytes()
    data = _zip({"arrays/0.npy": member,
                 "tapegrad.json": _manifest([{"dtype": "<f8", "shape": shape}], TENSOR0)})
    _refused(data, "8796093022208 bytes")


def _deflated_bytes() -> bytes:
    """`_good_bytes` repacked by another tool: arrays deflated (the manifest stays stored)."""
    with zipfile.ZipFile(io.BytesIO(_good_bytes())) as src:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, src.read(info), compress_type=None
                             if info.filename.startswith("arrays/") else zipfile.ZIP_STORED)
    return out.getvalue()


def test_deflated_member_within_the_ratio_loads():
    """A repacked archive (deflated members) still loads when it compresses modestly."""
    data = _deflated_bytes()
    assert b"tapegrad.json" in data and data.count(b"\x93NUMPY") == 0  # really deflated
    got = load(Named(data))
    np.testing.assert_array_equal(got["w"].numpy(), np.arange(64.0).reshape(8, 8))


def _central_entries(data: bytes) -> list[int]:
    """Offsets of the central directory file headers (signature PK\\1\\2)."""
    out, pos = [], 0
    while (pos := data.find(b"PK\x01\x02", pos)) != -1:
        out.append(pos)
        pos += 4
    return out


def test_overlapping_entries_are_refused():
    """Two directory entries pointing at the same bytes (the overlapping-files bomb)."""
    big = _npy(np.zeros(1 << 14))
    arrays = [{"dtype": "<f8", "shape": [1 << 14]}] * 2
    root = {"t": "list", "items": [TENSOR0, dict(TENSOR0, a=1)]}
    data = bytearray(_zip({"arrays/0.npy": big, "arrays/1.npy": big,
                           "tapegrad.json": _manifest(arrays, root)}))
    first, second, _ = _central_entries(bytes(data))
    offset = struct.unpack_from("<I", data, first + 42)[0]
    struct.pack_into("<I", data, second + 42, offset)  # entry 2 now points at entry 1's data
    _refused(bytes(data), "overlap")


def test_stored_member_declaring_more_than_it_holds_is_refused():
    data = bytearray(_good_bytes())
    entry = _central_entries(bytes(data))[0]
    struct.pack_into("<I", data, entry + 24, 1 << 31)  # uncompressed size: 2 GiB
    _refused(bytes(data), "declares 2147483648 bytes")


# ---------------------------------------------------------------------- fuzzing
def _check_fuzzed(data: bytes) -> None:
    out, peak = _load_measured(data)
    if isinstance(out, Exception):
        assert type(out) is RuntimeError, f"{type(out).__name__}: {out}"
        assert "fuzzed.tg" in str(out)
    assert peak <= BOUND * len(data) + SLACK, (peak, len(data))


def test_fuzz_truncation():
    data = _good_bytes()
    for cut in range(0, len(data), 7):
        _check_fuzzed(data[:cut])


@pytest.mark.parametrize("packing", ["stored", "deflated"])
def test_fuzz_byte_flips(packing):
    data = _good_bytes() if packing == "stored" else _deflated_bytes()  # zlib.error wrapped
    rng = np.random.default_rng(14)
    for _ in range(400):
        bad = bytearray(data)
        for pos in rng.integers(0, len(bad), size=rng.integers(1, 4)):
            bad[pos] ^= int(rng.integers(1, 256))
        _check_fuzzed(bytes(bad))


def _mutations(node, rng):
    """Copies of a manifest with one value replaced by something of another shape."""
    junk = [None, -1, 2**70, 1.5, "x", [], {}, [1, 2], {"t": "tensor"}, True, "nan",
            {"t": "tuple", "items": 5}, {"t": "dict", "items": [[1]]}]
    paths = []

    def walk(n, path):
        paths.append(path)
        if isinstance(n, dict):
            for k, v in n.items():
                walk(v, (*path, k))
        elif isinstance(n, list):
            for i, v in enumerate(n):
                walk(v, (*path, i))

    walk(node, ())
    for path in paths[1:]:
        for value in rng.choice(np.array(junk, dtype=object), size=3, replace=False):
            doc = json.loads(json.dumps(node))
            parent = doc
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = value
            yield doc
        doc = json.loads(json.dumps(node))  # and deleted
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        del parent[path[-1]]
        yield doc


def test_fuzz_manifest_mutations():
    with zipfile.ZipFile(io.BytesIO(_good_bytes())) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    manifest = json.loads(members["tapegrad.json"])
    rng = np.random.default_rng(5)
    count = 0
    for doc in _mutations(manifest, rng):
        _check_fuzzed(_zip({**members, "tapegrad.json": json.dumps(doc).encode()}))
        count += 1
    assert count > 100
    body = ('{"format":"tapegrad-checkpoint","version":1,"arrays":[],"root":'
            + '{"t":"list","items":[' * 50_000 + '{"t":"none"}' + "]}" * 50_000 + "}")
    _check_fuzzed(_zip({"tapegrad.json": body.encode()}))  # RecursionError, named
    _check_fuzzed(_zip({"tapegrad.json": b"\xff\xfe not utf-8"}))
    _check_fuzzed(_zip({"tapegrad.json": b"[1, 2]"}))


@pytest.mark.parametrize("header", [
    {"descr": "<f8", "fortran_order": False, "shape": (9,)},      # more than the data
    {"descr": "<f8", "fortran_order": False, "shape": (2,)},      # less than the data
    {"descr": "|O", "fortran_order": False, "shape": (3,)},       # objects (pickles)
    {"descr": "<f8", "fortran_order": False, "shape": (-1, -3)},  # negative dims, right size
])
def test_npy_header_lies(header):
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, header)
    member = hdr.getvalue() + np.arange(3.0).tobytes()
    data = _zip({"arrays/0.npy": member,
                 "tapegrad.json": _manifest([{"dtype": header["descr"],
                                              "shape": list(header["shape"])}], TENSOR0)})
    _check_fuzzed(data)
    assert isinstance(_load_measured(data)[0], RuntimeError)


# ---------------------------------------------------------------------- saving
def _unprivileged(code: str, directory: Path) -> None:
    """Run ``code`` (with ``d`` = ``directory``) where permissions apply: as ``nobody``
    through setpriv when this process is root, else in this user's own subprocess."""
    cmd = [sys.executable, "-c", f"from pathlib import Path; d = Path({str(directory)!r})\n"
           + code]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root without setpriv: cannot drop privileges"
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture
def shared_dir():
    """A directory the unprivileged subprocess can enter (pytest's tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="tapegrad-perm-"))
    d.chmod(0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_write_protected_target_is_refused_like_open(shared_dir):
    path = shared_dir / "keep.tg"
    save({"v": 1}, path)
    path.chmod(0o444)
    (shared_dir / "ro").mkdir(mode=0o555)
    (shared_dir / "ro").chmod(0o555)
    _unprivileged(
        "import os, pytest, tapegrad as tg\n"
        "p = d / 'keep.tg'\n"
        "with pytest.raises(PermissionError) as want:\n"
        "    open(p, 'wb')\n"
        "with pytest.raises(PermissionError) as got:\n"
        "    tg.save({'v': 2}, p)\n"
        "assert str(got.value) == str(want.value), (got.value, want.value)\n"
        "assert tg.load(p) == {'v': 1} and p.stat().st_mode & 0o777 == 0o444\n"
        "q = d / 'ro' / 'new.tg'\n"  # unwritable directory: the error names q, no temp file
        "with pytest.raises(PermissionError) as want:\n"
        "    open(q, 'wb')\n"
        "with pytest.raises(PermissionError) as got:\n"
        "    tg.save({'v': 2}, q)\n"
        "assert str(got.value) == str(want.value), (got.value, want.value)\n",
        shared_dir)


def test_save_errors_name_the_path_given(tmp_path):
    for path, exc_type in [(tmp_path / "missing" / "m.tg", FileNotFoundError),
                           (tmp_path, IsADirectoryError)]:
        with pytest.raises(exc_type) as want:
            open(path, "wb")  # the reference error
        with pytest.raises(exc_type) as got:
            save({"v": 1}, path)
        assert str(got.value) == str(want.value)
        assert ".tmp" not in str(got.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=str(tmp_path / "file" / "m.tg")):
        save({"v": 1}, tmp_path / "file" / "m.tg")


def _temps(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "model.tg"
    code = (
        "import sys, time, tapegrad as tg\n"
        "from tapegrad import serialization as s\n"
        "def stall(fh, arr):\n"
        "    fh.write(b'x' * 100000); fh.flush(); time.sleep(600)\n"
        "s._write_array = stall\n"
        f"tg.save({{'w': tg.zeros(10)}}, {str(path)!r})\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for killed in (1, 2):  # two killed saves leave two temp files
        child = subprocess.Popen([sys.executable, "-c", code], env=env)
        deadline = time.monotonic() + 120
        while sum((tmp_path / n).stat().st_size >= 100000 for n in _temps(tmp_path)) < killed:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert len(_temps(tmp_path)) == 2
    # a live writer's temp file (this process: pid alive) and another host's are kept
    live = tmp_path / f".model.tg.{os.getpid()}@{socket.gethostname()}.abc123.tmp"
    other = tmp_path / f".model.tg.1@not-{socket.gethostname()}.abc123.tmp"
    unrelated = tmp_path / ".other.tg.1@x.abc.tmp"
    for p in (live, other, unrelated):
        p.write_bytes(b"partial")
    save({"w": tg.ones(2)}, path)
    assert _temps(tmp_path) == sorted(p.name for p in (live, other, unrelated))
    np.testing.assert_array_equal(load(path)["w"].numpy(), np.ones(2))
