"""Lesson 2: the same network with tapegrad tensors, and autograd writing the backward.

Marking ``w1`` and ``w2`` with ``requires_grad=True`` makes every op on them recorded on
the tape; ``loss.backward()`` walks the tape in reverse and fills ``w1.grad`` and
``w2.grad`` (compare with lesson 1's hand-written chain rule). The update runs under
``no_grad`` so that it is not itself recorded.
"""

from __future__ import annotations

import tapegrad as torch


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = torch.randn(n, d_in)
    y = torch.randn(n, d_out)
    w1 = torch.randn(d_in, hidden, requires_grad=True)
    w2 = torch.randn(hidden, d_out, requires_grad=True)
    learning_rate = 1e-6
    losses = []
    for t in range(100 if fast else 500):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return {"losses": losses}


if __name__ == "__main__":
    main()
