"""The ``tapegrad`` command (also ``python -m tapegrad``).

``tapegrad demo`` trains a small network on the two-moons data with plain tensors,
autograd and hand-written SGD, printing the loss as it falls; then a digits classifier
with ``nn``, ``optim`` and a ``DataLoader``; then shows the tape of a tiny computation as
text (forward and backward listings) and the same computation with the micrograd-style
`Scalar`.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def two_moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (the classic toy classification set)."""
    half = n // 2
    t = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    return x.astype(np.float32), y.astype(np.int64)


def train_moons(steps: int = 300, hidden: int = 32, lr: float = 0.5, seed: int = 0,
                log_every: int = 50, out=sys.stdout) -> dict:
    """Train a 2-hidden-32-2 MLP with softmax cross-entropy; returns loss/accuracy."""
    import tapegrad as tg

    rng = np.random.default_rng(seed)
    x_np, y_np = two_moons(512, 0.1, rng)
    x, y = tg.tensor(x_np), tg.tensor(y_np)
    onehot = tg.tensor(np.eye(2, dtype=np.float32)[y_np])

    def param(*shape: int, scale: float) -> tg.Tensor:
        return tg.tensor(rng.normal(scale=scale, size=shape).astype(np.float32),
                         requires_grad=True)

    w1, b1 = param(2, hidden, scale=1.0), param(hidden, scale=0.0)
    w2, b2 = param(hidden, 2, scale=1 / np.sqrt(hidden)), param(2, scale=0.0)
    params = [w1, b1, w2, b2]
    history = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        hidden_act = (x @ w1 + b1).tanh()
        logits = hidden_act @ w2 + b2
        loss = -(logits.log_softmax(dim=1) * onehot).sum(dim=1).mean()
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
    return {"loss": history, "accuracy": accuracy}


def train_digits(epochs: int = 3, out=sys.stdout) -> float:
    """The 8x8 digits with nn.Sequential, cross-entropy, Adam and a DataLoader; returns
    the test accuracy."""
    import tapegrad as tg
    from tapegrad import nn
    from tapegrad.datasets import Digits
    from tapegrad.utils.data import DataLoader

    tg.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    train = DataLoader(Digits(train=True), batch_size=32, shuffle=True)
    test_x, test_y = next(iter(DataLoader(Digits(train=False), batch_size=1000)))
    print(f"\n{model}", file=out)
    for epoch in range(1, epochs + 1):
        for x, y in train:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with tg.no_grad():
            accuracy = (model(test_x).argmax(dim=1) == test_y).float().mean().item()
        print(f"epoch {epoch}  loss {loss.item():.4f}  test accuracy {accuracy:.3f}", file=out)
    return accuracy


def show_tape(out=sys.stdout) -> None:
    """A tiny computation's tape as SSA text, then the same with Scalars."""
    import tapegrad as tg

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


def demo(args: argparse.Namespace) -> int:
    print("tapegrad demo: a 2-32-2 MLP on two moons, trained with autograd + SGD")
    result = train_moons(steps=args.steps)
    print("\nThe seed's digits classifier: nn.Sequential + CrossEntropyLoss + Adam + DataLoader")
    digits_accuracy = train_digits()
    show_tape()
    if result["accuracy"] < 0.9 or digits_accuracy < 0.9:
        print("warning: the models learned less than expected")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tapegrad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="train a small model and show its tape")
    p_demo.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p_demo.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
