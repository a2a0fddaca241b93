"""The benchmark harness's pure functions (benchmarks/harness.py): how rounds reduce to one
figure, how a ratio is formed, how the first-loss check catches engines that computed
something else, and how children are ordered. No timings are taken here."""

import doctest
import importlib.util
import math
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "harness.py"
_spec = importlib.util.spec_from_file_location("bench_harness", PATH)
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)


def test_docstring_examples():
    failures, tried = doctest.testmod(harness)
    assert tried >= 8 and failures == 0


def test_median_of_rounds_takes_each_rounds_median_then_the_median_of_those():
    # round medians 2, 10, 3 -> 3; the median of all pooled steps would be 3.5
    rounds = [[1.0, 2.0, 3.0], [10.0, 10.0, 10.0], [3.0, 3.0, 4.0]]
    assert harness.median_of_rounds(rounds) == 3.0
    with pytest.raises(ValueError, match=r"\[2, 0\]"):
        harness.median_of_rounds([[1.0, 2.0], []])


def test_ratio_of_medians_is_not_the_median_of_round_ratios():
    ours = [[1.0], [4.0], [5.0]]
    ref = [[4.0], [1.0], [2.0]]
    # per-round ratios 0.25, 4, 2.5 have median 2.5; the ratio of medians is 4 / 2 = 2
    assert harness.ratio_of_medians(ours, ref) == 2.0
    assert harness.ratio_of_medians([], ref) is None
    assert harness.ratio_of_medians(ours, []) is None
    assert harness.ratio_of_medians(ours, [[0.0]]) is None


def test_first_value_check_flags_the_engine_and_round_that_differ():
    values = {"torch": [2.4454913, 2.4454913], "tapegrad": [2.4454915, 2.4454915],
              "numpy": [2.4454915, 2.45], "micrograd": [None]}
    problems = harness.check_first_values(values, "torch", rtol=1e-5, atol=0.0)
    assert len(problems) == 1
    assert problems[0].startswith("numpy (round 2): 2.45")
    assert harness.check_first_values(values, "torch", rtol=1e-2, atol=0.0) == []


def test_first_value_check_flags_nan_and_a_missing_reference():
    assert harness.check_first_values({"torch": [1.0], "ours": [math.nan]}, "torch", 1.0, 1.0)
    assert harness.check_first_values({"ours": [1.0]}, "torch", 1e-6, 0.0) == [
        "torch: no first value to compare with"]


def test_schedule_interleaves_rounds_and_rotates_engines():
    order = harness.schedule({"W1": 2, "W4": 3}, {"W1": ["a", "b", "c"], "W4": ["x", "y"]},
                             ["default", "1"])
    rounds = [r for r, *_ in order]
    assert rounds == sorted(rounds)  # round 1 of everything comes before any round 2
    first_round = [(w, m, e) for r, w, m, e in order if r == 0]
    assert first_round[:3] == [("W1", "default", "a"), ("W1", "default", "b"),
                               ("W1", "default", "c")]
    assert [e for r, w, m, e in order if r == 1 and w == "W1" and m == "1"] == ["b", "c", "a"]
    assert [w for r, w, _, _ in order if r == 2] == ["W4"] * 4  # W1 stops after 2 rounds
    assert len(order) == 2 * 2 * 3 + 3 * 2 * 2


def test_thread_env_sets_every_pool_or_none():
    base = {"PATH": "/bin", "OMP_NUM_THREADS": "8"}
    one = harness.thread_env("1", base)
    assert all(one[v] == "1" for v in harness.THREAD_VARIABLES) and one["PATH"] == "/bin"
    default = harness.thread_env("default", base)
    assert not set(harness.THREAD_VARIABLES) & set(default)
    with pytest.raises(ValueError, match="'two'"):
        harness.thread_env("two", base)


def test_parse_child_output_reads_the_last_line_and_reports_garbage():
    assert harness.parse_child_output('numba says hi\n{"first": 1.5}\n\n') == {"first": 1.5}
    with pytest.raises(ValueError, match="Traceback"):
        harness.parse_child_output("Traceback (most recent call last): boom")


def test_others_share_subtracts_the_harness_own_cpu_time():
    # 2 cores for 10 s = 20 CPU-seconds; 14 used in all, 9 by the harness: 5 by others
    assert harness.others_share(busy=14.0, own=9.0, wall=10.0, cores=2) == 0.25
    assert harness.others_share(busy=9.0, own=9.5, wall=10.0, cores=2) == 0.0
    with pytest.raises(ValueError, match="wall=0"):
        harness.others_share(1.0, 0.0, wall=0, cores=2)
