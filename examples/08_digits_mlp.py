"""Lesson 8: the seed's four-layer MLP (log_softmax + nll_loss + Adam) on handwritten digits.

The 8x8 digits (1,797 images, bundled with tapegrad) stand in for MNIST: the network,
the loss and the loop are the seed's, only ``28*28`` became ``8*8``. After training it
prints overall and per-class accuracy and saves a grid of test images with predictions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tapegrad as torch
import tapegrad.nn as nn
import tapegrad.nn.functional as F
from tapegrad.datasets import Digits
from tapegrad.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8 * 8, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 64)
        self.fc4 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = F.relu(self.fc3(x))
        x = self.fc4(x)
        return F.log_softmax(x, dim=1)


def evaluate(net: nn.Module, loader: DataLoader) -> tuple[float, list[float]]:
    correct, total = 0, 0
    class_correct, class_total = [0] * 10, [0] * 10
    net.eval()
    with torch.no_grad():
        for x, y in loader:
            predicted = net(x.view(-1, 64)).argmax(dim=1)
            for label, guess in zip(y.tolist(), predicted.tolist(), strict=True):
                class_total[label] += 1
                class_correct[label] += int(label == guess)
            correct += int((predicted == y).sum().item())
            total += len(y)
    net.train()
    return correct / total, [c / max(t, 1) for c, t in zip(class_correct, class_total,
                                                           strict=True)]


# Pictures go into examples/output/ (git ignores it), never the current directory.
OUT_DIR = Path(__file__).resolve().parent / "output"


def main(fast: bool = False, out: str | Path | None = None) -> dict:
    torch.manual_seed(0)
    train = DataLoader(Digits(train=True), batch_size=10, shuffle=True)
    test = DataLoader(Digits(train=False), batch_size=100)
    net = Net()
    print(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    losses = []
    for epoch in range(2 if fast else 8):
        for x, y in train:
            net.zero_grad()
            output = net(x.view(-1, 8 * 8))
            loss = F.nll_loss(output, y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"epoch {epoch + 1}: last loss {loss.item():.4f}")
    accuracy, per_class = evaluate(net, test)
    print(f"Accuracy: {accuracy:.3f}")
    for digit, acc in enumerate(per_class):
        print(f"  accuracy of {digit}: {acc:.3f}")
    _grid(net, Digits(train=False), out)
    print(f"saved a grid of predictions to {out}")
    return {"losses": losses, "accuracy": accuracy, "per_class": per_class, "grid": str(out)}


def _grid(net: nn.Module, data: Digits, out: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 8, figsize=(8, 4.6))
    with torch.no_grad():
        for ax, i in zip(axes.flat, range(32), strict=True):
            image, label = data[i]
            guess = net(image.view(1, 64)).argmax(dim=1).item()
            ax.imshow(image.numpy().reshape(8, 8), cmap="gray_r")
            ax.set_title(f"{guess}" + ("" if guess == label else f" ({label})"),
                         color="black" if guess == label else "red", fontsize=9)
            ax.axis("off")
    fig.suptitle("predicted (true) on test digits")
    fig.tight_layout()
    out = Path(out) if out is not None else OUT_DIR / "digits_predictions.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="where to save the picture (default "
                        "examples/output/digits_predictions.png)")
    main(out=parser.parse_args().out)
