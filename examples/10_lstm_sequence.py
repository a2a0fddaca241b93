"""Lesson 10: an LSTM that predicts the next value of a noisy sine wave.

The LSTM reads a window of 20 values (shape (batch, 20, 1) with ``batch_first=True``);
a linear layer maps its last hidden state to the next value. Define-by-run unrolls the
recurrence over the 20 steps on every forward.
"""

from __future__ import annotations

import numpy as np

import tapegrad as torch
from tapegrad import nn


class NextValue(nn.Module):
    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        return self.head(out[:, -1])


def make_windows(n: int, length: int, rng: np.random.Generator) -> tuple:
    start = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = start + 0.3 * np.arange(length + 1)[None, :]
    wave = np.sin(t) + 0.05 * rng.standard_normal(t.shape)
    x = wave[:, :length, None].astype(np.float32)
    y = wave[:, length:].astype(np.float32)
    return torch.tensor(x), torch.tensor(y)


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = make_windows(256, 20, rng)
    x_test, y_test = make_windows(128, 20, rng)
    model = NextValue()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    losses = []
    for step in range(60 if fast else 200):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 20 == 0:
            print(f"step {step}: mse {loss.item():.4f}")
    with torch.no_grad():
        test_mse = loss_fn(model(x_test), y_test).item()
    print(f"test mse {test_mse:.4f} (predicting 0 would give {float((y_test ** 2).mean()):.4f})")
    return {"losses": losses, "test_mse": test_mse,
            "baseline_mse": float((y_test ** 2).mean())}


if __name__ == "__main__":
    main()
