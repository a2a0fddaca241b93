"""`Optimizer`: the base class of every optimizer (torch.optim.Optimizer's API and semantics).

An optimizer holds

* ``param_groups``: a list of dicts, each with a ``'params'`` list of tensors and that group's
  hyperparameters (``'lr'``, ``'momentum'``...). Giving plain tensors makes one group; giving
  dicts makes several, each overriding the defaults it names::

      SGD([{"params": body.parameters()}, {"params": head.parameters(), "lr": 1e-2}], lr=1e-3)

* ``state``: per parameter (keyed by the tensor object itself), the buffers the update rule
  keeps between steps (Adam's moment estimates, SGD's momentum buffer...), created lazily on
  the first step that parameter has a gradient.

``step()`` updates every parameter whose ``.grad`` is not None (parameters without a gradient
are skipped: no decay, no momentum) and runs with grad mode off, so the update itself is not
recorded on the tape. The arithmetic lives in `tapegrad.kernels.optim_cpu`: one fused, in-place
kernel per optimizer, run on each parameter's arrays.

``state_dict()`` replaces tensors by their position (0, 1, 2... in group order) so a checkpoint
can be loaded into a fresh optimizer built over new parameter objects of the same shapes.
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from copy import deepcopy
from itertools import chain
from typing import Any

from tapegrad import dtypes, kernels
from tapegrad.autograd.grad_mode import enable_grad
from tapegrad.autograd.variable import RemovableHandle
from tapegrad.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Singleton default for a hyperparameter every group must give (old torch's SGD lr)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_LEGACY_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor",
    "uint8": "ByteTensor", "bool": "BoolTensor",
}


def _typename(obj: Any) -> str:
    """torch.typename: ``tapegrad.FloatTensor`` for tensors, ``module.Qualname`` otherwise."""
    if isinstance(obj, Tensor):
        return "tapegrad." + _LEGACY_NAMES.get(obj._data.dtype.name, "Tensor")
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in {"", "builtins"} else f"{module}.{qualname}"


def _scalar_dtype() -> dtypes.dtype:
    """dtype of the ``'step'`` counters: float64 under a float64 default dtype, else float32."""
    return dtypes.float64 if dtypes.get_default_dtype() == dtypes.float64 else dtypes.float32


def _step_from_number(count: Any) -> Tensor:
    """A 0-d ``'step'`` counter holding ``count`` (an old checkpoint's plain-number step)."""
    step = Tensor._zeros((), _scalar_dtype())
    step._data[...] = float(count)
    return step


class _HookDict(dict):
    """A dict that a `RemovableHandle` can weakly reference (plain dicts cannot be)."""


_hooks = _HookDict


def _with_step_hooks(step: Callable) -> Callable:
    """Wrap a subclass's ``step`` so registered pre/post hooks run around it (once, even when
    a subclass's step calls ``super().step()``)."""

    @functools.wraps(step)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        self = args[0]  # hooks see the full positional args, self included (as in torch)
        if self.__dict__.get("_in_step", False):
            return step(*args, **kwargs)
        self._in_step = True
        try:
            for hook in list(self.__dict__.get("_optimizer_step_pre_hooks", {}).values()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(
                            f"{step} must return None or a tuple of (new_args, new_kwargs), "
                            f"but got {result}."
                        )
            out = step(*args, **kwargs)
            for hook in list(self.__dict__.get("_optimizer_step_post_hooks", {}).values()):
                hook(self, args, kwargs)
            return out
        finally:
            self._in_step = False

    return wrapper


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``state_dict`` and ``zero_grad``.

    Subclasses pass their hyperparameter ``defaults`` (a dict) and implement ``step``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_step_hooks(cls.__dict__["step"])

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict = _hooks()
        self._optimizer_step_post_hooks: dict = _hooks()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + _typename(params)
            )
        self.state: defaultdict[Tensor, Any] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling, printing
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", _hooks())
        self.__dict__.setdefault("_optimizer_step_post_hooks", _hooks())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        return out + ")"

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Append a group (a dict with ``'params'`` and optional overrides); the optimizer's
        defaults fill in every hyperparameter the group does not name. Useful when unfreezing
        layers during fine-tuning."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list "
                "instead."
            )
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):  # (name, tensor) pairs from named_parameters()
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (
                param.is_leaf or param.retains_grad
            ):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len({id(p) for p in params}):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error; see github.com/pytorch/pytorch/issues/40967 for "
                "more information",
                stacklevel=3,
            )
        seen: set[int] = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(id(p) for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ gradients, step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward (which would otherwise add to them).

        ``set_to_none=True`` (the default) drops each ``.grad``: less memory, and a parameter
        that gets no gradient in the next backward keeps ``grad=None`` and is then skipped by
        ``step()``. ``set_to_none=False`` fills the existing gradients with zeros instead (a
        zero gradient is *not* skipped: weight decay and momentum still move the parameter).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once; ``closure`` (re-evaluates the loss and calls backward)
        is run first, with grad mode on, and its result returned."""
        raise NotImplementedError

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; it may return new
        ``(args, kwargs)``. Returns a handle whose ``remove()`` unregisters it."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``.

        Parameters are replaced by their index in group order. The per-parameter state dicts
        and their tensors are the optimizer's own objects, not copies (as in torch): save or
        ``deepcopy`` the result to keep a snapshot.
        """
        mapping: dict[int, int] = {}
        start = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {
            (mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore ``state_dict()`` output into this optimizer (built over parameters of the
        same groups and sizes). Hyperparameters come from the checkpoint; floating-point state
        tensors are cast to their parameter's dtype (``'step'`` counters are kept as saved).
        Everything is validated before anything changes, so a failed load leaves the
        optimizer as it was."""
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"])
               for g, s in zip(groups, saved_groups, strict=True)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups), strict=True))

        def cast(param: Tensor, value: Any, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                if key == "step" or not param.is_floating_point() or value.dtype == param.dtype:
                    return value
                return value.to(param.dtype)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict[Any, Any] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = cast(param, v)
            else:
                state[k] = v

        def update_group(group: dict[str, Any], new_group: dict[str, Any]) -> dict[str, Any]:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups, strict=True)]
        self.__setstate__({"state": state, "param_groups": param_groups})

    # ------------------------------------------------------------------ helpers for subclasses
    @staticmethod
    def _run_closure(closure: Callable[[], Any] | None) -> Any:
        """Evaluate ``closure`` with grad mode on (``step`` may be called under no_grad)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    @staticmethod
    def _params_with_grad(group: dict[str, Any]) -> list[Tensor]:
        """The group's parameters that have a gradient (the others are skipped)."""
        return [p for p in group["params"] if p.grad is not None]

    @staticmethod
    def _kernels(p: Tensor) -> Any:
        """The fused update kernels for ``p``'s device: numba (or, with ``TAPEGRAD_JIT=0``,
        the numpy references) for CPU tensors, `tapegrad.kernels.cuda.optim` for GPU ones."""
        return kernels.on(p._data)

    @staticmethod
    def _new_step() -> Tensor:
        """A fresh ``'step'`` counter: a 0-d float tensor (torch 2.x keeps the count in one)."""
        return Tensor._zeros((), _scalar_dtype())

    def _steps_to_tensors(self) -> None:
        """For `__setstate__`: old checkpoints stored ``'step'`` as a number, make it a tensor."""
        for group in self.param_groups:
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    p_state["step"] = _step_from_number(p_state["step"])

    @staticmethod
    def _advance(step: Tensor) -> float:
        """``step += 1`` in place (in the counter's own dtype, as torch does); the new count."""
        step._data += 1
        step._bump_version()
        return float(step._data)


def _check_options(foreach: Any, fused: Any, differentiable: bool) -> None:
    """Options that choose torch's implementation strategy. tapegrad always runs one fused
    kernel per parameter, so ``foreach``/``fused`` change nothing here; torch's conflicts are
    still reported. ``differentiable=True`` (backpropagating through the update) is not
    possible: the kernels work on raw arrays outside autograd."""
    if differentiable:
        raise NotImplementedError(
            "differentiable=True is not supported: tapegrad's optimizer updates run in array "
            "kernels outside autograd"
        )
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _float(value: Any) -> float:
    """A hyperparameter (float, int or 1-element tensor) as a Python float."""
    return float(value)
