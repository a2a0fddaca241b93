"""tapegrad.nn: modules (parameters + forward), layers, losses, initialisers.

`Module` is the base class; `Parameter` marks tensors a module owns; containers
(`Sequential`, `ModuleList`, `ModuleDict`) register children; `functional` has every
layer as a plain function; `init` fills weights.
"""

from tapegrad.nn import functional, init
from tapegrad.nn.containers import ModuleDict, ModuleList, Sequential
from tapegrad.nn.module import Module
from tapegrad.nn.modules.activation import *  # noqa: F403
from tapegrad.nn.modules.dropout import *  # noqa: F403
from tapegrad.nn.modules.linear import *  # noqa: F403
from tapegrad.nn.modules.sparse import *  # noqa: F403
from tapegrad.nn.parameter import Buffer, Parameter
