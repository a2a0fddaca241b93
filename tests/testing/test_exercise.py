"""Any program as a backprop exercise (issue 15.3), on the seed's two-layer numpy network.

The seed (../shared/seeds, the numpy example with N = 1, D_in = H = D_out = 2) prints the
gradients its hand-written backward gives; those numbers are the right answers here, so
the grader is checked against a source outside tapegrad.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad
from tapegrad.testing.exercise import exercise


def two_layer(x, y, w1, w2):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    loss = (y_pred - y).pow(2).sum()
    return loss


X = np.array([[1.0, 2.0]])
Y = np.array([[1.0, 2.0]])
W1 = np.array([[0.0, 0.1], [0.2, 0.3]])
W2 = np.array([[0.0, 0.1], [0.2, 0.3]])
EX = exercise(two_layer, X, Y, W1, W2)

# the seed's printed results (对y_pred求导, 对W2求导, 对h_relu求导, 对w1求导)
SEED = {"y_pred": [[-1.72, -3.5]], "w2": [[-0.688, -1.4], [-1.204, -2.45]],
        "h_relu": [[-0.35, -1.394]], "w1": [[-0.35, -1.394], [-0.7, -2.788]]}


def by_hand(v: dict) -> dict:
    """A learner's backward, as the seed writes it."""
    d = EX.start()
    d["%8"] = np.ones_like(v["%8"]) * d["loss"]
    d["%7"] = 2 * v["%7"] * d["%8"]
    d["y_pred"] = d["%7"]
    d["y"] = -d["%7"]
    d["w2"] = v["h_relu"].T @ d["y_pred"]
    d["h_relu"] = d["y_pred"] @ v["w2"].T
    d["h"] = d["h_relu"] * (v["h"] > 0)
    d["w1"] = v["x"].T @ d["h"]
    d["x"] = d["h"] @ v["w1"].T
    return d


def test_the_workbook_names_values_after_the_code():
    assert EX.names[0] == "loss" and set(EX.names) >= {"y_pred", "h_relu", "h", "x", "y",
                                                       "w1", "w2"}
    text = EX.workbook()
    assert "# y_pred = mm(h_relu, w2)  [h_relu is input 0]" in text
    assert "d['h'] = ...  # shape (1, 2)" in text
    assert "grad B^T" not in text  # no backward rule is given away
    # the order to fill them in: a value's gradient after every op that uses it
    assert EX.names.index("y_pred") < EX.names.index("h_relu") < EX.names.index("h")


def test_the_seeds_gradients_are_graded_right():
    d = by_hand(EX.values)
    for name, want in SEED.items():
        assert np.allclose(d[name], want, atol=1e-12)
    report = EX.check(d)
    assert report.ok, str(report)
    assert "finite differences agree" in str(report)


@pytest.mark.parametrize("name", EX.names)
def test_one_test_per_gradient(name):
    EX.assert_correct(by_hand(EX.values), name)


def test_a_missing_transpose_is_wrong_with_its_rule_as_the_hint():
    ex = exercise(two_layer, X, Y, W1, W2)
    d = by_hand(ex.values)
    d["h_relu"] = d["y_pred"] @ ex.values["w2"]  # forgot the transpose
    v = ex.verdict(d, "h_relu")
    assert v.status == "wrong" and "the engine's -0.35" in v.detail
    assert "ᵀ" in v.hint and "y_pred" in v.hint and "w2" in v.hint, v.hint
    with pytest.raises(AssertionError, match="h_relu"):
        ex.assert_correct(d, "h_relu")


def test_shape_and_missing_answers():
    ex = exercise(two_layer, X, Y, W1, W2)
    d = by_hand(ex.values)
    d["w2"] = d["w2"].sum(axis=0)  # [2] for a [2, 2] weight: values broadcast, shape wrong
    del d["x"]
    report = ex.check(d)
    verdicts = {v.name: v for v in report}
    assert verdicts["w2"].status == "wrong shape" and "[2, 2]" in verdicts["w2"].detail
    assert verdicts["x"].status == "missing" and not verdicts["x"].hint  # no try, no hint
    assert not report.ok and f"{len(report) - 2} / {len(report)}" in str(report)


def test_the_root_package_offers_it_and_a_non_scalar_loss_is_refused():
    assert tapegrad.exercise is exercise
    with pytest.raises(ValueError, match=r"one-element tensor .* shape \[1, 2\]"):
        exercise(lambda x, w: x.mm(w), X, W1)


def test_integer_inputs_stay_integers():
    """Class labels are not differentiated: a classifier's loss is an exercise too."""
    def classify(x, w, labels):
        logits = x.mm(w)
        loss = tapegrad.nn.functional.cross_entropy(logits, labels)
        return loss

    ex = exercise(classify, np.ones((3, 2)), np.full((2, 4), 0.1), np.array([0, 3, 1]))
    assert "labels" not in ex.names and {"x", "w", "logits", "loss"} <= set(ex.names)
    assert ex.verdict(ex.start(), "loss").ok  # the seed
    assert ex.verdict(ex.start(), "w").status == "missing"
