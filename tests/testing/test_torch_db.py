"""PyTorch's own test database (op_db, module_db, optim_db) run against tapegrad.

One test per in-scope OpInfo, ModuleInfo and OptimizerInfo (see `tapegrad.testing.torch_db`
for what each compares and how samples are capped). An entry passes when every case agrees
with torch, or when the cases that fail are listed with their reason in
`tapegrad.testing.torch_db_known.KNOWN_FAILURES`: then the test is an xfail. The list is
strict: a known failure that passes fails its test until it is taken off the list.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tapegrad.testing import torch_db
from tapegrad.testing.torch_db_known import KNOWN_FAILURES
from tapegrad.testing.torch_db_scope import excluded_family

OPS = list(torch_db.in_scope_ops())
MODULES = list(torch_db.in_scope_modules())
OPTIMIZERS = list(torch_db.in_scope_optimizers())


def judge(report: torch_db.Report) -> None:
    problems, known = torch_db.verdict(report)
    if problems:
        pytest.fail(f"{report.section} {report.name}:\n" + "\n".join(problems), pytrace=False)
    if known:
        pytest.xfail("; ".join(known))


@pytest.mark.parametrize("name", OPS)
def test_op(name):
    judge(torch_db.check_op(name))


@pytest.mark.parametrize("name", MODULES)
def test_module(name):
    judge(torch_db.check_module(name))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer(name):
    judge(torch_db.check_optimizer(name))


def test_known_failures_name_real_entries():
    """A stale key (an entry renamed or removed upstream) would never be checked."""
    entries = {"op": set(OPS), "module": set(MODULES), "optimizer": set(OPTIMIZERS)}
    stale = []
    for key, reason in KNOWN_FAILURES.items():
        section, _, rest = key.partition(":")
        name, _, kind = rest.rpartition(":")
        if name not in entries.get(section, ()) or kind not in ("samples", "errors"):
            stale.append(key)
        assert reason.strip(), f"{key} needs a reason"
    assert not stale, f"KNOWN_FAILURES keys naming no in-scope entry: {stale}"


def test_scope_excludes_each_family_with_a_reason():
    assert excluded_family("fft.fft")[0] == "fft"
    assert excluded_family("linalg.eig")[0] == "linalg"
    assert excluded_family("linalg.vector_norm") is None
    assert excluded_family("special.zeta")[0] == "special"
    assert excluded_family("_softmax_backward_data")[0] == "private"
    assert excluded_family("__radd__") is None
    assert excluded_family("nn.functional.relu") is None
    assert all(reason for _, _, reason in torch_db.out_of_scope())


def test_out_of_scope_attribute_error_points_at_the_list():
    import tapegrad

    with pytest.raises(AttributeError,
                       match=r"outside tapegrad's scope.*tapegrad check --torch-db --list"):
        tapegrad.fft  # noqa: B018
    with pytest.raises(AttributeError, match="module 'tapegrad' has no attribute 'no_such'"):
        tapegrad.no_such  # noqa: B018


def test_strided_samples_stay_strided():
    x = torch.arange(12.0).reshape(3, 4).t()
    y = torch.arange(3.0).expand(4, 3)
    convert = torch_db.Converter()
    gx, gy = convert(x), convert(y)
    assert not gx.is_contiguous() and gx.tolist() == x.tolist()
    assert gy.stride() == y.stride() and gy.tolist() == y.tolist()


def test_error_inputs_keep_shared_memory():
    """An ``out=`` that is a slice of an input must overlap it in tapegrad too."""
    base = torch.arange(6.0)
    whole, part = base, base[2:5]
    convert = torch_db.Converter(share_storage=True)
    g_whole, g_part = convert(whole), convert(part)
    g_whole._data[3] = 100.0
    assert g_part.tolist() == [2.0, 100.0, 4.0]
    assert whole.tolist()[3] == 3.0  # the torch tensors are untouched: copies were made
    separate = torch_db.Converter()  # samples: independent copies, as before
    assert not np.shares_memory(separate(part)._data, separate(whole)._data)


def test_error_inputs_torch_accepts_are_not_compared():
    """``torch.clamp_max(t, 2)`` is listed among clamp_max's error inputs, yet torch returns a
    tensor: the case is excluded, not counted against tapegrad."""
    report = torch_db.check_op("clamp_max", cap=0)
    excluded = [c for c in report.cases if c.kind == "excluded"]
    assert [c.note for c in excluded] == ["torch does not raise on it either"]
    assert all(c.passed for c in report.cases if c.kind == "error")


def test_a_wrong_value_and_a_wrong_exception_are_caught():
    """The comparisons can fail: a value off by one ulp-free amount, a wrong NaN, a dtype."""
    t = torch.tensor([1.0, float("nan")], dtype=torch.float64)
    import tapegrad

    assert torch_db.compare_values(tapegrad.tensor([1.0, float("nan")], dtype=tapegrad.float64),
                                   t, "x") == ""
    assert "values differ" in torch_db.compare_values(
        tapegrad.tensor([1.1, float("nan")], dtype=tapegrad.float64), t, "x")
    assert "NaN" in torch_db.compare_values(
        tapegrad.tensor([1.0, 2.0], dtype=tapegrad.float64), t, "x")
    assert "dtype" in torch_db.compare_values(tapegrad.tensor([1.0, 2.0]), t, "x")


def test_cli_runs_named_entries_with_a_table_and_the_summary_line(capsys):
    from tapegrad.cli import main

    assert main(["check", "--torch-db", "--ops", "sum", "nn.ReLU", "SGD", "-v"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:7] == ["entry", "present", "samples", "errors", "not", "compared",
                                  "seconds"]
    assert any(line.startswith("sum ") and " yes " in line for line in out)
    summary = out[-1]
    assert summary.startswith("ops present 1/1, sample cases ")
    assert summary.endswith("modules 1/1, optimizers 1/1")


def test_cli_list_and_unknown_names(capsys):
    from tapegrad.cli import main

    assert main(["check", "--torch-db", "--list"]) == 0
    out = capsys.readouterr().out
    assert "+ op sum" in out and "+ module nn.Linear" in out
    assert "fft.fft  (fft: " in out and "linalg.eig  (linalg: " in out
    assert main(["check", "--torch-db", "--ops", "fft.fft"]) == 2
    assert "not an in-scope entry" in capsys.readouterr().err


def test_cli_exits_1_on_an_unexpected_failure(capsys, monkeypatch):
    from tapegrad.cli import main

    real = torch_db.check_op

    def broken(name, cap="default"):
        report = real(name, cap)
        report.cases[0].passed, report.cases[0].note = False, "made to fail"
        return report

    monkeypatch.setattr(torch_db, "check_op", broken)
    assert main(["check", "--torch-db", "--ops", "sum"]) == 1
    out = capsys.readouterr().out
    assert "made to fail" in out and "not a known failure" in out
