"""The CUDA backend: numba.cuda kernels behind ``device="cuda"``.

A CUDA tensor's ``_data`` is a `CudaArray` (``array.py``): an n-d strided view on a numba.cuda
device buffer that speaks numpy's dispatch protocols, so the ops in `tapegrad.ops` run on it
unchanged and every numpy call they make lands on a kernel here:

* ``runtime.py``     -- is CUDA usable (a GPU, or numba's simulator), counted host<->device copies;
* ``array.py``       -- `CudaArray`: views, copies, indexing entry points, the numpy protocols;
* ``elementwise.py`` -- one generated kernel per elementwise expression (broadcast + strides);
* ``ufuncs.py``      -- numpy ufuncs (``np.exp``, ``+``, ``out=``) onto those kernels;
* ``reduction.py``   -- sums, maxima, arg-maxima, scans, sorts: shared-memory tree reductions
  (the kernels themselves in ``reduction_kernels.py``);
* ``matmul.py``      -- tiled shared-memory (batched) matrix multiply;
* ``indexing.py``    -- gathers and scatters: advanced indexing, ``np.add.at``; ``nonzero.py`` and
  ``index_functions.py`` (``take_along_axis``, ``take``...) build on it;
* ``numpy_api.py``   -- the other numpy functions the ops call (creation, joining, shapes...);
* ``random.py``      -- uniform numbers drawn on the GPU (dropout masks);
* ``core.py``, ``conv.py``, ``pooling.py``, ``norm.py``, ``optim.py`` -- the same functions as the
  CPU kernel modules (``kernels.reference``, ``conv_reference``...), as CUDA kernels (the
  row-per-block ones share ``row_kernels.py``); ``rnn.py`` runs ``rnn_reference`` itself,
  its numpy calls landing on the kernels above;
  `tapegrad.kernels.on` picks the module that matches an array's device.

Nothing here imports numba.cuda at import time: ``runtime.numba_cuda()`` does, on first use.
"""

from __future__ import annotations

from . import ufuncs  # noqa: F401 - installs the operators (+, *, <...) on CudaArray
from .array import CudaArray
from .runtime import TRANSFERS, available, require, simulated, unavailable_reason

__all__ = ["TRANSFERS", "CudaArray", "available", "require", "simulated", "unavailable_reason"]
