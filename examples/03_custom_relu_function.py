"""Lesson 3: a custom autograd Function (ReLU) with a hand-written backward.

A `Function` is ONE op: ``forward`` computes it (and saves what backward needs on
``ctx``), ``backward`` receives dL/d(output) and returns dL/d(input). Compare with an
`nn.Module` (lesson 5), which holds parameters and never writes a backward.
"""

from __future__ import annotations

import tapegrad as torch


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):  # the lesson's name
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


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
        relu = MyReLU.apply
        y_pred = relu(x.mm(w1)).mm(w2)
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
    return {"losses": losses, "grad_fn": type(y_pred.grad_fn.next_functions[0][0]).__name__}


if __name__ == "__main__":
    main()
