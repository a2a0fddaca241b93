"""tapegrad's pytest plugin (entry point ``pytest11: tapegrad``): fixtures for testing ops.

Installed with tapegrad, so any project's tests can use::

    def test_my_op(torch_oracle, gradcheck):
        x = np.random.default_rng(0).standard_normal((3, 4))
        torch_oracle.compare(lambda lib, x: my_op(lib, x), x)     # same values, both libs
        assert gradcheck(MyOp.apply, (tapegrad.tensor(x, requires_grad=True),))

    def test_my_function(check_function):
        check_function(MyOp, np.ones((3, 4)))     # gradcheck, float32, layouts, ctx contract

Nothing here imports torch or tapegrad until a fixture is used: pytest loads this
module in every test session of an environment where tapegrad is installed.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def torch_oracle() -> Any:
    """An object whose ``.compare(fn, *inputs, **tolerances)`` runs ``fn(lib, ...)`` with
    tapegrad and torch and raises AssertionError with a comparison table on mismatch."""
    from tapegrad.testing.oracle import TorchOracle

    return TorchOracle()


@pytest.fixture(name="gradcheck")
def gradcheck_fixture() -> Any:
    """`tapegrad.testing.gradcheck`: finite differences against backward."""
    from tapegrad.testing.gradcheck import gradcheck

    return gradcheck


@pytest.fixture(name="check_function")
def check_function_fixture() -> Any:
    """`tapegrad.testing.check_function`: the whole battery for your own Function."""
    from tapegrad.testing.function_check import check_function

    return check_function
