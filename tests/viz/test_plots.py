"""tapegrad.viz.plots: every helper returns a Figure and writes a non-empty file."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad as tg
from tapegrad import nn
from tapegrad.viz import plots  # after the skip


def _tiny_model() -> nn.Module:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(tg.randn(8, 2)).sum()
    loss.backward()
    return model


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_training_curves_groups_metrics_and_writes_file(tmp_path, suffix):
    history = {"train_loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.4, 1.2],
               "accuracy": [0.3, 0.6, 0.9]}
    path = tmp_path / f"curves{suffix}"
    fig = plots.training_curves(history, path)
    assert path.stat().st_size > 1000
    # the two losses share a panel, accuracy has its own
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert len(fig.axes[0].get_lines()) == 2
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train_loss", "val_loss"]
    np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), [0.3, 0.6, 0.9])


def test_training_curves_accepts_a_plain_list_without_saving():
    fig = plots.training_curves([3.0, 2.0, 1.0])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_ylabel() == "loss"


def test_svg_output_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    plots.training_curves([3.0, 2.0, 1.5, 1.0], a)
    plots.training_curves([3.0, 2.0, 1.5, 1.0], b)
    assert a.read_bytes() == b.read_bytes()
    assert b"<svg" in a.read_bytes()


def test_decision_boundary_separable_set_is_fully_right(tmp_path):
    x = np.array([[-1.0, -1.0], [-1.5, -0.5], [1.0, 1.0], [0.5, 1.5]], dtype=np.float32)
    y = np.array([0, 0, 1, 1])
    w = tg.tensor([[-1.0, 1.0], [-1.0, 1.0]], requires_grad=True)  # logits (-s, s), s = x1+x2
    path = tmp_path / "boundary.png"
    fig = plots.decision_boundary(lambda t: t @ w, tg.tensor(x), tg.tensor(y), path,
                                  resolution=50)
    assert path.stat().st_size > 1000
    assert fig.axes[0].get_title() == "decision boundary (accuracy 1.000)"
    assert fig.axes[0].get_xlabel() == "$x_1$"
    assert w.grad is None  # evaluated under no_grad: nothing recorded, nothing accumulated


def test_decision_boundary_single_score_output_and_wrong_model():
    x = np.array([[-1.0, 0.0], [1.0, 0.0]])
    y = np.array([0, 1])
    fig = plots.decision_boundary(lambda t: -t[:, 0], x, y, resolution=20)  # backwards
    assert "accuracy 0.000" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        plots.decision_boundary(lambda t: t, np.zeros((3, 3)), np.zeros(3))


def test_gradient_flow_bars_per_parameter(tmp_path):
    model = _tiny_model()
    params = dict(model.named_parameters())
    params["unused"] = tg.zeros(3, requires_grad=True)
    path = tmp_path / "flow.png"
    fig = plots.gradient_flow(params, path)
    assert path.stat().st_size > 1000
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["0.weight", "0.bias", "2.weight", "2.bias", "unused (no grad)"]
    # two bar series (max and mean) of one bar per parameter
    assert len(ax.patches) == 2 * len(labels)
    maxes = [p.get_height() for p in ax.patches[:4]]
    expected = [float(np.abs(p.grad.numpy()).max()) for p in model.parameters()]
    np.testing.assert_allclose(maxes, expected, rtol=1e-6)


@pytest.mark.parametrize("kind", ["weight", "grad", "activation"])
def test_histograms(tmp_path, kind):
    model = _tiny_model()
    path = tmp_path / f"{kind}.png"
    fig = plots.histograms(model.named_parameters(), kind=kind, path=path, ncols=2)
    assert path.stat().st_size > 1000
    assert len(fig.axes) == 4
    assert fig.axes[0].get_title() == "0.weight (4, 2)"
    assert fig.axes[0].get_xlabel() == kind


def test_histograms_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        plots.histograms({"a": tg.ones(3)}, kind="bias")


def test_image_grid_titles_show_predictions(tmp_path):
    from tapegrad.datasets import load_digits

    images, labels = load_digits()
    images, labels = images[:6], labels[:6].numpy()
    predictions = labels.copy()
    predictions[1] = (labels[1] + 1) % 10  # one mistake
    path = tmp_path / "grid.png"
    fig = plots.image_grid(images, labels, predictions, path, ncols=4)
    assert path.stat().st_size > 1000
    assert len(fig.axes) == 8  # 2 rows of 4, two left empty
    titles = [ax.get_title() for ax in fig.axes[:6]]
    assert titles[0] == f"{predictions[0]} ({labels[0]})"
    assert titles[1] == f"{predictions[1]} ({labels[1]})"
    assert fig.axes[1].title.get_color() == "tab:red"
    assert fig.axes[0].title.get_color() == "tab:green"


def test_image_grid_layouts_and_score_predictions():
    chw = np.random.default_rng(0).random((3, 3, 5, 5))  # (N, C, H, W), colour
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    fig = plots.image_grid(tg.tensor(chw), predictions=scores, class_names=["cat", "dog"])
    assert [ax.get_title() for ax in fig.axes] == ["dog", "cat", "dog"]
    assert fig.axes[0].get_images()[0].get_array().shape == (5, 5, 3)
    fig = plots.image_grid(np.zeros((2, 16)), labels=[4, 7])  # flat 4x4 images
    assert [ax.get_title() for ax in fig.axes] == ["4", "7"]
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        plots.image_grid(np.zeros((2, 4, 4)), labels=[1, 2, 3])
