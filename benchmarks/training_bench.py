"""ms per training step of MLP workloads: tapegrad vs torch CPU vs hand-written numpy vs mygrad.

Run: .venv/bin/python benchmarks/training_bench.py [--rounds 5] [--steps 50] [--device cuda]

Workloads (from the issue): W2 digits-sized MLP 64-128-64-10, batch 256; W3 MLP
784-512-512-10, batch 128. One step = forward (Linear-ReLU-Linear-ReLU-Linear),
softmax cross-entropy, backward, SGD update. Every engine runs in this process, in
interleaved rounds, and the table reports the median of the per-round medians with the
ratio to torch measured in the same run (absolute times drift, ratios are what to read).

``--device cuda`` times tapegrad and torch only, both on the GPU (the numpy and mygrad
engines are CPU-only); see ``_device.py`` for what happens when a side has no CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from _device import Devices, add_device_argument, ratio, select


def data(sizes: list[int], batch: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    weights = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
               for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [np.zeros(o, np.float32) for o in sizes[1:]]
    return x, y, weights, biases


def make_torch_like(lib, sizes, batch, device=None):
    """A step function for tapegrad or torch (same code, different library), its model and
    data moved to ``device`` when one is given (the device idiom: ``model.to(device)``,
    ``x.to(device)``; the loss comes back with ``.item()``)."""
    x_np, y_np, ws, bs = data(sizes, batch)
    layers = []
    for w, b in zip(ws, bs, strict=True):
        layer = lib.nn.Linear(w.shape[1], w.shape[0])
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(w))
            layer.bias.copy_(lib.tensor(b))
        layers.append(layer)
    mods = []
    for i, layer in enumerate(layers):
        mods.append(layer)
        if i < len(layers) - 1:
            mods.append(lib.nn.ReLU())
    model = lib.nn.Sequential(*mods)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    if device is not None:
        model, x, y = model.to(device), x.to(device), y.to(device)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def make_numpy(sizes, batch):
    """The floor: the same network with forward and backward written by hand in numpy."""
    x, y, ws, bs = data(sizes, batch)
    ws = [w.T.copy() for w in ws]  # (in, out)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y]

    def step() -> float:
        acts = [x]
        h = x
        for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
            h = h @ w + b
            if i < len(ws) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        z = h - h.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -(logp * onehot).sum() / batch
        grad = (np.exp(logp) - onehot) / batch
        for i in range(len(ws) - 1, -1, -1):
            gw = acts[i].T @ grad
            gb = grad.sum(axis=0)
            if i > 0:
                grad = (grad @ ws[i].T) * (acts[i] > 0)
            ws[i] -= 0.01 * gw
            bs[i] -= 0.01 * gb
        return float(loss)

    return step


def make_mygrad(sizes, batch):
    import mygrad as mg

    x_np, y_np, ws, bs = data(sizes, batch)
    params = [mg.tensor(w.T.copy()) for w in ws] + [mg.tensor(b) for b in bs]
    n = len(ws)
    onehot = np.eye(sizes[-1], dtype=np.float32)[y_np]

    def step() -> float:
        h = mg.tensor(x_np)
        for i in range(n):
            h = mg.matmul(h, params[i]) + params[n + i]
            if i < n - 1:
                h = mg.maximum(h, 0)
        z = h - mg.max(h, axis=1, keepdims=True)
        logp = z - mg.log(mg.sum(mg.exp(z), axis=1, keepdims=True))
        loss = -mg.sum(logp * onehot) / batch
        loss.backward()
        for p in params:
            p.data -= 0.01 * p.grad
        loss.clear_graph() if hasattr(loss, "clear_graph") else None
        return float(loss.item())

    return step


def time_steps(step, steps: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(steps):
        t0 = clock()
        step()
        times.append(clock() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    add_device_argument(parser)
    args = parser.parse_args()
    if args.device != "cpu":
        main_device(args, select(args.device))
        return

    import torch

    import tapegrad

    workloads = {"W2 MLP 64-128-64-10, batch 256": ([64, 128, 64, 10], 256),
                 "W3 MLP 784-512-512-10, batch 128": ([784, 512, 512, 10], 128)}
    engines = {"torch": lambda s, b: make_torch_like(torch, s, b),
               "tapegrad": lambda s, b: make_torch_like(tapegrad, s, b),
               "numpy by hand": make_numpy}
    try:
        import mygrad  # noqa: F401

        engines["mygrad"] = make_mygrad
    except ImportError:
        pass
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; "
          f"{args.rounds} rounds x {args.steps} steps, median ms/step")
    for title, (sizes, batch) in workloads.items():
        steps = {name: make(sizes, batch) for name, make in engines.items()}
        first = {name: step() for name, step in steps.items()}  # warm-up (numba compiles)
        rounds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                rounds[name].append(time_steps(step, args.steps))
        ref = statistics.median(rounds["torch"])
        print(f"\n{title}")
        print(f"  {'engine':15s} {'ms/step':>9s} {'vs torch':>9s} {'first loss':>11s}")
        for name in steps:
            ms = statistics.median(rounds[name])
            print(f"  {name:15s} {ms:9.3f} {ms / ref:8.2f}x {first[name]:11.5f}")


def main_device(args, dev: Devices) -> None:
    """The MLP steps of tapegrad and torch on ``dev`` (each side that can run there)."""
    if not dev.anything_runs:
        return
    import torch

    import tapegrad

    workloads = {"W2 MLP 64-128-64-10, batch 256": ([64, 128, 64, 10], 256),
                 "W3 MLP 784-512-512-10, batch 128": ([784, 512, 512, 10], 128)}
    if dev.simulated:
        workloads = {"tiny MLP 8-16-4, batch 4 (simulator)": ([8, 16, 4], 4)}
    libs = {"tapegrad": (tapegrad, dev.tapegrad), "torch": (torch, dev.torch)}
    rounds_n, steps_n = dev.steps(args.rounds), dev.steps(args.steps)
    print(f"MLP training steps on {dev.name}: {rounds_n} rounds x {steps_n} steps, "
          "median ms/step (clocks read after synchronize)")
    for title, (sizes, batch) in workloads.items():
        steps = {name: make_torch_like(lib, sizes, batch, device)
                 for name, (lib, device) in libs.items() if device is not None}
        first = {name: step() for name, step in steps.items()}  # warm-up: compiles kernels
        if "torch" not in steps:  # the same network on torch's CPU: is tapegrad's loss right?
            first["torch (cpu)"] = make_torch_like(torch, sizes, batch)()
        rounds: dict[str, list[float]] = {name: [] for name in steps}
        for _ in range(rounds_n):
            for name, step in steps.items():
                rounds[name].append(time_steps(step, steps_n, dev.clock))
        ms = {name: statistics.median(r) for name, r in rounds.items()}
        print(f"\n{title}")
        print(f"  {'engine':15s} {'ms/step':>9s} {'first loss':>11s}")
        for name, loss in first.items():
            timing = f"{ms[name]:9.3f}" if name in ms else f"{'-':>9s}"
            print(f"  {name:15s} {timing} {loss:11.5f}")
        print(f"  tapegrad / torch: {ratio(ms.get('tapegrad'), ms.get('torch'))}")


if __name__ == "__main__":
    main()
