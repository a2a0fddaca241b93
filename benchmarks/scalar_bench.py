"""W1 alone (tapegrad.Scalar, micrograd, torch 0-d tensors): ``all.py --only W1``.

    .venv/bin/python benchmarks/scalar_bench.py [--quick] [--threads 1] [...]   (all.py's options)

Kept under this name because code comments and tests point here; `all.py` holds the
harness and `workloads.py` the workload.
"""

import sys

from all import main

if __name__ == "__main__":
    raise SystemExit(main(["--only", "W1", *sys.argv[1:]]))
