"""Seeded randomness: ``manual_seed`` makes every random factory reproducible.

tapegrad draws from numpy's PCG64 generator. Sequences cannot match torch's bit for bit
(different algorithms), so tests that compare with torch copy values across instead of
re-drawing them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_default = np.random.default_rng(0)
_initial_seed = 0


class Generator:
    """An independent random stream (``tapegrad.Generator().manual_seed(1)``)."""

    def __init__(self, device: Any = "cpu") -> None:
        self._seed = 0
        self._rng = np.random.default_rng(0)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(int(seed))
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator; returns it (as torch does)."""
    global _default, _initial_seed
    _initial_seed = int(seed)
    _default = np.random.default_rng(int(seed))
    gen = Generator()
    gen._seed, gen._rng = _initial_seed, _default
    return gen


def seed() -> int:
    """Reseed from fresh OS entropy and return the new seed."""
    new = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(new)
    return new


def initial_seed() -> int:
    return _initial_seed


def get_rng_state() -> dict:
    return _default.bit_generator.state


def set_rng_state(state: dict) -> None:
    _default.bit_generator.state = state


def generator_of(generator: Generator | None) -> np.random.Generator:
    """The numpy generator behind ``generator`` (the default one when None)."""
    return _default if generator is None else generator._rng
