"""tapegrad.testing: prove gradients right, for tapegrad's own ops and for yours.

* `gradcheck` / `gradgradcheck`: finite differences against backward (torch's semantics);
* `compare_with_torch`: run the same code with tapegrad and torch, compare outputs and
  gradients in a ``cmp()``-style table;
* `exercise` (also ``tapegrad.exercise``): any program as a backprop exercise, graded
  against the engine and finite differences;
* `first_wrong_gradient`: when gradients disagree, the one entry whose backward rule made
  the difference (its op, your line, the worst elements, the graph, the stepper step);
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

from tapegrad.testing.exercise import Exercise, exercise
from tapegrad.testing.function_check import (
    FunctionCheckFailed,
    FunctionReport,
    check_function,
)
from tapegrad.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tapegrad.testing.locate import WrongGradient, first_wrong_gradient
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
    "Exercise", "FunctionCheckFailed", "FunctionReport", "GradcheckError", "OracleMismatch",
    "OracleResult", "Result", "TorchOracle", "WrongGradient", "check_all", "check_function",
    "check_op", "compare_modules", "compare_with_torch", "exercise", "first_wrong_gradient",
    "format_results", "gradcheck", "gradgradcheck", "make_noncontiguous",
]
