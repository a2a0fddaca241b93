"""`save` and `load`: checkpoints (state dicts) in a file that cannot run code.

``torch.save`` pickles, and unpickling can execute anything the file asks for. A
tapegrad checkpoint is instead a plain zip archive (stored, not compressed) holding

* ``arrays/<i>.npy``: every tensor's values, written by numpy with ``allow_pickle=False``
  (a header with dtype and shape, then the raw bytes);
* ``tapegrad.json``: the *structure*: nested dicts/lists/tuples, numbers, strings and
  references ``{"t": "tensor", "a": i}`` to the arrays.

Loading parses JSON and raw arrays only, so a hostile file can at worst fail to load.
What round-trips exactly:

* tensors of every dtype and shape (0-d and empty too), their ``requires_grad`` flag (as
  ``torch.save`` keeps it) and `nn.Parameter` -ness; ``.grad`` and the graph are not
  saved (a loaded tensor is a fresh leaf). One tensor object stored twice (tied weights)
  comes back as one object; distinct tensors come back distinct (views are copied);
* numpy arrays and numpy scalars (not object arrays), ``None``, bools, ints of any size,
  floats bit for bit (nan and inf too), complex, str, bytes, ``tapegrad.dtype`` s;
* ``dict`` and ``OrderedDict`` (type and key ORDER kept; keys may be str, int, float,
  bool, None or tuples of those, and int keys stay ints: optimizer state dicts use
  them), ``list``, ``tuple``, ``tapegrad.Size``. Subclasses of dict, list, tuple, int,
  float and str come back as the base type. Anything else (a whole Module, say) raises
  TypeError naming where it was: save ``model.state_dict()`` instead.

Saving to a path is atomic: the archive is written to a temporary file in the same
directory, flushed and fsync'ed, then renamed over the target with ``os.replace``, so a
crash or error mid-write leaves any previous checkpoint intact. (A file object you pass
is written in place.) The target's permissions are respected: where ``open(path, "wb")``
would fail (a write-protected file, a directory, a missing or unwritable folder) ``save``
raises the same OSError naming ``path``, never the temporary file. The temporary file is
called ``.<name>.<pid>@<host>.<random>.tmp``; a save killed mid-write (``kill -9``, power
loss) cannot delete it, so each successful save of the same target deletes the ones whose
process (on this host) no longer exists. Another host's, or a running save's, are kept.

Loading treats the file as hostile. A truncated, corrupted or foreign file (random bytes,
a ``torch.save`` file, any other zip) raises RuntimeError naming the file and what is
wrong. Memory is bounded by what the file can hold, checked before anything is allocated:
the zip members' declared sizes must fit in the file without overlapping, a stored member
holds exactly its size, a deflated array may expand at most `MAX_COMPRESSION_RATIO` times
(the manifest must be stored), each ``.npy`` header's dtype and shape must match both the
manifest and the member's size, and members are read in 1 MiB chunks. Worst case, a load
takes about 25 bytes of memory per byte of file (a manifest of tiny JSON objects; measured
with tracemalloc in tests/test_serialization_limits.py); tensor data takes 1 byte per
byte (10 for a deflated array).

Moving weights to and from PyTorch goes through numpy::

    torch_sd = {k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()}
    torch_model.load_state_dict(torch_sd)
    back = {k: tapegrad.from_numpy(t.numpy()) for k, t in torch_model.state_dict().items()}
    model.load_state_dict(back)

(``from_numpy`` shares memory; add ``.copy()`` on the numpy side to decouple.)
"""

from __future__ import annotations

import base64
import collections
import contextlib
import errno
import io
import json
import os
import socket
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from tapegrad import dtypes
from tapegrad.creation import from_numpy
from tapegrad.device import device, move, resolve
from tapegrad.kernels.cuda import runtime as cuda_runtime
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Size, Tensor

__all__ = ["load", "save"]

MANIFEST = "tapegrad.json"
FORMAT, VERSION = "tapegrad-checkpoint", 1
#: The most an array member may expand when decompressed. tapegrad writes every member
#: stored (ratio 1); a deflated array (an archive repacked by another tool) may declare at
#: most this many bytes per compressed byte, so a small file cannot claim gigabytes. The
#: manifest must be stored: parsed JSON takes up to ~25 bytes of memory per byte of text.
MAX_COMPRESSION_RATIO = 10
_CHUNK = 1 << 20  # members are read (and inflated) 1 MiB at a time
_LOCAL_HEADER = 30  # fixed part of a zip local file header, before the name and extra field
_KEY_TYPES = (str, int, float, bool, type(None), tuple)


# ---------------------------------------------------------------------- encoding
class _Encoder:
    """Walks an object into a JSON-able tree plus a list of arrays."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}  # id(tensor or array) -> array index (sharing)

    def array(self, obj: Any, arr: np.ndarray) -> int:
        if id(obj) not in self.memo:
            self.memo[id(obj)] = len(self.arrays)
            # C order on disk (ascontiguousarray would turn a 0-d array into 1-d)
            self.arrays.append(arr if arr.flags.c_contiguous else arr.copy(order="C"))
        return self.memo[id(obj)]

    def encode(self, obj: Any, where: str) -> dict:
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, Tensor):
            kind = "Parameter" if type(obj).__name__ == "Parameter" else "Tensor"
            node = {"t": "tensor", "a": self.array(obj, obj.detach().cpu().numpy()),
                    "cls": kind, "requires_grad": bool(obj.requires_grad)}
            if obj.is_cuda:  # saved through host memory; loads back onto the GPU
                node["device"] = str(obj.device)
            return node
        if isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise TypeError(f"tapegrad.save cannot store a numpy object array (at {where})")
            return {"t": "ndarray", "a": self.array(obj, obj)}
        if isinstance(obj, np.generic):  # before float: np.float64 subclasses float
            if obj.dtype.hasobject:
                raise TypeError(f"tapegrad.save cannot store a numpy object scalar ({where})")
            return {"t": "npscalar", "a": self.array(obj, np.asarray(obj))}
        if isinstance(obj, bool):  # before int: bool subclasses int
            return {"t": "bool", "v": bool(obj)}
        if isinstance(obj, int):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": float(obj).hex()}  # exact, and nan/inf-safe in JSON
        if isinstance(obj, complex):
            return {"t": "complex", "v": [obj.real.hex(), obj.imag.hex()]}
        if isinstance(obj, str):
            return {"t": "str", "v": str(obj)}
        if isinstance(obj, bytes):
            return {"t": "bytes", "v": base64.b64encode(obj).decode("ascii")}
        if isinstance(obj, dtypes.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                items.append([self.key(k, where), self.encode(v, f"{where}[{k!r}]")])
            return {"t": kind, "items": items}
        if isinstance(obj, Size):
            return {"t": "size", "v": [int(s) for s in obj]}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"t": kind, "items": [self.encode(v, f"{where}[{i}]")
                                         for i, v in enumerate(obj)]}
        hint = " (save module.state_dict() instead)" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"tapegrad.save cannot store an object of type {type(obj).__name__} "
                        f"(at {where}){hint}")

    def key(self, k: Any, where: str) -> dict:
        if not isinstance(k, _KEY_TYPES) or isinstance(k, np.generic):
            raise TypeError(f"tapegrad.save: dict key {k!r} of type {type(k).__name__} is not "
                            f"supported (at {where}); use str, int, float, bool, None or tuples")
        if isinstance(k, tuple):
            return {"t": "tuple", "items": [self.key(x, where) for x in k]}
        return self.encode(k, where)


def _write_array(fh: IO[bytes], arr: np.ndarray) -> None:
    np.lib.format.write_array(fh, arr, allow_pickle=False)


def _write_archive(fh: IO[bytes], manifest: dict, arrays: list[np.ndarray]) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, arr in enumerate(arrays):
            with zf.open(f"arrays/{i}.npy", "w", force_zip64=arr.nbytes > 2**30) as member:
                _write_array(member, arr)
        zf.writestr(MANIFEST, json.dumps(manifest, separators=(",", ":")))


def _fsync_dir(directory: Path) -> None:
    # make the rename itself durable; not possible everywhere (e.g. Windows), so best effort
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _as_user_path(exc: OSError, path: str | os.PathLike) -> OSError:
    """The same OSError (type, errno, reason) but naming the path the user passed, not a
    temporary file they never heard of."""
    return type(exc)(exc.errno, exc.strerror or str(exc), os.fspath(path))


def _temp_prefix(target: Path) -> str:
    # ".<name>.<pid>@<host>." + random + ".tmp": the pid and host say whose temp file this is,
    # so a later save can tell a dead writer's leftover from a save still running
    return f".{target.name}.{os.getpid()}@{socket.gethostname()}."


def _writer_is_dead(owner: str) -> bool:
    """Whether the "<pid>@<host>" that made a temp file is a process that no longer exists.
    Only a process on this host can be checked; anything unsure counts as alive."""
    pid, _, host = owner.partition("@")
    if os.name != "posix" or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: no signal sent, only "does it exist?"
    except ProcessLookupError:
        return True
    except OSError:  # exists but belongs to someone else (EPERM), or unknown
        return False
    return False


def _remove_stale_temps(target: Path) -> None:
    """Delete temp files that earlier saves of ``target`` left when they were killed
    mid-write (kill -9, power loss: no ``finally`` ran). A temp file is removed only when its
    name says it was made by a process of this host that has since exited, so a save still
    running in another process or thread keeps its file. Best effort: errors are ignored."""
    lead, tail = f".{target.name}.", ".tmp"
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(lead) and name.endswith(tail)) or len(name) <= len(lead) + 4:
                continue
            owner, _, _random = name[len(lead):-len(tail)].rpartition(".")
            if owner and _writer_is_dead(owner) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _check_writable(target: Path, shown: str | os.PathLike) -> None:
    """Refuse what ``open(path, "wb")`` would refuse, before writing anything: a directory,
    or an existing file this process may not write (a 0444 checkpoint is protected, and
    replacing it by rename would silently bypass that)."""
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(shown))
    effective = os.access in os.supports_effective_ids
    if target.exists() and not os.access(target, os.W_OK, effective_ids=effective):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(shown))


def _atomic_write(path: str | os.PathLike, write: Any) -> None:
    target = Path(os.path.realpath(path))  # through a symlink: replace what it points to
    _check_writable(target, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
    except OSError as exc:  # missing or unwritable directory: name what the user gave
        raise _as_user_path(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file 0600; give it the mode a plain open() would have
        if target.exists():
            mode = target.stat().st_mode & 0o7777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (tmp, str(target)):
            raise _as_user_path(exc, path) from exc
        raise
    _fsync_dir(target.parent)
    _remove_stale_temps(target)


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Write ``obj`` (a state dict, or any nesting of tensors, numbers, strings, dicts,
    lists and tuples) to the path or binary file object ``f``. See the module docstring
    for the format and what round-trips."""
    enc = _Encoder()
    manifest = {"format": FORMAT, "version": VERSION, "root": enc.encode(obj, "root")}
    manifest["arrays"] = [{"dtype": a.dtype.str, "shape": list(a.shape)} for a in enc.arrays]

    def write(fh: IO[bytes]) -> None:
        _write_archive(fh, manifest, enc.arrays)

    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, write)
    else:
        write(f)


# ---------------------------------------------------------------------- decoding
class _Decoder:
    def __init__(self, zf: zipfile.ZipFile, manifest: dict, map_location: Any = None) -> None:
        self.zf = zf
        self.map_location = map_location
        self.specs = manifest["arrays"]
        self.arrays: dict[int, np.ndarray] = {}
        self.objects: dict[int, Any] = {}  # array index -> the tensor/array built from it

    def array(self, a: Any) -> np.ndarray:
        if not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < len(self.specs):
            raise ValueError(f"array reference {a!r} out of range")
        if a not in self.arrays:
            self.arrays[a] = _read_npy(self.zf, f"arrays/{a}.npy", self.specs[a])
        return self.arrays[a]

    def decode(self, node: dict) -> Any:
        t = node["t"]
        if t == "none":
            return None
        if t in ("bool", "str"):
            v = node["v"]
            if type(v) is not (bool if t == "bool" else str):
                raise ValueError(f"bad {t} value {v!r}")
            return v
        if t == "int":
            if type(node["v"]) is not int:
                raise ValueError(f"bad int value {node['v']!r}")
            return node["v"]
        if t == "float":
            return float.fromhex(node["v"])
        if t == "complex":
            re, im = node["v"]
            return complex(float.fromhex(re), float.fromhex(im))
        if t == "bytes":
            return base64.b64decode(node["v"], validate=True)
        if t == "dtype":
            return dtypes._by_name(node["v"])
        if t == "size":
            return Size(int(s) for s in node["v"])
        if t == "list":
            return [self.decode(n) for n in node["items"]]
        if t == "tuple":
            return tuple(self.decode(n) for n in node["items"])
        if t in ("dict", "odict"):
            out: dict = {} if t == "dict" else collections.OrderedDict()
            for k, v in node["items"]:
                out[self.decode(k)] = self.decode(v)
            return out
        if t == "npscalar":
            return self.array(node["a"])[()]
        if t in ("tensor", "ndarray"):
            a = node["a"]
            if a not in self.objects:
                self.objects[a] = self.tensor(node) if t == "tensor" else self.array(a)
            return self.objects[a]
        raise ValueError(f"unknown node type {t!r}")

    def target_device(self, saved: Any) -> Any:
        """Where a tensor saved on ``saved`` loads: ``map_location`` (a device, a string, or a
        ``{saved: target}`` dict) decides, else the device it was saved from, as in torch."""
        if not isinstance(saved, str):
            raise ValueError(f"bad device {saved!r}")
        where = self.map_location
        if isinstance(where, dict):
            where = where.get(saved, saved)
        elif where is None:
            where = saved
        target = device(where) if not isinstance(where, device) else where
        if target.type == "cuda" and not cuda_runtime.available():
            raise _Refused(
                "Attempting to deserialize object on a CUDA device but "
                "tapegrad.cuda.is_available() is False. If you are running on a CPU-only "
                "machine, please use tapegrad.load with map_location='cpu' to map your "
                "storages to the CPU."
            )
        return resolve(target)

    def tensor(self, node: dict) -> Tensor:
        arr = self.array(node["a"])
        dtypes.from_numpy(arr.dtype)  # TypeError for a dtype a tensor cannot hold
        t = from_numpy(arr)
        device = self.target_device(node.get("device", "cpu"))
        if device.type != "cpu":
            t = Tensor._from_array(move(arr, device))
        requires_grad = node["requires_grad"]
        if type(requires_grad) is not bool:
            raise ValueError(f"bad requires_grad {requires_grad!r}")
        if node["cls"] == "Parameter":
            return Parameter(t, requires_grad=requires_grad)
        if requires_grad:
            t.requires_grad_(True)
        return t


class _Refused(Exception):
    """A refusal whose message already says everything; `load` raises it as RuntimeError."""


def _check_members(zf: zipfile.ZipFile, size: int) -> None:
    """Check every member's declared sizes against the file before reading any of them.

    A zip's central directory *declares* each member's offset, compressed size and size;
    nothing forces them to be true. Stored members must have size == compressed size, a
    deflated one may expand at most `MAX_COMPRESSION_RATIO` times, other methods are refused,
    and the members' bytes must lie in the file one after another without overlapping (a
    classic zip bomb points many entries at the same bytes). Then the sizes of all members
    together are at most ``MAX_COMPRESSION_RATIO`` times the file's size.
    """
    infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
    end = min(getattr(zf, "start_dir", size), size)  # the central directory follows the data
    for k, info in enumerate(infos):
        what = f"member {info.filename!r}"
        if info.flag_bits & 0x1:
            raise ValueError(f"{what} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{what} uses compression method {info.compress_type}; only stored "
                             "and deflated members are read")
        start = info.header_offset
        stop = infos[k + 1].header_offset if k + 1 < len(infos) else end
        room = stop - start - _LOCAL_HEADER
        if start < 0 or info.compress_size > room:
            raise ValueError(f"{what} declares {info.compress_size} bytes at offset {start}, but "
                             f"only {max(room, 0)} bytes of the file are there before the next "
                             "member (truncated, or entries that overlap)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ValueError(f"{what} is stored but declares {info.file_size} bytes in "
                             f"{info.compress_size}")
        if info.filename == MANIFEST and info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{what} is compressed; tapegrad writes (and reads) it stored")
        if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise ValueError(f"{what} declares {info.file_size} bytes compressed into "
                             f"{info.compress_size}, more than {MAX_COMPRESSION_RATIO}:1 "
                             "(tapegrad writes members uncompressed; a compression bomb?)")


def _read_exactly(member: IO[bytes], view: memoryview, what: str) -> None:
    """Fill ``view`` from ``member`` in bounded chunks, then check the member ends there
    (reading to the end is also what makes zipfile verify the CRC-32)."""
    pos = 0
    while pos < len(view):
        n = member.readinto(view[pos:pos + _CHUNK])
        if not n:
            raise ValueError(f"{what} ends after {pos} of its {len(view)} bytes")
        pos += n
    if member.read(1):
        raise ValueError(f"trailing bytes after {what}")


def _read_member(zf: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes: exactly its declared (and already checked) size, no more."""
    info = zf.getinfo(name)
    buf = bytearray(info.file_size)
    with zf.open(info) as member:
        _read_exactly(member, memoryview(buf), f"member {name!r}")
    return bytes(buf)


def _read_npy(zf: zipfile.ZipFile, name: str, spec: Any) -> np.ndarray:
    """One ``.npy`` member, its header checked against the manifest's ``spec`` and the
    member's size *before* the array is allocated (a header may claim terabytes)."""
    info = zf.getinfo(name)
    with zf.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ValueError(f"{name}: unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"{name} holds Python objects, which tapegrad never saves")
        if dtype.str != spec["dtype"] or list(shape) != spec["shape"]:
            raise ValueError(f"array {name} is {dtype.str}{list(shape)}, manifest says "
                             f"{spec['dtype']}{spec['shape']}")
        if any(type(d) is not int or d < 0 for d in shape):
            raise ValueError(f"{name}: bad shape {shape}")
        nbytes = dtype.itemsize
        for d in shape:
            nbytes *= d  # Python ints: no overflow
        header = member.tell()
        if header + nbytes != info.file_size:
            raise ValueError(f"{name}: header says {nbytes} bytes of {dtype.str}{list(shape)} "
                             f"but the member holds {info.file_size - header}")
        arr = np.empty(shape[::-1] if fortran else shape, dtype=dtype)
        _read_exactly(member, memoryview(arr.reshape(-1).view(np.uint8)), f"array {name!r}")
    return arr.T if fortran else arr


def _load_archive(fh: IO[bytes], name: str, map_location: Any = None) -> Any:
    size = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except MemoryError:
        raise
    except Exception as exc:  # zipfile raises many types on a bad directory
        raise RuntimeError(f"{name} is not a tapegrad checkpoint: it is not a complete zip "
                           f"archive (truncated, corrupted, or another kind of file): "
                           f"{type(exc).__name__}: {exc}") from None
    with zf:
        names = zf.namelist()
        if MANIFEST not in names:
            if any(n.endswith("data.pkl") for n in names):
                raise RuntimeError(
                    f"{name} looks like a PyTorch checkpoint (torch.save), which tapegrad "
                    "does not unpickle. Load it with torch.load(..., weights_only=True) and "
                    "convert: {k: tapegrad.from_numpy(v.numpy()) for k, v in sd.items()}"
                )
            raise RuntimeError(f"{name} is not a tapegrad checkpoint (no {MANIFEST} inside)")
        try:
            _check_members(zf, size)
            manifest = json.loads(_read_member(zf, MANIFEST).decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise ValueError("not a tapegrad-checkpoint manifest")
            if manifest.get("version") != VERSION:
                raise _Refused(f"{name}: tapegrad checkpoint version "
                               f"{manifest.get('version')!r} is not supported "
                               f"(this tapegrad reads version {VERSION})")
            if not isinstance(manifest.get("arrays"), list):
                raise ValueError("manifest has no list of arrays")
            return _Decoder(zf, manifest, map_location).decode(manifest["root"])
        except _Refused as exc:
            raise RuntimeError(str(exc)) from None
        except MemoryError:
            raise
        except Exception as exc:  # any other failure means the file is malformed
            # (RecursionError and NotImplementedError are RuntimeErrors too: wrap them, so the
            # message always names the file)
            raise RuntimeError(f"{name}: corrupted tapegrad checkpoint "
                               f"({type(exc).__name__}: {exc})") from exc


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, *,
         weights_only: bool | None = None, **kwargs: Any) -> Any:
    """Read what `save` wrote, from a path or a binary file object.

    Tensors load on the device they were saved from unless ``map_location`` (a device, a
    string like ``"cpu"``, or a ``{"cuda:0": "cpu"}`` dict) says otherwise, as in torch.
    ``weights_only`` is accepted for torch compatibility: loading never runs code anyway.
    """
    if map_location is not None and not isinstance(map_location, (str, dict, device)):
        raise TypeError("tapegrad.load: map_location must be a device, a string or a dict "
                        f"(got {type(map_location).__name__}; functions are not supported)")
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(name, "rb") as fh:  # a missing file raises FileNotFoundError, as in torch
            return _load_archive(fh, repr(name), map_location)
    name = repr(getattr(f, "name", f))
    seekable = getattr(f, "seekable", None)
    if not (callable(seekable) and seekable()):
        f = io.BytesIO(f.read())  # zip needs to seek to its directory at the end
    return _load_archive(f, name, map_location)
