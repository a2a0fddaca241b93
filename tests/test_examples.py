"""Every lesson in examples/ runs in its fast mode and learns (stated thresholds)."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["01_numpy_two_layer", "02_tensors_autograd",
                                  "03_custom_relu_function", "05_custom_module"])
def test_two_layer_lessons_fit_random_data(name, capsys):
    losses = load(name).main(fast=True)["losses"]
    assert losses[-1] < 0.01 * losses[0], (losses[0], losses[-1])
    assert "99 " in capsys.readouterr().out  # progress is printed


def test_custom_function_is_recorded_under_its_own_name():
    result = load("03_custom_relu_function").main(fast=True)
    assert result["grad_fn"] == "MyReLUBackward"


def test_nn_optim_lesson_learns():
    losses = load("04_nn_optim").main(fast=True)["losses"]
    assert losses[-1] < 0.1 * losses[0]  # Adam at lr 1e-4: 100 fast steps reach ~0.06


def test_dynamic_net_reuses_the_shared_layer_and_learns():
    result = load("06_dynamic_net").main(fast=True)
    assert set(result["middle_uses"]) == {0, 1, 2, 3}  # every depth was drawn
    assert min(result["losses"][-10:]) < 0.2 * result["losses"][0]


def test_linear_regression_recovers_slope_and_intercept(tmp_path):
    result = load("07_linear_regression").main(fast=True, out=tmp_path / "fit.png")
    assert abs(result["weight"] - 3.0) < 0.1 and abs(result["bias"] - 0.8) < 0.1
    assert (tmp_path / "fit.png").stat().st_size > 1000


def test_digits_mlp_learns(tmp_path):
    result = load("08_digits_mlp").main(fast=True, out=tmp_path / "grid.png")
    assert result["accuracy"] > 0.85
    assert min(result["per_class"]) > 0.5
    assert (tmp_path / "grid.png").stat().st_size > 5000


def test_digits_cnn_learns():
    result = load("09_digits_cnn").main(fast=True)
    assert result["accuracy"] > 0.85


def test_lstm_learns_the_sine_wave():
    result = load("10_lstm_sequence").main(fast=True)
    assert result["test_mse"] < 0.25 * result["baseline_mse"]


def test_transformer_finds_the_majority_token():
    result = load("11_transformer_encoder").main(fast=True)
    assert result["accuracy"] > 0.6


def test_gpu_lesson_runs_on_the_simulated_gpu_and_copies_only_the_printed_losses(tmp_path):
    # tests/conftest.py turns numba's CUDA simulator on, so the seed's device line picks cuda
    result = load("12_gpu_linear_regression").main(fast=True, out=tmp_path / "fit.png")
    assert result["device"] == "cuda:0"
    assert result["losses"][-1] < 0.5 * result["losses"][0] and result["losses"][-1] < 0.02
    # two printed losses, each read twice (loss.item() and the format of loss.data): 4 copies,
    # and none for the 20 forward/backward/step iterations themselves
    assert result["training_copies"] == 4
    assert result["predict"].shape == (50, 1)
    assert (tmp_path / "fit.png").stat().st_size > 1000


@pytest.mark.parametrize(("name", "picture"), [("07_linear_regression", "linear_regression.png"),
                                               ("08_digits_mlp", "digits_predictions.png")])
def test_pictures_go_to_the_output_folder_not_the_current_directory(
        name, picture, tmp_path, monkeypatch):
    module = load(name)
    assert module.OUT_DIR == EXAMPLES / "output"
    monkeypatch.setattr(module, "OUT_DIR", tmp_path / "output")  # keep the tree clean
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    module.main(fast=True)
    assert not list(cwd.iterdir())
    assert (tmp_path / "output" / picture).stat().st_size > 1000
