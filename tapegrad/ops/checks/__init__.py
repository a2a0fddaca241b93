"""torch's argument contract, in one place: the checks and error messages of every family.

A PyTorch user reads an error and expects torch's exception type and wording, naming the
shapes, dtypes or argument involved. Those rules are many and they have nothing to do with
the maths, so they live here, one module per family, as small named functions that the ops
call first; an op's own module then reads as its maths:

* `tensor_args` -- "must be Tensor, not list": the TypeError of every public entry;
* `linalg` -- matmul, mm, bmm, mv, dot, addmm: shapes and dtypes of the operands;
* `conv` -- conv1d/conv2d: stride, padding, dilation, groups, channels, kernel size;
* `pooling` -- kernel/stride/padding arguments of the pools, and their output sizes;
* `losses` -- reductions (and the legacy ``size_average``/``reduce`` flags), targets,
  weights and dtypes of the losses.

Torch's names for dtypes in these messages are `tapegrad.dtypes.dtype.scalar_type`.
"""

from tapegrad.ops.checks.tensor_args import require_tensor, require_tensors, type_name

__all__ = ["require_tensor", "require_tensors", "type_name"]
