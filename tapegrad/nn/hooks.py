"""Module backward hooks, built from two identity Functions around ``forward``.

``register_full_backward_hook(hook(module, grad_input, grad_output))`` needs the
gradients flowing *out of* the module's outputs and *into* its inputs. Neither is a
single tape entry (a module records many), so, as torch does, we wrap:

* the module's tensor inputs in an identity op whose backward receives ``grad_input``;
* its tensor outputs in an identity op whose backward receives ``grad_output``.

The output identity runs first in backward (it was recorded last): it calls the
backward *pre*-hooks, which may replace ``grad_output``, and remembers it. The input
identity runs when the gradients w.r.t. the inputs are complete and calls the hooks.
If no input requires grad, the hooks fire from the output side with ``grad_input``
all None, as in torch.
"""

from __future__ import annotations

from typing import Any

from tapegrad.autograd.function import Function, Node
from tapegrad.tensor import Tensor


class BackwardHookState:
    """What the two identities of one module call share."""

    def __init__(self, module: Any, n_inputs: int) -> None:
        self.module = module
        self.n_inputs = n_inputs
        self.grad_output: tuple | None = None
        self.inputs_need_grad = False

    def run_pre_hooks(self, grad_output: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            replaced = hook(self.module, grad_output)
            if replaced is not None:
                grad_output = tuple(replaced) if isinstance(replaced, (tuple, list)) \
                    else (replaced,)
        return grad_output

    def run_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            replaced = hook(self.module, grad_input, self.grad_output)
            if replaced is not None:
                replaced = tuple(replaced) if isinstance(replaced, (tuple, list)) \
                    else (replaced,)
                if len(replaced) != len(grad_input):
                    raise RuntimeError(
                        f"Backward hook returned an invalid number of grad_input, got "
                        f"{len(replaced)}, but expected {len(grad_input)}"
                    )
                grad_input = replaced
        return grad_input


class BackwardHookFunction(Function):
    """Identity on a group of tensors; its backward hands the group's gradients to the
    module's hooks (``side`` is "inputs" or "outputs")."""

    caption = ('{g}, through the hook : {s0}',)
    node_name = "BackwardHookFunctionBackward"
    op_name = "backward_hook"

    @staticmethod
    def forward(ctx: Node, *tensors: Tensor, state: BackwardHookState, side: str) -> Any:
        ctx.state, ctx.side = state, side
        ctx.set_materialize_grads(False)
        outs = tuple(t._alias() for t in tensors)
        return outs if len(outs) != 1 else outs[0]

    @staticmethod
    def backward(ctx: Node, *grads: Any) -> Any:
        state = ctx.state
        if ctx.side == "outputs":
            grads = state.run_pre_hooks(grads)
            state.grad_output = grads
            if not state.inputs_need_grad:
                state.run_hooks((None,) * state.n_inputs)
        else:
            grads = state.run_hooks(grads)
        return grads if len(grads) != 1 else grads[0]


def wrap_inputs(module: Any, args: tuple) -> tuple[tuple, BackwardHookState | None]:
    """Put the identity in front of the tensor arguments (others pass through)."""
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    state = BackwardHookState(module, len(positions))
    needing = [args[i] for i in positions]
    state.inputs_need_grad = any(t.requires_grad for t in needing)
    if not state.inputs_need_grad:
        return args, state
    wrapped = BackwardHookFunction.apply(*needing, state=state, side="inputs")
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    new_args = list(args)
    for i, w in zip(positions, wrapped, strict=True):
        new_args[i] = w
    return tuple(new_args), state


def wrap_outputs(state: BackwardHookState, output: Any) -> Any:
    """Put the identity after the tensor outputs (a tensor or a tuple of them)."""
    single = isinstance(output, Tensor)
    outs = (output,) if single else output
    if not isinstance(outs, tuple):
        return output
    positions = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not positions:
        return output
    wrapped = BackwardHookFunction.apply(*[outs[i] for i in positions], state=state,
                                         side="outputs")
    wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
    new = list(outs)
    for i, w in zip(positions, wrapped, strict=True):
        new[i] = w
    return new[0] if single else tuple(new)
