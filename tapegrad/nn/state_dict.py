"""Saving and restoring a module's tensors: ``state_dict`` and ``load_state_dict``.

A state dict maps dotted names (``encoder.0.weight``) to tensors: each module's own
parameters, then its persistent buffers, then its children's entries, recursively. A
tensor shared by two submodules appears under *every* name (so either name loads it).

``load_state_dict`` checks everything first (missing and unexpected keys, shapes) and
only then copies, so a failed load leaves the module exactly as it was.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple

from tapegrad.autograd.grad_mode import no_grad
from tapegrad.nn.parameter import Parameter
from tapegrad.tensor import Tensor


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns (torch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, " \
               f"unexpected_keys={self.unexpected_keys})"


def collect(module: Any, destination: OrderedDict, prefix: str, keep_vars: bool) -> OrderedDict:
    """Fill ``destination`` with ``module``'s entries (own first, then children)."""
    for name, param in module._parameters.items():
        if param is not None:
            destination[prefix + name] = param if keep_vars else param.detach()
    for name, buf in module._buffers.items():
        if buf is not None and name not in module._non_persistent_buffers_set:
            destination[prefix + name] = buf if keep_vars else buf.detach()
    for name, child in module._modules.items():
        if child is not None:
            collect(child, destination, prefix + name + ".", keep_vars)
    return destination


def _slots(module: Any, prefix: str = "") -> list[tuple[str, Any, str, str]]:
    """(key, owning module, attribute name, kind) for every loadable tensor."""
    found = []
    stack = [(module, prefix)]
    while stack:
        mod, pre = stack.pop(0)
        for name, p in mod._parameters.items():
            if p is not None:
                found.append((pre + name, mod, name, "param"))
        for name, b in mod._buffers.items():
            if b is not None and name not in mod._non_persistent_buffers_set:
                found.append((pre + name, mod, name, "buffer"))
        stack[0:0] = [(c, pre + n + ".") for n, c in mod._modules.items() if c is not None]
    return found


def _size(t: Any) -> str:
    return f"tapegrad.Size({list(t.shape)})"


def load(module: Any, state_dict: Any, strict: bool, assign: bool) -> IncompatibleKeys:
    if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    slots = _slots(module)
    expected = {key for key, *_ in slots}
    missing = [key for key, *_ in slots if key not in state_dict]
    unexpected = [key for key in state_dict.keys() if key not in expected]
    errors = []
    copies = []
    for key, owner, name, kind in slots:
        if key not in state_dict:
            continue
        value = state_dict[key]
        target = owner._parameters[name] if kind == "param" else owner._buffers[name]
        if not isinstance(value, Tensor):
            errors.append(
                f'While copying the parameter named "{key}", expected torch.Tensor or '
                f"Tensor-like object from checkpoint but received {type(value)}"
            )
            continue
        if tuple(value.shape) != tuple(target.shape):
            errors.append(
                f"size mismatch for {key}: copying a param with shape {_size(value)} from "
                f"checkpoint, the shape in current model is {_size(target)}."
            )
            continue
        copies.append((owner, name, kind, target, value))
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ". ")
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ". ")
    if errors:
        raise RuntimeError(
            f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
            + "\n\t".join(errors)
        )
    # Everything checked: now change the module.
    with no_grad():
        for owner, name, kind, target, value in copies:
            if assign:
                if kind == "param":
                    new = value if isinstance(value, Parameter) else Parameter(
                        value, requires_grad=target.requires_grad)
                    owner._parameters[name] = new
                else:
                    owner._buffers[name] = value
            else:
                target.copy_(value)
    return IncompatibleKeys(missing, unexpected)
