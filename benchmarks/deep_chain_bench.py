"""A chain of N = 100,000 scalar ops, ``x = x * 1.0001`` and ``x = x + 0.0001`` in turn.

Backward through it needs an engine without recursion: micrograd's recursive topological
sort stops with RecursionError; tapegrad (Scalar and 0-d Tensor) and torch walk it.
Prints the time to build the chain and to run backward (best of ``--repeat`` runs; each
engine in its own fresh interpreter, gc on), and checks d x_N / d x_0 = 1.0001 ** (N / 2).

    .venv/bin/python benchmarks/deep_chain_bench.py [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout


def chain(x, n: int):
    for _ in range(n // 2):
        x = x * 1.0001
        x = x + 0.0001
    return x


def engine(name: str) -> tuple:
    """(make a leaf, run backward, read the leaf's grad) for engine ``name``."""
    if name == "tapegrad.Scalar":
        from tapegrad import Scalar

        return Scalar, lambda y: y.backward(), lambda x: x.grad
    if name == "tapegrad.Tensor (0-d float64)":
        import tapegrad

        return (lambda v: tapegrad.tensor(v, dtype=tapegrad.float64, requires_grad=True),
                lambda y: y.backward(), lambda x: x.grad.item())
    if name == "torch 0-d float64":
        import torch

        torch.set_num_threads(1)
        return (lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                lambda y: y.backward(), lambda x: x.grad.item())
    from micrograd.engine import Value

    return Value, lambda y: y.backward(), lambda x: x.grad


ENGINES = ("tapegrad.Scalar", "tapegrad.Tensor (0-d float64)", "torch 0-d float64",
           "micrograd Value")


def run_one(name: str, n: int, repeat: int) -> str:
    """One table row: build and backward times of engine ``name`` (in this process)."""
    leaf, backward, grad_of = engine(name)
    expected = 1.0001 ** (n // 2)
    builds, backs, result = [], [], ""
    for _ in range(repeat):
        x0 = leaf(1.0)
        t0 = time.perf_counter()
        y = chain(x0, n)
        t1 = time.perf_counter()
        builds.append((t1 - t0) * 1e3)
        try:
            backward(y)
        except RecursionError:
            result = "RecursionError"
            break
        backs.append((time.perf_counter() - t1) * 1e3)
        g = grad_of(x0)
        result = f"{g:.6f}" + ("" if abs(g - expected) <= 1e-9 * expected else " WRONG")
        del y
    back = f"{min(backs):.1f}" if backs else "-"
    return f"| {name} | {min(builds):.1f} | {back} | {result} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.engine:
        print(run_one(args.engine, args.n, args.repeat))
        return
    print(f"chain of {args.n:,} ops (best of {args.repeat}); expected d x_N/d x_0 = "
          f"{1.0001 ** (args.n // 2):.6f}")
    print()
    print("| engine | build ms | backward ms | d x_N / d x_0 |")
    print("|---|---|---|---|")
    for name in ENGINES:
        out = subprocess.run(
            [sys.executable, __file__, "--engine", name, "--n", str(args.n),
             "--repeat", str(args.repeat)], check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
