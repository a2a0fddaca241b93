"""Cold start of the digits example: wall time of a fresh process running
examples/08_digits_mlp.py in fast mode, with an empty and with a warm numba cache.

Run: .venv/bin/python benchmarks/cold_start.py
An empty cache means every kernel the example touches is compiled (numba's JIT); a warm
cache loads the compiled machine code from disk (``cache=True``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = f"""
import importlib.util, sys, time
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("digits", r"{ROOT / 'examples' / '08_digits_mlp.py'}")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.main(fast=True, out=sys.argv[1])
"""


def run(cache_dir: str, out: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", PROGRAM, out], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "grid.png")
        cold = [run(os.path.join(tmp, f"empty{i}"), out) for i in range(2)]
        warm_dir = os.path.join(tmp, "warm")
        run(warm_dir, out)
        warm = [run(warm_dir, out) for _ in range(3)]
    print("digits example (fast mode: 2 epochs), whole process, seconds")
    print(f"  empty numba cache: {statistics.median(cold):6.2f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in cold) + ")")
    print(f"  warm numba cache:  {statistics.median(warm):6.2f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in warm) + ")")


if __name__ == "__main__":
    main()
