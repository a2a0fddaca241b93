"""The ``tapegrad`` command (also ``python -m tapegrad``).

``tapegrad demo`` trains a small network on the two-moons data with plain tensors,
autograd and hand-written SGD, printing the loss as it falls; then a digits classifier
with ``nn``, ``optim`` and a ``DataLoader``; then shows the tape of a tiny computation as
text (forward and backward listings) and the same computation with the micrograd-style
`Scalar`; and writes pictures of it all into ``--out`` (default ``./tapegrad-demo``).

``tapegrad graph FILE.py:FUNCTION`` draws a computation graph, ``tapegrad step
FILE.py:FUNCTION`` writes a page that steps through its backward pass, and ``tapegrad
check`` compares every op with PyTorch (see `tapegrad.cli_commands`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.cli_commands import add_commands
from tapegrad.datasets import Digits
from tapegrad.utils.data import DataLoader


def _plain(text: str) -> str:
    """Docstring text for a terminal: RST literals (``x``) and references (`x`) as x."""
    return text.replace("``", "").replace("`", "")


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the classic toy classification set)."""
    half = n // 2
    t = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    return x.astype(np.float32), y.astype(np.int64)


def moons_forward(x, params: dict):
    """The moons MLP's logits: ``tanh(x @ w1 + b1) @ w2 + b2``."""
    return (x @ params["w1"] + params["b1"]).tanh() @ params["w2"] + params["b2"]


def cross_entropy(logits, onehot):
    """Softmax cross-entropy written out: ``-mean(sum(log_softmax(logits) * onehot))``."""
    return -(logits.log_softmax(dim=1) * onehot).sum(dim=1).mean()


def train_moons(steps: int = 300, hidden: int = 32, lr: float = 0.5, seed: int = 0,
                log_every: int = 50, out=None) -> dict:
    """Train a 2-hidden-32-2 MLP with softmax cross-entropy; returns the loss history,
    the accuracy, the parameters (by name) and the data."""
    out = out or sys.stdout  # looked up at call time: capsys and redirect_stdout swap it
    rng = np.random.default_rng(seed)
    x_np, y_np = two_moons(512, 0.1, rng)
    x, y = tg.tensor(x_np), tg.tensor(y_np)
    onehot = tg.tensor(np.eye(2, dtype=np.float32)[y_np])

    def param(*shape: int, scale: float) -> tg.Tensor:
        return tg.tensor(rng.normal(scale=scale, size=shape).astype(np.float32),
                         requires_grad=True)

    w1, b1 = param(2, hidden, scale=1.0), param(hidden, scale=0.0)
    w2, b2 = param(hidden, 2, scale=1 / np.sqrt(hidden)), param(2, scale=0.0)
    named = {"w1": w1, "b1": b1, "w2": w2, "b2": b2}
    params = list(named.values())
    history = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        logits = moons_forward(x, named)
        loss = cross_entropy(logits, onehot)
        for p in params:
            p.grad = None
        loss.backward()
        with tg.no_grad():
            for p in params:
                p -= lr * p.grad
        history.append(loss.item())
        if step % log_every == 0 or step == 1:
            accuracy = (logits.argmax(dim=1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}", file=out)
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    elapsed = time.perf_counter() - start
    print(f"trained {steps} steps in {elapsed:.2f} s ({1000 * elapsed / steps:.2f} ms/step)",
          file=out)
    return {"loss": history, "accuracy": accuracy, "params": named, "x": x, "y": y,
            "onehot": onehot}


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """``[##########..........]  10/20`` for ``done`` of ``total``."""
    filled = width * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}"


def train_digits(epochs: int = 3, out=None) -> dict:
    """The 8x8 digits with nn.Sequential, cross-entropy, Adam and a DataLoader, with a
    progress bar per epoch; returns the test accuracy, the model and one batch."""
    out = out or sys.stdout
    tg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    train = DataLoader(Digits(train=True), batch_size=32, shuffle=True)
    test_x, test_y = next(iter(DataLoader(Digits(train=False), batch_size=1000)))
    print(f"\n{model}", file=out)
    live = getattr(out, "isatty", lambda: False)()  # redraw in place only on a terminal
    for epoch in range(1, epochs + 1):
        for i, (x, y) in enumerate(train, start=1):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if live:
                print(f"\repoch {epoch} {progress_bar(i, len(train))}", end="", file=out,
                      flush=True)
        with tg.no_grad():
            accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean().item()
        print(f"\repoch {epoch} {progress_bar(len(train), len(train))}  loss {loss.item():.4f}"
              f"  test accuracy {accuracy:.3f}", file=out)
    return {"accuracy": accuracy, "model": model, "batch": (x, y), "loss_fn": loss_fn}


def show_tape(out=None) -> None:
    """A tiny computation's tape as SSA text, then the same with Scalars."""
    out = out or sys.stdout
    w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w.name = "w"
    x = tg.tensor([1.0, 2.0, 3.0])
    loss = (w * x).tanh().sum()
    tape = tg.autograd.Tape.of(loss)
    print("\nThe tape of loss = tanh(w * x).sum()  (forward, in execution order):", file=out)
    print(tape.listing(), file=out)
    print("\n... and backward, the same tape read from the end:", file=out)
    print(tape.listing(backward=True), file=out)
    loss.backward()
    print(f"\nw.grad = {w.grad}", file=out)

    a, b = tg.Scalar(2.0, label="a"), tg.Scalar(-3.0, label="b")
    c = (a * b + b ** 2).tanh()
    c.backward()
    print(f"\nScalar: c = tanh(a*b + b**2) = {c.data:.4f}; dc/da = {a.grad:.4f}, "
          f"dc/db = {b.grad:.4f}", file=out)


def tiny_mlp_loss():
    """A 2-2-1 MLP on one point with a squared error: small enough to follow every step of
    its backward pass by hand. Returns (loss, parameters by name)."""
    params = {
        "w1": tg.tensor([[0.5, -0.3], [0.8, 0.2]], requires_grad=True),
        "b1": tg.tensor([0.1, -0.1], requires_grad=True),
        "w2": tg.tensor([[1.0], [-0.7]], requires_grad=True),
        "b2": tg.tensor([0.05], requires_grad=True),
    }
    x, target = tg.tensor([[1.0, 2.0]]), tg.tensor([[0.5]])
    prediction = (x @ params["w1"] + params["b1"]).tanh() @ params["w2"] + params["b2"]
    return ((prediction - target) ** 2).sum(), params


def write_pictures(result: dict, out_dir: Path, digits: dict | None = None,
                   out=None) -> None:
    """The demo's files: the graphs of one training step (digits and moons), a backprop
    step-through page, the loss curve and the decision boundary. A missing piece
    (Graphviz, matplotlib) skips its files with a one-line note instead of failing the demo."""
    out = out or sys.stdout
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"\nPictures in {out_dir}/:", file=out)
    try:
        from tapegrad import viz
    except ImportError as exc:
        viz = None
        print(f"  (skipped the graph and step-through pages: tapegrad.viz unavailable: {exc})",
              file=out)
    if viz is not None:
        params = result["params"]
        result["x"].name, result["onehot"].name = "x", "onehot"
        loss = cross_entropy(moons_forward(result["x"], params), result["onehot"])
        for p in params.values():
            p.grad = None
        loss.backward(retain_graph=True)  # so the drawing shows this step's gradients
        try:
            graph = viz.draw(loss, params=params, title="one training step of the moons MLP")
            path = viz.render(graph, out_dir / "moons_step.svg")
            print(f"  {path}  the computation graph of one training step", file=out)
        except RuntimeError as exc:  # Graphviz's dot missing: the one-line install hint
            print(f"  (skipped moons_step.svg: {exc})", file=out)
        if digits is not None:
            model = digits["model"]
            x, y = digits["batch"]
            x.name, y.name = "images", "labels"
            step_loss = digits["loss_fn"](model(x), y)
            try:
                graph = viz.draw(step_loss, params=dict(model.named_parameters()),
                                 title="one training step of the digits classifier")
                path = viz.render(graph, out_dir / "digits_step.svg")
                print(f"  {path}  the graph of one digits training step", file=out)
            except RuntimeError as exc:
                print(f"  (skipped digits_step.svg: {exc})", file=out)
        tiny_loss, tiny_params = tiny_mlp_loss()
        path = out_dir / "backprop_steps.html"
        try:
            path.write_text(viz.stepper_html(tiny_loss, params=tiny_params,
                                             title="backprop through a 2-2-1 MLP"),
                            encoding="utf-8")
            print(f"  {path}  backprop step by step (open in a browser)", file=out)
        except RuntimeError as exc:
            print(f"  (skipped backprop_steps.html: {exc})", file=out)
    try:
        from tapegrad.viz import plots
    except ImportError as exc:
        print(f"  (skipped the plots: {exc})", file=out)
        return
    path = out_dir / "training_curves.png"
    plots.training_curves({"loss": result["loss"]}, path)
    print(f"  {path}  the loss, step by step", file=out)
    path = out_dir / "moons_boundary.png"
    plots.decision_boundary(lambda x: moons_forward(x, result["params"]), result["x"],
                            result["y"], path)
    print(f"  {path}  what the MLP learned", file=out)


def demo(args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        print(f"tapegrad demo: error: --out {out_dir} is a file, not a directory",
              file=sys.stderr)
        return 2
    print("tapegrad demo: a 2-32-2 MLP on two moons, trained with autograd + SGD")
    result = train_moons(steps=args.steps)
    print("\nThe seed's digits classifier: nn.Sequential + CrossEntropyLoss + Adam + DataLoader")
    digits = train_digits()
    show_tape()
    try:
        write_pictures(result, out_dir, digits)
    except OSError as exc:
        print(f"tapegrad demo: error: cannot write into {out_dir}: {exc}", file=sys.stderr)
        return 2
    if result["accuracy"] < 0.9 or digits["accuracy"] < 0.9:
        print("warning: the models learned less than expected")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tapegrad", description=_plain(__doc__.splitlines()[0]))
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="train small models, show a tape, write pictures")
    p_demo.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p_demo.add_argument("--out", default="tapegrad-demo",
                        help="folder for the pictures (default ./tapegrad-demo)")
    p_demo.set_defaults(func=demo)
    add_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
