"""Shared test setup: tapegrad's pytest plugin, pytester, a seeded rng, the docs site."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The CUDA tests run the real kernels in numba's simulator unless the environment says
# otherwise (NUMBA_ENABLE_CUDASIM=0 on a machine with a GPU runs them on the GPU). numba reads
# the variable when it is first imported, so it is set here, before any test imports numba.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    # The plugin is loaded by its entry point once tapegrad is pip-installed; in a plain
    # checkout (or with PYTEST_DISABLE_PLUGIN_AUTOLOAD) register it here. Registering the
    # same module twice would be an error, hence the check.
    from tapegrad.testing import pytest_plugin

    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "tapegrad")


def pytest_report_header(config: pytest.Config) -> str:
    try:
        import torch
    except ImportError:
        return "torch: not installed (the torch-oracle tests will fail)"
    import numpy

    return f"torch: {torch.__version__}, numpy: {numpy.__version__}"


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed: every test sees the same numbers."""
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once per session with `mkdocs build --strict`.

    Shared by tests/test_docs.py (the built HTML) and tests/test_docs_browser.py (the
    same pages in a real browser). The build runs every executed block of the pages, so
    it fails when a page's checks fail.
    """
    try:
        import mkdocs  # noqa: F401
    except ImportError:  # a failure, not a skip: the docs are part of the test suite
        pytest.fail("mkdocs is missing: bash scripts/setup_env.sh test installs the docs extra")
    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(root / "mkdocs.yml"),
         "-d", str(out)],
        cwd=root, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"), capture_output=True,
        text=True, timeout=600)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out
