"""Time every kernel: numba backend vs reference (NumPy) vs torch, in one process.

    python benchmarks/kernels_bench.py                 # float32, (256, 128) and (2048, 1024)
    python benchmarks/kernels_bench.py --dtype float64 --shapes 256x128
    python benchmarks/kernels_bench.py --sweep         # also: serial vs parallel by size

Each cell is the best per-call time (us) of several timed loops on the same inputs; the ratio
columns compare implementations measured side by side, which is what to read (absolute times
drift between runs on a shared machine). (256, 128) is a typical training activation and stays
on the serial kernels; (2048, 1024) is above `cpu.PARALLEL_MIN_SIZE` and takes the parallel ones.
torch runs with its default intra-op threads (printed in the header) unless --torch-threads is
given. On a loaded machine multithreaded timings (torch's, and numba's parallel kernels) show
~8 ms scheduler stalls; --torch-threads 1 compares the serial kernels per core.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout

import torch

from tapegrad import kernels

cpu = kernels.load_jit()
ref = kernels.reference


def best_time_us(fn: Callable[[], object], budget_s: float = 0.005, repeat: int = 21) -> float:
    """Best mean time per call over `repeat` loops, each sized to run ~budget_s."""
    fn()  # warm up: numba compiles (or loads from its cache) here, not in the timing
    # Let the previous library's worker threads stop spinning: numba's and torch's OpenMP pools
    # busy-wait after a parallel call and would steal one of the two cores from this timing.
    time.sleep(0.05)
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= budget_s:
            break
        n = n * 2 if elapsed > budget_s / 8 else n * 8
    best = elapsed / n
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def cases(rows: int, cols: int, dtype: np.dtype, rng: np.random.Generator) -> list:
    """(name, numba call, numpy call, torch call) for every kernel on (rows, cols) inputs."""
    x = rng.standard_normal((rows, cols)).astype(dtype)
    g = rng.standard_normal((rows, cols)).astype(dtype)
    y = ref.sigmoid(x)
    sm = ref.softmax(x, -1)
    lsm = ref.log_softmax(x, -1)
    target = rng.integers(0, cols, rows)
    gl = rng.standard_normal(rows).astype(dtype)
    tx, tg, ty, tsm, tlsm = (torch.from_numpy(a) for a in (x, g, y, sm, lsm))
    tt, tgl = torch.from_numpy(target), torch.from_numpy(gl)
    tdt = tx.dtype
    dst_np, dst_ref, dst_t = x.copy(), x.copy(), tx.clone()
    aten = torch.ops.aten
    total_w = torch.tensor(float(rows), dtype=tdt)

    def torch_nll_backward():
        glp = aten.nll_loss_backward(tgl, tlsm, tt, None, 0, -100, total_w)
        return torch._log_softmax_backward_data(glp, tlsm, 1, tdt)

    def k(name, *args):
        return lambda: getattr(cpu, name)(*args), lambda: getattr(ref, name)(*args)

    return [
        ("relu", *k("relu", x), lambda: torch.relu(tx)),
        (
            "threshold_backward",
            *k("threshold_backward", g, x, 0.0),
            lambda: aten.threshold_backward(tg, tx, 0.0),
        ),
        ("sigmoid", *k("sigmoid", x), lambda: torch.sigmoid(tx)),
        ("sigmoid_backward", *k("sigmoid_backward", g, y), lambda: aten.sigmoid_backward(tg, ty)),
        ("tanh_backward", *k("tanh_backward", g, y), lambda: aten.tanh_backward(tg, ty)),
        ("softmax", *k("softmax", x, -1), lambda: torch.softmax(tx, -1)),
        ("softmax axis=0", *k("softmax", x, 0), lambda: torch.softmax(tx, 0)),
        ("log_softmax", *k("log_softmax", x, -1), lambda: torch.log_softmax(tx, -1)),
        (
            "softmax_backward",
            *k("softmax_backward", g, sm, -1),
            lambda: torch._softmax_backward_data(tg, tsm, -1, tdt),
        ),
        (
            "log_softmax_backward",
            *k("log_softmax_backward", g, lsm, -1),
            lambda: torch._log_softmax_backward_data(tg, tlsm, -1, tdt),
        ),
        ("logsumexp", *k("logsumexp", x, -1, False), lambda: torch.logsumexp(tx, -1)),
        (
            "axpy_",
            lambda: cpu.axpy_(dst_np, g, 1e-3),
            lambda: ref.axpy_(dst_ref, g, 1e-3),
            lambda: dst_t.add_(tg, alpha=1e-3),
        ),
        (
            "scale_",
            lambda: cpu.scale_(dst_np, 1.0),
            lambda: ref.scale_(dst_ref, 1.0),
            lambda: dst_t.mul_(1.0),
        ),
        ("sum_to_shape (bias)", *k("sum_to_shape", g, (cols,)), lambda: tg.sum_to_size(cols)),
        (
            "log_softmax_nll",
            *k("log_softmax_nll", x, target, None, -100),
            lambda: torch.nn.functional.nll_loss(torch.log_softmax(tx, 1), tt, reduction="none"),
        ),
        (
            "log_softmax_nll_backward",
            *k("log_softmax_nll_backward", gl, lsm, target, None, -100),
            torch_nll_backward,
        ),
    ]


def threshold_sweep(dtype: np.dtype, rng: np.random.Generator) -> None:
    """Serial vs parallel kernels by size, alone and right after a BLAS matmul (how a training
    step interleaves them): the evidence behind `cpu.PARALLEL_MIN_SIZE`."""
    a = rng.standard_normal((256, 512)).astype(dtype)
    b = rng.standard_normal((512, 512)).astype(dtype)
    saved = cpu.PARALLEL_MIN_SIZE
    print(
        f"\n{'size':>9} {'kernel':8} {'serial':>8} {'parallel':>8} {'mm+serial':>10}"
        f" {'mm+parallel':>12}   (us; mm = a (256,512) @ (512,512) matmul)"
    )
    try:
        for size in (1 << 14, 1 << 16, 1 << 18, 1 << 20, 1 << 22):
            x = rng.standard_normal((size // 256, 256)).astype(dtype)
            dst = x.copy()
            for name, fn in (
                ("relu", lambda x=x: cpu.relu(x)),
                ("softmax", lambda x=x: cpu.softmax(x, -1)),
                ("axpy_", lambda x=x, dst=dst: cpu.axpy_(dst, x, 1e-3)),
            ):
                row = []
                for with_mm in (False, True):
                    for threshold in (1 << 62, 0):  # never / always parallel
                        cpu.PARALLEL_MIN_SIZE = threshold
                        call = (lambda f=fn: (a @ b, f())) if with_mm else fn
                        row.append(best_time_us(call, repeat=9))
                print(
                    f"{size:9d} {name:8} {row[0]:8.1f} {row[1]:8.1f} {row[2]:10.1f} {row[3]:12.1f}"
                )
    finally:
        cpu.PARALLEL_MIN_SIZE = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--shapes", default="256x128,2048x1024", help="comma-separated ROWSxCOLS list"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="also time serial vs parallel kernels by size"
    )
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)"
    )
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    print(
        f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads),"
        f" PARALLEL_MIN_SIZE={cpu.PARALLEL_MIN_SIZE}, dtype={dtype}"
    )
    header = (
        f"{'kernel':26} {'shape':>11} {'numba us':>9} {'numpy us':>9} {'torch us':>9}"
        f" {'numba/torch':>11} {'numpy/torch':>11} {'numpy/numba':>11}"
    )
    print(header)
    print("-" * len(header))
    for spec in args.shapes.split(","):
        rows, cols = (int(v) for v in spec.lower().split("x"))
        for name, f_numba, f_ref, f_torch in cases(rows, cols, dtype, rng):
            tn, tr, tt = best_time_us(f_numba), best_time_us(f_ref), best_time_us(f_torch)
            print(
                f"{name:26} {spec:>11} {tn:9.1f} {tr:9.1f} {tt:9.1f}"
                f" {tn / tt:11.2f} {tr / tt:11.2f} {tr / tn:11.2f}"
            )
    if args.sweep:
        threshold_sweep(dtype, rng)


if __name__ == "__main__":
    main()
