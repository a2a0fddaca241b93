"""torch-style ``repr`` of tensors: ``tensor([[1., 2.]], requires_grad=True)``.

Floats print with four decimals unless every value is whole (``1.``), switching to
scientific notation when the magnitudes span too much, exactly the cases where torch
does; large tensors are summarised with ``...`` past 1000 elements.
"""

from __future__ import annotations

import numpy as np

from tapegrad import dtypes

_DEFAULT_SUFFIX_FREE = {dtypes.int64, dtypes.bool_}


def _float_options(data: np.ndarray) -> dict:
    finite = data[np.isfinite(data)] if data.size else data
    if finite.size == 0:
        return {"floatmode": "fixed", "precision": 4}
    absval = np.abs(finite.astype(np.float64))
    nonzero = absval[absval > 0]
    integral = bool(np.all(finite == np.round(finite)))
    big, small = (nonzero.max(), nonzero.min()) if nonzero.size else (0.0, 0.0)
    if nonzero.size and (big / small > 1000.0 or big > 1e8 or small < 1e-4):
        return {"floatmode": "fixed", "precision": 4, "sci": True}
    if integral:
        return {"floatmode": "fixed", "precision": 0}
    return {"floatmode": "fixed", "precision": 4}


def format_values(data: np.ndarray, indent: int) -> str:
    """The bracketed values part of the repr, continued lines indented by ``indent``."""
    if data.size == 0:
        return "[]"
    if data.dtype.kind == "f":
        opts = _float_options(data)
        if opts.pop("sci", False):
            formatter = {"float_kind": lambda v: np.format_float_scientific(
                v, precision=4, exp_digits=2)}
            return np.array2string(data, separator=", ", prefix=" " * indent,
                                   formatter=formatter, threshold=1000, edgeitems=3,
                                   max_line_width=80)
        return np.array2string(data, separator=", ", prefix=" " * indent, threshold=1000,
                               edgeitems=3, max_line_width=80, **opts)
    if data.dtype.kind == "b":
        return np.array2string(data, separator=", ", prefix=" " * indent, threshold=1000,
                               edgeitems=3, max_line_width=80,
                               formatter={"bool": lambda v: "True" if v else "False"})
    return np.array2string(data, separator=", ", prefix=" " * indent, threshold=1000,
                           edgeitems=3, max_line_width=80)


def tensor_repr(t, prefix: str = "tensor(") -> str:
    data = t._data
    on_cuda = t.is_cuda
    if on_cuda:  # printing reads the values: one counted copy to the host
        data = data.get()
    if data.ndim == 0:
        body = format_values(data.reshape(1), len(prefix))[1:-1]
    else:
        body = format_values(data, len(prefix))
    suffixes = []
    if data.size == 0 and data.shape != (0,):
        suffixes.append(f"size={tuple(data.shape)}")
    if on_cuda:
        suffixes.append("device='cuda:0'")
    if t.dtype is not dtypes.get_default_dtype() and t.dtype not in _DEFAULT_SUFFIX_FREE:
        suffixes.append(f"dtype={t.dtype!r}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
