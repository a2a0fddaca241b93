"""Higher-order derivatives of whole functions: torch.autograd.functional's API.

Each function takes a Python function ``func`` of tensors and the point ``inputs`` (a tensor
or a tuple of tensors) and differentiates ``func`` there, using nothing but `grad`
(reverse mode, one backward pass per call):

* ``vjp(func, x, v)``: ``vᵀ·J`` — one backward pass with ``v`` as the cotangent;
* ``jvp(func, x, v)``: ``J·v`` — reverse mode has no direct forward derivative, so this uses
  the *double-vjp trick*: ``g(u) = uᵀJ`` is linear in a dummy cotangent ``u``, and the vjp of
  ``g`` with ``v`` gives back ``(vᵀJᵀ)ᵀ = J·v`` (two backward passes, the second through the
  first);
* ``jacobian(func, x)``: every row ``∂out_i/∂x`` — one vjp per output element, stacked;
* ``hessian(func, x)``: the jacobian of the gradient (for a scalar ``func``);
* ``vhp(func, x, v)``: ``vᵀ·H`` — the vjp of the gradient, i.e. a double backward;
* ``hvp(func, x, v)``: ``H·v`` — the jvp of the gradient (the double-vjp trick on top of a
  double backward: three backward levels). For a twice continuously differentiable
  ``func`` H is symmetric and ``hvp`` equals ``vhp``, which is cheaper.

Common arguments, as in torch: ``create_graph=True`` makes the results differentiable (the
inputs keep their graph and the outputs are not detached), otherwise results are detached;
``strict=True`` raises when an output does not depend on an input (otherwise that block of
the answer is zeros); ``vectorize`` is accepted and, since tapegrad has no ``vmap``, only
``False`` behaves differently from torch's in speed, not in value.

Output structure follows the inputs': a tensor in gives a tensor out, a tuple gives a tuple
(for ``jacobian`` a tuple over outputs of tuples over inputs, as in torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapegrad.autograd.api import grad
from tapegrad.autograd.function import Function, Node
from tapegrad.autograd.grad_mode import enable_grad
from tapegrad.autograd.variable import Variable

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


# ------------------------------------------------------------------ argument handling
def _as_tuple(value: Any, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """(was it a tuple, the value as a tuple), checking every entry is a tensor."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Variable):
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the {where} has type {type(item)}.")
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh leaves that require grad (or, with create_graph, aliases that keep the inputs'
    own graph, so the answer can be differentiated with respect to what made them)."""
    out = []
    for x in inputs:
        if create_graph and x.requires_grad:
            out.append(x.view_as(x))
        else:
            out.append(x.detach().requires_grad_(True))
    return tuple(out)


def _finish(values: Any, create_graph: bool) -> Any:
    """Detach results unless the caller wants to differentiate them further."""
    if isinstance(values, tuple):
        return tuple(_finish(v, create_graph) for v in values)
    if values is None or create_graph:
        return values
    return values.detach()


def _untuple(is_tuple: bool, values: tuple) -> Any:
    return values if is_tuple else values[0]


def _check_v(v: tuple, refs: tuple, fn_name: str) -> None:
    if len(v) != len(refs):
        if len(refs) == 1:
            raise RuntimeError("The given v should contain a single Tensor.")
        raise RuntimeError(f"v is a tuple of invalid length: should be {len(refs)} but got "
                           f"{len(v)}.")
    for i, (a, b) in enumerate(zip(v, refs, strict=True)):
        if tuple(a.shape) != tuple(b.shape):
            prefix = f"Entry {i} in " if len(refs) > 1 else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.size()} but got "
                               f"{a.size()}.")


_INDEPENDENT = ("The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode.")


def _vector(v: Any, refs: tuple, fn_name: str, which: str) -> tuple:
    """``v`` as a tuple matching ``refs`` (the outputs for vjp, the inputs for the others),
    or ones when it is omitted, which only a single one-element tensor allows."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        _check_v(v, refs, fn_name)
        return v
    if len(refs) != 1 or refs[0].numel() != 1:
        raise RuntimeError(f"The vector v can only be None if {which} a single Tensor with a "
                           "single element.")
    return (Variable._tensor_type._from_array(np.ones_like(refs[0]._data)),)


def _check_outputs_require_grad(outputs: tuple) -> None:
    """strict mode: every output must come out of the inputs differentiably."""
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               "gradients. The outputs must be computed in a differentiable "
                               "manner from the input when running in strict mode.")


def _zeros_like(x: Variable) -> Variable:
    return Variable._tensor_type._from_array(np.zeros_like(x._data))


def _fill(grads: tuple, refs: tuple, strict: bool, message: str) -> tuple:
    """Replace the gradients of inputs an output does not depend on by zeros (``strict``:
    raise instead, with ``message`` formatted with the input's index)."""
    out = []
    for i, (g, ref) in enumerate(zip(grads, refs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(message.format(i=i))
            g = _zeros_like(ref)
        out.append(g)
    return tuple(out)


def _vjp_raw(outputs: tuple, inputs: tuple, v: tuple, create_graph: bool) -> tuple:
    """Σ_k v_kᵀ·∂out_k/∂inputs (None for an input no output depends on; an output that is
    None or needs no grad contributes nothing)."""
    pairs = [(o, g) for o, g in zip(outputs, v, strict=True) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [g for _, g in pairs], create_graph=create_graph,
                retain_graph=True, allow_unused=True)


def _call(func: Callable, inputs: tuple, fn_name: str) -> tuple[bool, tuple]:
    with enable_grad():
        return _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)


# ------------------------------------------------------------------ vjp / jvp
def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ·J)``: the vector-Jacobian product at ``inputs``.

    ``v`` has the shape of ``func``'s output(s); it may be omitted when ``func`` returns one
    tensor with one element (then ``v = 1`` and the result is the gradient).
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    inputs = _prepare(inputs, create_graph)
    is_outputs_tuple, outputs = _call(func, inputs, "vjp")
    v = _vector(v, outputs, "vjp", "the user-provided function returns")
    if strict:
        _check_outputs_require_grad(outputs)
    grads = _vjp_raw(outputs, inputs, v, create_graph)
    grads = _fill(grads, inputs, strict, _INDEPENDENT)
    return (_finish(_untuple(is_outputs_tuple, outputs), create_graph),
            _finish(_untuple(is_inputs_tuple, grads), create_graph))


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), J·v)``: the Jacobian-vector product, by the double-vjp trick.

    ``v`` has the shape of ``inputs``; it may be omitted when the input is one tensor with
    one element. With ``u`` a dummy cotangent that requires grad, ``g(u) = uᵀJ`` (one
    backward pass, recorded); ``g`` is linear in ``u`` with Jacobian ``Jᵀ``, so its vjp with
    ``v`` is ``J·v`` (a second backward pass, through the first).
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
    inputs = _prepare(inputs, create_graph)
    v = _vector(v, inputs, "jvp", "the input to the user-provided function is")
    is_outputs_tuple, outputs = _call(func, inputs, "jvp")
    if strict:
        _check_outputs_require_grad(outputs)
    with enable_grad():
        dummies = tuple(_zeros_like(o).requires_grad_(True) for o in outputs)
        first = _vjp_raw(outputs, inputs, dummies, create_graph=True)  # uᵀJ, linear in u
        first = _fill(first, inputs, strict, _INDEPENDENT)
        second = _vjp_raw(first, dummies, v, create_graph)  # the vjp of u ↦ uᵀJ with v: J·v
    result = _fill(second, outputs, strict, "The gradient with respect to the input is "
                   "independent of entry {i} in the grad_outputs when using the double "
                   "backward trick to compute forward mode gradients. This is not allowed "
                   "in strict mode.")
    return (_finish(_untuple(is_outputs_tuple, outputs), create_graph),
            _finish(_untuple(is_outputs_tuple, result), create_graph))


# ------------------------------------------------------------------ jacobian / hessian
class _StackRows(Function):
    """Stack equal-shaped tensors along a new leading dim (the rows of a Jacobian). Defined
    here because autograd sits below the ops layer; backward hands row ``i`` of the gradient
    to input ``i`` by indexing, which is differentiable, so a Jacobian built with
    ``create_graph=True`` can be differentiated again (a Hessian is a Jacobian of one)."""

    caption = ("the row of {g} that {xi} filled : {sg} → {so}",)

    @staticmethod
    def forward(ctx: Node, *rows: Variable) -> Variable:
        ctx.count = len(rows)
        return Variable._tensor_type._from_array(np.stack([r._data for r in rows]))

    @staticmethod
    def backward(ctx: Node, g: Variable) -> tuple:
        return tuple(g[i] for i in range(ctx.count))


def _jacobian_blocks(outputs: tuple, inputs: tuple, create_graph: bool,
                     strict: bool) -> tuple:
    """``blocks[i][j] = ∂outputs[i]/∂inputs[j]``, shape ``out_i.shape + in_j.shape``: one
    backward pass per output element (a one-hot cotangent picks that row)."""
    blocks = []
    for i, out in enumerate(outputs):
        rows: list[list[Any]] = [[] for _ in inputs]
        flat = out.reshape(-1)
        for k in range(flat.numel()):
            if out.requires_grad:
                g = grad(flat[k], inputs, retain_graph=True, create_graph=create_graph,
                         allow_unused=True)
            else:
                g = (None,) * len(inputs)
            for j, (gj, x) in enumerate(zip(g, inputs, strict=True)):
                if gj is None:
                    if strict:
                        raise RuntimeError(f"Output {i} of the user-provided function is "
                                           f"independent of input {j}. This is not allowed "
                                           "in strict mode.")
                    gj = _zeros_like(x)
                rows[j].append(gj)
        row_blocks = []
        for j, x in enumerate(inputs):
            shape = tuple(out.shape) + tuple(x.shape)
            if not rows[j]:  # an empty output: an empty block
                block = Variable._tensor_type._from_array(np.zeros(shape, x._data.dtype))
            else:
                block = _StackRows.apply(*rows[j]).reshape(shape)
            row_blocks.append(block)
        blocks.append(tuple(row_blocks))
    return tuple(blocks)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """The Jacobian of ``func`` at ``inputs``: entry ``[out_idx..., in_idx...]`` is
    ``∂out[out_idx]/∂in[in_idx]``.

    One tensor in and out: one tensor of shape ``out.shape + in.shape``; tuples give tuples
    (over outputs, then over inputs). Only ``strategy="reverse-mode"`` (tapegrad has no
    forward-mode AD); ``vectorize`` is accepted and ignored (same values, one backward pass
    per row).
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                         "Hint: If your function has more outputs than inputs, "
                         '"forward-mode" tends to be more performant. Otherwise, prefer to '
                         'use "reverse-mode".')
    if strategy == "forward-mode":
        raise NotImplementedError("jacobian(strategy='forward-mode') needs forward-mode AD, "
                                  "which tapegrad does not have; use strategy='reverse-mode'")
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    inputs = _prepare(inputs, create_graph)
    is_outputs_tuple, outputs = _call(func, inputs, "jacobian")
    blocks = _jacobian_blocks(outputs, inputs, create_graph, strict)
    blocks = tuple(_finish(row, create_graph) for row in blocks)
    if is_outputs_tuple:
        return tuple(_untuple(is_inputs_tuple, row) for row in blocks)
    return _untuple(is_inputs_tuple, blocks[0])


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """The Hessian of the scalar function ``func`` at ``inputs``: the Jacobian of its
    gradient, shape ``in.shape + in.shape`` (tuples of tuples for several inputs)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def gradient(*xs: Variable) -> tuple:
        is_out_tuple, out = _as_tuple(func(*xs), "outputs of the user-provided function",
                                      "hessian")
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        if not out[0].requires_grad:
            if strict:
                raise RuntimeError("The function given to hessian should return a Tensor "
                                   "that requires gradients in strict mode")
            return tuple(_zeros_like(x) for x in xs)
        g = grad(out[0].reshape(()), xs, create_graph=True, allow_unused=True)
        return _fill(g, xs, strict, "The jacobian of the user-provided function is "
                     "independent of input {i}. This is not allowed in strict mode.")

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      strategy=outer_jacobian_strategy)
    if not is_inputs_tuple:
        return result[0][0]
    return result


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), vᵀ·H)`` for a scalar ``func``: the vjp of its gradient (a double
    backward). ``v`` may be omitted when the input is one single-element tensor."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """``(func(inputs), H·v)`` for a scalar ``func``: the jvp of its gradient, by the
    double-vjp trick (three backward levels; equal to `vhp` when H is symmetric)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool,
                     fn_name: str) -> tuple:
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _prepare(inputs, create_graph)
    v = _vector(v, inputs, fn_name, "the input to the user-provided function is")
    is_out_tuple, outputs = _call(func, inputs, fn_name)
    if is_out_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    out = outputs[0]
    if out.numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    with enable_grad():
        if out.requires_grad:
            jac = grad(out, inputs, create_graph=True, allow_unused=True)
        else:
            if strict:
                raise RuntimeError("Output 0 of the user-provided function does not require "
                                   "gradients. The outputs must be computed in a "
                                   "differentiable manner from the input when running in "
                                   "strict mode.")
            jac = (None,) * len(inputs)
        jac = _fill(jac, inputs, strict, "The jacobian of the user-provided function is "
                    "independent of input {i}. This is not allowed in strict mode.")
        if fn_name == "vhp":
            result = _vjp_raw(jac, inputs, v, create_graph)
        else:  # H·v: the vjp, with v, of u ↦ uᵀ·∂jac/∂x (linear in the dummy u)
            dummies = tuple(_zeros_like(x).requires_grad_(True) for x in inputs)
            first = _vjp_raw(jac, inputs, dummies, create_graph=True)
            result = _vjp_raw(first, dummies, v, create_graph)
    result = _fill(result, inputs, strict, "The hessian of the user-provided function with "
                   "respect to input {i} is independent of the input. This is not allowed "
                   "in strict mode.")
    return (_finish(out, create_graph), _finish(_untuple(is_inputs_tuple, result), create_graph))
