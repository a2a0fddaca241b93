"""Lesson 12: the seed's "run it on the GPU" linear regression, unchanged but for the import.

The lesson's four steps, in torch's words:

1. ask whether a GPU is there: ``torch.cuda.is_available()``;
2. pick the device: ``torch.device("cuda:0" if torch.cuda.is_available() else "cpu")``;
3. move the model and the data there: ``model.to(device)``, ``x.to(device)``;
4. bring results back for numpy and matplotlib: ``predict.cpu().detach().numpy()``.

tapegrad runs it on a GPU through numba.cuda when one is there (``pip install
'tapegrad[cuda]'``), on the CPU otherwise, and in numba's CUDA *simulator* when
``NUMBA_ENABLE_CUDASIM=1`` is set (slow, but the same kernels: use ``--fast``).
The run also reports how many copies crossed between host and GPU memory: the loss values
printed along the way, and nothing else.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import tapegrad as torch
from tapegrad import nn, optim


class Lr(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x)


def main(fast: bool = False, out: str | Path | None = None) -> dict:
    torch.manual_seed(0)
    x = torch.rand([50, 1])
    y = x * 3 + 0.8

    device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    x, y = x.to(device), y.to(device)
    model = Lr().to(device)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.5)  # the seed's 1e-3 needs 30000 steps

    steps = 20 if fast else 500
    transfers_before = torch.cuda.transfer_counter().snapshot() if device.type == "cuda" \
        else None
    losses = []
    for i in range(steps):
        out_ = model(x)
        loss = criterion(y, out_)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % (10 if fast else 50) == 0:
            losses.append(loss.item())  # each read of a GPU value is one copy to the host
            print(f"Epoch[{i}/{steps}], loss: {loss.data:.6f}")  # and another
    if transfers_before is not None:
        training_copies = torch.cuda.transfer_counter().total - transfers_before.total

    model.eval()
    predict = model(x)
    predict = predict.cpu().detach().numpy()  # to numpy, through host memory
    print(f"ran on {device}: w {model.linear.weight.item():.3f}, "
          f"b {model.linear.bias.item():.3f}")
    result = {"device": str(device), "losses": losses, "predict": predict,
              "weight": model.linear.weight.item(), "bias": model.linear.bias.item()}
    if transfers_before is not None:
        result["training_copies"] = training_copies
        print(f"host<->GPU copies during training: {training_copies} (the printed losses)")
    if out is not None:
        _plot(x, y, predict, out)
    return result


def _plot(x, y, predict, out: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    plt.scatter(x.cpu().data.numpy(), y.cpu().data.numpy(), c="r")
    plt.plot(x.cpu().data.numpy(), predict)
    plt.savefig(out)
    plt.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="20 steps instead of 500")
    parser.add_argument("--out", default=None, help="save the fit as a PNG here")
    args = parser.parse_args()
    main(fast=args.fast, out=args.out)
