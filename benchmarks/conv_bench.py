"""W4 alone, LeNet-5 forward+backward (tapegrad, torch): ``all.py --only W4``.

    .venv/bin/python benchmarks/conv_bench.py [--quick] [--threads 1] [...]   (all.py's options)

Kept under this name because code comments and tests point here; `all.py` holds the
harness and `workloads.py` the workload.
"""

import sys

from all import main

if __name__ == "__main__":
    raise SystemExit(main(["--only", "W4", *sys.argv[1:]]))
