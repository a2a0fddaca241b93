"""`import tapegrad` stays light: no torch, sklearn or matplotlib (its time is measured by
benchmarks/import_time.py, not asserted here: tests hold no timings)."""

import json
import os
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


def test_submodules_are_lazy_attributes():
    """``tg.viz`` and ``tg.testing`` work as torch's submodules do, without being
    imported by ``import tapegrad`` (graphviz and torch stay unloaded)."""
    code = ("import sys, tapegrad as tg\n"
            "assert 'tapegrad.viz' not in sys.modules and 'graphviz' not in sys.modules\n"
            "assert 'tapegrad.testing' not in sys.modules and 'torch' not in sys.modules\n"
            "assert callable(tg.viz.draw) and callable(tg.testing.gradcheck)\n"
            "assert 'viz' in dir(tg)\n"
            "try:\n    tg.no_such_thing\nexcept AttributeError as e:\n"
            "    assert 'no_such_thing' in str(e)\nelse:\n    raise SystemExit(1)\n")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
