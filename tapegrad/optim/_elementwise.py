"""`ElementwiseOptimizer`: the shared loop of optimizers whose update is plain numpy arithmetic.

Adam, SGD, RMSprop and Adagrad run fused numba kernels (`tapegrad.kernels.optim_cpu`). The
rarer optimizers (Adadelta, Adamax, ASGD, NAdam, RAdam, Rprop, Adafactor, Muon) write their
update as a few numpy expressions on the parameter's array instead: slower per element, but
each reads like its paper's equations. This base class owns the loop around that update
(skip parameters without a gradient, create the state on the first step, count the step,
bump the version counters of everything changed in place) so each subclass only writes

* ``_init_state(p, group)``: the state dict of a parameter's first step (besides ``'step'``);
* ``_update(p, g, state, group, t)``: change the arrays ``p`` (the parameter) and the state's
  tensors in place, given the gradient ``g`` (already negated under ``maximize``) and the
  step count ``t``.

Each update performs torch's in-place ops in torch's order (see
`tapegrad.kernels.optim_reference` for why the order matters in float32); ``lerp_`` is that
module's two-branch lerp, which switches formula at weight 0.5 exactly as torch's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.device import move, resolve
from tapegrad.kernels.optim_reference import _lerp_
from tapegrad.tensor import Tensor

from .optimizer import Optimizer, _check_options

__all__ = ["ElementwiseOptimizer", "lerp_", "scalar_state"]


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start ← start + weight·(end - start)`` in place, as torch's ``lerp_`` (the weight
    rounded to the array's dtype first, as torch rounds a Python-float argument)."""
    _lerp_(start, end, start.dtype.type(weight))


class ElementwiseOptimizer(Optimizer):
    """Base of the numpy-update optimizers (see the module docstring).

    Subclasses set ``_state_keys``, the names of the state's tensors they change in place
    (their version counters are bumped after each update, as an in-place op would).
    """

    _state_keys: tuple[str, ...] = ()
    _counts_steps = True  # keeps a 'step' counter in each parameter's state (Muon does not)
    # the update uses numpy functions tapegrad's CUDA arrays lack (norms, matmul in bfloat16):
    # CUDA parameters are then updated on a host copy and written back (two transfers)
    _host_only = False
    # the hyperparameters older checkpoints may lack, with the value to assume
    _group_fallbacks: dict[str, Any] = {"maximize": False, "foreach": None,
                                        "differentiable": False, "capturable": False}

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        super().__init__(params, defaults)
        _check_options(defaults.get("foreach"), defaults.get("fused"),
                       bool(defaults.get("differentiable", False)))

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self._group_fallbacks.items():
                group.setdefault(key, value)
        if self._counts_steps:
            self._steps_to_tensors()

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any], t: float) -> None:
        raise NotImplementedError

    def _run_update(self, p: Tensor, g: Any, state: dict[str, Any], group: dict[str, Any],
                    t: float) -> None:
        if self._host_only and type(p._data) is not np.ndarray:
            _update_through_host(self, p, g, state, group, t)
        else:  # numpy, or CUDA arrays through their numpy ufunc protocol
            self._update(p._data, g, state, group, t)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            for p in self._params_with_grad(group):
                state = self.state[p]
                if len(state) == 0:  # lazy initialisation, on the first step with a gradient
                    state["step"] = self._new_step()
                    state.update(self._init_state(p, group))
                t = self._advance(state["step"])
                g = p.grad._data
                if group.get("maximize", False):
                    g = -g
                self._run_update(p, g, state, group, t)
                p._bump_version()
                for key in self._state_keys:
                    if key in state:
                        state[key]._bump_version()
        return loss


def _update_through_host(opt: ElementwiseOptimizer, p: Tensor, g: Any,
                         state: dict[str, Any], group: dict[str, Any], t: float) -> None:
    """Run ``opt._update`` on host copies of a CUDA parameter, its gradient and its state
    tensors, then copy the results back into the device arrays (in place)."""
    on_device = {k: v for k, v in state.items()
                 if isinstance(v, Tensor) and type(v._data) is not np.ndarray}
    device_arrays = {k: v._data for k, v in on_device.items()}
    host_p = move(p._data, resolve("cpu"))
    try:
        for v in on_device.values():
            v._data = move(v._data, resolve("cpu"))
        opt._update(host_p, move(g, resolve("cpu")), state, group, t)
    finally:
        for k, v in on_device.items():
            host, v._data = v._data, device_arrays[k]
            v._data.assign(move(host, p.device))
    p._data.assign(move(host_p, p.device))


def scalar_state(value: float) -> Tensor:
    """A 0-d state tensor in torch's scalar dtype (float32 unless the default is float64),
    for the running products and rates torch keeps as tensors (NAdam's ``mu_product``,
    ASGD's ``eta`` and ``mu``): storing them rounded as torch does keeps trajectories equal."""
    out = Optimizer._new_step()
    out._data[...] = value
    return out
