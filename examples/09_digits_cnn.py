"""Lesson 9: the seed's CNN built with ``nn.Sequential`` (Conv2d / MaxPool2d / Flatten /
Linear), trained on the bundled 8x8 digits with cross-entropy and SGD with momentum.

Shapes through the network for one 1x8x8 image:
conv 3x3 pad 1 -> 16x8x8 -> pool -> 16x4x4 -> conv -> 32x4x4 -> pool -> 32x2x2 -> 128 -> 10.
"""

from __future__ import annotations

import tapegrad as torch
from tapegrad import nn
from tapegrad.datasets import Digits
from tapegrad.utils.data import DataLoader


def build() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def main(fast: bool = False) -> dict:
    torch.manual_seed(0)
    train = DataLoader(Digits(train=True), batch_size=32, shuffle=True)
    test = DataLoader(Digits(train=False), batch_size=360)
    model = build()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for epoch in range(3 if fast else 10):
        running = 0.0
        for x, y in train:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            running += loss.item()
        print(f"epoch {epoch + 1}: mean loss {running / len(train):.4f}")
    model.eval()
    with torch.no_grad():
        x, y = next(iter(test))
        accuracy = (model(x).argmax(dim=1) == y).float().mean().item()
    print(f"test accuracy: {accuracy:.3f}")
    return {"losses": losses, "accuracy": accuracy}


if __name__ == "__main__":
    main()
