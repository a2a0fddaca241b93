"""Shared test setup: tapegrad's pytest plugin, the pytester fixture, a seeded rng."""

from __future__ import annotations

import numpy as np
import pytest

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
