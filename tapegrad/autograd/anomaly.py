"""Anomaly detection: find the forward line behind a bad gradient.

With anomaly mode on, every tape entry keeps the stack of the forward call that created
it. Backward then checks each node's gradients: a NaN or an infinity raises an error that
names the backward node (``LogBackward0``) *and* the forward line that recorded it, and
any other error raised inside a backward node is annotated with that forward line too.
"""

from __future__ import annotations

import warnings

_enabled = False
_check_nan = True


def is_enabled() -> bool:
    return _enabled


def check_nan_enabled() -> bool:
    return _check_nan


class detect_anomaly:  # torch's name
    """Context manager (and decorator) that switches anomaly detection on."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and "
            "should only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self) -> None:
        global _enabled, _check_nan
        self._saved = (_enabled, _check_nan)
        _enabled, _check_nan = True, self.check_nan

    def __exit__(self, *exc: object) -> None:
        global _enabled, _check_nan
        _enabled, _check_nan = self._saved

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` as a plain call or as a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        global _enabled, _check_nan
        self._saved = (_enabled, _check_nan)
        _enabled, _check_nan = bool(mode), check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        global _enabled, _check_nan
        _enabled, _check_nan = self._saved


def forward_line(node) -> str:
    """The innermost user frame of the forward call that created ``node``, or ""."""
    trace = getattr(node, "forward_trace", None)
    if not trace:
        return ""
    for frame in reversed(trace):
        if "/tapegrad/" not in frame.split("\n", 1)[0]:
            return frame.rstrip()
    return trace[-1].rstrip()


def annotate(node, message: str) -> str:
    """``message`` followed by the forward traceback of ``node`` when it was recorded."""
    trace = getattr(node, "forward_trace", None)
    if not trace:
        return message
    return (message + "\n\nTraceback of forward call that caused the error:\n"
            + "".join(trace).rstrip() + "\n\nForward line: " + forward_line(node).strip())
