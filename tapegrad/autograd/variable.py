"""The autograd half of a tensor: flags, ``.grad``, ``grad_fn``, version counter, hooks.

`tapegrad.Tensor` subclasses `Variable` and adds storage, shape and maths. Splitting the
two keeps the engine independent of the maths: the engine only ever needs what is here.

Vocabulary (PyTorch's, so that what you learn carries over):

* a **leaf** is a tensor that no recorded op produced (``grad_fn is None``); leaves that
  require grad receive ``.grad`` after a backward pass;
* ``grad_fn`` is the tape entry (a `Node`) that produced a non-leaf, and ``output_nr`` says
  which of that entry's outputs it is;
* the **version counter** counts in-place changes; views, ``detach()`` and the tensor share
  one counter, so a saved tensor modified through any of them is detected in backward.
"""

from __future__ import annotations

import re
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from tapegrad.autograd.grad_mode import _state


class VersionCounter:
    """A mutable integer shared between a tensor, its views and its ``detach()``es."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class ViewMeta:
    """What a *differentiable view* remembers about where it came from.

    ``base`` is the root tensor that owns the memory (a view of a view points at the
    original tensor, as torch's ``_base`` does); ``steps`` are the view ops that made it
    from the base, one ``(op, args, kwargs, output_nr)`` each, so that ``replay(b)``
    rebuilds the same view of any tensor shaped like ``base`` (``b[:, 0]``,
    ``b.view(2, 3).t()``...). That is all autograd needs to handle an in-place change made
    through the view, or made to the base while the view is alive:

    * ``version`` is the value of the shared version counter when this view's ``grad_fn``
      was last set. When the counter has moved on, the memory was written by someone, and
      the view's ``grad_fn`` is regenerated from the base's current history (a replay of
      the view ops on the base) the next time it is used;
    * ``creation`` is how the view was made: ``"default"``; ``"no_grad"`` (under
      ``no_grad``), ``"multi"`` (one of several views returned by one op, such as
      ``unbind``); these may not be modified in place with gradients involved, as in torch.
    """

    __slots__ = ("base", "steps", "version", "creation")

    def __init__(self, base: Variable, steps: tuple, version: int, creation: str) -> None:
        self.base = base
        self.steps = steps
        self.version = version
        self.creation = creation

    def replay(self, b: Variable) -> Variable:
        """Run the view ops again on ``b`` (shaped like the base): the same view of it."""
        for op, args, kwargs, nr in self.steps:
            b = op.apply(b, *args, **kwargs) if isinstance(op, type) else op(b, *args, **kwargs)
            if nr is not None:
                b = b[nr]
        return b

    def rebase_error(self, view: Variable, direct: bool) -> str:
        """torch's message when this view may not take a new history (it was made in
        no_grad mode, or by an op returning several views, or is a view of such a view)
        and is written (``direct``) or its memory was written through another tensor."""
        modified = "is being" if direct else "its base or another view of its base has been"
        node = view._grad_fn
        title = ""
        if node is not None:  # torch names the node without "Backward0"
            name = re.sub(r"Backward\d*$", "", node.name())
            title = f"Output {view._output_nr} of {name}"
        if self.creation == "multi":
            return f"{title} is a view and {modified} modified inplace. {_MULTI_VIEW}"
        start = f"{title} is a view of a view which was" if title else "A view was"
        end = _MULTI_VIEW if self.creation == "multi_no_grad" else _AMBIGUOUS
        return (f"{start} created in no_grad mode and {modified} modified inplace with grad "
                f"mode enabled. {end}")


_MULTI_VIEW = (
    "This view is the output of a function that returns multiple views. Such functions do not "
    "allow the output views to be modified inplace. You should replace the inplace operation "
    "by an out-of-place one."
)
_AMBIGUOUS = (
    "Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block "
    "(if you don't want the inplace to be tracked) or both outside (if you want the inplace to "
    "be tracked)."
)


class RemovableHandle:
    """Returned by ``register_hook``-style calls; ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks_ref = weakref.ref(hooks) if hooks is not None else None
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        hooks = self._hooks_ref() if self._hooks_ref is not None else None
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _HookDict(OrderedDict):
    """Hooks keyed by handle id, in registration order; weakly referenceable (plain dicts
    are not) so that a handle does not keep its hooks alive."""


class Variable:
    """Autograd state of a tensor. Not used on its own: see `tapegrad.Tensor`."""

    __slots__ = (
        "_data",  # the storage: a numpy array (a device array on CUDA later)
        "_requires_grad",
        "_grad",
        "_grad_fn",
        "_output_nr",
        "_version_counter",
        "_hooks",  # leaf tensor hooks, run before accumulation
        "_post_acc_hooks",
        "_accumulator_ref",  # weakref to this leaf's AccumulateGrad node
        "_base",  # the tensor this one is a view of, or None
        "_view_meta",  # a ViewMeta for differentiable views, else None
        "_is_inference",
        "_retains_grad",
        "_name",  # an optional label, used by drawings and listings (see `name`)
        "__weakref__",
        "__dict__",  # lets subclasses (nn.Parameter) and users attach attributes
    )

    # ------------------------------------------------------------------ name
    @property
    def name(self) -> str | None:
        """An optional label that listings and drawings show beside ``%id``.

        Set it any time, also after the op that made the tensor (``h = x.tanh();
        h.name = "h"``): the name is then kept on the backward node too, so
        ``Tape.of(loss)`` finds it without holding the tensor.
        """
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value
        fn = self._grad_fn
        if fn is not None:
            names = dict(getattr(fn, "_output_names", None) or {})
            names[self._output_nr] = value
            fn._output_names = names

    # ------------------------------------------------------------------ flags
    @property
    def requires_grad(self) -> bool:
        meta = self._view_meta
        if meta is not None:
            # torch: a view requires grad when its base does (even before its stale
            # history is regenerated)
            return self._requires_grad or meta.base._requires_grad
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._view_meta is not None:
            self._sync_view()
        if self._grad_fn is not None:
            if flag:
                return  # already requires grad: torch makes this a no-op
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if flag and not self.dtype.is_floating_point:
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        """Start (or stop) recording ops on this leaf; returns self."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True if no recorded op produced this tensor (torch's definition)."""
        if self._view_meta is not None:
            self._sync_view()
        return self._grad_fn is None

    @property
    def grad_fn(self):
        """The tape entry that produced this tensor (None for leaves)."""
        if self._view_meta is not None:
            self._sync_view()
        return self._grad_fn

    def _is_view(self) -> bool:
        """True for a tensor that shares its base's memory through a view op."""
        return self._base is not None

    def _sync_view(self) -> None:
        """Bring a view's ``grad_fn`` up to date with its base (see `ViewMeta`).

        If the shared memory was written since this view's ``grad_fn`` was set (through
        the base, this view or another view of the same base), the old ``grad_fn`` would
        describe values that are gone. The new one is a replay of the view ops on the
        base, recorded now, so that it starts from the base's current history (torch
        builds one ``AsStridedBackward0`` node instead; the gradient is the same)."""
        meta = self._view_meta
        version = self._version_counter.value
        if meta.version == version:
            return
        base = meta.base
        if not base._requires_grad:
            meta.version = version
            return
        if meta.creation != "default":
            raise RuntimeError(meta.rebase_error(self, direct=False))
        meta.version = version
        old = self._grad_fn
        before = _state.grad_enabled
        _state.grad_enabled = True
        try:
            fresh = meta.replay(base)
        finally:
            _state.grad_enabled = before
        self._grad_fn = fresh._grad_fn
        self._output_nr = fresh._output_nr
        self._requires_grad = True
        if self._retains_grad:
            _move_retained(self, old)

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        return self._version_counter.value

    def _bump_version(self) -> None:
        self._version_counter.value += 1

    @property
    def is_inference(self) -> bool:
        return self._is_inference

    # ------------------------------------------------------------------ .grad
    @property
    def grad(self):
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. "
                "Its .grad attribute won't be populated during autograd.backward(). If you "
                "indeed want the .grad field to be populated for a non-leaf Tensor, use "
                ".retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor by "
                "mistake, make sure you access the leaf Tensor instead.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Variable):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type "
                    f"{type(value).__name__}"
                )
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"assigned grad has data of a different size: expected {list(self.shape)}, "
                    f"got {list(value.shape)}"
                )
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"assigned grad has data of a different type: expected {self.dtype}, "
                    f"got {value.dtype}"
                )
        self._grad = value

    def retain_grad(self) -> None:
        """Ask backward to fill ``.grad`` of this non-leaf too (a no-op on leaves)."""
        if self._view_meta is not None:
            self._sync_view()
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        self._retains_grad = True
        node = self._grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # ------------------------------------------------------------------ hooks
    def register_hook(self, hook: Callable[[Any], Any]) -> RemovableHandle:
        """``hook(grad) -> Tensor | None`` runs when this tensor's gradient is computed; a
        returned tensor replaces the gradient. Returns a handle with ``.remove()``."""
        if self._view_meta is not None:
            self._sync_view()
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = _HookDict()
            hooks = self._hooks
        else:
            node = self._grad_fn
            if node._tensor_hooks is None:
                node._tensor_hooks = {}
            hooks = node._tensor_hooks.setdefault(self._output_nr, _HookDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable[[Any], None]) -> RemovableHandle:
        """``hook(tensor)`` runs after backward has accumulated into this leaf's ``.grad``."""
        if self._grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = _HookDict()
        handle = RemovableHandle(self._post_acc_hooks)
        self._post_acc_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ backward
    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``
        (see `tapegrad.autograd.backward`)."""
        from tapegrad.autograd.api import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph,
                 inputs=inputs)

    # ------------------------------------------------------------------ detaching
    def detach(self):
        """Same storage and version counter, no history, ``requires_grad=False``.

        Not a view in torch's sense (``_base`` is None): writing into it changes the
        values autograd saved, which the shared version counter catches in backward."""
        out = Variable._tensor_type._from_array(self._data)  # a Parameter detaches to a Tensor
        out._version_counter = self._version_counter
        out._is_inference = self._is_inference
        return out

    def detach_(self):
        """Make this tensor a leaf that does not require grad, in place."""
        if self._base is not None and self._grad_fn is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead."
            )
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    @property
    def data(self):
        """Same storage, *new* version counter: changes through ``.data`` are invisible to
        autograd (the classic way to get silently wrong gradients; prefer ``detach()``)."""
        return Variable._tensor_type._from_array(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data

    def _accumulator(self):
        """The AccumulateGrad node of this leaf, shared by every use in the live graph."""
        ref = self._accumulator_ref
        node = ref() if ref is not None else None
        if node is None:
            node = Variable._accumulate_grad_type(self)  # AccumulateGrad (function.py sets it)
            self._accumulator_ref = weakref.ref(node)
        return node

    def _gradient_edge(self):
        """(node, output_nr) through which gradient reaches this tensor."""
        if self._view_meta is not None:
            self._sync_view()
        if self._grad_fn is not None:
            return self._grad_fn, self._output_nr
        return self._accumulator(), 0


def _move_retained(t: Variable, old) -> None:
    """``retain_grad()`` follows the tensor to its new ``grad_fn`` after an in-place op
    (the retained gradient is the new value's, as in torch)."""
    if old is not None and old._retained:
        for nr, ref in list(old._retained.items()):
            if ref() is t:
                del old._retained[nr]
    t._retains_grad = False
    t.retain_grad()


def check_inference_for_record(t: Variable) -> None:
    if t._is_inference and not _state.inference:
        raise RuntimeError(
            "Inference tensors cannot be saved for backward. To work around you can make a "
            "clone to get a normal tensor and use it in autograd."
        )
