"""``tapegrad.utils``: helpers around the engine; ``tapegrad.utils.data`` loads data."""

from tapegrad.utils import data

__all__ = ["data"]
