"""One-layer LSTM training step, tapegrad vs torch (CPU), in one run.

Workload: ``nn.LSTM(input_size=32, hidden_size=128)`` over a float32 sequence of length 32
and batch 32; one step = forward, ``out.sum() + h_n.sum()`` as the loss, backward (weights
copied from torch so both compute the same thing; gradients checked to agree). Prints the
median and best CPU ms per step of each and the ratio of medians (the issue's target:
tapegrad <= 2x torch).

    .venv/bin/python benchmarks/lstm_bench.py [--steps 50] [--seq 32] [--batch 32]
        [--input 32] [--hidden 128] [--threads 1] [--device cuda]

With ``--device cuda`` both run on the GPU and the clock is wall time read after
``synchronize()`` (CPU time would miss the GPU's work); see ``_device.py`` for what happens
when a side has no CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _device import Devices, add_device_argument, ratio, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout


def timed(steps_by_engine: dict, steps: int, clock=time.process_time, warmup: int = 3) -> dict:
    """Per engine: (median, best) ms of CPU time per step.

    The engines take turns step by step, so both see the same machine load, and the clock
    is this process's CPU time (``time.process_time``): on a shared machine wall time also
    counts the time other processes held the core. With one BLAS/torch thread the two
    agree on an idle machine.
    """
    for step in steps_by_engine.values():  # warm-up: numba compilation, allocator, caches
        for _ in range(warmup):
            step()
    times: dict = {name: [] for name in steps_by_engine}
    for _ in range(steps):
        for name, step in steps_by_engine.items():
            t0 = clock()
            step()
            times[name].append((clock() - t0) * 1e3)
    return {name: (statistics.median(ts), min(ts)) for name, ts in times.items()}


def _models_and_input(args: argparse.Namespace) -> tuple:
    """torch's LSTM, tapegrad's with the same weights, and one float32 input batch."""
    import torch

    import tapegrad
    from tapegrad.nn.modules.rnn import LSTM

    torch.manual_seed(0)
    ref = torch.nn.LSTM(args.input, args.hidden)
    ours = LSTM(args.input, args.hidden)
    ours.load_state_dict({k: tapegrad.tensor(v.detach().numpy())
                          for k, v in ref.state_dict().items()})
    x_np = np.random.default_rng(0).standard_normal(
        (args.seq, args.batch, args.input)).astype(np.float32)
    return ref, ours, x_np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--input", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for torch and for NumPy's BLAS (default 1: on a shared "
                             "2-core machine multithreaded BLAS timings swing 10x)")
    add_device_argument(parser)
    args = parser.parse_args()
    if args.device != "cpu":
        main_device(args, select(args.device))
        return

    import torch

    import tapegrad

    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        print("threadpoolctl not installed: NumPy's BLAS uses its default thread count")
    ref, ours, x_np = _models_and_input(args)
    x_t, x_g = torch.tensor(x_np), tapegrad.tensor(x_np)

    def torch_step() -> None:
        ref.zero_grad()
        out, (h, _) = ref(x_t)
        (out.sum() + h.sum()).backward()

    def tapegrad_step() -> None:
        ours.zero_grad()
        out, (h, _) = ours(x_g)
        (out.sum() + h.sum()).backward()

    torch_step()
    tapegrad_step()
    worst = max(
        float(np.abs(p.grad.numpy() - ref.get_parameter(n).grad.numpy()).max()
              / (np.abs(ref.get_parameter(n).grad.numpy()).max() + 1e-12))
        for n, p in ours.named_parameters())
    res = timed({"torch": torch_step, "tapegrad": tapegrad_step}, args.steps)
    (t_torch, b_torch), (t_ours, b_ours) = res["torch"], res["tapegrad"]
    print(f"LSTM({args.input}, {args.hidden}), seq {args.seq}, batch {args.batch}, float32, "
          f"forward+backward, {args.steps} steps each, CPU ms per step "
          f"(torch {torch.__version__}, {args.threads} thread(s) for torch and BLAS)")
    print("| engine | median ms/step | best ms/step | median ratio to torch |")
    print("|---|---|---|---|")
    print(f"| torch | {t_torch:.2f} | {b_torch:.2f} | 1.00 |")
    print(f"| tapegrad | {t_ours:.2f} | {b_ours:.2f} | {t_ours / t_torch:.2f} |")
    print(f"max relative gradient difference: {worst:.1e}")


def main_device(args: argparse.Namespace, dev: Devices) -> None:
    """The LSTM step of each library that can run on ``dev``; a skipped torch still runs on
    the CPU once, as the reference for tapegrad's gradients."""
    if not dev.anything_runs:
        return
    import torch

    import tapegrad

    if dev.simulated:  # the simulator runs one Python thread per CUDA thread
        args.seq, args.batch, args.input, args.hidden = 2, 2, 4, 8
    ref, ours, x_np = _models_and_input(args)
    ref = dev.move("torch", ref)
    x_t = dev.move("torch", torch.tensor(x_np))

    def torch_step() -> None:
        ref.zero_grad()
        out, (h, _) = ref(x_t)
        (out.sum() + h.sum()).backward()

    steps = {}
    if dev.tapegrad is not None:
        ours = dev.move("tapegrad", ours)
        x_g = dev.move("tapegrad", tapegrad.tensor(x_np))

        def tapegrad_step() -> None:
            ours.zero_grad()
            out, (h, _) = ours(x_g)
            (out.sum() + h.sum()).backward()

        steps["tapegrad"] = tapegrad_step
    if dev.torch is not None:
        steps["torch"] = torch_step
    torch_step()  # on the GPU, or on the CPU as the reference
    worst = "n/a"
    if "tapegrad" in steps:
        tapegrad_step()
        worst = "{:.1e}".format(max(
            float(np.abs(p.grad.cpu().numpy() - ref.get_parameter(n).grad.cpu().numpy()).max()
                  / (np.abs(ref.get_parameter(n).grad.cpu().numpy()).max() + 1e-12))
            for n, p in ours.named_parameters()))
    res = timed(steps, dev.steps(args.steps), dev.clock, warmup=dev.steps(3, simulated=0))
    print(f"LSTM({args.input}, {args.hidden}), seq {args.seq}, batch {args.batch}, float32, "
          f"forward+backward on {dev.name}, {dev.steps(args.steps)} steps each, wall ms per "
          f"step after synchronize (torch {torch.__version__})")
    print("| engine | median ms/step | best ms/step |")
    print("|---|---|---|")
    for name in ("torch", "tapegrad"):
        if name in res:
            print(f"| {name} | {res[name][0]:.2f} | {res[name][1]:.2f} |")
        else:
            print(f"| {name} | skipped | skipped |")
    ours_ms, theirs_ms = res.get("tapegrad", (None,))[0], res.get("torch", (None,))[0]
    print(f"tapegrad / torch (medians): {ratio(ours_ms, theirs_ms)}")
    print(f"max relative gradient difference: {worst}")


if __name__ == "__main__":
    main()
