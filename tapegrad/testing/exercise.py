"""Any program as a backprop exercise ("backprop ninja" on your own code).

`exercise(fn, *inputs)` runs ``fn`` once, records its tape, and keeps every gradient to
itself. What you get is a workbook: for every value of the program, from the loss back to
the inputs, the ops that used it (their forward formula and shapes) and a stub
``d["h"] = ...`` to fill in with numpy. `Exercise.check` grades each gradient you wrote
against the engine's and, for the inputs, against finite differences too, with a verdict
per value and, after a wrong try, a hint: the local rule of each op that used the value,
as the op's own definition states it (the same text the stepper shows, without numbers)::

    ex = tapegrad.exercise(two_layer, x, y, w1, w2)
    print(ex.workbook())              # the stubs, in the order to fill them in
    v, d = ex.values, ex.start()      # forward values; d holds the seed dloss = 1
    d["y_pred"] = 2 * (v["y_pred"] - v["y"])
    ...
    print(ex.check(d))                # one line per gradient: ok / wrong / missing

The names are your variables' names: an op's result is named after the local variable of
``fn`` that holds it when ``fn`` returns (``h = x.mm(w1)`` gives ``h``), the inputs after
``fn``'s parameters; other values are ``%k`` as in `Tape.listing`. A value used by several
ops gets the sum of what each one sends back, exactly as the engine accumulates it.

In pytest, one test per gradient::

    @pytest.mark.parametrize("name", EX.names)
    def test_my_backprop(name):
        EX.assert_correct(my_gradients(EX.values), name)
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tapegrad
from tapegrad.autograd.tape import Tape, TapeEntry, Value
from tapegrad.pointwise import RULES
from tapegrad.tensor import Tensor
from tapegrad.viz.stepper import backprop_steps

__all__ = ["Exercise", "Verdict", "exercise"]

_FD_EPS = 1e-6
_FD_MAX_ELEMENTS = 64  # finite differences on at most this many elements per input


@dataclass
class Verdict:
    """The grade of one gradient: ``status`` is "ok", "wrong", "wrong shape" or
    "missing"; ``hint`` is filled in when it is not ok."""

    name: str
    status: str
    detail: str = ""
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __str__(self) -> str:
        mark = "ok " if self.ok else "XX "
        text = f"{mark}d[{self.name!r}]: {self.status}" + (f" ({self.detail})" if self.detail
                                                           else "")
        return text + (f"\n     hint: {self.hint}" if self.hint else "")


class Report(list):
    """The verdicts of one `Exercise.check`, printable as a table."""

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self)

    def __str__(self) -> str:
        right = sum(v.ok for v in self)
        return "\n".join([f"{right} / {len(self)} gradients right", *map(str, self)])


def _run_keeping_locals(fn: Callable, args: list[Tensor]) -> tuple[Any, dict[str, Any]]:
    """``fn(*args)`` and fn's local variables as they were when it returned (read from
    its frame by a profile hook), which name the values of the workbook."""
    code = getattr(fn, "__code__", None) or getattr(getattr(fn, "forward", None),
                                                    "__code__", None)
    found: dict[str, Any] = {}

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is code:
            found.clear()
            found.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = fn(*args)
    finally:
        sys.setprofile(previous)
    return result, found


def _names(tape: Tape, fn: Callable, leaves: list[Tensor], local: dict[str, Any]
           ) -> dict[int, str]:
    """Value id -> the name the workbook uses: fn's parameter or local variable that held
    it when fn returned, else ``%k`` (see the module docstring)."""
    names: dict[int, str] = {}
    params = list(inspect.signature(fn).parameters)
    by_tensor = {id(t): n for n, t in zip(params, leaves, strict=False)}
    by_output = {}
    for n, obj in local.items():
        if isinstance(obj, Tensor) and not n.startswith("_"):
            if obj._grad_fn is not None:
                by_output.setdefault((id(obj._grad_fn), obj._output_nr), n)
            else:
                by_tensor.setdefault(id(obj), n)
    for v in tape.values:
        if v.kind == "leaf" and v.obj is not None and id(v.obj) in by_tensor:
            names[v.id] = by_tensor[id(v.obj)]
    for e in tape.entries:
        for nr, out in enumerate(e.outputs):
            n = by_output.get((id(e.node), nr))
            if n is not None and n not in names.values():
                names[out.id] = n
    taken = set(names.values())
    for v in tape.values:
        names.setdefault(v.id, v.name if v.name and v.name not in taken else f"%{v.id}")
    return names


def _formula(e: TapeEntry) -> str:
    """What a pointwise op computes, in its rule's words ("a · b", "Hyperbolic tangent.");
    other ops are described by their name and options alone (their docstrings state the
    derivative: the answer)."""
    rule = RULES.get(e.op) or RULES.get(e.op.rstrip("_"))
    return rule.doc.split("\n\n")[0].replace("\n", " ") if rule is not None else ""


def _as_input(x: Any) -> np.ndarray:
    """A number or array as an input: floats in float64 (the grading is exact there),
    integers (class labels, indices) kept as they are."""
    a = np.asarray(x)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


class Exercise:
    """A recorded program whose gradients you compute by hand (see `exercise`)."""

    def __init__(self, fn: Callable, inputs: tuple) -> None:
        self.fn = fn
        self._leaves = [x if isinstance(x, Tensor) else tapegrad.tensor(_as_input(x))
                        for x in inputs]
        for t in self._leaves:
            if t.dtype.is_floating_point:
                t.requires_grad_(True)
        self.loss, local = _run_keeping_locals(fn, self._leaves)
        if not isinstance(self.loss, Tensor) or self.loss.numel() != 1:
            raise ValueError("exercise: fn must return a one-element tensor (the loss), got "
                             f"{type(self.loss).__name__}"
                             + (f" of shape {list(self.loss.shape)}"
                                if isinstance(self.loss, Tensor) else ""))
        self.tape = Tape.of(self.loss)
        self._name = _names(self.tape, fn, self._leaves, local)
        frames = backprop_steps(self.loss)
        self._answers = {self._name[int(nid[1:])]: np.asarray(g, dtype=np.float64)
                         for nid, g in frames[-1].grads.items()}
        self._users: dict[int, list[tuple[TapeEntry, int]]] = {}
        for e in self.tape.entries:
            for k, a in enumerate(e.inputs):
                if isinstance(a, Value) and a.kind != "const":
                    self._users.setdefault(a.id, []).append((e, k))
        self._hints = self._local_rules(frames)
        out = self.tape.outputs[0]
        # the order to fill them in: the loss first, then by the op that made each value,
        # last op first, and the inputs at the end
        order = sorted((v for v in self.tape.values if v.kind != "const"),
                       key=lambda v: (-(v.producer.position if v.producer else -1), v.id))
        self.names = [self._name[v.id] for v in order if self._name[v.id] in self._answers]
        self.values = {self._name[v.id]: np.array(v.data if v.data is not None
                                                  else v.obj.detach().numpy())
                       for v in self.tape.values if v.kind != "const"
                       and (v.data is not None or v.obj is not None)}
        self._seed_name = self._name[out.id]
        self._tries: dict[str, int] = {}

    # ------------------------------------------------------------------ the workbook
    def _local_rules(self, frames: list) -> dict[str, list[str]]:
        """Value name -> the rule of each op that sends it gradient (the hint), written
        with the workbook's names."""
        rules: dict[str, list[str]] = {}

        def named(m: re.Match) -> str:
            return self._name.get(int(m.group(1)), m.group(0))

        for f in frames:
            if f.kind == "accumulate":
                continue
            for nid, text in f.hints.items():
                rules.setdefault(self._name[int(nid[1:])], []).append(
                    re.sub(r"%(\d+)(?!\d)", named, text))
        return rules

    def start(self) -> dict[str, np.ndarray]:
        """A fresh dict of gradients holding the seed: d[loss] = 1."""
        return {self._seed_name: np.ones(tuple(self.loss.shape))}

    def workbook(self) -> str:
        """The stubs to fill in, in order, each with the ops that use the value."""
        fn_name = getattr(self.fn, "__name__", "fn")
        lines = [f"# Backprop by hand through {fn_name}: fill in each d[...] from the loss back",
                 "# to the inputs. v[...] are the forward values (numpy); each gradient has",
                 "# its value's shape; a value used by several ops gets the sum of what each",
                 "# one sends back. Then: print(ex.check(d))",
                 f"d[{self._seed_name!r}] = np.ones({tuple(self.loss.shape)})  # the seed",
                 ""]
        by_name = {self._name[v.id]: v for v in self.tape.values}
        for name in self.names:
            if name == self._seed_name:
                continue
            v = by_name[name]
            for e, k in self._users.get(v.id, []):
                args = [self._name.get(a.id, "?") if isinstance(a, Value) else repr(a)
                        for a in e.inputs]
                args += [f"{key}={o!r}" for key, o in e.options.items() if o is not None]
                outs = ", ".join(self._name[o.id] for o in e.outputs)
                about = _formula(e)
                lines.append(f"# {outs} = {e.op}({', '.join(args)})  [{name} is input {k}]"
                             + (f"  ({about})" if about else ""))
            lines.append(f"d[{name!r}] = ...  # shape {tuple(v.shape)}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.workbook()

    # ------------------------------------------------------------------ grading
    def _finite_difference(self, name: str) -> np.ndarray | None:
        """d loss / d input by central differences (None for intermediate values)."""
        k = next((i for i, t in enumerate(self._leaves) if self._name_of_leaf(t) == name), None)
        if k is None:
            return None
        base = [t.detach().numpy().astype(np.float64) for t in self._leaves]
        x = base[k]
        grad = np.full(x.shape, np.nan)
        flat = np.arange(x.size)
        if x.size > _FD_MAX_ELEMENTS:  # a fixed sample of elements, the same every time
            flat = np.random.default_rng(0).choice(x.size, _FD_MAX_ELEMENTS, replace=False)
        with tapegrad.no_grad():
            for i in flat:
                idx = np.unravel_index(i, x.shape)
                vals = []
                for step in (_FD_EPS, -_FD_EPS):
                    moved = [b.copy() for b in base]
                    moved[k][idx] += step
                    vals.append(float(self.fn(*[tapegrad.tensor(m) for m in moved])))
                grad[idx] = (vals[0] - vals[1]) / (2 * _FD_EPS)
        return grad

    def _name_of_leaf(self, t: Tensor) -> str | None:
        for v in self.tape.values:
            if v.obj is t:
                return self._name[v.id]
        return None

    def verdict(self, d: dict[str, Any], name: str) -> Verdict:
        """The grade of ``d[name]`` (see `Verdict`)."""
        if name not in self._answers:
            raise KeyError(f"exercise has no gradient named {name!r}; its names: {self.names}")
        want = self._answers[name]
        got = d.get(name, ...)
        hint = "; ".join(dict.fromkeys(self._hints.get(name, [])))
        if got is ... or got is None:
            return Verdict(name, "missing", "", hint if self._tries.get(name) else "")
        got = np.asarray(got._data if isinstance(got, Tensor) else got, dtype=np.float64)
        self._tries[name] = self._tries.get(name, 0) + 1
        if got.shape != want.shape:
            return Verdict(name, "wrong shape", f"got {list(got.shape)}, the value's shape is "
                           f"{list(want.shape)}", hint)
        if not np.allclose(got, want, rtol=1e-5, atol=1e-8):
            worst = np.unravel_index(int(np.argmax(np.abs(got - want))), want.shape)
            return Verdict(name, "wrong", f"at {list(map(int, worst))}: yours "
                           f"{got[worst]:.6g}, the engine's {want[worst]:.6g}", hint)
        numerical = self._finite_difference(name)
        if numerical is not None:
            sampled = ~np.isnan(numerical)
            if not np.allclose(got[sampled], numerical[sampled], rtol=1e-4, atol=1e-6):
                return Verdict(name, "wrong", "agrees with the engine but not with finite "
                               "differences: is the engine's rule wrong?", hint)
            return Verdict(name, "ok", "the engine and finite differences agree")
        return Verdict(name, "ok")

    def check(self, d: dict[str, Any]) -> Report:
        """Grade every gradient of ``d`` (a dict: name -> array)."""
        return Report(self.verdict(d, name) for name in self.names)

    def assert_correct(self, d: dict[str, Any], name: str) -> None:
        """For pytest: fail with the verdict (and its hint) unless ``d[name]`` is right."""
        __tracebackhide__ = True
        v = self.verdict(d, name)
        if not v.ok:
            raise AssertionError(str(v))


def exercise(fn: Callable[..., Tensor], *inputs: Any) -> Exercise:
    """Record ``fn(*inputs)`` (it returns the loss) as a backprop exercise: see the module
    docstring. Floating inputs (numpy arrays, numbers or tensors) become leaves that
    require grad; the inputs' names are ``fn``'s parameter names."""
    return Exercise(fn, inputs)
