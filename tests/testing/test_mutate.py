"""Mutation testing of backward rules (issue 15.6): each mutant of a backward is run
against PyTorch's database cases for the op; the suite must catch the ones that change
gradients, and the report must name the ones it does not."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad.ops.linalg import Mm
from tapegrad.testing.mutate import MUTATIONS, _mutant, mutate

OPS = ["mm", "tanh", "expand"]


@pytest.fixture(scope="module")
def report():
    return mutate(OPS)


def test_every_mutant_that_changes_gradients_is_killed(report):
    survivors = [(r.mutation, r.function, r.op) for r in report.survivors
                 if r.mutation != "sum-to-shape"]
    assert survivors == []
    killed = {(r.function.rsplit(".", 1)[1], r.mutation) for r in report.results
              if r.status == "killed"}
    # the classic bugs, in the ops that can have them
    assert {("Mm", "sign"), ("Mm", "transpose"), ("Mm", "swap-saved"),
            ("Tanh", "sign"), ("Tanh", "swap-saved")} <= killed
    # the double-backward op of tanh: swapping its saved grad and output changes only the
    # derivative with respect to the incoming gradient, which the database run now checks
    assert ("TanhBackward", "swap-saved") in killed


def test_a_dropped_broadcast_sum_survives_and_says_why(report):
    [expand] = [r for r in report.results
                if r.function.endswith("Expand") and r.mutation == "sum-to-shape"]
    assert expand.status == "survived" and "engine sums" in expand.note
    assert "survived: sum-to-shape of tapegrad.ops.shape.Expand" in str(report)
    assert report.line().startswith(f"mutants: {report.count('killed')} killed")


def test_mutants_are_not_applicable_where_the_backward_has_nothing_to_mutate(report):
    tanh = {r.mutation: r.status for r in report.results if r.function.endswith(".Tanh")}
    assert tanh["transpose"] == "not applicable" and tanh["sum-to-shape"] == "not applicable"


def test_a_weak_check_lets_mutants_survive():
    """A check that never looks at gradients catches no backward bug: all its mutants
    must be reported as survivors."""
    def forward_only(op):
        def run():
            # square matrices: a swapped backward still runs (and is silently wrong)
            a = tg.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
            b = tg.tensor(np.eye(3), requires_grad=True)
            tg.mm(a, b).sum().backward()  # runs Mm's backward, checks nothing about it
            return {"forward"} if np.allclose(tg.mm(a, b).detach().numpy(), a.detach().numpy()
                                              ) else set()
        return run

    weak = mutate(["mm"], check=forward_only, mutations=["sign", "swap-saved"])
    assert {(r.function.rsplit(".", 1)[1], r.mutation) for r in weak.survivors} >= {
        ("Mm", "sign"), ("Mm", "swap-saved")}


def test_a_mutant_is_undone_afterwards():
    a = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = tg.tensor(np.ones((3, 2)), requires_grad=True)
    for mutation in MUTATIONS:
        with _mutant(Mm, mutation, [0]):
            pass
    tg.mm(a, b).sum().backward()
    assert np.array_equal(a.grad.numpy(), np.full((2, 3), 2.0))
    assert "backward" in Mm.__dict__ and "saved_tensors" not in Mm._node_class.__dict__
