"""PyTorch's own test database as tapegrad's conformance suite.

PyTorch describes every operator for its own tests in
``torch.testing._internal.common_methods_invocations.op_db``: an ``OpInfo`` per op with
the dtypes it supports, generators of sample inputs (``sample_inputs``), of extreme ones
(``reference_inputs``: NaN, inf, huge and tiny values, empty and strided tensors) and of
inputs it must reject (``error_inputs``). ``common_modules.module_db`` and
``common_optimizers.optim_db`` do the same for ``nn`` modules and optimizers. This module
runs all of them against tapegrad, with torch as the oracle:

* **ops** (`check_op`): for every in-scope OpInfo and dtype (float32, float64 and the
  integer/bool dtypes the op supports), each sample is converted to tapegrad (same values,
  dtype, ``requires_grad`` and strides: a transposed or sliced torch tensor becomes a
  tapegrad tensor over a strided numpy array), the op is looked up on tapegrad by the
  OpInfo's name, its aliases or its method variant, and the forward is compared (shape,
  dtype, values, NaN positions). Then the gradients of every input that requires grad are
  compared for one fixed cotangent, and in float64, where the OpInfo supports it, the
  second derivatives too. Every ``error_inputs`` case must raise torch's exception type
  (its tensors keep their shared memory: an ``out=`` that is a slice of an input overlaps
  it in tapegrad too; a case torch itself does not raise on is not compared);
* **modules** (`check_module`): both modules built from the same constructor arguments,
  torch's state_dict copied into tapegrad's, outputs and input/parameter gradients
  compared in train and in eval mode;
* **optimizers** (`check_optimizer`): each ``optim_inputs_func`` configuration runs 20 steps
  on the same small least-squares problem in both libraries; the parameters must follow
  the same trajectory.

Ops whose OpInfo wraps torch in a Python function (``lambda x: x.view(...)``, a dropout with
a fixed seed) are run by re-running that function with ``torch`` in its globals replaced by
``tapegrad``. Ops in `tapegrad.testing.torch_db_scope.VALUES_UNDEFINED` (random, empty) are
compared by shape and dtype only.

**Sampling, to keep the suite within a few minutes on two cores.** Each (op, dtype) pair
takes its reference inputs (which include the sample inputs) in torch's order and keeps at
most `CAP_FLOAT` of them for float32/float64 and `CAP_OTHER` for each integer/bool dtype,
spread evenly over the list (indices ``round(linspace(0, n - 1, cap))``), so the same
cases run every time; ``cap=None`` runs them all. Module inputs are sampled the same way
(at most `CAP_FLOAT` per dtype and mode); error inputs and optimizer configurations are
not sampled. Cases torch itself rejects, and cases whose inputs need a dtype outside the
scope (a complex tensor among a real op's error inputs), are not compared: they count
neither as passes nor as failures, and ``-v`` shows how many there were.

The scope (`tapegrad.testing.torch_db_scope`) and the known failures
(`tapegrad.testing.torch_db_known`) are separate files; ``tapegrad check --torch-db`` and
``tests/testing/test_torch_db.py`` both run this module. torch is imported only when a check
runs.
"""

from __future__ import annotations

import contextlib
import math
import re
import time
import types
import warnings
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

import tapegrad
from tapegrad.testing.oracle import import_torch
from tapegrad.testing.torch_db_known import KNOWN_FAILURES
from tapegrad.testing.torch_db_scope import (
    OPTIMIZER_IMPLEMENTATION_FLAGS,
    VALUES_UNDEFINED,
    excluded_family,
)

CAP_FLOAT = 6
CAP_OTHER = 2
OPTIMIZER_STEPS = 20
DTYPE_NAMES = ("float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
# (atol, rtol): float64 at torch's own default, float32 looser since the kernels differ
TOLERANCE = {"float64": (1e-7, 1e-7), "float32": (1e-5, 1e-4), "float16": (1e-3, 1e-2)}
GRAD_TOLERANCE = {"float64": (1e-7, 1e-7), "float32": (1e-4, 1e-3), "float16": (1e-2, 1e-2)}


class TorchRefused(Exception):
    """torch itself raised on a case (its backward of a sample, say): not counted."""


class Untranslatable(Exception):
    """A sample holds something tapegrad has no counterpart for (a torch module...)."""


class OutOfScopeInput(Untranslatable):
    """A sample needs a dtype outside tapegrad's scope (complex, bfloat16): the case is
    counted as out of scope, neither passed nor failed."""


# ---------------------------------------------------------------- results
@dataclass
class Case:
    """One compared case: ``kind`` is ``"sample"`` or ``"error"``."""

    kind: str
    dtype: str
    index: int
    passed: bool
    note: str = ""


@dataclass
class Report:
    """Everything checked for one database entry (an op, a module or an optimizer)."""

    name: str
    section: str  # "op", "module" or "optimizer"
    present: bool
    cases: list[Case] = field(default_factory=list)
    torch_refused: int = 0  # cases torch itself raised on: not counted either way
    seconds: float = 0.0

    def count(self, kind: str) -> tuple[int, int]:
        mine = [c for c in self.cases if c.kind == kind]
        return sum(c.passed for c in mine), len(mine)

    @property
    def samples_passed(self) -> bool:
        passed, total = self.count("sample")
        return passed == total

    @property
    def errors_passed(self) -> bool:
        passed, total = self.count("error")
        return passed == total

    def failures(self, kind: str | None = None, limit: int = 5) -> str:
        """The first failing cases, one line each (what a failing test prints)."""
        bad = [c for c in self.cases if not c.passed and (kind is None or c.kind == kind)]
        lines = [f"{c.kind} #{c.index} {c.dtype}: {c.note}" for c in bad[:limit]]
        if len(bad) > limit:
            lines.append(f"... and {len(bad) - limit} more")
        return "\n".join(lines)


# ---------------------------------------------------------------- the databases
@lru_cache(maxsize=1)
def databases() -> tuple[list, list, list]:
    """(op_db, module_db, optim_db) from torch's test package (imports torch, expecttest)."""
    import_torch()
    try:
        from torch.testing._internal.common_methods_invocations import op_db
        from torch.testing._internal.common_modules import module_db
        from torch.testing._internal.common_optimizers import optim_db
    except ImportError as exc:
        raise ImportError(f"PyTorch's test database needs {exc.name}: pip install "
                          "expecttest (or pip install 'tapegrad[test]')") from exc
    return op_db, module_db, optim_db


def full_name(op: Any) -> str:
    """``name`` or ``name.variant`` (``max.reduction_with_dim``): unique in op_db."""
    return f"{op.name}.{op.variant_test_name}" if op.variant_test_name else op.name


def in_scope_ops() -> dict[str, Any]:
    """In-scope OpInfos by full name, in the database's order."""
    op_db = databases()[0]
    return {full_name(op): op for op in op_db
            if excluded_family(op.name) is None and _real_dtypes(op)}


def in_scope_modules() -> dict[str, Any]:
    return {m.name: m for m in databases()[1] if excluded_family(m.name) is None}


def in_scope_optimizers() -> dict[str, Any]:
    return {o.name: o for o in databases()[2] if excluded_family(o.name) is None}


def out_of_scope() -> list[tuple[str, str, str]]:
    """(entry, family, reason) for every database entry left out, ops first. An op whose
    only dtypes are complex (or bfloat16) is in the complex family."""
    op_db, module_db, optim_db = databases()
    rows = []
    for op in op_db:
        found = excluded_family(op.name)
        if found is None and not _real_dtypes(op):
            found = ("complex", "supports no real dtype tapegrad has")
        if found is not None:
            rows.append((full_name(op), *found))
    rows += [(m.name, *excluded_family(m.name)) for m in module_db if excluded_family(m.name)]
    rows += [(o.name, *excluded_family(o.name)) for o in optim_db if excluded_family(o.name)]
    return rows


def _real_dtypes(op: Any) -> list[Any]:
    torch = import_torch()
    supported = op.supported_dtypes("cpu")
    return [getattr(torch, n) for n in DTYPE_NAMES if getattr(torch, n) in supported]


# ---------------------------------------------------------------- torch -> tapegrad
def _tapegrad() -> Any:
    return tapegrad  # the public package: the checks call what users call


def strided_copy(t: Any) -> np.ndarray:
    """A numpy copy of torch tensor ``t`` with the same shape *and strides* (a transposed
    or sliced tensor stays non-contiguous; an expanded one keeps its zero strides)."""
    a = t.detach().resolve_conj().resolve_neg().numpy()
    if a.size == 0 or a.flags.c_contiguous:
        return a.copy()
    span = 1 + sum((n - 1) * s for n, s in zip(a.shape, a.strides, strict=True)) // a.itemsize
    flat = np.lib.stride_tricks.as_strided(a, shape=(span,), strides=(a.itemsize,))
    return np.lib.stride_tricks.as_strided(flat.copy(), shape=a.shape, strides=a.strides)


class Converter:
    """Turns a sample's torch objects into tapegrad's, remembering which tapegrad tensor
    stands for which torch tensor (the gradients are compared pairwise)."""

    def __init__(self, share_storage: bool = False) -> None:
        self.torch = import_torch()
        self.tg = _tapegrad()
        self.pairs: dict[int, tuple[Any, Any]] = {}  # id(torch tensor) -> (torch, tapegrad)
        # share_storage: torch tensors over one storage become arrays over one buffer
        # (error inputs: ``out=`` a slice of the input must be seen to overlap it)
        self.buffers: dict[tuple[int, str], np.ndarray] | None = {} if share_storage else None

    def _array(self, t: Any) -> np.ndarray:
        storage = t.untyped_storage()
        if self.buffers is None or storage.data_ptr() == 0 or t.numel() == 0:
            return strided_copy(t)
        key = (storage.data_ptr(), str(t.dtype))
        if key not in self.buffers:
            whole = t.new_empty(0).set_(storage, 0, (storage.nbytes() // t.element_size(),))
            self.buffers[key] = whole.detach().numpy().copy()
        try:  # an ndarray over the buffer (not as_strided): its .base is the whole storage
            return np.ndarray(tuple(t.shape), dtype=self.buffers[key].dtype,
                              buffer=self.buffers[key],
                              offset=t.storage_offset() * t.element_size(),
                              strides=tuple(s * t.element_size() for s in t.stride()))
        except ValueError:  # numpy refuses the layout (a zero-stride view past the end...)
            return strided_copy(t)

    def __call__(self, obj: Any) -> Any:
        torch, tg = self.torch, self.tg
        if isinstance(obj, torch.Tensor):
            if id(obj) in self.pairs:
                return self.pairs[id(obj)][1]
            name = str(obj.dtype).removeprefix("torch.")
            if name not in DTYPE_NAMES and name != "float16":
                raise OutOfScopeInput(f"a {name} tensor")
            if obj.ndim > 64:
                raise Untranslatable(f"{obj.ndim} dims (a numpy array holds at most 64)")
            if obj.device.type == "meta":  # shapes without values: tapegrad has no device
                raise OutOfScopeInput("a tensor on torch's meta device")
            t = tg.Tensor._from_array(self._array(obj), requires_grad=obj.requires_grad)
            self.pairs[id(obj)] = (obj, t)
            return t
        if isinstance(obj, torch.Size):
            return tg.Size(obj)
        if isinstance(obj, torch.dtype):
            found = getattr(tg, str(obj).removeprefix("torch."), None)
            if not isinstance(found, tg.dtype):
                raise OutOfScopeInput(f"dtype {obj}")
            return found
        if isinstance(obj, torch.device):
            return tg.device(str(obj))
        if isinstance(obj, (torch.memory_format, torch.layout)):
            return getattr(tg, str(obj).removeprefix("torch."), obj)
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):
            return type(obj)(*(self(x) for x in obj))
        if isinstance(obj, (list, tuple)):
            return type(obj)(self(x) for x in obj)
        if isinstance(obj, dict):
            return {k: self(v) for k, v in obj.items()}
        if callable(obj) and getattr(obj, "__module__", None) in ("torch.nn.functional",
                                                                  "torch._C._nn", "torch"):
            # a function passed as an argument (TransformerEncoderLayer's activation=F.gelu)
            found = getattr(tg.nn.functional, obj.__name__, None) or getattr(tg, obj.__name__,
                                                                            None)
            if found is None:
                raise Untranslatable(f"torch's {obj.__name__}, which tapegrad lacks")
            return found
        if isinstance(obj, torch.nn.Module):
            return self._module(obj)
        return obj

    def _module(self, obj: Any) -> Any:
        """A parameter-free torch module passed as an argument (triplet loss's
        ``distance_function=nn.PairwiseDistance()``): tapegrad's module of the same name
        with the same options (the public attributes torch's ``__init__`` stored)."""
        tg_cls = getattr(self.tg.nn, type(obj).__name__, None)
        if tg_cls is not None and type(obj).__name__ in ("TransformerEncoderLayer",
                                                         "TransformerDecoderLayer"):
            return self._transformer_layer(tg_cls, obj)
        if tg_cls is None or any(True for _ in obj.parameters()) or any(
                True for _ in obj.buffers()):
            raise Untranslatable(f"a torch module ({type(obj).__name__}) as an argument")
        module = tg_cls.__new__(tg_cls)
        self.tg.nn.Module.__init__(module)
        for key, value in vars(obj).items():
            if not key.startswith("_"):
                object.__setattr__(module, key, value)
        return module


    def _transformer_layer(self, tg_cls: Any, obj: Any) -> Any:
        """A transformer layer passed to ``TransformerEncoder``/``Decoder``: tapegrad's
        layer built with the same configuration, read back from torch's (the runner then
        copies the whole model's state_dict, this layer's weights included)."""
        attention = obj.self_attn
        activation = obj.activation
        if isinstance(activation, self.torch.nn.Module):
            activation = self._module(activation)
        else:
            activation = self(activation)
        return tg_cls(attention.embed_dim, attention.num_heads,
                      dim_feedforward=obj.linear1.out_features, dropout=obj.dropout.p,
                      activation=activation, layer_norm_eps=obj.norm1.eps,
                      batch_first=attention.batch_first, norm_first=obj.norm_first,
                      bias=obj.linear1.bias is not None)


def _resolve(root: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _rebound(fn: Callable) -> Callable:
    """``fn`` (an OpInfo's Python wrapper around torch) with ``torch`` in its globals
    replaced by tapegrad, so the same code runs against tapegrad."""
    tg = _tapegrad()
    glob = dict(fn.__globals__)
    glob["torch"] = tg
    glob["F"] = tg.nn.functional
    return types.FunctionType(fn.__code__, glob, fn.__name__, fn.__defaults__, fn.__closure__)


@dataclass
class Target:
    """How an OpInfo is called on tapegrad: a function, a Tensor method, or torch's own
    wrapper re-run against tapegrad."""

    call: Callable[..., Any] | None
    present: bool
    how: str


def tapegrad_target(op: Any) -> Target:
    """Find the op on tapegrad: by name (``nn.functional.relu`` under
    ``tapegrad.nn.functional``), then its aliases, then its Tensor method."""
    tg = _tapegrad()
    method_name = getattr(op.method_variant, "__name__", None)
    if method_name is None and op.name.startswith("__"):
        method_name = op.name  # __radd__, __getitem__: called as methods
    has_method = method_name is not None and hasattr(tg.Tensor, method_name)
    function = None
    for name in (op.name, *(a.name for a in op.aliases)):
        function = _resolve(tg, name)
        if function is not None and not isinstance(function, types.ModuleType):
            break
        function = None
    wrapper = op.op
    if isinstance(wrapper, types.FunctionType) and wrapper.__module__.startswith(
            "torch.testing"):
        last = op.name.rpartition(".")[2]  # T, view, item: the wrapper calls x.<last>
        inplace = getattr(op.inplace_variant, "__name__", None)  # cauchy: x.cauchy_
        present = function is not None or has_method or hasattr(tg.Tensor, last) or (
            inplace is not None and hasattr(tg.Tensor, inplace))
        return Target(_rebound(wrapper), present, "torch's wrapper, run on tapegrad")
    if function is not None:
        return Target(function, True, f"tapegrad.{op.name}")
    if has_method:
        def call(x: Any, *args: Any, **kwargs: Any) -> Any:
            if not isinstance(x, tg.Tensor):  # as torch's op: Tensor.__radd__(2, x)
                return getattr(tg.Tensor, method_name)(x, *args, **kwargs)
            return getattr(x, method_name)(*args, **kwargs)

        return Target(call, True, f"Tensor.{method_name}")
    return Target(None, False, "missing")


# ---------------------------------------------------------------- comparing
def _flatten(out: Any) -> list[Any]:
    if isinstance(out, (list, tuple)) and not _is_size(out):
        return [y for x in out for y in _flatten(x)]
    return [out]


def _is_size(x: Any) -> bool:
    return type(x).__name__ == "Size"


def _is_tensor(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray)


def _tensor_array(x: Any) -> np.ndarray:
    if hasattr(x, "_data"):  # tapegrad
        return np.asarray(x.numpy(force=True))
    if x._is_zerotensor():  # torch's symbolic zero gradient
        return np.zeros(tuple(x.shape), dtype=str(x.dtype).rpartition(".")[2])
    return x.detach().resolve_conj().resolve_neg().numpy()


def _dtype_name(x: Any) -> str:
    return str(x.dtype).rpartition(".")[2]


def compare_values(got: Any, want: Any, what: str, meta_only: bool = False,
                   grad: bool = False) -> str:
    """"" if tapegrad's ``got`` matches torch's ``want``, else what differs."""
    if _is_tensor(want):
        if not _is_tensor(got):
            return f"{what}: tapegrad gave {type(got).__name__}, torch a tensor"
        if tuple(got.shape) != tuple(want.shape):
            return f"{what}: shape {list(got.shape)}, torch {list(want.shape)}"
        if _dtype_name(got) != _dtype_name(want):
            return f"{what}: dtype {_dtype_name(got)}, torch {_dtype_name(want)}"
        if meta_only:
            return ""
        g, w = _tensor_array(got), _tensor_array(want)
        if w.dtype.kind not in "fc":
            return "" if np.array_equal(g, w) else f"{what}: values differ ({_worst(g, w)})"
        atol, rtol = (GRAD_TOLERANCE if grad else TOLERANCE).get(_dtype_name(want), (0, 0))
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        if not np.array_equal(np.isnan(g64), np.isnan(w64)):
            return f"{what}: NaN in different places ({_worst(g, w)})"
        with np.errstate(invalid="ignore", over="ignore"):
            if np.allclose(g64, w64, atol=atol, rtol=rtol, equal_nan=True):
                return ""
        return f"{what}: values differ ({_worst(g, w)})"
    if want is None:
        return "" if got is None else f"{what}: tapegrad gave {type(got).__name__}, torch None"
    if isinstance(want, (bool, int, float)) and not _is_tensor(got):
        if isinstance(got, (bool, int, float, np.generic)):
            if isinstance(want, float) and math.isnan(want):
                return "" if math.isnan(float(got)) else f"{what}: {got} vs torch nan"
            if math.isclose(float(got), float(want), rel_tol=1e-6, abs_tol=1e-7) or got == want:
                return ""
        return f"{what}: {got!r}, torch {want!r}"
    if _is_size(want) or isinstance(want, tuple):
        return "" if tuple(got) == tuple(want) else f"{what}: {got!r}, torch {want!r}"
    torch = import_torch()
    if isinstance(want, torch.dtype):
        return "" if str(got).rpartition(".")[2] == str(want).rpartition(".")[2] \
            else f"{what}: {got}, torch {want}"
    return "" if got == want else f"{what}: {got!r}, torch {want!r}"


def _worst(g: np.ndarray, w: np.ndarray) -> str:
    """The element where the two differ most: index, tapegrad's, torch's."""
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(g.astype(np.float64) - w.astype(np.float64))
    diff = np.where(np.isnan(g.astype(np.float64)) != np.isnan(w.astype(np.float64)), np.inf,
                    np.nan_to_num(diff, nan=0.0))
    if diff.size == 0:
        return "empty"
    i = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return f"at {list(map(int, i))}: {g[i]!r} vs torch {w[i]!r}"


def compare_outputs(got: Any, want: Any, meta_only: bool = False) -> str:
    g, w = _flatten(got), _flatten(want)
    if len(g) != len(w):
        return f"{len(g)} outputs, torch {len(w)}"
    for k, (a, b) in enumerate(zip(g, w, strict=True)):
        note = compare_values(a, b, f"output {k}" if len(w) > 1 else "output", meta_only)
        if note:
            return note
    return ""


def _cotangent(shape: tuple, dtype: Any, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(str(dtype).rpartition(".")[2])


def _seed(*parts: Any) -> int:
    return zlib.crc32(":".join(map(str, parts)).encode())


def compare_gradients(t_out: Any, g_out: Any, pairs: list[tuple[Any, Any]], seed: int,
                      second_order: bool, meta_only: bool = False) -> str:
    """Backward from ``t_out``/``g_out`` with the same fixed cotangent; compare the
    gradients of every input in ``pairs`` (torch tensor, tapegrad tensor); with
    ``second_order`` also the gradients of (gradient . fixed vector)."""
    torch, tg = import_torch(), _tapegrad()
    t_flat, g_flat = _flatten(t_out), _flatten(g_out)
    outs = [(t, g) for t, g in zip(t_flat, g_flat, strict=True)
            if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point]
    if not outs or not pairs:
        return ""
    for _, g in outs:
        if not _is_tensor(g):
            return f"an output that needs a gradient is a {type(g).__name__} in tapegrad"
    cots = [_cotangent(tuple(t.shape), t.dtype, seed + k) for k, (t, _) in enumerate(outs)]
    t_in = [t for t, _ in pairs]
    g_in = [g for _, g in pairs]
    # Second order differentiates the first gradient with respect to the inputs *and* to
    # the cotangent, as torch's gradgradcheck does: a backward whose result depends on
    # the incoming gradient wrongly (its saved values swapped, say) shows only there.
    t_cots = [torch.from_numpy(c).requires_grad_(second_order) for c in cots]
    g_cots = [tg.tensor(c, requires_grad=second_order) for c in cots]
    # An output tapegrad computes without a graph (div with rounding: gradient zero) is a
    # constant: its gradients are zeros, and torch's must be too.
    g_live = [(g, c) for (_, g), c in zip(outs, g_cots, strict=True) if g.requires_grad]
    try:
        t_grads = torch.autograd.grad([t for t, _ in outs], t_in, t_cots, allow_unused=True,
                                      create_graph=second_order)
    except RuntimeError as exc:
        raise TorchRefused(str(exc)) from exc
    try:
        g_grads = tg.autograd.grad([g for g, _ in g_live], g_in, [c for _, c in g_live],
                                   allow_unused=True,
                                   create_graph=second_order) if g_live else [None] * len(g_in)
    except Exception as exc:
        return f"backward raised {type(exc).__name__}: {_short(exc)}"
    for k, (gt, gg) in enumerate(zip(t_grads, g_grads, strict=True)):
        if gt is None:
            if t_in[k]._base is not None:
                continue  # torch gives a leaf that is a view (an expanded sample) no gradient
            if gg is not None and np.any(_tensor_array(gg) != 0):
                return f"grad of input {k}: tapegrad nonzero, torch has none"
            continue
        if gg is None:
            if np.any(_tensor_array(gt) != 0):
                return f"grad of input {k}: tapegrad has none"
            continue
        note = compare_values(gg, gt, f"grad of input {k}", meta_only, grad=True)
        if note:
            return note
    if not second_order:
        return ""
    second = [(t, g) for t, g in zip(t_grads, g_grads, strict=True)
              if t is not None and t.requires_grad]
    if not second:
        return ""
    vs = [_cotangent(tuple(t.shape), t.dtype, seed + 100 + k) for k, (t, _) in enumerate(second)]
    live_cots = [c for (_, g), c in zip(outs, g_cots, strict=True) if g.requires_grad]
    t_live_cots = [t for (_, g), t in zip(outs, t_cots, strict=True) if g.requires_grad]
    try:
        t2 = torch.autograd.grad([t for t, _ in second], t_in + t_live_cots,
                                 [torch.from_numpy(v) for v in vs], allow_unused=True)
    except RuntimeError as exc:
        raise TorchRefused(str(exc)) from exc
    # a first gradient tapegrad built without a graph is constant in the inputs (the
    # gradient of a linear op): it adds nothing to the second derivatives
    g_live2 = [(g, v) for (_, g), v in zip(second, vs, strict=True)
               if g is not None and g.requires_grad]
    try:
        g2 = tg.autograd.grad([g for g, _ in g_live2], g_in + live_cots,
                              [tg.tensor(v) for _, v in g_live2],
                              allow_unused=True) if g_live2 else [None] * len(t2)
    except Exception as exc:
        return f"second-order backward raised {type(exc).__name__}: {_short(exc)}"
    for k, (gt, gg) in enumerate(zip(t2, g2, strict=True)):
        what = f"input {k}" if k < len(t_in) else f"the cotangent of output {k - len(t_in)}"
        if gt is None or gg is None:
            if gt is None and k < len(t_in) and t_in[k]._base is not None:
                continue  # the view-leaf quirk above
            a = gt if gt is not None else gg
            if a is not None and np.any(_tensor_array(a) != 0):
                who = "tapegrad" if gt is None else "torch"
                return f"second-order grad of {what}: only {who} has a nonzero one"
            continue
        note = compare_values(gg, gt, f"second-order grad of {what}", meta_only, grad=True)
        if note:
            return note
    return ""


def _short(exc: BaseException, n: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= n else text[: n - 3] + "..."


@contextlib.contextmanager
def _quiet() -> Iterable[None]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _pick(items: list, cap: int | None) -> list[tuple[int, Any]]:
    """At most ``cap`` of ``items``, evenly spread, with their indices (deterministic)."""
    if cap is None or len(items) <= cap:
        return list(enumerate(items))
    idx = sorted({round(x) for x in np.linspace(0, len(items) - 1, cap)})
    return [(i, items[i]) for i in idx]


# ---------------------------------------------------------------- ops
def _run_sample(op: Any, target: Target, sample: Any, dtype_name: str, index: int,
                meta_only: bool) -> Case | None:
    """One sample: forward, gradients, second order. None if torch itself rejects it."""
    case = Case("sample", dtype_name, index, False)
    try:
        t_out = op(sample.input, *sample.args, **sample.kwargs)
    except Exception:
        return None
    if target.call is None:
        case.note = "missing in tapegrad"
        return case
    convert = Converter()
    try:
        g_input = convert(sample.input)
        g_args, g_kwargs = convert(list(sample.args)), convert(dict(sample.kwargs))
    except Untranslatable as exc:
        case.note = f"input has {exc}"
        if isinstance(exc, OutOfScopeInput):
            case.kind = "excluded"
        return case
    try:
        g_out = target.call(g_input, *g_args, **g_kwargs)
    except Exception as exc:
        case.note = f"{type(exc).__name__}: {_short(exc)}"
        return case
    try:
        note = compare_outputs(g_out, t_out, meta_only)
    except Exception as exc:  # tapegrad's output itself is broken (an unsupported dtype...)
        note = f"reading tapegrad's output raised {type(exc).__name__}: {_short(exc)}"
    if note:
        case.note = note
        return case
    pairs = [p for p in convert.pairs.values()
             if p[0].requires_grad and p[0].dtype.is_floating_point]
    if pairs and op.supports_autograd:
        process = sample.output_process_fn_grad
        try:
            t_diff, g_diff = process(t_out), process(g_out)
        except Exception:
            t_diff, g_diff = t_out, g_out
        second = dtype_name == "float64" and op.supports_gradgrad and not meta_only
        try:
            note = compare_gradients(t_diff, g_diff, pairs, _seed(full_name(op), index),
                                     second, meta_only)
        except TorchRefused:
            return None
        except Exception as exc:
            note = f"reading tapegrad's gradients raised {type(exc).__name__}: {_short(exc)}"
        if note:
            case.note = note
            return case
    case.passed = True
    return case


def check_op(name: str, cap: int | None | str = "default") -> Report:
    """Every sampled case and every error case of the in-scope OpInfo ``name``."""
    torch = import_torch()
    op = in_scope_ops()[name]
    target = tapegrad_target(op)
    report = Report(name, "op", target.present)
    meta_only = op.name in VALUES_UNDEFINED
    with _quiet():
        for dtype in _real_dtypes(op):
            dtype_name = str(dtype).removeprefix("torch.")
            limit = (CAP_FLOAT if dtype.is_floating_point else CAP_OTHER) \
                if cap == "default" else cap
            grad = op.supports_autograd and dtype.is_floating_point
            torch.manual_seed(0)
            try:
                samples = list(op.reference_inputs("cpu", dtype, requires_grad=grad))
            except Exception:
                continue  # the database cannot build samples here (rare): nothing to compare
            for index, sample in _pick(samples, limit):
                torch.manual_seed(0)
                # attention with dropout draws its own random mask: shapes and dtypes only
                # (multi_head_attention_forward gets dropout_p positionally, used in training)
                random = bool(sample.kwargs.get("dropout_p", 0)) or (
                    op.name == "nn.functional.multi_head_attention_forward"
                    and sample.kwargs.get("training", True))
                case = _run_sample(op, target, sample, dtype_name, index, meta_only or random)
                if case is None:
                    report.torch_refused += 1
                else:
                    report.cases.append(case)
        try:
            errors = list(op.error_inputs("cpu"))
        except Exception:
            errors = []
        for index, error in enumerate(errors):
            report.cases.append(_run_error(op, target, error, index))
    return report


def _run_error(op: Any, target: Target, error: Any, index: int) -> Case:
    sample = error.sample_input
    case = Case("error", "", index, False)
    want = error.error_type
    if target.call is None:
        case.note = f"missing in tapegrad (torch raises {want.__name__})"
        return case
    try:
        convert = Converter(share_storage=True)
        args = (convert(sample.input), *convert(list(sample.args)))
        kwargs = convert(dict(sample.kwargs))
    except Untranslatable as exc:
        case.note = f"input has {exc}"
        if isinstance(exc, OutOfScopeInput):
            case.kind = "excluded"
        return case
    try:  # after converting: a failed out= call may have resized torch's out tensor
        op.op(sample.input, *sample.args, **sample.kwargs)
    except Exception:
        pass
    else:  # the database's error input is not an error for torch either: not compared
        case.kind, case.note = "excluded", "torch does not raise on it either"
        return case
    try:
        target.call(*args, **kwargs)
    except Exception as exc:
        if isinstance(exc, want):
            case.passed = True
            if error.error_regex and not re.search(error.error_regex, str(exc)):
                case.note = f"message differs: {_short(exc, 80)}"
        else:
            case.note = f"raised {type(exc).__name__}, torch {want.__name__}: {_short(exc, 80)}"
        return case
    case.note = f"did not raise (torch raises {want.__name__}: {error.error_regex})"
    return case


# ---------------------------------------------------------------- modules
def check_module(name: str, cap: int | None | str = "default") -> Report:
    """The module inputs of the ModuleInfo ``name`` (at most `CAP_FLOAT` per dtype and
    mode, spread as for ops) in float64 and float32, in train and eval mode: outputs, input
    gradients and parameter gradients."""
    torch, tg = import_torch(), _tapegrad()
    info = in_scope_modules()[name]
    cls_name = info.module_cls.__name__
    tg_cls = getattr(tg.nn, cls_name, None)
    report = Report(name, "module", tg_cls is not None)
    meta_only = name in VALUES_UNDEFINED
    with _quiet():
        for dtype in (torch.float64, torch.float32):
            if dtype not in info.supported_dtypes("cpu"):
                continue
            for training in (True, False):
                torch.manual_seed(0)
                try:
                    inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                                     requires_grad=True, training=training)
                except Exception:
                    continue
                limit = CAP_FLOAT if cap == "default" else cap
                for index, module_input in _pick(list(inputs), limit):
                    case = _run_module_input(tg_cls, info, module_input, dtype, training,
                                             index, meta_only)
                    if case is None:
                        report.torch_refused += 1
                    else:
                        report.cases.append(case)
    return report


def _run_module_input(tg_cls: Any, info: Any, module_input: Any, dtype: Any, training: bool,
                      index: int, meta_only: bool) -> Case | None:
    torch = import_torch()
    dtype_name = str(dtype).removeprefix("torch.") + (" train" if training else " eval")
    case = Case("sample", dtype_name, index, False)
    c_args, c_kwargs = module_input.constructor_input.args, module_input.constructor_input.kwargs
    f_args, f_kwargs = module_input.forward_input.args, module_input.forward_input.kwargs
    try:
        torch.manual_seed(0)
        t_mod = info.module_cls(*c_args, **c_kwargs).to(dtype)
        t_mod.train(training)
        torch.manual_seed(0)
        t_out = t_mod(*f_args, **f_kwargs)
    except Exception:
        return None
    if tg_cls is None:
        case.note = "missing in tapegrad"
        return case
    convert = Converter()
    try:
        g_mod = tg_cls(*convert(list(c_args)), **convert(dict(c_kwargs))).to(
            convert(dtype))
        g_mod.train(training)
        state = {k: convert(v.detach()) for k, v in t_mod.state_dict().items()}
        g_mod.load_state_dict(state)
        g_out = g_mod(*convert(list(f_args)), **convert(dict(f_kwargs)))
    except Untranslatable as exc:
        case.note = f"input has {exc}"
        if isinstance(exc, OutOfScopeInput):
            case.kind = "excluded"
        return case
    except Exception as exc:
        case.note = f"{type(exc).__name__}: {_short(exc)}"
        return case
    note = compare_outputs(g_out, t_out, meta_only)
    if not note:
        t_params = dict(t_mod.named_parameters())
        g_params = dict(g_mod.named_parameters())
        pairs = [p for p in convert.pairs.values()
                 if p[0].requires_grad and p[0].dtype.is_floating_point]
        pairs += [(t_params[k], g_params[k]) for k in t_params if k in g_params]
        missing = sorted(set(t_params) - set(g_params))
        if missing:
            note = f"parameters missing in tapegrad: {', '.join(missing)}"
        else:
            try:
                note = compare_gradients(t_out, g_out, pairs, _seed(info.name, index), False,
                                         meta_only)
            except TorchRefused:
                return None
    case.note = note
    case.passed = not note
    return case


# ---------------------------------------------------------------- optimizers
def check_optimizer(name: str) -> Report:
    """Each configuration of ``optim_inputs_func``: 20 steps on the same least-squares
    problem, parameters compared after every step."""
    torch, tg = import_torch(), _tapegrad()
    info = in_scope_optimizers()[name]
    cls_name = info.optim_cls.__name__
    tg_cls = getattr(tg.optim, cls_name, None)
    report = Report(name, "optimizer", tg_cls is not None)
    with _quiet():
        for index, config in enumerate(info.optim_inputs_func(device="cpu")):
            kwargs = {k: v for k, v in config.kwargs.items()
                      if not (k in OPTIMIZER_IMPLEMENTATION_FLAGS and not v)}
            case = Case("sample", f"float64 {config.desc}", index, False)
            if tg_cls is None:
                case.note = "missing in tapegrad"
            else:
                case.note = _trajectory(torch, tg, info.optim_cls, tg_cls, kwargs)
                if case.note == "torch refused":  # Muon takes matrices only: a matrix problem
                    case.note = _trajectory(torch, tg, info.optim_cls, tg_cls, kwargs,
                                            matrix=True)
                case.passed = not case.note
            if case.note != "torch refused":
                report.cases.append(case)
            else:
                report.torch_refused += 1
    return report


def _trajectory(torch: Any, tg: Any, t_cls: Any, g_cls: Any, kwargs: dict,
                matrix: bool = False) -> str:
    """"" if 20 steps agree; ``matrix``: a (4, 3) weight and a (1, 3) bias instead of vectors,
    for optimizers that take 2-d parameters only."""
    rng = np.random.default_rng(0)
    out = (3,) if matrix else ()
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((6, *out))
    w0, c0 = rng.standard_normal((4, *out)), rng.standard_normal((1, *out))
    t_w, t_c = torch.tensor(w0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    t_a, t_b = torch.tensor(a), torch.tensor(b)

    def t_loss() -> Any:
        return ((t_a @ t_w + t_c - t_b) ** 2).mean() + t_w.abs().sum() * 0.01

    try:
        t_opt = t_cls([t_w, t_c], **kwargs)
    except Exception:
        return "torch refused"
    convert = Converter()
    try:
        g_w, g_c = convert(t_w.detach().requires_grad_()), convert(t_c.detach().requires_grad_())
        g_a, g_b = tg.tensor(a), tg.tensor(b)
        g_opt = g_cls([g_w, g_c], **convert(kwargs))
    except Exception as exc:
        return f"{type(exc).__name__}: {_short(exc)}"

    def g_loss() -> Any:
        return ((g_a @ g_w + g_c - g_b) ** 2).mean() + g_w.abs().sum() * 0.01

    for step in range(1, OPTIMIZER_STEPS + 1):
        def t_closure() -> Any:
            t_opt.zero_grad()
            loss = t_loss()
            loss.backward()
            return loss

        def g_closure() -> Any:
            g_opt.zero_grad()
            loss = g_loss()
            loss.backward()
            return loss

        try:
            t_opt.step(t_closure)
        except Exception:
            return "torch refused"
        try:
            g_opt.step(g_closure)
        except Exception as exc:
            return f"step {step}: {type(exc).__name__}: {_short(exc)}"
        for label, t, g in (("weight", t_w, g_w), ("bias", t_c, g_c)):
            note = compare_values(g, t, f"step {step} {label}", grad=True)
            if note:
                return note
    return ""


# ---------------------------------------------------------------- the whole run
@dataclass
class Summary:
    """Counts over a run; ``str()`` is the one-line summary."""

    reports: list[Report]
    in_scope_ops: int = 0

    def line(self) -> str:
        ops = [r for r in self.reports if r.section == "op"]
        mods = [r for r in self.reports if r.section == "module"]
        opts = [r for r in self.reports if r.section == "optimizer"]
        sp = sum(r.count("sample")[0] for r in ops)
        st = sum(r.count("sample")[1] for r in ops)
        ep = sum(r.count("error")[0] for r in ops)
        et = sum(r.count("error")[1] for r in ops)
        names = {}
        for r in ops:  # presence counts names, not variants (max.binary and max.reduction...)
            base = in_scope_ops()[r.name].name
            names[base] = names.get(base, False) or r.present
        pct = 100.0 * sp / st if st else 100.0
        mp = sum(r.present and r.samples_passed for r in mods)
        op_ = sum(r.present and r.samples_passed for r in opts)
        return (f"ops present {sum(names.values())}/{len(names)}, sample cases {sp}/{st} "
                f"({pct:.1f}%), error cases {ep}/{et}, modules {mp}/{len(mods)}, "
                f"optimizers {op_}/{len(opts)}")

    def table(self) -> str:
        """One row per entry: present, samples passed, errors passed, first failure."""
        rows = [("entry", "present", "samples", "errors", "not compared", "seconds",
                 "first failure")]
        for r in self.reports:
            sp, st = r.count("sample")
            ep, et = r.count("error")
            first = next((c for c in r.cases if not c.passed and c.kind != "excluded"), None)
            why = f"{first.kind} {first.dtype} #{first.index}: {first.note}" if first else ""
            label = r.name if r.section == "op" else f"{r.section} {r.name}"
            skipped = r.torch_refused + sum(c.kind == "excluded" for c in r.cases)
            rows.append((label, "yes" if r.present else "NO", f"{sp}/{st}",
                         f"{ep}/{et}" if et else "-", str(skipped), f"{r.seconds:.1f}",
                         why[:90]))
        widths = [max(len(row[c]) for row in rows) for c in range(6)]
        return "\n".join("  ".join([*(cell.ljust(w) for cell, w in
                                      zip(row[:6], widths, strict=True)), row[6]]).rstrip()
                         for row in rows)

    def __str__(self) -> str:
        return self.line()


def run(ops: Iterable[str] | None = None, modules: Iterable[str] | None = None,
        optimizers: Iterable[str] | None = None, cap: int | None | str = "default",
        progress: Callable[[str, int, int], None] | None = None) -> Summary:
    """Check the named entries (all in-scope ones for each argument left None)."""
    ops = list(in_scope_ops()) if ops is None else list(ops)
    modules = list(in_scope_modules()) if modules is None else list(modules)
    optimizers = list(in_scope_optimizers()) if optimizers is None else list(optimizers)
    jobs = ([(n, lambda n: check_op(n, cap)) for n in ops]
            + [(n, lambda n: check_module(n, cap)) for n in modules]
            + [(n, check_optimizer) for n in optimizers])
    reports = []
    for i, (name, job) in enumerate(jobs, 1):
        if progress is not None:
            progress(name, i, len(jobs))
        start = time.perf_counter()
        try:
            reports.append(job(name))
            reports[-1].seconds = time.perf_counter() - start
        except Exception as exc:  # a bug of the runner's for one entry must not hide the rest
            section = "op" if name in ops else "module" if name in modules else "optimizer"
            report = Report(name, section, section != "op"
                            or tapegrad_target(in_scope_ops()[name]).present)
            report.cases.append(Case("sample", "", 0, False,
                                     f"the runner failed: {type(exc).__name__}: {_short(exc)}"))
            reports.append(report)
    return Summary(reports)


def listing() -> str:
    """``tapegrad check --list``: what is in scope (and present), and what is not, why."""
    tg = _tapegrad()
    lines = ["In scope (PyTorch's op_db, module_db, optim_db); '-' marks what tapegrad lacks:"]
    for name, op in in_scope_ops().items():
        lines.append(f"  {'+' if tapegrad_target(op).present else '-'} op {name}")
    for name, info in in_scope_modules().items():
        present = hasattr(tg.nn, info.module_cls.__name__)
        lines.append(f"  {'+' if present else '-'} module {name}")
    for name, info in in_scope_optimizers().items():
        present = hasattr(tg.optim, info.optim_cls.__name__)
        lines.append(f"  {'+' if present else '-'} optimizer {name}")
    lines.append("Out of scope:")
    lines += [f"  {entry}  ({family}: {reason})" for entry, family, reason in out_of_scope()]
    return "\n".join(lines)


# ---------------------------------------------------------------- known failures
def known_key(report: Report, kind: str) -> str:
    """The key of `tapegrad.testing.torch_db_known.KNOWN_FAILURES`: ``"op:add:samples"``,
    ``"op:cat:errors"``, ``"module:nn.Linear:samples"``, ``"optimizer:Adam:samples"``."""
    return f"{report.section}:{report.name}:{kind}"


def verdict(report: Report) -> tuple[list[str], list[str]]:
    """(problems, known): what makes the entry fail (a failure not on the known list, or a
    known failure that now passes: strict, so the list only shrinks) and the reasons of the
    known failures it still has."""
    problems, known = [], []
    for kind, label in (("samples", "sample"), ("errors", "error")):
        key = known_key(report, kind)
        passed, total = report.count(label)
        reason = KNOWN_FAILURES.get(key)
        if passed < total and reason is None:
            problems.append(f"{total - passed}/{total} {label} cases fail (not a known "
                            f"failure):\n{report.failures(label)}")
        elif passed == total and reason is not None:
            problems.append(f"{key} passes now: remove it from KNOWN_FAILURES in "
                            "tapegrad/testing/torch_db_known.py")
        elif reason is not None:
            known.append(f"{key}: {reason}")
    return problems, known


def command(names: list[str] | None, verbose: bool, list_only: bool, out: Any = None) -> int:
    """``tapegrad check --torch-db [--ops NAME ...] [-v] [--list]``: 0 when every entry
    passes or fails only as a known failure, 1 otherwise, 2 for an unknown name."""
    import sys

    out = out or sys.stdout
    if list_only:
        print(listing(), file=out)
        return 0
    ops, modules, optimizers = in_scope_ops(), in_scope_modules(), in_scope_optimizers()
    if names:  # an op's name covers its variants: max runs max.binary, max.reduction_no_dim...
        names = [k for n in names for k in [*(k for k, op in ops.items() if op.name == n
                                              and k != n), n]]
        unknown = [n for n in names if n not in ops and n not in modules and n not in optimizers]
        if unknown:
            print(f"tapegrad check: error: not an in-scope entry of torch's database: "
                  f"{', '.join(map(repr, unknown))}; `tapegrad check --torch-db --list` "
                  "lists them", file=sys.stderr)
            return 2
        summary = run([n for n in names if n in ops], [n for n in names if n in modules],
                      [n for n in names if n in optimizers], progress=_progress)
    else:
        summary = run(progress=_progress)
    print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    if verbose:
        print(summary.table(), file=out)
    problems = [(r.name, p) for r in summary.reports for p in verdict(r)[0]]
    for name, problem in problems:
        print(f"{name}: {problem}", file=out)
    print(summary.line(), file=out)
    return 1 if problems else 0


def _progress(name: str, i: int, n: int) -> None:
    import sys

    print(f"\rchecking {i}/{n}: {name[:40]:<40}", end="", file=sys.stderr, flush=True)
