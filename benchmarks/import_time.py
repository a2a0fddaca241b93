"""Time of `import tapegrad` plus a first backward, with a cold and a warm numba cache.

Run: .venv/bin/python benchmarks/import_time.py
The issue's target: under 0.5 s with a warm cache. Each figure is the median of 5 fresh
processes; the cold figure points NUMBA_CACHE_DIR at an empty directory.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import json, time
t0 = time.perf_counter()
import tapegrad
t1 = time.perf_counter()
x = tapegrad.tensor([[1.0, 2.0]], requires_grad=True)
(x * x).sum().backward()
x.softmax(dim=1).sum().backward()
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_backward": t2 - t1}))
"""


def run(env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    base = dict(os.environ)
    rows = []
    with tempfile.TemporaryDirectory() as empty:
        cold = [run({**base, "NUMBA_CACHE_DIR": os.path.join(empty, str(i))}) for i in range(3)]
        rows.append(("cold numba cache", cold))
    run(base)  # warm the default cache
    rows.append(("warm numba cache", [run(base) for _ in range(5)]))
    print(f"{'':20s} {'import (s)':>11s} {'1st backward (s)':>17s} {'total (s)':>10s}")
    for label, runs in rows:
        imp = statistics.median(r["import"] for r in runs)
        fb = statistics.median(r["first_backward"] for r in runs)
        print(f"{label:20s} {imp:11.3f} {fb:17.3f} {imp + fb:10.3f}")


if __name__ == "__main__":
    main()
