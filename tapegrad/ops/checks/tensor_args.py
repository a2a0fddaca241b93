"""torch's TypeError when a function that needs a tensor gets something else.

``tapegrad.exp(np.ones(3))`` would otherwise fail deep inside with a raw
``AttributeError: 'numpy.ndarray' object has no attribute '_data'`` (or, worse, succeed: a
layer in eval mode might hand a list straight back). torch checks its arguments at the door
and says::

    TypeError: exp(): argument 'input' (position 1) must be Tensor, not numpy.ndarray

Every public entry uses the helpers here, so the wording lives in one place:

* `require_tensor` -- one argument (``nn.functional`` functions and losses call it first);
* `require_tensors` -- a sequence of tensors (``cat``, ``stack``);
* `guard_functions` -- wraps the op functions exported as ``tapegrad.<name>`` so their
  tensor operands are checked before the op runs (the ``Tensor`` methods need no check:
  ``self`` is a tensor already). Python numbers stay allowed where torch takes them:
  as the first operand only of the arithmetic ops in `NUMBER_FIRST` (``torch.add(2, x)``,
  ``torch.pow(2, x)``; ``torch.logical_and(2, x)`` is a TypeError), two numbers only for
  those in `TWO_NUMBERS` (``torch.add(2, 3)`` is a tensor, ``torch.pow(2, 3)`` a
  TypeError), and never as the second operand of the ops in `TENSOR_OTHER`;
* `require_self` -- a reflected method (``Tensor.__radd__``) called on something that is
  not a tensor, as ``Tensor.__radd__(2, x)`` does.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.tensor import Tensor

__all__ = ["guard_functions", "require_self", "require_tensor", "require_tensors",
           "type_name"]

_NUMBERS = (bool, int, float, complex, np.generic)


def type_name(value: Any) -> str:
    """How torch names a type in these messages: ``list``, ``float``, ``numpy.ndarray``."""
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def require_tensor(value: Any, op: str, arg: str = "input", position: int = 1) -> None:
    """Raise torch's TypeError unless ``value`` is a Tensor."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' (position {position}) must be Tensor, "
                        f"not {type_name(value)}")


def require_tensors(values: Any, op: str, arg: str = "tensors") -> None:
    """Raise torch's TypeError unless ``values`` is a list or tuple of Tensors."""
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"{op}(): argument '{arg}' (position 1) must be tuple of Tensors, "
                        f"not {type_name(values)}")
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type_name(v)}")


# torch's facts (its argument parser): where a Python number may stand for a tensor operand
NUMBER_FIRST = frozenset({
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
    "floor_divide", "pow", "float_power", "remainder", "xlogy", "bitwise_and", "bitwise_or",
    "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift", "isin"})
TWO_NUMBERS = frozenset({"add", "sub", "subtract", "mul", "multiply", "div", "divide",
                         "true_divide", "floor_divide"})
TENSOR_OTHER = frozenset({"logical_and", "logical_or", "logical_xor", "maximum", "minimum",
                          "fmax", "fmin", "atan2", "hypot", "logaddexp", "logaddexp2",
                          "nextafter", "heaviside", "gcd", "lcm", "dist", "ldexp"})


def require_self(value: Any, method: str) -> None:
    """``Tensor.__radd__(2, x)``: torch's descriptor refuses a ``self`` that is not a tensor
    (a Python method would otherwise run with ``self=2``)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"descriptor '{method}' for 'Tensor' objects doesn't apply to a "
                        f"'{type_name(value)}' object")


# first parameter names that hold a tensor operand, and the name torch gives that argument
_FIRST = {"input": "input", "x": "input", "a": "input", "condition": "condition",
          "bias": "input"}
# later operands where a number is fine but an array or a list is not
_LATER = {"input": "input", "other": "other", "b": "other"}


def _guarded(fn: Callable[..., Any], name: str) -> Callable[..., Any] | None:
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        return None
    first = params[0].name
    if first == "tensors":
        @functools.wraps(fn)
        def check_sequence(*args: Any, **kwargs: Any) -> Any:
            require_tensors(args[0] if args else kwargs.get("tensors"), name)
            return fn(*args, **kwargs)

        return check_sequence
    if first not in _FIRST:
        return None
    later = [(i, p.name) for i, p in enumerate(params) if i > 0 and p.name in _LATER]
    number_first, two_numbers = name in NUMBER_FIRST, name in TWO_NUMBERS
    later_numbers = name not in TENSOR_OTHER

    @functools.wraps(fn)
    def check(*args: Any, **kwargs: Any) -> Any:
        x = args[0] if args else kwargs.get(first)
        first_is_number = isinstance(x, _NUMBERS)
        if not isinstance(x, Tensor) and not (first_is_number and number_first):
            require_tensor(x, name, _FIRST[first], 1)
        for i, arg in later:
            y = args[i] if len(args) > i else kwargs.get(arg)
            if y is None or isinstance(y, Tensor):
                continue
            number = isinstance(y, _NUMBERS)
            if not number or not later_numbers or (first_is_number and not two_numbers):
                require_tensor(y, name, _LATER[arg], i + 1)
        return fn(*args, **kwargs)

    return check


def guard_functions(namespace: dict[str, Any], module_prefix: str = "tapegrad.ops") -> None:
    """Replace each public function of ``namespace`` defined under ``module_prefix`` by a
    wrapper that checks its tensor operands first (see the module docstring)."""
    for name, fn in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(fn):
            continue
        if not fn.__module__.startswith(module_prefix):
            continue
        wrapped = _guarded(fn, name)
        if wrapped is not None:
            namespace[name] = wrapped
