"""tapegrad.nn: modules (parameters + forward), layers, losses, initialisers.

`Module` is the base class; `Parameter` marks tensors a module owns; containers
(`Sequential`, `ModuleList`, `ModuleDict`) register children; `functional` has every
layer as a plain function; `init` fills weights; `utils` clips gradients.
"""

from tapegrad.nn import functional, init, utils
from tapegrad.nn.containers import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from tapegrad.nn.module import Module
from tapegrad.nn.modules.activation import *  # noqa: F403
from tapegrad.nn.modules.attention import *  # noqa: F403
from tapegrad.nn.modules.batchnorm import *  # noqa: F403
from tapegrad.nn.modules.conv import *  # noqa: F403
from tapegrad.nn.modules.distance import *  # noqa: F403
from tapegrad.nn.modules.dropout import *  # noqa: F403
from tapegrad.nn.modules.linear import *  # noqa: F403
from tapegrad.nn.modules.loss import *  # noqa: F403
from tapegrad.nn.modules.normalization import *  # noqa: F403
from tapegrad.nn.modules.padding import *  # noqa: F403
from tapegrad.nn.modules.pooling import *  # noqa: F403
from tapegrad.nn.modules.rnn import *  # noqa: F403
from tapegrad.nn.modules.rnn_cells import *  # noqa: F403
from tapegrad.nn.modules.sparse import *  # noqa: F403
from tapegrad.nn.modules.transformer import *  # noqa: F403
from tapegrad.nn.modules.upsampling import *  # noqa: F403
from tapegrad.nn.parameter import Buffer, Parameter
