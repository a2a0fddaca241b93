"""`Module`: parameters + a ``forward``; the unit networks are built from.

A `Function` is one differentiable op (forward + backward). A `Module` is a *program*:
it owns parameters (and buffers, and child modules) and its ``forward`` calls ops on
them. It never defines a backward: autograd records what ``forward`` did on the tape.

    class Lr(nn.Module):
        def __init__(self):
            super().__init__()                # must come first: sets up the registries
            self.linear = nn.Linear(1, 1)     # a Module attribute: registered as a child

        def forward(self, x):
            return self.linear(x)

Assigning a `Parameter`, a `Module` or (via ``register_buffer``) a tensor to an
attribute registers it; ``parameters()``, ``state_dict()``, ``to()``, ``train()``... walk
these registries. Calling the module (``model(x)``, not ``model.forward(x)``) runs the
hooks and records the module's path (``fc1``, ``encoder.layers.0``) on every tape entry
its forward creates, which is how drawings cluster a graph by module.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from tapegrad import dtypes
from tapegrad.autograd import scope as _scope
from tapegrad.autograd.grad_mode import no_grad
from tapegrad.autograd.variable import RemovableHandle, _HookDict
from tapegrad.nn import hooks as _hooks
from tapegrad.nn import state_dict as _state_dict
from tapegrad.nn.parameter import Buffer, Parameter
from tapegrad.tensor import Tensor


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else lines[0] + "\n" + "\n".join(
        " " * spaces + line for line in lines[1:])


def _name_parameters(module: Module, path: str) -> None:
    """Give the module's own parameters their dotted name (``fc1.weight``) once, on the
    first call, so drawings and listings name them without being told."""
    # every parameter below it too: a submodule whose forward is never called (the
    # out_proj of MultiheadAttention, used through its weight) is named all the same
    for name, p in module.named_parameters(prefix=path):
        if p is not None and getattr(p, "name", None) is None:
            p.name = name
    object.__setattr__(module, "_params_named", True)


# Walking a module tree: children, submodules, parameters and buffers, by name.
#
# A module is a tree (children registered as
# attributes), but a child may be registered twice (weight sharing: ``Sequential(l, l)``),
# so every walk de-duplicates by identity, as torch does: a shared module or parameter is
# yielded once, under the first name it was reached by.
class ModuleTree:
    """The iteration half of `Module` (it reads ``_modules``, ``_parameters``, ``_buffers``)."""

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Pre-order walk including self; a module reached twice is yielded once."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if id(mod) in memo:
                    continue
                memo.add(id(mod))
            yield name, mod
            children = [(f"{name}.{n}" if name else n, m) for n, m in mod._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in modules:
            for name, value in getattr(mod, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a shared parameter appears once, first name."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b


class Module(ModuleTree):
    """Base class of every layer and network (see the module docstring)."""

    training: bool
    _version = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: pass layer "
                "options to your own __init__, not to Module.__init__"
            )
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", OrderedDict())
        setattr_(self, "_buffers", OrderedDict())
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_modules", OrderedDict())
        setattr_(self, "_forward_pre_hooks", _HookDict())
        setattr_(self, "_forward_hooks", _HookDict())
        setattr_(self, "_backward_hooks", _HookDict())
        setattr_(self, "_backward_pre_hooks", _HookDict())
        setattr_(self, "_scope_name", "")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from_registries(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            if self.__dict__.get("_modules") is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from_registries(name)
            self.add_module(name, value)
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            self._modules[name] = None
        elif isinstance(value, Buffer):
            self.register_buffer(name, Tensor._from_array(value._data),
                                 persistent=value.__dict__.get("persistent", True))
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(torch.Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _remove_from_registries(self, name: str) -> None:
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, name: Any, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if hasattr(self, name) and name not in getattr(self, f"_{kind}s", {}):
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (None keeps the slot, like ``bias=False``)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must "
                f"be created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not a parameter (BatchNorm's running mean);
        ``persistent=False`` keeps it out of ``state_dict``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        self._modules[name] = module
        if module is not None and not module._scope_name:
            object.__setattr__(module, "_scope_name", name)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        mod = self
        for part in target.split(".") if target else []:
            if part not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no attribute `{part}`")
            mod = mod._modules[part]
        return mod

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    # ------------------------------------------------------------ state
    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Dotted name -> tensor for every parameter and persistent buffer."""
        if args:  # torch's deprecated positional form state_dict(destination, prefix)
            destination = args[0]
            prefix = args[1] if len(args) > 1 else prefix
        destination = OrderedDict() if destination is None else destination
        return _state_dict.collect(self, destination, prefix, keep_vars)

    def load_state_dict(self, state_dict: Any, strict: bool = True,
                        assign: bool = False) -> _state_dict.IncompatibleKeys:
        """Copy tensors in by name. Checks everything before changing anything."""
        return _state_dict.load(self, state_dict, strict, assign)

    # ------------------------------------------------------------ modes and bulk edits
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad.detach()
                with no_grad():
                    g.zero_()
                p.grad = g

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, convert: Callable[[Tensor], Tensor]) -> Module:
        """Replace the storage of every parameter/buffer (parameters stay the same
        objects, so optimizers holding them keep working)."""
        for m in self.modules():
            for registry in (m._parameters, m._buffers):
                for t in registry.values():
                    if t is None:
                        continue
                    new = convert(t)
                    if new is not t:
                        t._data = new._data
                        if t.grad is not None:
                            t.grad = convert(t.grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``module.to(dtype)`` casts floating parameters and buffers; ``to(device)``."""
        def convert(t: Tensor) -> Tensor:
            if not t.is_floating_point():
                non_dtype = [a for a in args if not _is_dtype(a)]
                return t.to(*non_dtype, **{k: v for k, v in kwargs.items() if k != "dtype"})
            return t.detach().to(*args, **kwargs)

        return self._apply_to_tensors(convert)

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Module:
        return self.to(device if device is not None else "cuda")

    # ------------------------------------------------------------ calling
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None | new_args`` before forward."""
        return _add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output) -> None | new_output`` after forward."""
        return _add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> RemovableHandle:
        """``hook(module, grad_output) -> None | new_grad_output``."""
        return _add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> None | new_grad_input``, called when
        the gradients w.r.t. the module's tensor inputs have been computed."""
        return _add_hook(self._backward_hooks, hook, prepend)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        state = None
        if self._backward_hooks or self._backward_pre_hooks:
            args, state = _hooks.wrap_inputs(self, args)
        # The module's path goes on every tape entry its forward records (set and
        # restored by hand: this runs for every layer of every step).
        scope = _scope._state
        outer, outer_calls = scope.path, scope.calls
        name = self._scope_name
        path = scope.path = f"{outer}.{name}" if outer and name else (name or outer)
        scope.calls = (*outer_calls, (path, _scope.next_call(), self))
        if not self.__dict__.get("_params_named"):
            _name_parameters(self, path)
        try:
            output = self.forward(*args, **kwargs)
        finally:
            scope.path, scope.calls = outer, outer_calls
        for hook, with_kwargs in list(self._forward_hooks.values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        if state is not None:
            output = _hooks.wrap_outputs(state, output)
        return output

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside ``Name(...)``; layers override it (``in_features=3, ...``)."""
        return ""

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, child in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(child), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self) -> list[str]:
        keys = list(super().__dir__())
        return sorted(set(keys + list(self._parameters) + list(self._modules)
                          + list(self._buffers)))


def _add_hook(hooks: _HookDict, entry: Any, prepend: bool) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = entry
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _is_dtype(a: Any) -> bool:
    return isinstance(a, dtypes.dtype)
