"""Every nn layer, loss and optimizer on ``device="cuda"``, compared with the CPU backend.

Each case builds the module twice from the same seed, moves one copy to the GPU, runs the
same float64 input through both, backpropagates the same upstream gradient, and compares the
output, the input's gradient and every parameter's gradient. The CPU backend is checked
against torch elsewhere (tests/nn), so agreement here carries that check over to the GPU."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import tapegrad
from tapegrad import nn

TOL = dict(rtol=1e-9, atol=1e-11)

LAYERS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "Linear": (lambda: nn.Linear(5, 3), (4, 5)),
    "Conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1), (2, 2, 6)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
    "Conv2d-dilated-groups": (lambda: nn.Conv2d(2, 4, 2, dilation=2, groups=2), (1, 2, 5, 5)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (2, 2, 4, 4)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 5)),
    "AdaptiveMaxPool2d": (lambda: nn.AdaptiveMaxPool2d(2), (1, 2, 5, 5)),
    "MaxPool1d": (lambda: nn.MaxPool1d(2), (2, 3, 6)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), (3, 2, 2, 2)),
    "LayerNorm": (lambda: nn.LayerNorm(4), (3, 4)),
    "Dropout-eval": (lambda: nn.Dropout(0.5).eval(), (3, 4)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 2)),
    "ReLU": (lambda: nn.ReLU(), (3, 4)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), (3, 4)),
    "Sigmoid": (lambda: nn.Sigmoid(), (3, 4)),
    "Tanh": (lambda: nn.Tanh(), (3, 4)),
    "GELU": (lambda: nn.GELU(), (3, 4)),
    "SiLU": (lambda: nn.SiLU(), (3, 4)),
    "ELU": (lambda: nn.ELU(), (3, 4)),
    "Softplus": (lambda: nn.Softplus(), (3, 4)),
    "Hardtanh": (lambda: nn.Hardtanh(), (3, 4)),
    "Softmax": (lambda: nn.Softmax(dim=1), (3, 4)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), (3, 4)),
    "RNN": (lambda: nn.RNN(3, 4), (2, 2, 3)),
    "GRU": (lambda: nn.GRU(3, 4, batch_first=True), (2, 2, 3)),
    "LSTM": (lambda: nn.LSTM(3, 4, num_layers=2), (2, 2, 3)),
    "LSTMCell": (lambda: nn.LSTMCell(3, 4), (2, 3)),
    "GRUCell": (lambda: nn.GRUCell(3, 4), (2, 3)),
    "LSTM proj_size, bidirectional": (lambda: nn.LSTM(3, 4, proj_size=2, bidirectional=True),
                                      (3, 2, 3)),
    "MultiheadAttention": (lambda: nn.MultiheadAttention(4, 2), (3, 2, 4)),
}


def _outputs(result) -> list:
    if isinstance(result, tapegrad.Tensor):
        return [result]
    flat = []
    for r in result:
        flat.extend(_outputs(r) if isinstance(r, (tuple, list)) else [r])
    return [r for r in flat if isinstance(r, tapegrad.Tensor)]


def _run(make: Callable[[], nn.Module], shape: tuple, device: str, call=None):
    tapegrad.manual_seed(0)
    module = make().double().to(device)
    rng = np.random.default_rng(1)
    x = tapegrad.from_numpy(rng.standard_normal(shape)).to(device).requires_grad_(True)
    counter = tapegrad.cuda.transfer_counter()
    counter.reset()
    outs = _outputs(call(module, x) if call else module(x))
    seeds = [tapegrad.from_numpy(rng.standard_normal(tuple(o.shape))).to(device) for o in outs]
    copies = counter.total - len(seeds)  # the upstream gradients are made on the host
    tapegrad.autograd.backward(outs, seeds)
    if device == "cuda":  # forward and backward stay on the GPU: no copy either way
        assert copies == 0 and counter.total == len(seeds), counter
    grads = [x.grad] + [p.grad for p in module.parameters()]
    return [o.detach() for o in outs], grads


def _same(cuda_values: list, cpu_values: list, what: str) -> None:
    assert len(cuda_values) == len(cpu_values)
    for i, (got, want) in enumerate(zip(cuda_values, cpu_values, strict=True)):
        if want is None:
            assert got is None, f"{what} {i}"
            continue
        assert got.device.type == "cuda", f"{what} {i} left the GPU"
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), err_msg=f"{what} {i}",
                                   **TOL)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_on_cuda_matches_cpu(name):
    make, shape = LAYERS[name]
    call = (lambda m, x: m(x, x, x)) if name == "MultiheadAttention" else None
    cpu_out, cpu_grads = _run(make, shape, "cpu", call)
    cuda_out, cuda_grads = _run(make, shape, "cuda", call)
    _same(cuda_out, cpu_out, "output")
    _same(cuda_grads, cpu_grads, "grad")


def test_embedding_on_cuda_matches_cpu():
    results = []
    for device in ("cpu", "cuda"):
        tapegrad.manual_seed(0)
        emb = nn.Embedding(6, 3).double().to(device)
        idx = tapegrad.tensor([[1, 4, 1], [0, 5, 2]]).to(device)
        out = emb(idx)
        out.backward(tapegrad.ones_like(out))
        results.append((out.detach(), emb.weight.grad))
    _same(list(results[1]), list(results[0]), "embedding")


LOSSES = {
    "mse": lambda x, t, ti: nn.functional.mse_loss(x, t),
    "l1": lambda x, t, ti: nn.functional.l1_loss(x, t, reduction="sum"),
    "smooth_l1": lambda x, t, ti: nn.functional.smooth_l1_loss(x, t),
    "huber": lambda x, t, ti: nn.functional.huber_loss(x, t, delta=0.5),
    "bce": lambda x, t, ti: nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid()),
    "bce_logits": lambda x, t, ti: nn.functional.binary_cross_entropy_with_logits(x, t.sigmoid()),
    "kl_div": lambda x, t, ti: nn.functional.kl_div(x.log_softmax(1), t.softmax(1),
                                                    reduction="batchmean"),
    "cross_entropy": lambda x, t, ti: nn.functional.cross_entropy(x, ti),
    "cross_entropy-weighted-ignore": lambda x, t, ti: nn.functional.cross_entropy(
        x, ti, weight=tapegrad.linspace(0.5, 2.0, 4, dtype=tapegrad.float64, device=x.device),
        ignore_index=1),
    "cross_entropy-probs": lambda x, t, ti: nn.functional.cross_entropy(x, t.softmax(1)),
    "nll": lambda x, t, ti: nn.functional.nll_loss(x.log_softmax(1), ti, reduction="sum"),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_on_cuda_matches_cpu(name):
    rng = np.random.default_rng(2)
    x0, t0 = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    ti0 = np.array([0, 3, 1, 2, 3])
    results = []
    for device in ("cpu", "cuda"):
        x = tapegrad.from_numpy(x0.copy()).to(device).requires_grad_(True)
        t = tapegrad.from_numpy(t0.copy()).to(device)
        ti = tapegrad.from_numpy(ti0.copy()).to(device)
        counter = tapegrad.cuda.transfer_counter()
        counter.reset()
        loss = LOSSES[name](x, t, ti)
        loss.backward()
        assert counter.device_to_host == 0  # nothing read back (a weight may be made and sent)
        results.append((loss.detach(), x.grad))
    _same(list(results[1]), list(results[0]), name)


OPTIMIZERS = {
    "SGD": lambda p: tapegrad.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                        weight_decay=0.01),
    "Adam-amsgrad": lambda p: tapegrad.optim.Adam(p, lr=0.01, amsgrad=True),
    "AdamW": lambda p: tapegrad.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "RMSprop": lambda p: tapegrad.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda p: tapegrad.optim.Adagrad(p, lr=0.1, lr_decay=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_on_cuda_matches_cpu(name):
    finals = []
    for device in ("cpu", "cuda"):
        w = tapegrad.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=tapegrad.float64,
                            device=device, requires_grad=True)
        opt = OPTIMIZERS[name]([w])
        for _ in range(3):
            opt.zero_grad()
            ((w * w).sum() + w[0, 1] * 3).backward()
            opt.step()
        finals.append(w.detach())
    _same([finals[1]], [finals[0]], name)


def test_dropout_on_cuda_draws_its_mask_on_the_gpu():
    x = tapegrad.ones(64, 32, device="cuda", requires_grad=True)
    tapegrad.manual_seed(0)
    nn.functional.dropout(x, 0.5)  # builds the generator states: one copy
    counter = tapegrad.cuda.transfer_counter()
    counter.reset()
    y = nn.functional.dropout(x, 0.25)
    y.sum().backward()
    assert counter.host_to_device == 0
    kept = y.detach().cpu().numpy()
    assert set(np.unique(kept)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.2 < (kept == 0).mean() < 0.3
    np.testing.assert_array_equal(x.grad.cpu().numpy(), kept)
    tapegrad.manual_seed(5)
    a = nn.functional.dropout(x, 0.5).detach().cpu().numpy()
    tapegrad.manual_seed(5)
    b = nn.functional.dropout(x, 0.5).detach().cpu().numpy()
    np.testing.assert_array_equal(a, b)


def test_cross_entropy_target_out_of_range_on_cuda():
    """A GPU kernel cannot raise: the bad row's loss is NaN and nothing is copied. With sync
    checks on, the op reads the flags back and raises the CPU's IndexError."""
    x = tapegrad.zeros(2, 3, device="cuda")
    bad = tapegrad.tensor([0, 7]).to("cuda")
    counter = tapegrad.cuda.transfer_counter()
    counter.reset()
    losses = nn.functional.cross_entropy(x, bad, reduction="none")
    assert counter.total == 0
    got = losses.cpu().numpy()
    assert np.isfinite(got[0]) and np.isnan(got[1])
    with pytest.raises(IndexError) as cpu_error:
        nn.functional.cross_entropy(x.cpu(), bad.cpu())
    tapegrad.cuda.set_sync_checks(True)
    try:
        with pytest.raises(IndexError) as gpu_error:
            nn.functional.cross_entropy(x, bad)
    finally:
        tapegrad.cuda.set_sync_checks(False)
    assert str(gpu_error.value) == str(cpu_error.value)
