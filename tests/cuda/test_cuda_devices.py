"""Devices as the seeds use them: ``device = "cuda:0" if cuda.is_available() else "cpu"``,
``model.to(device)``, ``x.to(device)``, ``pred.cpu().detach().numpy()``; torch's errors for
mixed devices and for ``.numpy()`` on GPU data; the counted host<->device copies."""

from __future__ import annotations

import numpy as np
import pytest

import tapegrad
from tapegrad import nn


def test_cuda_is_available_in_the_simulator():
    assert tapegrad.cuda.is_available()
    assert tapegrad.cuda.device_count() == 1
    assert tapegrad.cuda.is_simulated()


def test_seed_idiom_round_trip():
    device = tapegrad.device("cuda:0" if tapegrad.cuda.is_available() else "cpu")
    x = tapegrad.tensor([[1.0, -2.0], [3.0, 4.0]])
    y = x.to(device)
    assert y.device == tapegrad.device("cuda", 0) and y.is_cuda and not x.is_cuda
    assert str(y.device) == "cuda:0"
    back = (y * 2).cpu().detach().numpy()
    np.testing.assert_array_equal(back, [[2.0, -4.0], [6.0, 8.0]])
    assert repr(y) == "tensor([[ 1., -2.],\n        [ 3.,  4.]], device='cuda:0')"


def test_to_same_device_returns_the_tensor_itself():
    y = tapegrad.ones(3, device="cuda")
    assert y.to("cuda") is y and y.cuda() is y
    x = tapegrad.ones(3)
    assert x.cpu() is x and x.to("cpu") is x


def test_gradient_flows_back_across_devices():
    x = tapegrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x.cuda() ** 2).sum()
    assert loss.grad_fn.name() == "SumBackward0"
    loss.backward()
    assert x.grad.device.type == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_factories_make_tensors_on_the_device_without_copies():
    counter = tapegrad.cuda.transfer_counter()
    counter.reset()
    z = tapegrad.zeros(2, 3, device="cuda")
    o = tapegrad.ones_like(z)
    f = tapegrad.full((2,), 7.0, device="cuda")
    assert (z.device.type, o.device.type, f.device.type) == ("cuda",) * 3
    assert counter.total == 0
    np.testing.assert_array_equal(f.cpu().numpy(), [7.0, 7.0])
    assert counter.device_to_host == 1


def test_random_factories_with_device():
    tapegrad.manual_seed(0)
    a = tapegrad.randn(4, device="cuda")
    tapegrad.manual_seed(0)
    b = tapegrad.randn(4)
    np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())


def test_numpy_on_a_cuda_tensor_is_torchs_type_error():
    y = tapegrad.ones(2, device="cuda")
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy\. "
                                        r"Use Tensor\.cpu\(\)"):
        y.numpy()
    with pytest.raises(TypeError, match="Tensor.cpu()"):
        np.asarray(y)


def test_mixed_devices_raise_torchs_error():
    a = tapegrad.ones(3, device="cuda")
    b = tapegrad.ones(3)
    msg = "Expected all tensors to be on the same device, but found at least two devices"
    with pytest.raises(RuntimeError, match=msg):
        a + b
    with pytest.raises(RuntimeError, match=msg):
        b * a
    with pytest.raises(RuntimeError, match=msg):
        tapegrad.ones(2, 3, device="cuda") @ tapegrad.ones(3, 2)


def test_a_zero_dim_cpu_tensor_mixes_with_cuda_like_a_number():
    a = tapegrad.tensor([1.0, 2.0], device="cuda")
    out = a * tapegrad.tensor(3.0)
    assert out.device.type == "cuda"
    np.testing.assert_array_equal(out.cpu().numpy(), [3.0, 6.0])


def test_bad_device_strings_and_ordinals():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        tapegrad.device("gpu")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        tapegrad.ones(2, device="cuda:1")


def test_module_to_moves_parameters_in_place():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    params = list(model.parameters())
    assert model.to("cuda") is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert all(b.device.type == "cuda" for b in model.buffers())
    model.cpu()
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_state_dict_of_a_cuda_model_saves_and_loads(tmp_path):
    model = nn.Linear(2, 2).to("cuda")
    path = tmp_path / "m.pt"
    tapegrad.save(model.state_dict(), path)
    state = tapegrad.load(path)
    fresh = nn.Linear(2, 2)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.weight.detach().numpy(),
                                  model.weight.detach().cpu().numpy())


def test_transfer_counter_counts_both_directions():
    counter = tapegrad.cuda.transfer_counter()
    counter.reset()
    y = tapegrad.arange(6.0).reshape(2, 3).to("cuda")
    assert (counter.host_to_device, counter.device_to_host) == (1, 0)
    assert counter.bytes_host_to_device == 6 * 4
    y.sum().item()
    assert (counter.host_to_device, counter.device_to_host) == (1, 1)


def test_load_maps_a_cuda_checkpoint_to_the_cpu(tmp_path):
    path = tmp_path / "t.pt"
    tapegrad.save({"w": tapegrad.ones(2, device="cuda")}, path)
    assert tapegrad.load(path)["w"].device.type == "cuda"
    for where in ("cpu", tapegrad.device("cpu"), {"cuda:0": "cpu"}):
        assert tapegrad.load(path, map_location=where)["w"].device.type == "cpu"
    with pytest.raises(TypeError, match="map_location must be a device"):
        tapegrad.load(path, map_location=lambda storage, loc: storage)
