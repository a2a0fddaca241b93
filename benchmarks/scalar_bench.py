"""Scalar autograd engines on micrograd's demo: one SGD step of an MLP on two moons.

The workload (micrograd's demo notebook): an MLP 2-16-16-1 (ReLU hidden, linear output)
on 100 two-moons points, max-margin loss ``relu(1 - y * score)`` averaged, plus L2
regularisation ``1e-4 * sum(p * p)``; one step = forward over all 100 points, backward,
SGD update. The same graph is built from

* ``tapegrad.Scalar``,
* micrograd's ``Value`` (pip package ``micrograd``),
* torch 0-d float64 tensors (one thread),

each in its own fresh interpreter (so one engine's garbage does not slow the next), with
the garbage collector ON as a user runs them; micrograd once more with it off. The loop
is a plain training loop: the previous step's loss (and graph) lives until the next
forward pass reassigns it. Prints the median (and mean, min) wall-clock ms per step over
``--steps`` steps after ``--warmup`` steps, the median CPU ms (process time: steadier on
a busy machine), the ratios to tapegrad, and the graph size. The loss of the first step
must agree between engines (same data, same initial weights): checked, so the timings
compare equal work.

    .venv/bin/python benchmarks/scalar_bench.py [--steps 5] [--warmup 1] [--rounds 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout

N_POINTS = 100
SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
SEED = 1337


def make_moons(n: int = N_POINTS, noise: float = 0.1, seed: int = SEED) -> tuple:
    """Two interleaving half circles (sklearn's make_moons), labels -1 / +1."""
    rng = np.random.default_rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(t_out), 1 - np.cos(t_in)])
    y = np.concatenate([np.sin(t_out), 1 - np.sin(t_in) - 0.5])
    X = np.stack([x, y], axis=1) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([-np.ones(n_out), np.ones(n_in)])
    return X.tolist(), labels.tolist()


def initial_weights(seed: int = SEED) -> list:
    """[(weights per neuron, bias)] per layer; micrograd's init: uniform(-1, 1), bias 0."""
    rnd = random.Random(seed)
    return [[([rnd.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
            for nin, nout in zip(SIZES[:-1], SIZES[1:], strict=True)]


def loss_of(layers: list, params: list, X: list, Y: list, inp) -> object:
    """micrograd's demo loss, written once for every engine (they share the operators)."""
    scores = []
    for xrow in X:
        x = [inp(v) for v in xrow]
        for k, layer in enumerate(layers):
            nonlin = k < len(layers) - 1
            acts = [sum((wi * xi for wi, xi in zip(w, x, strict=True)), b) for w, b in layer]
            x = [a.relu() for a in acts] if nonlin else acts
        scores.append(x[0])
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in params)
    return data_loss + reg_loss


def engine(name: str):
    """(param maker, input maker, zero_grad, backward, sgd update, loss as float)."""
    if name == "tapegrad":
        from tapegrad import Scalar

        def sgd(params, lr):
            for p in params:
                p.data -= lr * p.grad

        def zero(params):
            for p in params:
                p.grad = 0.0

        return Scalar, Scalar, zero, lambda loss: loss.backward(), sgd, lambda loss: loss.data
    if name.startswith("micrograd"):
        from micrograd.engine import Value

        def sgd(params, lr):
            for p in params:
                p.data -= lr * p.grad

        def zero(params):
            for p in params:
                p.grad = 0

        return Value, Value, zero, lambda loss: loss.backward(), sgd, lambda loss: loss.data
    if name == "torch":
        import torch

        torch.set_num_threads(1)

        def param(v):
            return torch.tensor(v, dtype=torch.float64, requires_grad=True)

        def inp(v):
            return torch.tensor(v, dtype=torch.float64)

        def zero(params):
            for p in params:
                p.grad = None

        def sgd(params, lr):
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad

        return param, inp, zero, lambda loss: loss.backward(), sgd, lambda loss: loss.item()
    raise ValueError(name)


def graph_size(name: str, loss) -> int:
    """Recorded entries for tapegrad / torch; every Value (constants too) for micrograd."""
    if name == "tapegrad":
        from tapegrad.autograd.tape import Tape

        return len(Tape.of(loss))
    if name.startswith("micrograd"):
        seen, stack = {id(loss)}, [loss]
        while stack:
            for c in stack.pop()._prev:
                if id(c) not in seen:
                    seen.add(id(c))
                    stack.append(c)
        return len(seen)
    seen, stack = {loss.grad_fn}, [loss.grad_fn]
    while stack:
        for fn, _ in stack.pop().next_functions:
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return sum(1 for fn in seen if type(fn).__name__ != "AccumulateGrad")


def run_one(name: str, steps: int, warmup: int) -> dict:
    """Time ``steps`` training steps of engine ``name`` (in this process)."""
    if name == "micrograd-nogc":
        gc.disable()
    param, inp, zero, backward, sgd, value = engine(name)
    X, Y = make_moons()
    layers = [[([param(w) for w in ws], param(b)) for ws, b in layer]
              for layer in initial_weights()]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    times, cpu, losses = [], [], []
    for k in range(warmup + steps):
        t0, c0 = time.perf_counter(), time.process_time()
        zero(params)
        loss = loss_of(layers, params, X, Y, inp)
        backward(loss)
        sgd(params, 1.0 - 0.9 * k / 100)
        t1, c1 = time.perf_counter(), time.process_time()
        losses.append(value(loss))
        # as in a training loop, `loss` (and its graph) lives on until the next step's
        # forward pass is done and `loss` is reassigned
        if k >= warmup:
            times.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
    size = graph_size(name, loss)  # after timing: a Tape makes garbage of its own
    return {"engine": name, "times": times, "cpu": cpu, "losses": losses, "nodes": size,
            "params": len(params)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="fresh processes per engine")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_one(args.engine, args.steps, args.warmup)))
        return
    root = Path(__file__).resolve().parent.parent
    results = {}
    for _ in range(args.rounds):  # rounds interleave the engines: load drifts hit all
        for name in ("tapegrad", "micrograd", "micrograd-nogc", "torch"):
            out = subprocess.run(
                [sys.executable, __file__, "--engine", name, "--steps", str(args.steps),
                 "--warmup", str(args.warmup)],
                check=True, capture_output=True, text=True, cwd=root)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            if name in results:
                results[name]["times"] += r["times"]
                results[name]["cpu"] += r["cpu"]
            else:
                results[name] = r
    first = results["tapegrad"]["losses"][0]
    for name, r in results.items():
        if abs(r["losses"][0] - first) > 1e-9 * max(1.0, abs(first)):
            raise SystemExit(f"{name} computed loss {r['losses'][0]}, tapegrad {first}")
    base = statistics.median(results["tapegrad"]["times"])
    base_cpu = statistics.median(results["tapegrad"]["cpu"])
    print(f"W1: MLP 2-16-16-1 on {N_POINTS} moons points, one SGD step (median of "
          f"{args.rounds} x {args.steps} steps, each process after {args.warmup} warm-up; "
          "gc on unless noted)")
    print(f"first-step loss {first:.6f} in every engine; tapegrad records "
          f"{results['tapegrad']['nodes']:,} entries ({results['tapegrad']['params']} "
          f"parameters), torch {results['torch']['nodes']:,} nodes, micrograd "
          f"{results['micrograd']['nodes']:,} Values")
    print()
    print("| engine | ms/step (median) | mean | min | CPU ms/step (median) "
          "| engine / tapegrad (wall) | (CPU) |")
    print("|---|---|---|---|---|---|---|")
    labels = {"tapegrad": "tapegrad.Scalar", "micrograd": "micrograd Value",
              "micrograd-nogc": "micrograd Value, gc disabled",
              "torch": "torch 0-d float64 tensors (1 thread)"}
    for name, r in results.items():
        t, c = r["times"], r["cpu"]
        med, cmed = statistics.median(t), statistics.median(c)
        print(f"| {labels[name]} | {med:.1f} | {statistics.mean(t):.1f} | {min(t):.1f} "
              f"| {cmed:.1f} | {med / base:.1f}x | {cmed / base_cpu:.1f}x |")

if __name__ == "__main__":
    main()
