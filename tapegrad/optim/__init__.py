"""tapegrad.optim: optimizers and learning-rate schedulers, with torch.optim's API.

The usual training step::

    optimizer = tapegrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        optimizer.zero_grad()          # forget the previous batch's gradients
        loss = loss_fn(model(x), y)
        loss.backward()                # fill every parameter's .grad
        optimizer.step()               # update the parameters from their .grad

Every optimizer reproduces torch's update formula and order of operations (so float32 runs
track torch's to rounding); see each class's docstring for its maths and
`tapegrad.kernels.optim_reference` for the per-parameter kernels.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
