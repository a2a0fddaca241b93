"""`import tapegrad` stays light: no torch, sklearn or matplotlib (its time is measured by
benchmarks/import_time.py, not asserted here: tests hold no timings)."""

import json
import subprocess
import sys

PROBE = """
import json, sys, time
t0 = time.perf_counter()
import tapegrad
x = tapegrad.tensor([1.0, 2.0], requires_grad=True)
(x * x).sum().backward()  # first kernel call: numba compiled or loaded from its cache
elapsed = time.perf_counter() - t0
heavy = [m for m in ("torch", "sklearn", "matplotlib") if m in sys.modules]
print(json.dumps({"elapsed": elapsed, "heavy": heavy}))
"""


def _probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_pulls_in_no_heavy_dependency():
    assert _probe()["heavy"] == []
