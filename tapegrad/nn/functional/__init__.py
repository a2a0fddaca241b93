"""tapegrad.nn.functional (``import tapegrad.nn.functional as F``): layers as functions.

Each topic lives in its own module; this package re-exports them all under torch's names.
"""

from tapegrad.nn.functional.activation import *  # noqa: F403
from tapegrad.nn.functional.attention import *  # noqa: F403
from tapegrad.nn.functional.conv import *  # noqa: F403
from tapegrad.nn.functional.distance import *  # noqa: F403
from tapegrad.nn.functional.dropout import *  # noqa: F403
from tapegrad.nn.functional.folding import *  # noqa: F403
from tapegrad.nn.functional.interpolation import *  # noqa: F403
from tapegrad.nn.functional.linear import *  # noqa: F403
from tapegrad.nn.functional.losses import *  # noqa: F403
from tapegrad.nn.functional.normalization import *  # noqa: F403
from tapegrad.nn.functional.pooling import *  # noqa: F403
from tapegrad.nn.functional.pooling_nd import *  # noqa: F403
from tapegrad.nn.functional.rnn import *  # noqa: F403
from tapegrad.nn.functional.sampling import *  # noqa: F403
from tapegrad.nn.functional.shuffle import *  # noqa: F403
from tapegrad.nn.functional.sparse import *  # noqa: F403
from tapegrad.ops.checks.tensor_args import guard_functions

# the ops re-exported here (F.relu, ...) check their tensor arguments as tapegrad.relu does
guard_functions(globals())
