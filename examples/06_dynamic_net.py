"""Lesson 6: control flow and weight sharing — a different graph on every step.

Each forward picks 0-3 extra uses of the SAME middle layer at random (so 1-4 hidden
layers). Python's ``for`` and ``random`` decide the graph as the program runs
(define-by-run); the shared layer's gradient is the SUM over its uses, accumulated by
the tape. ``tapegrad.autograd.Tape.of(loss)`` shows the reuse.
"""

from __future__ import annotations

import random

import tapegrad as torch


class DynamicNet(torch.nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.input_linear = torch.nn.Linear(d_in, hidden)
        self.middle_linear = torch.nn.Linear(hidden, hidden)
        self.output_linear = torch.nn.Linear(hidden, d_out)

    def forward(self, x):
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        return self.output_linear(h_relu)


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    random.seed(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = torch.randn(n, d_in)
    y = torch.randn(n, d_out)
    model = DynamicNet(d_in, hidden, d_out)
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    losses, middle_uses = [], []
    for t in range(100 if fast else 500):
        loss = criterion(model(x), y)
        tape = torch.autograd.Tape.of(loss)
        middle_uses.append(sum(e.module_path == "middle_linear" and e.op == "linear"
                               for e in tape))
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item(), f"(middle layer used {middle_uses[-1]}x)")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {"losses": losses, "middle_uses": middle_uses}


if __name__ == "__main__":
    main()
