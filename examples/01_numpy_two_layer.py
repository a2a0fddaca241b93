"""Lesson 1: a two-layer network in plain numpy, forward AND backward written by hand.

    h = x @ w1;  h_relu = max(h, 0);  y_pred = h_relu @ w2;  loss = sum((y_pred - y)^2)

Backward applies the chain rule from the loss back to each weight:

    dL/dy_pred = 2 (y_pred - y)
    dL/dw2     = h_relu^T @ dL/dy_pred
    dL/dh_relu = dL/dy_pred @ w2^T
    dL/dh      = dL/dh_relu * (h > 0)
    dL/dw1     = x^T @ dL/dh

Run: python examples/01_numpy_two_layer.py  (the next lessons automate the backward).
"""

from __future__ import annotations

import numpy as np


def main(fast: bool = False) -> dict:
    rng = np.random.default_rng(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = rng.standard_normal((n, d_in))
    y = rng.standard_normal((n, d_out))
    w1 = rng.standard_normal((d_in, hidden))
    w2 = rng.standard_normal((hidden, d_out))
    learning_rate = 1e-6
    losses = []
    for t in range(100 if fast else 500):
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        loss = float(np.square(y_pred - y).sum())
        losses.append(loss)
        if t % 100 == 99:
            print(t, loss)
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T @ grad_y_pred
        grad_h = (grad_y_pred @ w2.T) * (h > 0)
        grad_w1 = x.T @ grad_h
        w1 -= learning_rate * grad_w1
        w2 -= learning_rate * grad_w2
    return {"losses": losses}


if __name__ == "__main__":
    main()
