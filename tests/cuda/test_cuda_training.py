"""Training on ``device="cuda"``: the digits MLP and a small CNN give the CPU backend's losses
and parameters, and a training step copies nothing between host and GPU but the loss value.

Everything runs in numba's CUDA simulator in CI, so the models and batches are small; float64
makes the comparison with the CPU backend tight (the two sum in different orders, nothing
more)."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad
from tapegrad import nn
from tapegrad.datasets.digits import load_digits

TOL = dict(rtol=1e-9, atol=1e-11)


def _batch(n: int = 8, image: bool = False) -> tuple[tapegrad.Tensor, tapegrad.Tensor]:
    x, y = load_digits()
    x = x[:n].double()
    return (x.reshape(n, 1, 8, 8) if image else x.reshape(n, 64)), y[:n]


def _mlp() -> nn.Module:
    tapegrad.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)).double()


def _cnn() -> nn.Module:
    tapegrad.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3 * 4 * 4, 10),
    ).double()


def _train(model: nn.Module, x, y, device: str, make_opt, steps: int) -> list[float]:
    model.to(device)
    x, y = x.to(device), y.to(device)
    opt = make_opt(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("make_opt", [
    lambda p: tapegrad.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: tapegrad.optim.Adam(p, lr=0.01),
], ids=["sgd-momentum", "adam"])
def test_digits_mlp_on_cuda_matches_cpu(make_opt):
    x, y = _batch()
    cpu_model, cuda_model = _mlp(), _mlp()
    cpu_losses = _train(cpu_model, x, y, "cpu", make_opt, 3)
    cuda_losses = _train(cuda_model, x, y, "cuda", make_opt, 3)
    assert len(set(cpu_losses)) == 3  # the steps moved the parameters
    np.testing.assert_allclose(cuda_losses, cpu_losses, **TOL)
    assert cpu_losses[-1] < cpu_losses[0]
    for p_cpu, p_cuda in zip(cpu_model.parameters(), cuda_model.parameters(), strict=True):
        assert p_cuda.device.type == "cuda"
        np.testing.assert_allclose(p_cuda.detach().cpu().numpy(), p_cpu.detach().numpy(), **TOL)


def test_digits_cnn_on_cuda_matches_cpu():
    x, y = _batch(8, image=True)
    make_opt = lambda p: tapegrad.optim.SGD(p, lr=0.05, momentum=0.9)  # noqa: E731
    cpu_model, cuda_model = _cnn(), _cnn()
    cpu_losses = _train(cpu_model, x, y, "cpu", make_opt, 2)
    cuda_losses = _train(cuda_model, x, y, "cuda", make_opt, 2)
    np.testing.assert_allclose(cuda_losses, cpu_losses, **TOL)
    for (name, p_cpu), p_cuda in zip(cpu_model.named_parameters(), cuda_model.parameters(),
                                     strict=True):
        np.testing.assert_allclose(p_cuda.detach().cpu().numpy(), p_cpu.detach().numpy(),
                                   err_msg=name, **TOL)
    bn_cpu, bn_cuda = cpu_model[1], cuda_model[1]
    np.testing.assert_allclose(bn_cuda.running_mean.cpu().numpy(),
                               bn_cpu.running_mean.numpy(), **TOL)


@pytest.mark.parametrize("model_fn", [_mlp, _cnn], ids=["mlp", "cnn"])
def test_a_training_step_copies_only_the_loss(model_fn):
    """Data and model on the GPU first; then zero_grad, forward, loss, backward, optimizer
    step and ``loss.item()`` must cross between host and device exactly once: the loss."""
    x, y = _batch(8, image=model_fn is _cnn)
    model = model_fn().to("cuda")
    x, y = x.to("cuda"), y.to("cuda")
    opt = tapegrad.optim.Adam(model.parameters(), lr=0.01)
    counter = tapegrad.cuda.transfer_counter()
    for step in range(2):  # the first step creates the optimizer state: no copies either
        counter.reset()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        value = loss.item()
        assert np.isfinite(value)
        assert (counter.host_to_device, counter.device_to_host) == (0, 1), f"step {step}"
        assert counter.bytes_device_to_host == 8  # one float64
