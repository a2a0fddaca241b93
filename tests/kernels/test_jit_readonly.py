"""The numba kernels in a read-only environment: compiled without a cache, one warning.

numba's ``cache=True`` needs somewhere to write (the package's ``__pycache__``,
``NUMBA_CACHE_DIR`` or a folder under ``HOME``); where all are read-only it raises "cannot
cache function ... no locator available" for every kernel. How the failure is produced:

* running as root (permissions do not stop root), the subprocess drops to user ``nobody``
  with ``setpriv``, with ``HOME`` and ``NUMBA_CACHE_DIR`` pointing at a root-owned 0555
  folder and the package's ``__pycache__`` owned by root: the real failure;
* otherwise (the package may be our own, hence writable), the subprocess empties numba's
  list of cache locators (``CacheImpl._locator_classes``), which is the lookup that fails.

Either way a fresh process runs kernels from two modules and must match the numpy reference
kernels, with exactly one RuntimeWarning that names ``TAPEGRAD_JIT=0``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, sys, warnings
if sys.argv[1] == "simulate":
    from numba.core import caching
    caching.CacheImpl._locator_classes = []
import numpy as np
import tapegrad as tg
x = tg.tensor(np.linspace(-2.0, 3.0, 12).reshape(3, 4))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    s = tg.softmax(x, 1).numpy()
    n = tg.nn.functional.layer_norm(x, (4,)).numpy()
    s2 = tg.log_softmax(x, 1).numpy()
print(json.dumps({"softmax": s.tolist(), "layer_norm": n.tolist(), "log_softmax": s2.tolist(),
                  "warnings": [str(w.message) for w in caught
                               if issubclass(w.category, RuntimeWarning)]}))
"""


def _run_child() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TAPEGRAD_JIT"}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-c", CHILD]
    ro = None
    if os.geteuid() == 0 and shutil.which("setpriv"):
        ro = tempfile.mkdtemp(prefix="tapegrad-ro-")
        os.chmod(ro, 0o555)
        env.update(HOME=ro, NUMBA_CACHE_DIR=ro, XDG_CACHE_HOME=ro)
        cmd = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups",
               *cmd, "real"]
    else:
        cmd.append("simulate")
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                             cwd=tempfile.gettempdir())
    finally:
        if ro:
            shutil.rmtree(ro, ignore_errors=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_kernels_compile_without_cache_in_a_read_only_environment():
    out = _run_child()
    assert len(out["warnings"]) == 1, out["warnings"]
    assert "no locator available" in out["warnings"][0]
    assert "TAPEGRAD_JIT=0" in out["warnings"][0]
    x = np.linspace(-2.0, 3.0, 12).reshape(3, 4)
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(out["softmax"], e / e.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(out["log_softmax"], np.log(e / e.sum(1, keepdims=True)),
                               rtol=1e-12)
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(out["layer_norm"], (x - mu) / np.sqrt(var + 1e-5), rtol=1e-10)


def test_other_numba_failures_name_the_switch(monkeypatch):
    """A numba that cannot be set up at all gives an error that says how to do without it."""
    import types

    from tapegrad.kernels import _jit

    ns: dict = {}  # a module-like namespace: _swap_in rebinds the kernels it holds
    exec("def body(a):\n    return a\n", ns)
    ns["kernel"] = _jit.lazy_njit(ns["body"])
    broken = types.SimpleNamespace(prange=range)

    def njit(**kw):
        raise OSError("llvmlite: cannot load shared library")

    broken.njit = njit
    real = _jit.importlib.import_module
    monkeypatch.setattr(_jit.importlib, "import_module",
                        lambda name: broken if name == "numba" else real(name))
    with pytest.raises(RuntimeError, match="cannot load shared library.*TAPEGRAD_JIT=0"):
        ns["kernel"](1)
