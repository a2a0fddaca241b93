"""The cold start alone (import tapegrad, the demo's first training step): ``all.py --only cold``.

    .venv/bin/python benchmarks/import_time.py [--quick] [--threads 1] [...]   (all.py's options)

Kept under this name because code comments and tests point here; `all.py` holds the
harness and `workloads.py` the workload.
"""

import sys

from all import main

if __name__ == "__main__":
    raise SystemExit(main(["--only", "cold", *sys.argv[1:]]))
