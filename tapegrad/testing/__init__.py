"""tapegrad.testing: prove gradients right, for tapegrad's own ops and for yours.

* `gradcheck` / `gradgradcheck`: finite differences against backward (torch's semantics);
* `compare_with_torch`: run the same code with tapegrad and torch, compare outputs and
  gradients in a ``cmp()``-style table;
* `check_function`: the whole battery for your own ``autograd.Function`` in one call
  (gradcheck, gradgradcheck, float32, strided and expanded inputs, the ctx contract, and a
  torch reference when given), one readable report;
* `compare_modules`: your tapegrad module against the same torch module (weights copied;
  outputs, input and parameter gradients, in train and eval mode);
* `check_op` / `check_all` (in `tapegrad.testing.registry_check`): both, for every op in
  the op registry;
* a pytest plugin (fixtures ``torch_oracle`` and ``gradcheck``), loaded automatically once
  tapegrad is installed.

Importing this package does not import torch; only a comparison does.
"""

from tapegrad.testing.function_check import (
    FunctionCheckFailed,
    FunctionReport,
    check_function,
)
from tapegrad.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tapegrad.testing.module_check import compare_modules
from tapegrad.testing.oracle import (
    OracleMismatch,
    OracleResult,
    TorchOracle,
    compare_with_torch,
    make_noncontiguous,
)
from tapegrad.testing.registry_check import Result, check_all, check_op, format_results

__all__ = [
    "FunctionCheckFailed", "FunctionReport", "GradcheckError", "OracleMismatch", "OracleResult",
    "Result", "TorchOracle", "check_all", "check_function", "check_op", "compare_modules",
    "compare_with_torch", "format_results", "gradcheck", "gradgradcheck", "make_noncontiguous",
]
