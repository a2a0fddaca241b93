"""The harness's arithmetic and plumbing, with no timing of its own (tests check it).

`all.py` starts one child process per workload, engine, thread setting and round
(`child_command`, `thread_env`), in the order `schedule` gives, collects what each child
printed (`parse_child_output`) and reduces it here:

* **Ratio of medians.** A child times many steps and reports each; a round's figure is the
  median step of that child, an engine's figure the median over rounds (`median_of_rounds`),
  and the ratio to torch is one median over the other (`ratio_of_medians`) -- never a
  median of per-round ratios, which would pair rounds that share nothing.
* **Same work.** Every engine starts from the same data and weights, so the first step's loss
  must agree; `check_first_values` lists the children whose value differs from the reference
  engine's beyond the workload's tolerance, and the table marks them.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["THREAD_VARIABLES", "check_first_values", "child_command", "format_value",
           "median_of_rounds", "others_share", "parse_child_output", "ratio_of_medians", "schedule",
           "thread_env"]

HERE = Path(__file__).resolve().parent

#: The variables that size every thread pool the engines use: OpenMP (torch's intra-op pool
#: and numba's omp layer), OpenBLAS (numpy), MKL, numba's own pool. Set before the child
#: starts, because most pools read them once, at load time.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def median_of_rounds(rounds: Sequence[Sequence[float]]) -> float:
    """The median over rounds of each round's median (the engine's figure for a workload).

    >>> median_of_rounds([[1.0, 2.0, 9.0], [3.0], [2.5, 2.5]])
    2.5
    """
    if not rounds or any(len(r) == 0 for r in rounds):
        raise ValueError(f"every round needs at least one time, got {[len(r) for r in rounds]}")
    return statistics.median(statistics.median(r) for r in rounds)


def ratio_of_medians(ours: Sequence[Sequence[float]],
                     reference: Sequence[Sequence[float]]) -> float | None:
    """``median_of_rounds(ours) / median_of_rounds(reference)``; None when either side has no
    rounds (an engine skipped or failed) or the reference's median is 0.

    >>> ratio_of_medians([[2.0, 4.0]], [[1.0], [2.0], [3.0]])
    1.5
    """
    if not ours or not reference:
        return None
    ref = median_of_rounds(reference)
    return median_of_rounds(ours) / ref if ref else None


def check_first_values(values: dict[str, list[float | None]], reference: str, rtol: float,
                       atol: float) -> list[str]:
    """Engines (and rounds) whose first-step value differs from the reference engine's.

    ``values`` maps an engine to the value each of its children reported (None: the child
    computed none, e.g. micrograd's backward hit the recursion limit; not a mismatch). The
    reference is the first value of ``reference``; within an engine every round must agree
    with it too. Returns one line per disagreement (empty: all agree); a reference with no
    value is itself reported.

    >>> check_first_values({"torch": [2.0], "ours": [2.0, 2.5]}, "torch", 1e-6, 0.0)
    ['ours (round 2): 2.5 vs torch 2.0']
    """
    refs = [v for v in values.get(reference, []) if v is not None]
    if not refs:
        return [f"{reference}: no first value to compare with"]
    ref = refs[0]
    problems = []
    for engine, seen in values.items():
        for i, v in enumerate(seen):
            if v is None:
                continue
            if not (math.isfinite(v) and abs(v - ref) <= atol + rtol * abs(ref)):
                problems.append(f"{engine} (round {i + 1}): {v!r} vs {reference} {ref!r}")
    return problems


def schedule(rounds: dict[str, int], engines: dict[str, Sequence[str]],
             modes: Sequence[str]) -> list[tuple[int, str, str, str]]:
    """The order of the children: ``(round, workload, mode, engine)`` tuples.

    Rounds are interleaved (round 1 of every workload, then round 2, ...), so a slow minute of
    the machine hits every engine instead of one; within a round the engines' order rotates by
    one each round, so no engine always runs first after another workload's children. A
    workload takes part in its first ``rounds[workload]`` rounds.

    >>> [(r, e) for r, _, _, e in schedule({"W": 2}, {"W": ["a", "b"]}, ["default"])]
    [(0, 'a'), (0, 'b'), (1, 'b'), (1, 'a')]
    """
    order = []
    for r in range(max(rounds.values(), default=0)):
        for workload, n in rounds.items():
            if r >= n:
                continue
            names = list(engines[workload])
            shift = r % len(names) if names else 0
            for mode in modes:
                for engine in names[shift:] + names[:shift]:
                    order.append((r, workload, mode, engine))
    return order


def thread_env(mode: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment for a thread mode: ``"default"`` leaves every pool at the
    engine's own default (the variables of `THREAD_VARIABLES` removed, so a setting in the
    caller's shell does not leak in); a number sets all of them to it.

    >>> thread_env("1", {"PATH": "/bin"})["OPENBLAS_NUM_THREADS"]
    '1'
    >>> "OMP_NUM_THREADS" in thread_env("default", {"OMP_NUM_THREADS": "4"})
    False
    """
    env = {k: v for k, v in (os.environ if base is None else base).items()
           if k not in THREAD_VARIABLES}
    if mode != "default":
        if not mode.isdigit() or int(mode) < 1:
            raise ValueError(f"thread mode must be 'default' or a positive count, got {mode!r}")
        env.update(dict.fromkeys(THREAD_VARIABLES, mode))
    return env


def child_command(workload: str, engine: str, steps: int, warmup: int, device: str = "cpu",
                  extra: Iterable[str] = ()) -> list[str]:
    """The command line of one child: this interpreter running ``workloads.py``."""
    return [sys.executable, str(HERE / "workloads.py"), workload, engine, "--steps", str(steps),
            "--warmup", str(warmup), "--device", device, *extra]


def parse_child_output(stdout: str) -> dict:
    """The JSON object a child printed on its last non-empty line (libraries may print
    before it). Raises ValueError with the tail of the output when there is none."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = None
        if isinstance(result, dict):
            return result
    raise ValueError(f"no JSON result in the child's output: {stdout[-300:]!r}")


UNITS = {"us": 1e6, "ms": 1e3, "s": 1.0}


def format_value(seconds: float, unit: str) -> str:
    """``seconds`` in ``unit`` (us, ms or s) with about three significant digits.

    >>> format_value(0.000553, "ms"), format_value(17.3e-6, "us"), format_value(1.128, "ms")
    ('0.553', '17.3', '1128')
    """
    v = seconds * UNITS[unit]
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def others_share(busy: float, own: float, wall: float, cores: int) -> float:
    """The share of the machine's CPU that other processes used during a run: ``busy`` CPU
    seconds used by everything, ``own`` by the harness and its children, over ``wall`` seconds
    on ``cores`` cores (clamped to 0..1: the two clocks tick at different granularity).

    >>> others_share(busy=150.0, own=100.0, wall=100.0, cores=2)
    0.25
    """
    if wall <= 0 or cores < 1:
        raise ValueError(f"need wall > 0 and cores >= 1, got wall={wall}, cores={cores}")
    return min(1.0, max(0.0, (busy - own) / (wall * cores)))
