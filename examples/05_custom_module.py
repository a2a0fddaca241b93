"""Lesson 5: a network as your own ``nn.Module`` subclass.

``__init__`` creates the layers (assigning them registers their parameters); ``forward``
says how data flows. No backward: autograd records whatever ``forward`` did.
"""

from __future__ import annotations

import tapegrad as torch


class TwoLayerNet(torch.nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.linear1 = torch.nn.Linear(d_in, hidden)
        self.linear2 = torch.nn.Linear(hidden, d_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = torch.randn(n, d_in)
    y = torch.randn(n, d_out)
    model = TwoLayerNet(d_in, hidden, d_out)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    losses = []
    for t in range(100 if fast else 500):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"losses": losses}


if __name__ == "__main__":
    main()
