"""tapegrad.autograd: the tape, the backward engine and the ways to drive them.

* `Function` / `Node`: an op with forward+backward, and its recorded entry (also ``ctx``);
* `backward`, `grad`: run the engine (accumulate into ``.grad`` / return gradients);
* grad modes (`no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`);
* `functional`: jacobian, hessian, vjp, jvp, hvp, vhp of whole functions;
* `detect_anomaly`: NaN/inf in backward names the node and the forward line;
* `Tape`: the entries of a graph in execution order, with a text listing.
"""

from tapegrad.autograd import functional, graph
from tapegrad.autograd.anomaly import detect_anomaly, set_detect_anomaly
from tapegrad.autograd.api import backward, backward_steps, grad
from tapegrad.autograd.engine import BackwardStep, Contribution
from tapegrad.autograd.function import AccumulateGrad, Function, Node, once_differentiable
from tapegrad.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from tapegrad.autograd.tape import Tape, TapeEntry
from tapegrad.autograd.variable import RemovableHandle

FunctionCtx = Node

__all__ = [
    "AccumulateGrad", "BackwardStep", "Contribution", "Function", "FunctionCtx", "Node",
    "RemovableHandle", "Tape", "TapeEntry", "backward", "backward_steps", "detect_anomaly",
    "enable_grad", "functional", "grad", "graph", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled", "no_grad", "once_differentiable", "set_detect_anomaly",
    "set_grad_enabled",
]
