"""LeNet-5 forward + backward, tapegrad vs torch (CPU) in the same process.

    python benchmarks/conv_bench.py                      # batch 32 of 3x32x32, float32
    python benchmarks/conv_bench.py --torch-threads 1    # compare per core
    python benchmarks/conv_bench.py --layers             # also time each conv/pool op alone
    python benchmarks/conv_bench.py --device cuda        # both libraries on the GPU

The network is the classic one (the issue's workload W4): conv 3->6 5x5, relu, max pool 2,
conv 6->16 5x5, relu, max pool 2, flatten, linear 400->120->84->10 with relu, cross-entropy.
One step is ``zero_grad`` + forward + loss + backward (no optimizer: this times the engine).
Both models hold the same weights. Timings alternate between the libraries in rounds so that
load from other processes hits both alike. Each cell is ``median (best)`` over all steps; the
ratio columns are what to read (absolute times drift between runs on a shared machine).

torch is timed twice: with its default intra-op threads (2 on the development machine; the
issue's target is tapegrad <= 1.5x this) and with 1 thread (a per-core comparison: tapegrad's
convolution kernels are serial, only OpenBLAS may use a second core).

With ``--device cuda`` both run on the GPU and torch is timed once (threads do not apply);
see ``_device.py`` for what happens when a side has no CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _device import Devices, add_device_argument, ratio, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout

import torch  # noqa: E402

import tapegrad  # noqa: E402
import tapegrad.nn as tnn  # noqa: E402
import tapegrad.nn.functional as TF  # noqa: E402


def lenet(nn: object) -> object:
    """The same network in either library (``nn`` is ``torch.nn`` or ``tapegrad.nn``)."""
    return nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def tiny_lenet(nn: object) -> object:
    """LeNet-5's layer pattern at toy size (3x12x12 input): for the CUDA simulator, which
    runs one Python thread per CUDA thread and needs minutes for one real LeNet-5 step."""
    return nn.Sequential(
        nn.Conv2d(3, 2, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3),
    )


def make_step(model: object, x: object, y: object, cross_entropy: Callable) -> Callable:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        cross_entropy(model(x), y).backward()
    return step


def time_steps(step: Callable[[], None], n: int,
               clock: Callable[[], float] = time.perf_counter) -> list[float]:
    out = []
    for _ in range(n):
        t0 = clock()
        step()
        out.append(clock() - t0)
    return out


def compare(steps: dict[str, Callable[[], None]], rounds: int, per_round: int,
            clock: Callable[[], float] = time.perf_counter,
            warmup: int = 5) -> dict[str, tuple[float, float]]:
    """``{name: (median ms, best ms)}``, the steps timed in alternating rounds."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm up (numba compiles or loads its cache here)
        for _ in range(warmup):
            step()
    for _ in range(rounds):
        for name, step in steps.items():
            time.sleep(0.02)  # let the other library's worker threads stop spinning
            times[name] += time_steps(step, per_round, clock)
    return {name: (statistics.median(t) * 1e3, min(t) * 1e3) for name, t in times.items()}


def _cell(t: tuple[float, float]) -> str:
    return f"{t[0]:.2f} ({t[1]:.2f})"


def _ratio(a: tuple[float, float], b: tuple[float, float]) -> str:
    return f"{a[0] / b[0]:.2f} ({a[1] / b[1]:.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20, help="steps per library per round")
    ap.add_argument("--layers", action="store_true", help="also time single conv/pool ops")
    add_device_argument(ap)
    args = ap.parse_args()
    if args.device != "cpu":
        main_device(args, select(args.device))
        return
    default_threads = torch.get_num_threads()

    torch.manual_seed(0)
    tmodel = lenet(torch.nn)
    gmodel = lenet(tnn)
    gmodel.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in
                            tmodel.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, args.batch)
    tstep = make_step(tmodel, torch.tensor(x), torch.tensor(y), torch.nn.functional.cross_entropy)
    gstep = make_step(gmodel, tapegrad.tensor(x), tapegrad.tensor(y), TF.cross_entropy)

    # same numbers first: one step each, compare the first conv's weight gradient
    tstep()
    gstep()
    diff = np.abs(tmodel[0].weight.grad.numpy() - gmodel[0].weight.grad.numpy()).max()

    def torch_with(threads: int) -> Callable[[], None]:
        def step() -> None:
            torch.set_num_threads(threads)
            tstep()
        return step

    print(f"LeNet-5 forward+backward, batch {args.batch} of 3x32x32 float32; torch "
          f"{torch.__version__} ({default_threads} threads by default); max |dW1 diff| "
          f"{diff:.1e}")
    res = compare({"tapegrad": gstep, "torch": torch_with(default_threads),
                   "torch1": torch_with(1)}, args.rounds, args.steps)
    print("ms per step, median (best):\n")
    print(f"| workload | tapegrad | torch ({default_threads} threads) | ratio | torch (1 thread) "
          "| ratio |\n|---|---|---|---|---|---|")
    print(f"| LeNet-5 step | {_cell(res['tapegrad'])} | {_cell(res['torch'])} | "
          f"{_ratio(res['tapegrad'], res['torch'])} | {_cell(res['torch1'])} | "
          f"{_ratio(res['tapegrad'], res['torch1'])} |")
    torch.set_num_threads(default_threads)
    if args.layers:
        layer_table(args, x)


def main_device(args: argparse.Namespace, dev: Devices) -> None:
    """One LeNet-5 step of each library that can run on ``dev``; a skipped torch still runs on
    the CPU once, as the reference for tapegrad's gradient."""
    if not dev.anything_runs:
        return
    net, title, batch, side, classes = lenet, "LeNet-5", args.batch, 32, 10
    if dev.simulated:
        net, title, batch, side, classes = tiny_lenet, "tiny LeNet-shaped net", 1, 12, 3
    torch.manual_seed(0)
    tmodel = net(torch.nn)
    gmodel = net(tnn)
    gmodel.load_state_dict({k: tapegrad.tensor(v.numpy()) for k, v in
                            tmodel.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, side, side)).astype(np.float32)
    y = rng.integers(0, classes, batch)
    tmodel = dev.move("torch", tmodel)
    tx, ty = dev.move("torch", torch.tensor(x)), dev.move("torch", torch.tensor(y))
    tstep = make_step(tmodel, tx, ty, torch.nn.functional.cross_entropy)
    steps = {}
    if dev.tapegrad is not None:
        gmodel = dev.move("tapegrad", gmodel)
        gx, gy = dev.move("tapegrad", tapegrad.tensor(x)), dev.move("tapegrad", tapegrad.tensor(y))
        steps["tapegrad"] = make_step(gmodel, gx, gy, TF.cross_entropy)
    if dev.torch is not None:
        steps["torch"] = tstep
    tstep()  # on the GPU, or on the CPU as the reference
    diff = "n/a"
    if "tapegrad" in steps:
        steps["tapegrad"]()
        dw = gmodel[0].weight.grad.cpu().numpy()
        diff = f"{np.abs(tmodel[0].weight.grad.cpu().numpy() - dw).max():.1e}"
    print(f"{title} forward+backward on {dev.name}, batch {batch} of 3x{side}x{side} float32; "
          f"torch {torch.__version__}; max |dW1 diff| {diff}")
    res = compare(steps, dev.steps(args.rounds), dev.steps(args.steps), dev.clock,
                  warmup=dev.steps(5, simulated=0))
    print("ms per step, median (best), clocks read after synchronize:\n")
    print("| workload | tapegrad | torch | ratio |\n|---|---|---|---|")
    cells = {name: _cell(res[name]) if name in res else "skipped" for name in ("tapegrad", "torch")}
    ours, theirs = res.get("tapegrad", (None,))[0], res.get("torch", (None,))[0]
    print(f"| {title} step | {cells['tapegrad']} | {cells['torch']} | {ratio(ours, theirs)} |")


def layer_table(args: argparse.Namespace, x: np.ndarray) -> None:
    """Forward+backward of each conv/pool of the network alone (input grad included)."""
    rng = np.random.default_rng(1)
    b = args.batch
    cases = [
        ("conv1 3->6 5x5 (no input grad)", (b, 3, 32, 32), "conv", (6, 3, 5, 5), False),
        ("maxpool 2 on 6x28x28", (b, 6, 28, 28), "pool", None, True),
        ("conv2 6->16 5x5", (b, 6, 14, 14), "conv", (16, 6, 5, 5), True),
        ("maxpool 2 on 16x10x10", (b, 16, 10, 10), "pool", None, True),
    ]
    print(f"\nsingle ops, forward+backward, ms median (best); torch {torch.get_num_threads()} "
          "threads:\n\n| op | tapegrad | torch | ratio |\n|---|---|---|---|")
    for name, shape, kind, wshape, need_x in cases:
        xa = rng.standard_normal(shape).astype(np.float32)
        steps = {}
        for lib, F in (("tapegrad", TF), ("torch", torch.nn.functional)):
            mod = tapegrad if lib == "tapegrad" else torch
            xt = mod.tensor(xa, requires_grad=need_x)
            if kind == "conv":
                w = mod.tensor(rng.standard_normal(wshape).astype(np.float32),
                               requires_grad=True)
                bias = mod.tensor(np.zeros(wshape[0], np.float32), requires_grad=True)

                def step(F=F, xt=xt, w=w, bias=bias) -> None:
                    F.conv2d(xt, w, bias).sum().backward()
            else:
                def step(F=F, xt=xt) -> None:
                    F.max_pool2d(xt, 2).sum().backward()
            steps[lib] = step
        res = compare(steps, args.rounds, args.steps)
        print(f"| {name} | {_cell(res['tapegrad'])} | {_cell(res['torch'])} | "
              f"{_ratio(res['tapegrad'], res['torch'])} |")


if __name__ == "__main__":
    main()
