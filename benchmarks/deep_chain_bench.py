"""A chain of N = 100,000 scalar ops, ``x = x * 1.0001`` and ``x = x + 0.0001`` in turn.

Backward through it needs an engine without recursion: micrograd's recursive topological
sort stops with RecursionError; tapegrad (Scalar and 0-d Tensor) and torch walk it.
Prints the time to build the chain and to run backward (best of ``--repeat`` runs, each
in the same fresh process, gc on), and checks d x_N / d x_0 = 1.0001 ** (N / 2).

    .venv/bin/python benchmarks/deep_chain_bench.py [--n 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout


def chain(x, n: int):
    for _ in range(n // 2):
        x = x * 1.0001
        x = x + 0.0001
    return x


def engines() -> dict:
    """name -> (make a leaf, run backward, read the leaf's grad)."""
    import torch
    from micrograd.engine import Value

    import tapegrad

    torch.set_num_threads(1)
    return {
        "tapegrad.Scalar": (tapegrad.Scalar, lambda y: y.backward(), lambda x: x.grad),
        "tapegrad.Tensor (0-d float64)": (
            lambda v: tapegrad.tensor(v, dtype=tapegrad.float64, requires_grad=True),
            lambda y: y.backward(), lambda x: x.grad.item()),
        "torch 0-d float64": (
            lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
            lambda y: y.backward(), lambda x: x.grad.item()),
        "micrograd Value": (Value, lambda y: y.backward(), lambda x: x.grad),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    expected = 1.0001 ** (args.n // 2)
    print(f"chain of {args.n:,} ops (best of {args.repeat}); expected d x_N/d x_0 = "
          f"{expected:.6f}")
    print()
    print("| engine | build ms | backward ms | d x_N / d x_0 |")
    print("|---|---|---|---|")
    for name, (leaf, backward, grad_of) in engines().items():
        builds, backs, result = [], [], ""
        for _ in range(args.repeat):
            x0 = leaf(1.0)
            t0 = time.perf_counter()
            y = chain(x0, args.n)
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
        print(f"| {name} | {min(builds):.1f} | {back} | {result} |")


if __name__ == "__main__":
    main()
