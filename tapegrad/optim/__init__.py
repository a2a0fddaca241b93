"""tapegrad.optim: optimizers and learning-rate schedulers, with torch.optim's API.

The usual training step::

    optimizer = tapegrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in data:
        optimizer.zero_grad()          # forget the previous batch's gradients
        loss = loss_fn(model(x), y)
        loss.backward()                # fill every parameter's .grad
        optimizer.step()               # update the parameters from their .grad

Adam, AdamW, SGD, RMSprop and Adagrad run fused numba kernels; the others update with numpy
expressions (`tapegrad.optim._elementwise`), LBFGS on one flat vector of all parameters.
Every optimizer reproduces torch's update formula and order of operations (so float32 runs
track torch's to rounding); see each class's docstring for its maths and
`tapegrad.kernels.optim_reference` for the per-parameter kernels.
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS",
           "Muon", "NAdam", "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "lr_scheduler"]
