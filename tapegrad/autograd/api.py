"""``tapegrad.autograd.backward`` and ``tapegrad.autograd.grad``: torch's two entry points.

* ``backward`` *accumulates* into the ``.grad`` of leaves (what training loops use);
* ``grad`` *returns* the gradients of the tensors you name and never touches ``.grad``
  (what gradient penalties, Hessian-vector products and tests use).

Both free the graph's saved tensors afterwards unless ``retain_graph=True``; the default
of ``retain_graph`` is ``create_graph``, because a graph you differentiate again must
still be there.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapegrad.autograd.engine import BackwardStep, run_backward
from tapegrad.autograd.variable import Variable

TensorOrTensors = Variable | Sequence[Variable]


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, Variable):
        return (x,)
    return tuple(x)


def _make_seeds(outputs: tuple, grad_outputs: tuple, is_grads_batched: bool = False) -> list:
    """The gradient each output starts with: ones for a one-element output, else the
    caller's tensor, which must have the output's shape (and is cast to its dtype)."""
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad requires one gradient per output: got {len(grad_outputs)} gradients for "
            f"{len(outputs)} outputs"
        )
    seeds = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs else None
        if not out._requires_grad:
            seeds.append(None)  # run_backward raises the "does not require grad" error
            continue
        if g is None:
            data = out._data
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:
                raise RuntimeError(
                    "grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            # np.ones for a host array (ones_like costs a few microseconds more per
            # backward); ones_like keeps a GPU array on the GPU
            ones = (np.ones(data.shape, data.dtype) if type(data) is np.ndarray
                    else np.ones_like(data))
            g = type(out)._from_array(ones)
        else:
            if not isinstance(g, Variable):
                g = type(out)._from_array(np.asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape!r} and "
                    f"output[{i}] has a shape of {out.shape!r}."
                )
            if g.dtype != out.dtype:
                g = g.to(out.dtype)
        seeds.append(g)
    return seeds


def backward(
    tensors: TensorOrTensors,
    grad_tensors: TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: TensorOrTensors | None = None,
) -> None:
    """Add d(tensors)/d(leaf) into ``leaf.grad`` for every leaf the tensors depend on.

    ``grad_tensors`` weights each output (needed when an output has more than one
    element); ``inputs`` restricts accumulation to the given tensors.
    """
    outputs = _as_tuple(tensors)
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if create_graph:
        warnings.warn(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after "
            "use to break the cycle and avoid the leak.",
            UserWarning,
            stacklevel=3,
        )
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _make_seeds(outputs, _as_tuple(grad_tensors))
    run_backward(outputs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs, accumulate=True)


def grad(
    outputs: TensorOrTensors,
    inputs: TensorOrTensors,
    grad_outputs: TensorOrTensors | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """Return d(outputs)/d(inputs) as a tuple (one entry per input); ``.grad`` is untouched.

    An input the outputs do not depend on is an error unless ``allow_unused=True`` (then
    its entry is None) or ``materialize_grads=True`` (then zeros).
    """
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False."
        )
    outs = _as_tuple(outputs)
    ins = _as_tuple(inputs)
    if not ins:
        raise RuntimeError("grad requires non-empty inputs.")
    for t in ins:
        if not isinstance(t, Variable):
            raise TypeError(f"grad expects Tensors as inputs, got {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = _make_seeds(outs, _as_tuple(grad_outputs))
    results = run_backward(outs, seeds, retain_graph=retain_graph, create_graph=create_graph,
                           inputs=ins, accumulate=False)
    final = []
    for t, g in zip(ins, results, strict=True):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = type(t)._zeros(t._data.shape, t.dtype, like=t._data)
                if create_graph:
                    g._requires_grad = True
        final.append(g)
    return tuple(final)


def backward_steps(
    output: Variable,
    on_step: Callable[[BackwardStep], None],
    gradient: Variable | None = None,
    retain_graph: bool = True,
) -> None:
    """Run ``output.backward()`` reporting each step of the walk to ``on_step``.

    The graph is retained by default so that it can be drawn or stepped through again.
    """
    seeds = _make_seeds((output,), _as_tuple(gradient))
    run_backward((output,), seeds, retain_graph=retain_graph, create_graph=False,
                 accumulate=True, on_step=on_step)
