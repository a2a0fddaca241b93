"""tapegrad: a PyTorch-shaped autograd engine small enough to read.

Start with `tapegrad.tensor`, call ops on it, then ``.backward()``; every op is recorded on
a tape (see `tapegrad.autograd`) that backward walks in reverse. `tapegrad.Scalar` is the
micrograd-style one-number version of the same idea.
"""

# Importing any tapegrad.ops module first runs tapegrad/ops/__init__.py, which installs the
# Tensor methods, so the order of these imports does not matter.
from tapegrad import autograd, cuda, datasets, dtypes, linalg, nn, ops, optim, utils
from tapegrad.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from tapegrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    empty_permuted,
    empty_strided,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    scalar_tensor,
    tensor,
    tril_indices,
    triu_indices,
    zeros,
    zeros_like,
)
from tapegrad.device import device
from tapegrad.dtypes import (
    bool_ as bool,  # torch.bool
)
from tapegrad.dtypes import (
    channels_last,
    channels_last_3d,
    contiguous_format,
    double,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    memory_format,
    preserve_format,
    set_default_dtype,
    short,
    uint8,
)
from tapegrad.dtypes import float_ as float  # torch.float
from tapegrad.dtypes import int_ as int  # torch.int
from tapegrad.kernels.threads import get_num_threads, set_num_threads
from tapegrad.nn.functional.dropout import native_dropout_backward
from tapegrad.nn.functional.normalization import (
    native_batch_norm,
    native_group_norm,
    native_layer_norm,
)
from tapegrad.nn.functional.padding import constant_pad_nd
from tapegrad.nn.functional.sampling import grid_sampler, grid_sampler_2d, grid_sampler_3d
from tapegrad.ops.activation import *  # noqa: F403
from tapegrad.ops.arithmetic import *  # noqa: F403
from tapegrad.ops.clamp import *  # noqa: F403
from tapegrad.ops.combining import *  # noqa: F403
from tapegrad.ops.comparison import *  # noqa: F403
from tapegrad.ops.complex_parts import *  # noqa: F403
from tapegrad.ops.composite import *  # noqa: F403
from tapegrad.ops.contraction import *  # noqa: F403
from tapegrad.ops.dims import *  # noqa: F403
from tapegrad.ops.distance import *  # noqa: F403
from tapegrad.ops.elementwise import *  # noqa: F403
from tapegrad.ops.fill import *  # noqa: F403
from tapegrad.ops.index_select import *  # noqa: F403
from tapegrad.ops.indexing import *  # noqa: F403
from tapegrad.ops.indexing import slice_tensor as slice  # torch's aten.slice
from tapegrad.ops.joining import *  # noqa: F403
from tapegrad.ops.linalg import *  # noqa: F403
from tapegrad.ops.masking import *  # noqa: F403
from tapegrad.ops.matrix import *  # noqa: F403
from tapegrad.ops.pointwise import *  # noqa: F403
from tapegrad.ops.reduction import *  # noqa: F403
from tapegrad.ops.sampling import *  # noqa: F403
from tapegrad.ops.scan import *  # noqa: F403
from tapegrad.ops.scatter import *  # noqa: F403
from tapegrad.ops.setitem import *  # noqa: F403
from tapegrad.ops.shape import *  # noqa: F403
from tapegrad.ops.softmax import *  # noqa: F403
from tapegrad.ops.sorting import *  # noqa: F403
from tapegrad.ops.special import *  # noqa: F403
from tapegrad.ops.statistics import *  # noqa: F403
from tapegrad.ops.strided import *  # noqa: F403
from tapegrad.ops.view_copies import *  # noqa: F403
from tapegrad.ops.view_scatter import *  # noqa: F403
from tapegrad.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from tapegrad.scalar import Scalar
from tapegrad.serialization import load, save
from tapegrad.tensor import Size, Tensor

__version__ = "0.1.0"

# Submodules reached as attributes, as torch's are (``tg.viz.draw``, ``tg.testing.gradcheck``),
# but imported on first use: viz pulls in graphviz, testing may pull in torch, and
# ``import tapegrad`` stays as fast as it was.
_LAZY_SUBMODULES = frozenset({"viz", "testing", "serialization", "cli"})


def __getattr__(name: str):
    """A lazy submodule, imported now; or, for a name tapegrad lacks on purpose
    (``tapegrad.fft``, ``tapegrad.view_as_complex``), an AttributeError that says it is out
    of scope and where the scope is listed."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"tapegrad.{name}")
    if name == "exercise":  # tapegrad.exercise(fn, *inputs): it draws, so it loads graphviz
        from tapegrad.testing.exercise import exercise

        return exercise
    message = None
    if not name.startswith("_"):
        from tapegrad.testing.torch_db_scope import out_of_scope_message

        message = out_of_scope_message("tapegrad", name)
    raise AttributeError(message or f"module 'tapegrad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY_SUBMODULES | {"exercise"})

from tapegrad import _malloc  # noqa: E402
from tapegrad.ops.checks.tensor_args import guard_functions  # noqa: E402

# tapegrad.exp(np.ones(3)) and friends: torch's TypeError instead of a raw AttributeError
guard_functions(globals())

_malloc.tune()  # keeps per-step array memory from being re-faulted: see tapegrad/_malloc.py
