"""Lesson 4: the same network with ``nn.Sequential``, a loss module and an optimizer.

``nn`` packages layers (modules holding parameters), ``nn.MSELoss`` the loss, and
``optim.Adam`` the update rule: the loop becomes zero_grad / forward / backward / step.
"""

from __future__ import annotations

import tapegrad as torch


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    n, d_in, hidden, d_out = 64, 1000, 100, 10
    x = torch.randn(n, d_in)
    y = torch.randn(n, d_out)
    model = torch.nn.Sequential(
        torch.nn.Linear(d_in, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, d_out),
    )
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    losses = []
    for t in range(100 if fast else 500):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(model)
    return {"losses": losses}


if __name__ == "__main__":
    main()
