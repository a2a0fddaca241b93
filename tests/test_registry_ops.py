"""The generated oracle suite: every registered op x sample x dtype x memory layout.

Each case compares forward and backward with torch (the same upstream gradient in both);
float64 contiguous cases also run gradcheck (and gradgradcheck where the op asks for it).
Ids read ``<op>-<sample>-<dtype>-<layout>``: ``-k "mul and float32"`` picks a slice.
"""

from __future__ import annotations

import traceback

import pytest

from tapegrad.testing.registry_check import DTYPES, check_sample, samples_of


def _cases() -> list:
    try:
        from tapegrad.ops import registry

        ops = registry.all_ops()
    except Exception:  # a family's samples module is broken: one failing case says so
        error = traceback.format_exc()
        return [pytest.param(None, None, None, None, error, id="registry-import-error")]
    cases = []
    for op in ops:
        try:
            samples = samples_of(op)
        except Exception:
            error = traceback.format_exc()
            cases.append(pytest.param(op, None, None, None, error, id=f"{op.name}-samples-error"))
            continue
        for name, sample in samples:
            for dtype in DTYPES:
                for noncontig in (False, True) if op.noncontiguous else (False,):
                    layout = "noncontig" if noncontig else "contig"
                    cases.append(pytest.param(op, name, sample, (dtype, noncontig), None,
                                              id=f"{op.name}-{name}-{dtype}-{layout}"))
    return cases


@pytest.mark.parametrize(("op", "name", "sample", "variant", "error"), _cases())
def test_op_matches_torch(op, name, sample, variant, error):
    if error is not None:
        pytest.fail(f"could not build the cases:\n{error}", pytrace=False)
    dtype, noncontig = variant
    result = check_sample(op, sample, dtype, noncontig, name)
    assert result.passed, result.message
