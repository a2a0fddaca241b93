"""Mutation testing of backward rules: would the tests notice a wrong derivative?

A test suite that passes proves little until it is seen to *fail* on wrong code. This
module breaks each op's backward on purpose, in the ways hand-written derivatives go
wrong, runs the op's checks again, and reports every broken version ("mutant") the checks
did not catch::

    sign          every gradient the backward returns, negated
    transpose     transposes inside the backward (x.T, x.mT, x.t(), x.transpose(...))
                  made no-ops
    sum-to-shape  the sums of a gradient back to a broadcast input's shape
                  (sum_to_size) made no-ops
    swap-saved    the tensors saved for backward read back in reverse order

A mutant is applied to one `Function` class at a time, only while that class's backward
runs; it is *not applicable* when the backward never does what it mutates (a backward
with no transpose has no transpose mutant). The checks are PyTorch's own database for the
op (`tapegrad.testing.torch_db.check_op`: its samples, gradients compared with torch's)
unless ``check`` is given. A mutant is *killed* when some case that passes unmutated fails
with it, and *survives* otherwise.

A surviving ``sum-to-shape`` mutant is usually equivalent, not missed: the engine sums a
gradient over the dims its input was broadcast along by itself (torch's engine does too),
so an op that forgot its own sum still gives the right numbers; its report line says so.
``tapegrad check --mutate [--ops NAME...]`` runs this from the command line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tapegrad.autograd.function import Function, Node
from tapegrad.ops.dims import Transpose
from tapegrad.ops.linalg import T
from tapegrad.tensor import Tensor
from tapegrad.testing import torch_db

__all__ = ["MUTATIONS", "MutantResult", "MutationReport", "mutate"]

MUTATIONS = {
    "sign": "every gradient the backward returns, negated",
    "transpose": "transposes inside the backward (x.T, x.mT, x.t(), x.transpose) made no-ops",
    "sum-to-shape": "sums back to a broadcast input's shape (sum_to_size) made no-ops",
    "swap-saved": "the tensors saved for backward read back in reverse order",
}
EQUIVALENT = {
    "sum-to-shape": "equivalent: the engine sums a broadcast gradient to its input's shape "
                    "itself (as torch's does), so the numbers do not change",
}


@dataclass
class MutantResult:
    op: str  # the database entry whose checks ran
    function: str  # the Function class mutated ("tapegrad.ops.linalg.Mm")
    mutation: str
    status: str  # "killed", "survived" or "not applicable"
    note: str = ""


@dataclass
class MutationReport:
    results: list[MutantResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.status == "survived"]

    def line(self) -> str:
        ops = len({r.op for r in self.results})
        return (f"mutants: {self.count('killed')} killed, {self.count('survived')} survived, "
                f"{self.count('not applicable')} not applicable (over {ops} ops)")

    def __str__(self) -> str:
        lines = [self.line()]
        for r in self.survivors:
            lines.append(f"  survived: {r.mutation} of {r.function} (checks of {r.op})"
                         + (f": {r.note}" if r.note else ""))
        return "\n".join(lines)


# ---------------------------------------------------------------- running backward rules
@contextlib.contextmanager
def _record_backwards() -> Iterator[set[type]]:
    """The Function classes whose backward ran inside the block."""
    seen: set[type] = set()
    original = Node._run_backward

    def recording(self: Node, grads: list) -> tuple:
        if self._function is not None:
            seen.add(self._function)
        return original(self, grads)

    Node._run_backward = recording
    try:
        yield seen
    finally:
        Node._run_backward = original


def _negate(result: Any) -> Any:
    if isinstance(result, tuple):
        return tuple(_negate(g) for g in result)
    return -result if isinstance(result, Tensor) else result


def _identity_method(counter: list[int]) -> Callable:
    def same(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        counter[0] += 1
        return self
    return same


@contextlib.contextmanager
def _patched(obj: Any, names: dict[str, Any]) -> Iterator[None]:
    saved = {n: obj.__dict__[n] for n in names if n in obj.__dict__}
    for n, v in names.items():
        setattr(obj, n, v)
    try:
        yield
    finally:
        for n in names:
            if n in saved:
                setattr(obj, n, saved[n])
            else:
                delattr(obj, n)


@contextlib.contextmanager
def _mutant(cls: type[Function], mutation: str, used: list[int]) -> Iterator[None]:
    """``cls``'s backward, broken by ``mutation`` while it runs; ``used[0]`` counts the
    times the mutation changed something (0: not applicable)."""
    backward = cls.__dict__.get("backward")
    inherited = backward is None
    original = cls.backward  # a plain function (staticmethod unwrapped)

    def tensor_patches() -> dict[str, Any]:
        same = _identity_method(used)
        if mutation == "transpose":
            return {"t": same, "transpose": same, "swapaxes": same,
                    "T": property(same), "mT": property(same)}
        if mutation == "sum-to-shape":
            return {"sum_to_size": same}
        return {}

    def function_patches() -> list[tuple[type, dict[str, Any]]]:
        """The transpose ops themselves (``T.apply(b)`` in mm's backward) as no-ops."""
        if mutation != "transpose":
            return []

        def same(x: Any, *args: Any, **kwargs: Any) -> Any:
            used[0] += 1
            return x
        return [(T, {"apply": staticmethod(same)}), (Transpose, {"apply": staticmethod(same)})]

    def mutated(ctx: Node, *grads: Any) -> Any:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_patched(Tensor, tensor_patches()))
            for target, names in function_patches():
                stack.enter_context(_patched(target, names))
            result = original(ctx, *grads)
        if mutation == "sign":
            used[0] += 1
            return _negate(result)
        return result

    node_patches: dict[str, Any] = {}
    if mutation == "swap-saved":
        read = Node.saved_tensors.fget

        def reversed_saved(self: Node) -> tuple:
            saved = read(self)
            if len(saved) > 1 and any(a is not b for a, b in zip(saved, saved[::-1],
                                                                strict=True)):
                used[0] += 1
            return tuple(reversed(saved))

        node_patches["saved_tensors"] = property(reversed_saved)
    with _patched(cls._node_class, node_patches):
        cls.backward = staticmethod(mutated)
        try:
            yield
        finally:
            if inherited:
                del cls.backward
            else:
                cls.backward = backward


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _default_check(op: str) -> Callable[[], set]:
    def check() -> set:
        report = torch_db.check_op(op)
        return {(c.kind, c.dtype, c.index) for c in report.cases if c.passed}
    return check


def mutate(ops: Iterable[str], check: Callable[[str], Callable[[], set]] | None = None,
           mutations: Iterable[str] = tuple(MUTATIONS),
           progress: Callable[[str], None] | None = None) -> MutationReport:
    """Run every mutant of every Function whose backward the checks of ``ops`` reach.

    ``check(op)`` returns a function that runs the checks and returns the set of cases
    that passed (any hashable ids); by default the op's torch-database cases.
    """
    report = MutationReport()
    for op in ops:
        run = (check or _default_check)(op)
        with _record_backwards() as reached:
            baseline = run()
        for cls in sorted(reached, key=_name):
            if not cls.__module__.startswith("tapegrad."):
                continue  # a Function of the checks themselves, not one of tapegrad's ops
            for mutation in mutations:
                if progress is not None:
                    progress(f"{op}: {mutation} of {_name(cls)}")
                used = [0]
                with _mutant(cls, mutation, used):
                    try:
                        passed = run()
                    except Exception as exc:  # a crash in the checks counts as caught
                        passed, crash = set(), f"{type(exc).__name__}: {exc}"[:120]
                    else:
                        crash = ""
                if not used[0]:
                    status, note = "not applicable", ""
                elif baseline - passed:
                    status, note = "killed", crash or f"{len(baseline - passed)} cases failed"
                else:
                    status, note = "survived", EQUIVALENT.get(mutation, "")
                report.results.append(MutantResult(op, _name(cls), mutation, status, note))
    return report
