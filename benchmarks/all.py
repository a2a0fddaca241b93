"""Every benchmark in one table, each engine in its own fresh process.

    .venv/bin/python benchmarks/all.py                  # the whole table (~10 min on 2 cores)
    .venv/bin/python benchmarks/all.py --quick          # a smoke run: 1 round, few steps
    .venv/bin/python benchmarks/all.py --threads 1      # every engine on one thread only
    .venv/bin/python benchmarks/all.py --only W3 W4     # some rows (keys: see --help)
    .venv/bin/python benchmarks/all.py --device cuda    # W2, W3, W4, LSTM on the GPU

How the numbers are taken (why: see `workloads.py`):

* one child process per workload, engine, thread setting and round; rounds interleaved
  (round 1 of everything, then round 2, ...), the engines' order rotating from round to
  round; 3 rounds, at least 5 for W4 (torch's 2-thread convolution swings between runs);
* every engine of a workload starts from the same data and weights, and the first step's
  loss must agree across engines (checked; a disagreement is marked and fails the run);
* each cell is the median over rounds of each round's median step, with the lowest and
  highest round in brackets; "vs torch" is the ratio of those medians;
* thread settings: ``default`` leaves each engine its own (torch's intra-op threads,
  OpenBLAS, numba: one per core) and ``1`` sets OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS=1;
  the full run shows both (``--threads both``, the default; ``--quick`` runs ``default``);
* wall time by default; every child also records its process CPU time, which hardly grows
  when other processes share the cores: ``--cpu-time`` prints that instead (meaningful
  with one thread; ``--from-json`` reprints a saved run either way);
* peak RSS is the process's peak during the timed loop (the counter is reset just before
  it), and the growth over the RSS at the loop's start;
* cold start: ``import tapegrad`` and the demo's first training step in a fresh process,
  with an empty numba cache (``NUMBA_CACHE_DIR`` pointing at a new directory: every kernel
  the step needs is compiled) and with a warm one; torch for scale. Python's own bytecode
  cache is allowed in every child (a ``PYTHONDONTWRITEBYTECODE`` of the caller's is
  dropped): pip byte-compiles an installed package, so a user's import reads bytecode, and
  an import that recompiles every source file would measure the compiler instead.

With ``--device cuda`` tapegrad and torch run W2, W3, W4 and LSTM on the GPU (clocks read
after synchronising); a library with no CUDA is skipped with its reason, and under the
simulator (``NUMBA_ENABLE_CUDASIM=1``) the shapes shrink and the timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from harness import (
    check_first_values,
    child_command,
    format_value,
    median_of_rounds,
    others_share,
    parse_child_output,
    ratio_of_medians,
    schedule,
    thread_env,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "torch"


@dataclass(frozen=True)
class Workload:
    """One block of the table: which engines run it (id -> label), how its times print, how
    many steps a child times (``quick_steps`` with --quick), and the first-value tolerance."""

    key: str
    title: str
    engines: dict[str, str]
    unit: str
    steps: int
    quick_steps: int
    warmup: int
    rtol: float
    atol: float = 0.0
    rounds: int = 1  # at least this many rounds, whatever --rounds says (W4: 5)
    metrics: dict[str, str] = field(default_factory=lambda: {"step": ""})


WORKLOADS = [
    Workload("ops", "small-tensor op (8 elements, mul/add/tanh chain), fwd+bwd, per op",
             {"tapegrad": "tapegrad", "torch": "torch"}, "us", 400, 50, 20, 1e-5, 1e-6,
             metrics={"step": "", "forward": "of which forward (recording)",
                      "backward": "of which backward"}),
    Workload("W1", "W1 Scalar MLP 2-16-16-1 step, 100 moons points (~65k-node graph)",
             {"tapegrad": "tapegrad.Scalar", "micrograd": "micrograd Value",
              "micrograd-nogc": "micrograd Value, gc off", "torch": "torch 0-d float64"},
             "ms", 5, 1, 1, 1e-9, 1e-12),
    Workload("W2", "W2 digits MLP 64-128-64-10, batch 256, SGD step",
             {"tapegrad": "tapegrad", "torch": "torch", "numpy": "numpy by hand",
              "mygrad": "mygrad"}, "ms", 200, 20, 5, 1e-5),
    Workload("W3", "W3 MLP 784-512-512-10, batch 128, SGD step",
             {"tapegrad": "tapegrad", "torch": "torch", "numpy": "numpy by hand",
              "mygrad": "mygrad"}, "ms", 100, 10, 5, 1e-5),
    Workload("W4", "W4 LeNet-5 forward+backward, batch 32 of 3x32x32",
             {"tapegrad": "tapegrad", "torch": "torch"}, "ms", 50, 5, 5, 1e-5, rounds=5),
    Workload("LSTM", "LSTM(32, 128), seq 32, batch 32, forward+backward",
             {"tapegrad": "tapegrad", "torch": "torch"}, "ms", 30, 3, 3, 1e-5, 1e-3),
    Workload("chain", "deep chain of 100,000 0-d ops (x*1.0001, x+0.0001)",
             {"tapegrad": "tapegrad.Tensor 0-d float64", "torch": "torch 0-d float64",
              "scalar": "tapegrad.Scalar", "micrograd": "micrograd Value"},
             "ms", 2, 1, 0, 1e-9, metrics={"build": "build", "backward": "backward"}),
    Workload("cold", "cold start, fresh process",
             {"tapegrad-empty": "tapegrad, empty numba cache",
              "tapegrad-warm": "tapegrad, warm numba cache", "torch": "torch"},
             "s", 1, 1, 0, 1e-5,
             metrics={"import": "import", "first step": "demo's first training step"}),
]
BY_KEY = {w.key: w for w in WORKLOADS}
GPU_WORKLOADS = ("W2", "W3", "W4", "LSTM")
QUICK_CHAIN_N = 20_000
#: Above this share of the machine's CPU used by other processes the run warns that its
#: figures are noisy (on 2 cores one busy neighbour process is already 50%).
BUSY_SHARE = 0.1


def simulated() -> bool:
    """Whether tapegrad's CUDA kernels would run in numba's simulator in the children."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def child_engine(engine: str) -> str:
    """The engine name `workloads.py` knows (the cold start's two tapegrad variants differ
    only in their numba cache directory)."""
    return "tapegrad" if engine.startswith("tapegrad-") else engine


class Runner:
    """Starts the children and keeps what they report: ``results[(workload, mode, engine)]`` is
    the list of child results, one per round."""

    def __init__(self, args: argparse.Namespace, tmp: str) -> None:
        self.args, self.tmp = args, tmp
        self.results: dict[tuple[str, str, str], list[dict]] = {}
        self.warm_cache = os.path.join(tmp, "warm-cache")
        self.count = 0

    def command(self, w: Workload, engine: str, extra: list[str] | None = None) -> list[str]:
        extra = list(extra or [])
        if w.key == "chain" and self.args.quick:
            extra += ["--chain-n", str(QUICK_CHAIN_N)]
        steps, warmup = (w.quick_steps if self.args.quick else w.steps), w.warmup
        if self.args.device == "cuda" and simulated():  # minutes per step: one step is enough
            steps, warmup = 1, 1
        return child_command(w.key, child_engine(engine), steps, warmup, self.args.device,
                             extra)

    def env(self, w: Workload, mode: str, engine: str) -> dict[str, str]:
        env = thread_env(mode)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # see the module docstring (cold start)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if engine == "tapegrad-empty":
            self.count += 1
            env["NUMBA_CACHE_DIR"] = os.path.join(self.tmp, f"empty-cache-{self.count}")
        elif engine == "tapegrad-warm":
            env["NUMBA_CACHE_DIR"] = self.warm_cache
        return env

    def run(self, w: Workload, mode: str, engine: str, extra: list[str] | None = None) -> dict:
        proc = subprocess.run(self.command(w, engine, extra), env=self.env(w, mode, engine),
                              capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
            return {"error": tail[0]}
        try:
            return parse_child_output(proc.stdout)
        except ValueError as exc:
            return {"error": str(exc)}

    def record(self, w: Workload, mode: str, engine: str, result: dict) -> None:
        self.results.setdefault((w.key, mode, engine), []).append(result)

    def rounds(self, key: str, mode: str, engine: str, metric: str) -> list[list[float]]:
        """Each round's times of ``metric`` (its CPU times with ``--cpu-time``)."""
        if getattr(self.args, "cpu_time", False):
            metric += " cpu"
        return [r["metrics"][metric] for r in self.results.get((key, mode, engine), [])
                if metric in r.get("metrics", {})]


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def describe(result: dict, w: Workload) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    return ", ".join(f"{m} {format_value(statistics.median(t), w.unit)} {w.unit}"
                     for m, t in result["metrics"].items() if not m.endswith(" cpu"))


def run_all(runner: Runner, workloads: list[Workload], modes: list[str]) -> None:
    rounds = {w.key: 1 if runner.args.quick else max(w.rounds, runner.args.rounds)
              for w in workloads}
    plan = schedule(rounds, {w.key: list(w.engines) for w in workloads}, modes)
    if any(w.key == "cold" for w in workloads):  # fill the warm cache once, untimed
        progress("priming the warm numba cache for the cold-start rows ...")
        runner.run(BY_KEY["cold"], "default", "tapegrad-warm")
    for i, (r, key, mode, engine) in enumerate(plan, 1):
        w = BY_KEY[key]
        result = runner.run(w, mode, engine)
        runner.record(w, mode, engine, result)
        progress(f"[{i}/{len(plan)}] round {r + 1} {key} {engine} ({mode} threads): "
                 f"{describe(result, w)}")


def run_device(runner: Runner, workloads: list[Workload]) -> None:
    """--device cuda: tapegrad and torch on the GPU, round by round; when torch cannot run
    there, one torch child on the CPU (same shapes) gives the first-loss reference."""
    rounds = {w.key: 1 if runner.args.quick or simulated() else max(w.rounds, runner.args.rounds)
              for w in workloads}
    plan = schedule(rounds, {w.key: ["tapegrad", "torch"] for w in workloads}, ["default"])
    for i, (r, key, mode, engine) in enumerate(plan, 1):
        w = BY_KEY[key]
        result = runner.run(w, mode, engine)
        runner.record(w, mode, engine, result)
        progress(f"[{i}/{len(plan)}] round {r + 1} {key} {engine} on cuda: "
                 f"{describe(result, w)}")
    for w in workloads:
        torch_runs = runner.results.get((w.key, "default", "torch"), [])
        if torch_runs and all("skipped" in t for t in torch_runs):
            tiny = any(t.get("tiny") for t in runner.results.get((w.key, "default", "tapegrad"),
                                                                 []))
            saved, runner.args.device = runner.args.device, "cpu"
            ref = runner.run(w, "default", "torch", ["--tiny"] if tiny else [])
            runner.args.device = saved
            ref.pop("metrics", None)  # a CPU time next to GPU times would mislead
            runner.record(w, "default", "torch (cpu, reference)", ref)


# ---------------------------------------------------------------------------------------------
# The table.


def first_values(runner: Runner, w: Workload, engines: list[str],
                 modes: list[str]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for engine in engines:
        for mode in modes:
            for r in runner.results.get((w.key, mode, engine), []):
                if "error" not in r and "skipped" not in r:
                    out.setdefault(engine, []).append(r.get("first"))
    return out


def cell(rounds: list[list[float]], unit: str) -> str:
    if not rounds:
        return "-"
    text = format_value(median_of_rounds(rounds), unit)
    if len(rounds) > 1:
        per_round = [statistics.median(r) for r in rounds]
        text += f" [{format_value(min(per_round), unit)}-{format_value(max(per_round), unit)}]"
    return text


def ratio_cell(ours: list[list[float]], ref: list[list[float]]) -> str:
    ratio = ratio_of_medians(ours, ref)
    return "-" if ratio is None else f"{ratio:.2f}x"


def rss_cell(results: list[dict]) -> str:
    peaks = [r["rss_peak"] for r in results if r.get("rss_peak")]
    growth = [r["rss_peak"] - r["rss_start"] for r in results
              if r.get("rss_peak") and r.get("rss_start")]
    if not peaks:
        return ""
    return f"{statistics.median(peaks) / 2**20:.0f} (+{statistics.median(growth) / 2**20:.0f})"


def print_table(runner: Runner, workloads: list[Workload], modes: list[str]) -> list[str]:
    """Print the table; returns the problems found (first-value mismatches, errors)."""
    problems: list[str] = []
    head = "| workload | engine |"
    rule = "|---|---|"
    for mode in modes:
        name = "default threads" if mode == "default" else f"{mode} thread" + "s" * (mode != "1")
        head += f" {name} | vs torch |"
        rule += "---|---|"
    head += " first loss | peak RSS MB (loop growth) |"
    rule += "---|---|"
    print(head)
    print(rule)
    for w in workloads:
        engines = list(dict.fromkeys([e for (k, _, e) in runner.results if k == w.key]))
        engines.sort(key=lambda e: list(w.engines).index(e) if e in w.engines else 99)
        firsts = first_values(runner, w, engines, modes)
        mismatches = check_first_values(firsts, engines[0] if REFERENCE not in firsts
                                        else REFERENCE, w.rtol, w.atol) if firsts else []
        problems += [f"{w.key}: first value differs: {m}" for m in mismatches]
        bad = {m.split(" (round")[0] for m in mismatches}
        w_title = w.title
        if w.key == "chain" and runner.args.quick:
            w_title = w_title.replace("100,000", f"{QUICK_CHAIN_N:,}")
        if runner.args.device == "cuda" and simulated():
            w_title += " (simulator: tiny shapes)"
        for metric, metric_title in w.metrics.items():
            title = w_title + (f": {metric_title}" if metric_title else "")
            for i, engine in enumerate(engines):
                label = w.engines.get(engine, engine)
                row = f"| {title if i == 0 else ''} | {label} |"
                for mode in modes:
                    ours = runner.rounds(w.key, mode, engine, metric)
                    ref = runner.rounds(w.key, mode, REFERENCE, metric)
                    rs = runner.results.get((w.key, mode, engine), [])
                    skipped = [r["skipped"] for r in rs if "skipped" in r]
                    errors = [r["error"] for r in rs if "error" in r]
                    text = cell(ours, w.unit) + f" {w.unit}" * bool(ours)
                    if errors:
                        text += f" ({len(errors)} failed)"
                        problems.append(f"{w.key} {engine} ({mode}): {errors[0]}")
                    if skipped and not ours:
                        text = f"skipped: {skipped[0]}"
                    row += f" {text} | {ratio_cell(ours, ref) if engine != REFERENCE else ''} |"
                first = [v for v in firsts.get(engine, []) if v is not None]
                notes = {r.get("note") for m in modes
                         for r in runner.results.get((w.key, m, engine), []) if r.get("note")}
                first_text = f"{first[0]:.6g}" if first else "; ".join(sorted(notes)) or "-"
                if engine in bad:
                    first_text += " MISMATCH"
                results = runner.results.get((w.key, modes[0], engine), [])
                row += f" {first_text} | {rss_cell(results) if metric == 'step' else ''} |"
                print(row)
    return problems


# ---------------------------------------------------------------------------------------------
# Targets (issue 12): one line each, computed from the table's medians.


def targets(runner: Runner, modes: list[str]) -> list[str]:
    def med(key: str, engine: str, metric: str = "step", mode: str = "default") -> float | None:
        rounds = runner.rounds(key, mode, engine, metric)
        return median_of_rounds(rounds) if rounds else None

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "NOT met")

    lines = []
    for mode in modes:
        tag = "default threads" if mode == "default" else f"{mode} thread(s)"

        def ratio(key: str, metric: str = "step", mode: str = mode) -> float | None:
            a, b = med(key, "tapegrad", metric, mode), med(key, "torch", metric, mode)
            return a / b if a is not None and b else None

        for key, metric, limit, what in (
                ("ops", "step", 2.0, "per-op overhead, tapegrad / torch"),
                ("W2", "step", 1.0, "W2 tapegrad / torch"),
                ("W3", "step", 1.1, "W3 tapegrad / torch"),
                ("W4", "step", 1.3, "W4 tapegrad / torch"),
                ("LSTM", "step", 1.5, "LSTM tapegrad / torch"),
                ("chain", "build", 2.0, "deep chain build, tapegrad / torch"),
                ("chain", "backward", 2.0, "deep chain backward, tapegrad / torch")):
            r = ratio(key, metric)
            if r is not None:
                lines.append(f"{what}: {r:.2f}x (target <= {limit}x) {verdict(r <= limit)} "
                             f"[{tag}]")
        scalar, micro, t0d = (med("W1", e, mode=mode) for e in ("tapegrad", "micrograd", "torch"))
        if scalar and micro:
            lines.append(f"W1 Scalar {micro / scalar:.1f}x faster than micrograd (target >= 20x) "
                         f"{verdict(micro / scalar >= 20)} [{tag}]")
        if scalar and t0d:
            lines.append(f"W1 Scalar {t0d / scalar:.1f}x faster than torch 0-d (target >= 5x) "
                         f"{verdict(t0d / scalar >= 5)} [{tag}]")
        for key in ("W3", "W4"):
            peaks = {e: [r["rss_peak"] for r in runner.results.get((key, mode, e), [])
                         if r.get("rss_peak")] for e in ("tapegrad", "torch")}
            if all(peaks.values()):
                ours, theirs = (statistics.median(peaks[e]) / 2**20 for e in ("tapegrad", "torch"))
                lines.append(f"{key} peak RSS: tapegrad {ours:.0f} MB, torch {theirs:.0f} MB "
                             f"(target <= torch's) {verdict(ours <= theirs)} [{tag}]")
    imp = med("cold", "tapegrad-empty", "import", modes[0])
    if imp is not None:
        lines.append(f"import tapegrad: {imp:.2f} s (target <= 0.3 s) {verdict(imp <= 0.3)}")
    first = med("cold", "tapegrad-empty", "first step", modes[0])
    if first is not None:
        lines.append(f"demo's first training step, empty numba cache: {first:.2f} s "
                     f"(target <= 2 s) {verdict(first <= 2.0)}")
    return lines


def print_compiles(runner: Runner, mode: str) -> None:
    """Where the empty-cache first step's time goes: numba's import and each compilation
    (median seconds over rounds; nested compilations are also inside their caller's time)."""
    runs = [r for r in runner.results.get(("cold", mode, "tapegrad-empty"), [])
            if "compiles" in r]
    if not runs:
        return
    numba_import = statistics.median(r["numba_import"] for r in runs)
    by_kernel: dict[tuple[str, str, int], list[float]] = {}
    for r in runs:
        for name, kinds, seconds, depth in r["compiles"]:
            by_kernel.setdefault((name, kinds, depth), []).append(seconds)
    top = sum(statistics.median(t) for (_, _, depth), t in by_kernel.items() if depth == 0)
    first = median_of_rounds([r["metrics"]["first step"] for r in runs])  # wall, as compiles
    print(f"\nThe demo's first step on an empty numba cache ({first:.2f} s): import numba "
          f"{numba_import:.2f} s, compiling {top:.2f} s, the rest {first - numba_import - top:.2f}"
          " s (running the step). Compilations (median s; indented: compiled inside the one "
          "above, time included there):")
    for (name, kinds, depth), t in by_kernel.items():
        print(f"    {'  ' * depth}{statistics.median(t):6.3f}  {name} ({kinds})")


def versions() -> str:
    parts = [f"python {platform.python_version()}"]
    for dist in ("numpy", "numba", "torch", "micrograd", "mygrad"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds every process on the machine has used since boot, CPU seconds this
    process and its finished children have used), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait are busy
    busy = sum(fields[:3]) + sum(fields[5:8])
    own = sum(getattr(resource.getrusage(who), field) for who in
              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for field in ("ru_utime", "ru_stime"))
    return busy / os.sysconf("SC_CLK_TCK"), own


def thread_summary(runner: Runner, mode: str) -> str:
    seen: dict[str, set[int]] = {}
    for (_, m, _), results in runner.results.items():
        if m == mode:
            for r in results:
                for pool, n in r.get("threads", {}).items():
                    seen.setdefault(pool, set()).add(n)
    return ", ".join(f"{pool} {'/'.join(map(str, sorted(ns)))}"
                     for pool, ns in sorted(seen.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round, few steps, a 20,000-op chain, default threads")
    parser.add_argument("--threads", choices=("default", "1", "both"),
                        help="default: each engine's own thread settings; 1: every pool at one "
                             "thread; both (the default, except with --quick): two columns")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per workload (at least 5 for W4; default 3)")
    parser.add_argument("--only", nargs="+", choices=list(BY_KEY), metavar="KEY",
                        help=f"run only these workloads ({', '.join(BY_KEY)})")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: tapegrad and torch on the GPU, W2/W3/W4/LSTM only")
    parser.add_argument("--cpu-time", action="store_true",
                        help="cells in process CPU time instead of wall time: steadier on a "
                             "busy machine, meaningful for single-threaded runs (--threads 1)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the header and every child's raw result there")
    parser.add_argument("--from-json", metavar="PATH",
                        help="run nothing: print the table of a run saved with --json")
    args = parser.parse_args(argv)
    if args.from_json:
        return reprint(args, Path(args.from_json))
    threads = args.threads or ("default" if args.quick or args.device == "cuda" else "both")
    modes = ["default", "1"] if threads == "both" else [threads]
    keys = args.only or [w.key for w in WORKLOADS]
    if args.device == "cuda":
        modes = ["default"]
        keys = [k for k in keys if k in GPU_WORKLOADS]
    workloads = [BY_KEY[k] for k in keys]

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cpu_start, wall_start = cpu_seconds(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tapegrad-bench-") as tmp:
        runner = Runner(args, tmp)
        if args.device == "cuda":
            if simulated():
                progress("WARNING: NUMBA_ENABLE_CUDASIM=1: tapegrad's kernels run in numba's "
                         "simulator; tiny shapes, and the timings mean nothing")
            run_device(runner, workloads)
        else:
            run_all(runner, workloads, modes)
    cpu_end, wall = cpu_seconds(), time.perf_counter() - wall_start
    cores = os.cpu_count() or 1
    others = (None if cpu_start is None or cpu_end is None else
              others_share(cpu_end[0] - cpu_start[0], cpu_end[1] - cpu_start[1], wall, cores))
    one_round = args.quick or (args.device == "cuda" and simulated())
    rounds = 1 if one_round else args.rounds
    header = {
        "title": f"tapegrad benchmarks, {started}{' (--quick)' * args.quick}",
        "machine": f"{cpu_model()}, {cores} cores, {platform.system()} {platform.release()}",
        "minutes": wall / 60, "others": others, "versions": versions(),
        "method": f"each engine in a fresh process per round; {rounds} interleaved rounds"
                  f"{'' if one_round else ' (W4: ' + str(max(5, args.rounds)) + ')'}; cell = "
                  "median over rounds of each round's median [lowest-highest round]; vs torch "
                  f"= ratio of medians; device {args.device}",
    }
    if args.json:
        raw = [{"workload": k, "mode": m, "engine": e, "results": rs}
               for (k, m, e), rs in runner.results.items()]
        Path(args.json).write_text(json.dumps({"header": header, "args": vars(args),
                                               "results": raw}, indent=1))
    return report(runner, header, workloads, modes)


def reprint(args: argparse.Namespace, path: Path) -> int:
    """``--from-json``: the table of a saved run (its header, options and results)."""
    saved = json.loads(path.read_text())
    if isinstance(saved, list):  # saved before the header was: results only
        saved = {"header": {"title": f"tapegrad benchmarks saved in {path.name}"},
                 "args": {}, "results": saved}
    runner = Runner(argparse.Namespace(**{**vars(args), **saved["args"], "json": None,
                                          "cpu_time": args.cpu_time}), "")
    for item in saved["results"]:
        runner.results[(item["workload"], item["mode"], item["engine"])] = item["results"]
    keys = {k for k, _, _ in runner.results}
    seen_modes = {m for _, m, _ in runner.results}
    modes = [m for m in ("default", "1") if m in seen_modes]
    return report(runner, saved["header"], [w for w in WORKLOADS if w.key in keys], modes)


def report(runner: Runner, header: dict, workloads: list[Workload], modes: list[str]) -> int:
    """Print the header, the table, the targets and the cold start's compile breakdown;
    returns the exit status (1 when a child failed or the first values disagree)."""
    print(f"\n## {header['title']}")
    others = header.get("others")
    busy = "?" if others is None else f"{100 * others:.0f}%"
    if "machine" in header:
        print(f"machine: {header['machine']}; {header['minutes']:.1f} min; other processes "
              f"used {busy} of its CPU time meanwhile")
    warning = others is not None and others > BUSY_SHARE
    if warning:
        print(f"WARNING: the machine was busy ({busy} of its CPU went to other processes): "
              "these figures are noisy, the widest [lowest-highest] ranges most; rerun them "
              "on a quiet machine")
    for key in ("versions", "method"):
        if key in header:
            print(header[key])
    if getattr(runner.args, "cpu_time", False):
        print("CLOCK: process CPU time (all threads), not wall time (--cpu-time)")
    for mode in modes:
        print(f"threads ({mode}), as the children reported them: {thread_summary(runner, mode)}")
    print()
    problems = print_table(runner, workloads, modes)
    if runner.args.device == "cpu":
        lines = targets(runner, modes)
        if lines:
            print("\nTargets of issue 12" + " (verdicts from noisy figures)" * bool(warning)
                  + ":")
            for line in lines:
                print(f"- {line}")
        if any(w.key == "cold" for w in workloads):
            print_compiles(runner, modes[0])
    if problems:
        print("\nProblems:")
        for p in problems:
            print(f"- {p}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
