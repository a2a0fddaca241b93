"""Lesson 7: linear regression y = 3x + 0.8 with ``nn.Linear``, MSE and SGD, plotted.

Noise-free data from the seed lesson; after training the layer's weight and bias should
be close to 3 and 0.8. The fit is saved as a PNG in examples/output/ (or --out).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tapegrad as torch


class Lr(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


# Pictures go into examples/output/ (git ignores it), never the current directory.
OUT_DIR = Path(__file__).resolve().parent / "output"


def main(fast: bool = False, out: str | Path | None = None) -> dict:
    torch.manual_seed(0)
    x = torch.rand([500, 1])
    y_true = 3 * x + 0.8
    model = Lr()
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
    losses = []
    for i in range(300 if fast else 2000):
        loss = criterion(model(x), y_true)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (i + 1) % 200 == 0:
            params = list(model.parameters())
            print(f"epoch {i + 1}: loss {loss.item():.6f}, w {params[0].item():.4f}, "
                  f"b {params[1].item():.4f}")
    weight, bias = model.linear.weight.item(), model.linear.bias.item()
    _plot(x, y_true, model, out)
    print(f"saved the fit to {out}")
    return {"losses": losses, "weight": weight, "bias": bias, "plot": str(out)}


def _plot(x, y_true, model, out: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    with torch.no_grad():
        predict = model(x)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(x.numpy().reshape(-1), y_true.numpy().reshape(-1), c="r", s=4, label="data")
    ax.plot(x.numpy().reshape(-1), predict.numpy().reshape(-1), label="fit")
    ax.legend()
    out = Path(out) if out is not None else OUT_DIR / "linear_regression.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"wrote {out}")
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="where to save the picture (default "
                        "examples/output/linear_regression.png)")
    main(out=parser.parse_args().out)
