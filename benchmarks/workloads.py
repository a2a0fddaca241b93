"""The workloads, one engine per process: ``python benchmarks/workloads.py W3 tapegrad``.

`all.py` starts this file once per workload, engine and round (a fresh interpreter each
time) and reads the JSON object it prints on its last line. Run by hand it is the quickest
way to time one engine on one workload::

    .venv/bin/python benchmarks/workloads.py W4 torch --steps 20

Why a process per engine: on a 2-core machine numpy's OpenBLAS workers, numba's and
torch's thread pools keep spinning for a while after a step, and one engine's cyclic
garbage lengthens the next engine's gc passes; in one process the engine timed second
pays for the first (torch's W3 step: 2.2 ms alone, 3.4-4.3 ms after tapegrad's).

Every engine of a workload starts from the same numbers: data and initial weights come
from numpy's seeded generator (never from one library's initialiser), and the child
reports the first step's loss (or another check value) so that `all.py` can check that
the engines computed the same thing before it compares their times.

What a child measures (see `run`): ``--warmup`` untimed steps (the first one's value is
the check; numba compiles or loads its cache here), then ``--steps`` timed steps, wall
clock. Around the timed loop it resets the kernel's peak-RSS counter (Linux
``/proc/self/clear_refs``), so the reported peak is the loop's, not the imports'.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a plain checkout: import this tapegrad

Step = Callable[[], Any]


# ---------------------------------------------------------------------------------------------
# Small-tensor overhead: a chain of recorded ops on 8 elements, forward + backward.

OPS_REPS = 10  # (mul, add, tanh) x OPS_REPS, then sum: the number of recorded ops is
OPS_PER_STEP = 3 * OPS_REPS + 1  # the divisor that turns a step's time into time per op


def small_ops(lib: Any, ctx: Context) -> tuple[Step, Callable[[Any], float]]:
    """``y = tanh(y * c + 0.5)`` ten times on an 8-element float32 vector, ``sum``,
    backward: the size of every teaching example, where the time is all per-op overhead
    (argument handling, tape entry, backward dispatch, accumulation), not arithmetic."""
    rng = np.random.default_rng(0)
    x = ctx.move(lib.tensor(rng.standard_normal(8).astype(np.float32)))
    x.requires_grad_(True)
    c = ctx.move(lib.tensor(rng.uniform(0.5, 1.0, 8).astype(np.float32)))

    def forward() -> Any:
        x.grad = None
        y = x
        for _ in range(OPS_REPS):
            y = y * c
            y = y + 0.5
            y = y.tanh()
        return y.sum()

    def step() -> Any:
        loss = forward()
        loss.backward()
        return loss

    step.forward = forward  # type: ignore[attr-defined]  # run() times the halves apart
    return step, lambda loss: loss.item()


def time_halves(step: Step, n: int, sync: Callable[[], None]) -> dict[str, list[float]]:
    """`small_ops`'s steps timed in two halves, forward (building the tape) and backward,
    per op; ``step`` (their sum) is the figure the table compares."""
    fwd, bwd = Clocks(), Clocks()
    for _ in range(n):
        sync()
        fwd.start()
        loss = step.forward()  # type: ignore[attr-defined]
        sync()
        fwd.stop()
        bwd.start()
        loss.backward()
        sync()
        bwd.stop()
        del loss
    metrics = {**fwd.metrics("forward", OPS_PER_STEP), **bwd.metrics("backward", OPS_PER_STEP)}
    for clock in ("", " cpu"):
        metrics["step" + clock] = [f + b for f, b in zip(metrics["forward" + clock],
                                                         metrics["backward" + clock],
                                                         strict=True)]
    return metrics


# ---------------------------------------------------------------------------------------------
# W1: micrograd's demo, one SGD step of a 2-16-16-1 MLP on 100 two-moons points, built from
# scalar engines (a ~65,000-node graph per step).

W1_POINTS, W1_SIZES, W1_ALPHA, W1_SEED = 100, (2, 16, 16, 1), 1e-4, 1337


def w1_moons() -> tuple[list, list]:
    """Two interleaving half circles (sklearn's make_moons), labels -1 / +1, as floats."""
    rng = np.random.default_rng(W1_SEED)
    n_out, n_in = W1_POINTS // 2, W1_POINTS - W1_POINTS // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate([np.cos(t_out), 1 - np.cos(t_in)])
    y = np.concatenate([np.sin(t_out), 1 - np.sin(t_in) - 0.5])
    X = np.stack([x, y], axis=1) + rng.normal(scale=0.1, size=(W1_POINTS, 2))
    return X.tolist(), np.concatenate([-np.ones(n_out), np.ones(n_in)]).tolist()


def w1_weights() -> list:
    """[(weights per neuron, bias)] per layer; micrograd's init: uniform(-1, 1), bias 0."""
    rnd = random.Random(W1_SEED)
    return [[([rnd.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
            for nin, nout in zip(W1_SIZES[:-1], W1_SIZES[1:], strict=True)]


def w1_loss(layers: list, params: list, X: list, Y: list, inp: Callable) -> Any:
    """micrograd's demo loss (max-margin + L2), written once: the engines share operators."""
    scores = []
    for xrow in X:
        x = [inp(v) for v in xrow]
        for k, layer in enumerate(layers):
            acts = [sum((wi * xi for wi, xi in zip(w, x, strict=True)), b) for w, b in layer]
            x = [a.relu() for a in acts] if k < len(layers) - 1 else acts
        scores.append(x[0])
    losses = [(1 + -yi * si).relu() for yi, si in zip(Y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + W1_ALPHA * sum(p * p for p in params)


def w1(engine: str, ctx: Context) -> tuple[Step, Callable[[Any], float]]:
    """One training step: zero grads, forward over all points, backward, SGD. As in a training
    loop, the previous step's loss (and graph) lives until the next step reassigns it."""
    if engine == "tapegrad":
        from tapegrad import Scalar

        param = inp = Scalar
        value: Callable[[Any], float] = lambda loss: loss.data  # noqa: E731
    elif engine.startswith("micrograd"):
        from micrograd.engine import Value

        if engine == "micrograd-nogc":
            gc.disable()
        param = inp = Value
        value = lambda loss: loss.data  # noqa: E731
    else:
        import torch

        def param(v: float) -> Any:
            return torch.tensor(v, dtype=torch.float64, requires_grad=True)

        def inp(v: float) -> Any:
            return torch.tensor(v, dtype=torch.float64)

        value = lambda loss: loss.item()  # noqa: E731
    X, Y = w1_moons()
    layers = [[([param(w) for w in ws], param(b)) for ws, b in layer] for layer in w1_weights()]
    params = [p for layer in layers for ws, b in layer for p in (*ws, b)]
    state = {"k": 0, "loss": None}

    def step() -> Any:
        lr = 1.0 - 0.9 * state["k"] / 100
        state["k"] += 1
        for p in params:
            p.grad = None if engine == "torch" else 0.0
        loss = w1_loss(layers, params, X, Y, inp)
        loss.backward()
        if engine == "torch":
            import torch

            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
        else:
            for p in params:
                p.data -= lr * p.grad
        state["loss"] = loss  # keep the graph alive until the next step, as a loop does
        return loss

    return step, value


# ---------------------------------------------------------------------------------------------
# W2 / W3: MLP training steps (Linear-ReLU-Linear-ReLU-Linear, softmax cross-entropy, SGD).

MLP_SIZES = {"W2": ([64, 128, 64, 10], 256), "W3": ([784, 512, 512, 10], 128)}
MLP_TINY = ([8, 16, 4], 4)  # under the CUDA simulator


def mlp_data(sizes: list[int], batch: int, seed: int = 0) -> tuple:
    """Inputs, labels, weights (out, in) scaled by 1/sqrt(in), zero biases; float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    weights = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
               for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [np.zeros(o, np.float32) for o in sizes[1:]]
    return x, y, weights, biases


def mlp_torch_like(lib: Any, sizes: list[int], batch: int, ctx: Context) -> Step:
    """The step in tapegrad or torch: the same code, ``lib`` is the library module."""
    x_np, y_np, ws, bs = mlp_data(sizes, batch)
    mods: list[Any] = []
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        layer = lib.nn.Linear(w.shape[1], w.shape[0])
        layer.load_state_dict({"weight": lib.tensor(w), "bias": lib.tensor(b)})
        mods += [layer] + ([lib.nn.ReLU()] if i < len(ws) - 1 else [])
    model = ctx.move(lib.nn.Sequential(*mods))
    x, y = ctx.move(lib.tensor(x_np)), ctx.move(lib.tensor(y_np))
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def mlp_numpy(sizes: list[int], batch: int) -> Step:
    """The floor: the same network with forward and backward written by hand in numpy."""
    x, y, ws, bs = mlp_data(sizes, batch)
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


def mlp_mygrad(sizes: list[int], batch: int) -> Step:
    import mygrad as mg

    x_np, y_np, ws, bs = mlp_data(sizes, batch)
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
        return float(loss.item())

    return step


def mlp(workload: str, engine: str, ctx: Context) -> tuple[Step, Callable[[Any], float]]:
    sizes, batch = MLP_TINY if ctx.tiny else MLP_SIZES[workload]
    if engine == "numpy":
        return mlp_numpy(sizes, batch), float
    if engine == "mygrad":
        return mlp_mygrad(sizes, batch), float
    return mlp_torch_like(ctx.lib, sizes, batch, ctx), float


# ---------------------------------------------------------------------------------------------
# W4: LeNet-5 forward + backward (no optimizer step), batch 32 of 3x32x32 float32.


def lenet(nn: Any, tiny: bool) -> Any:
    """The classic LeNet-5 in either library; ``tiny``: its layer pattern on 3x12x12 input,
    for the CUDA simulator (one Python thread per CUDA thread)."""
    if tiny:
        return nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    return nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def torch_like_init(model: Any, lib: Any, seed: int) -> None:
    """Load torch's default initialisation, drawn by numpy: every weight and bias uniform in
    +-1/sqrt(fan_in) (what kaiming_uniform(a=sqrt(5)) gives), so both libraries start from
    the same numbers without one importing the other."""
    rng = np.random.default_rng(seed)
    state, fan_in = {}, 1
    for name, t in model.state_dict().items():
        shape = tuple(t.shape)
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
        bound = 1 / np.sqrt(fan_in)
        state[name] = lib.tensor(rng.uniform(-bound, bound, shape).astype(np.float32))
    model.load_state_dict(state)


def w4(ctx: Context) -> tuple[Step, Callable[[Any], float]]:
    lib = ctx.lib
    batch, side, classes = (1, 12, 3) if ctx.tiny else (32, 32, 10)
    model = lenet(lib.nn, ctx.tiny)
    torch_like_init(model, lib, seed=0)
    rng = np.random.default_rng(0)
    x = ctx.move(lib.tensor(rng.standard_normal((batch, 3, side, side)).astype(np.float32)))
    y = ctx.move(lib.tensor(rng.integers(0, classes, batch)))
    model = ctx.move(model)
    cross_entropy = lib.nn.functional.cross_entropy

    def step() -> Any:
        model.zero_grad(set_to_none=True)
        loss = cross_entropy(model(x), y)
        loss.backward()
        return loss

    return step, lambda loss: loss.item()


# ---------------------------------------------------------------------------------------------
# LSTM: nn.LSTM(32, 128) over a sequence of 32, batch 32; loss out.sum() + h_n.sum().


def lstm(ctx: Context) -> tuple[Step, Callable[[Any], float]]:
    lib = ctx.lib
    seq, batch, inp, hidden = (2, 2, 4, 8) if ctx.tiny else (32, 32, 32, 128)
    model = lib.nn.LSTM(inp, hidden)
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(hidden)  # torch's LSTM init: every parameter uniform(+-1/sqrt(hidden))
    model.load_state_dict({
        name: lib.tensor(rng.uniform(-bound, bound, tuple(t.shape)).astype(np.float32))
        for name, t in model.state_dict().items()})
    model = ctx.move(model)
    x = ctx.move(lib.tensor(rng.standard_normal((seq, batch, inp)).astype(np.float32)))

    def step() -> Any:
        model.zero_grad()
        out, (h, _) = model(x)
        loss = out.sum() + h.sum()
        loss.backward()
        return loss

    return step, lambda loss: loss.item()


# ---------------------------------------------------------------------------------------------
# Deep chain: 100,000 scalar ops, x = x * 1.0001 and x = x + 0.0001 in turn; build, backward.

CHAIN_N = 100_000


def chain_engine(engine: str) -> tuple[Callable, Callable]:
    """(make a leaf, read the leaf's gradient) for engine ``engine``."""
    if engine == "tapegrad":
        import tapegrad

        return (lambda v: tapegrad.tensor(v, dtype=tapegrad.float64, requires_grad=True),
                lambda x: x.grad.item())
    if engine == "torch":
        import torch

        return (lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                lambda x: x.grad.item())
    if engine == "scalar":
        from tapegrad import Scalar

        return Scalar, lambda x: x.grad
    from micrograd.engine import Value

    return Value, lambda x: x.grad


def deep_chain(engine: str, n: int, repeat: int) -> dict:
    """Build and backward times of ``repeat`` chains of ``n`` ops; the check value is the
    gradient d x_N / d x_0 = 1.0001 ** (n / 2), or None when backward raised RecursionError
    (micrograd's recursive topological sort)."""
    leaf, grad_of = chain_engine(engine)
    builds, backs, first, note = Clocks(), Clocks(), None, ""
    for _ in range(repeat):
        x0 = leaf(1.0)
        builds.start()
        y = x0
        for _ in range(n // 2):
            y = y * 1.0001
            y = y + 0.0001
        builds.stop()
        backs.start()
        try:
            y.backward()
        except RecursionError:
            note = "backward: RecursionError"
            break
        backs.stop()
        if first is None:
            first = grad_of(x0)
        del y, x0
    metrics = builds.metrics("build")
    if backs.wall:
        metrics.update(backs.metrics("backward"))
    return {"metrics": metrics, "first": first, "note": note}


# ---------------------------------------------------------------------------------------------
# Cold start: `import tapegrad`, then the demo's first training step (`tapegrad demo` trains
# the moons MLP first; its first step is what a new user waits for before the first line).


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The demo's data (`tapegrad.cli.two_moons`), restated so that the torch child does not
    import tapegrad; the first-loss check confirms that both draw the same numbers."""
    half = n // 2
    t = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    return x.astype(np.float32), np.concatenate([np.zeros(half), np.ones(n - half)]).astype(
        np.int64)


def torch_demo_step() -> float:
    """`tapegrad.cli.train_moons`'s first step, in torch (same data, weights, printout)."""
    import torch

    rng = np.random.default_rng(0)
    x_np, y_np = two_moons(512, 0.1, rng)
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    onehot = torch.tensor(np.eye(2, dtype=np.float32)[y_np])

    def param(*shape: int, scale: float) -> Any:
        return torch.tensor(rng.normal(scale=scale, size=shape).astype(np.float32),
                            requires_grad=True)

    w1, b1 = param(2, 32, scale=1.0), param(32, scale=0.0)
    w2, b2 = param(32, 2, scale=1 / np.sqrt(32)), param(2, scale=0.0)
    logits = (x @ w1 + b1).tanh() @ w2 + b2
    loss = -(logits.log_softmax(dim=1) * onehot).sum(dim=1).mean()
    loss.backward()
    with torch.no_grad():
        for p in (w1, b1, w2, b2):
            p -= 0.5 * p.grad
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    print(f"step    1  loss {loss.item():.4f}  accuracy {accuracy:.3f}", file=io.StringIO())
    return loss.item()


def record_compiles() -> tuple[float, list[list]]:
    """Import numba and record every compilation from now on: returns the import's seconds
    and a list that fills with ``[kernel, argument types, seconds, depth]`` (depth > 0: a
    kernel compiled while compiling its caller, so its time is also inside the caller's)."""
    t0 = time.perf_counter()
    import numba  # noqa: F401  (the first kernel call would import it here anyway)

    seconds = time.perf_counter() - t0
    compiles: list[list] = []
    try:
        from numba.core import event
    except ImportError:  # an old numba: no breakdown, the totals still stand
        return seconds, compiles
    stack: list[tuple[list, float]] = []

    class Listener(event.Listener):
        def on_start(self, ev: Any) -> None:  # listed in start order: a caller before callees
            func = ev.data["dispatcher"].py_func
            kinds = sorted({str(getattr(a, "dtype", a)) for a in ev.data["args"]})
            entry = [f"{func.__module__}.{func.__qualname__}", ", ".join(kinds), 0.0,
                     len(stack)]
            compiles.append(entry)
            stack.append((entry, time.perf_counter()))

        def on_end(self, ev: Any) -> None:
            entry, t_start = stack.pop()
            entry[2] = time.perf_counter() - t_start

    event.register("numba:compile", Listener())
    return seconds, compiles


def cold_start(engine: str) -> dict:
    """Seconds for the import and for the first training step, in this fresh process (the
    numba cache it finds is whatever NUMBA_CACHE_DIR the parent chose). For tapegrad the
    step's time includes importing numba (its first kernel call would) and the child also
    reports that import and each kernel numba compiled, to show where the time goes."""
    imports, step = Clocks(), Clocks()
    imports.start()
    if engine == "torch":
        import torch  # noqa: F401
    else:
        import tapegrad.cli  # (imports tapegrad; cli itself only adds argparse)
    imports.stop()
    step.start()
    extra: dict[str, Any] = {}
    if engine == "torch":
        first = torch_demo_step()
    else:
        import tapegrad.cli

        extra["numba_import"], extra["compiles"] = record_compiles()
        first = tapegrad.cli.train_moons(steps=1, out=io.StringIO())["loss"][0]
    step.stop()
    return {"metrics": {**imports.metrics("import"), **step.metrics("first step")},
            "first": first, **extra}


# ---------------------------------------------------------------------------------------------
# The child process: device handling, clocks, peak RSS, thread report.


class Context:
    """What a workload needs to know about its engine: the library module (``lib``), the
    device and how to move things there (``move``), how to wait for queued GPU work
    (``sync``), and whether to shrink the workload for the CUDA simulator (``tiny``)."""

    def __init__(self, engine: str, device: str, tiny: bool = False) -> None:
        self.engine, self.device, self.tiny = engine, device, tiny
        self.lib: Any = None
        if engine == "tapegrad":
            import tapegrad

            self.lib = tapegrad
        elif engine == "torch":
            import torch

            self.lib = torch
        if device == "cuda":
            self._check_cuda()

    def _check_cuda(self) -> None:
        if self.engine == "tapegrad":
            if not self.lib.cuda.is_available():
                from tapegrad.kernels.cuda import unavailable_reason

                raise Skip(f"tapegrad has no CUDA here: {unavailable_reason()}")
            if self.lib.cuda.is_simulated():
                self.tiny = True
                # The simulator's threads wait at syncthreads() for Python's thread switch
                # (5 ms by default): switching more often runs such kernels several times faster
                sys.setswitchinterval(1e-4)
        elif self.engine == "torch":
            if not self.lib.cuda.is_available():
                raise Skip(f"torch {self.lib.__version__} finds no GPU")
        else:
            raise Skip(f"{self.engine} runs on the CPU only")
        # the simulator is slow: shrink every engine alike so the first losses still compare
        self.tiny = self.tiny or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"

    def move(self, obj: Any) -> Any:
        return obj.to(self.device) if self.device != "cpu" else obj

    def sync(self) -> None:
        if self.device == "cuda":
            (self.lib.cuda.synchronize)()


class Skip(Exception):
    """This engine cannot run this workload here (no CUDA, say): reported, not an error."""


def _status_kb(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in bytes (None off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> int | None:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; returns that RSS."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _status_kb("VmRSS")


def threads_report() -> dict:
    """The thread counts the engine really ran with: torch's intra-op threads, tapegrad's
    pool, each BLAS/OpenMP pool threadpoolctl finds loaded, numba's pool (only for libraries
    this process loaded)."""
    out: dict[str, int] = {}
    if "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].get_num_threads()
    if "tapegrad" in sys.modules:
        out["tapegrad"] = sys.modules["tapegrad"].get_num_threads()
    if "numba" in sys.modules:
        out["numba"] = sys.modules["numba"].get_num_threads()
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return out
    for pool in threadpool_info():
        name = pool.get("internal_api") or pool.get("user_api")
        if "torch" in pool.get("filepath", "") and name == "openmp":
            continue  # torch's own OpenMP pool: reported above as torch's threads
        out[name] = pool["num_threads"]
    return out


class Clocks:
    """Wall and CPU seconds of timed sections: ``start()``, the work, ``stop()``.

    Wall time is what a user waits; CPU time (this process's, all its threads) is what the
    work cost, and it hardly grows when other processes share the cores, so on a busy machine
    the 1-thread figures compare better in CPU time (``all.py --cpu-time``). With several
    threads CPU time adds up the threads' time and no longer measures the wait."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._t = self._c = 0.0

    def start(self) -> None:
        self._t, self._c = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.wall.append(time.perf_counter() - self._t)
        self.cpu.append(time.process_time() - self._c)

    def metrics(self, name: str, divisor: float = 1.0) -> dict[str, list[float]]:
        """``{name: wall seconds, name + " cpu": CPU seconds}``, each divided by ``divisor``."""
        return {name: [t / divisor for t in self.wall], f"{name} cpu": [
            t / divisor for t in self.cpu]}


def time_steps(step: Step, n: int, sync: Callable[[], None]) -> Clocks:
    """Clock each of ``n`` calls; GPU work is waited for before each clock read."""
    clocks = Clocks()
    for _ in range(n):
        sync()
        clocks.start()
        step()
        sync()
        clocks.stop()
    return clocks


def run(workload: str, engine: str, steps: int, warmup: int, device: str = "cpu",
        chain_n: int = CHAIN_N, tiny: bool = False) -> dict:
    """Measure ``engine`` on ``workload`` in this process; the dict `all.py` reads."""
    if workload == "cold":
        return cold_start(engine)
    if workload == "chain":
        return deep_chain(engine, chain_n, steps)
    ctx = Context(engine, device, tiny)
    if workload == "ops":
        step, value = small_ops(ctx.lib, ctx)
    elif workload == "W1":
        step, value = w1(engine, ctx)
    elif workload in MLP_SIZES:
        step, value = mlp(workload, engine, ctx)
    elif workload == "W4":
        step, value = w4(ctx)
    elif workload == "LSTM":
        step, value = lstm(ctx)
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    first = value(step())
    for _ in range(warmup - 1):
        step()
    gc.collect()  # start the timed loop with no garbage left from setup
    rss_start = reset_peak_rss()
    if workload == "ops":
        metrics = time_halves(step, steps, ctx.sync)
    else:
        metrics = time_steps(step, steps, ctx.sync).metrics("step")
    rss_peak = _status_kb("VmHWM") if rss_start is not None else None
    return {"metrics": metrics, "first": first, "rss_start": rss_start,
            "rss_peak": rss_peak, "tiny": ctx.tiny}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", help="ops, W1, W2, W3, W4, LSTM, chain or cold")
    parser.add_argument("engine", help="tapegrad, torch, numpy, mygrad, micrograd, "
                                       "micrograd-nogc or scalar (which apply: see all.py)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (chain: repeats)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (>= 1)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--chain-n", type=int, default=CHAIN_N, help="ops in the deep chain")
    parser.add_argument("--tiny", action="store_true",
                        help="the CUDA simulator's tiny shapes (a CPU reference for a GPU run)")
    args = parser.parse_args(argv)
    try:
        result = run(args.workload, args.engine, args.steps, max(args.warmup, 1), args.device,
                     args.chain_n, args.tiny)
    except Skip as exc:
        result = {"skipped": str(exc)}
    result["threads"] = threads_report()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
