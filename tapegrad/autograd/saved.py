"""Saved tensors: what an op keeps for its backward, checked when it is read back.

``ctx.save_for_backward(x)`` stores a `SavedTensor` that remembers ``x``'s version
counter value. Reading it in backward (``ctx.saved_tensors``) checks two things:

* the graph was not freed by an earlier backward (else torch's "backward through the graph
  a second time" error);
* ``x`` was not modified in place since it was saved (else torch's "modified by an
  inplace operation" error, naming the tensor's shape, its producer and both versions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tapegrad.autograd import anomaly
from tapegrad.autograd.grad_mode import _state
from tapegrad.autograd.variable import Variable, check_inference_for_record

if TYPE_CHECKING:
    from tapegrad.autograd.function import Node


def _describe(t: Variable) -> str:
    return f"[tapegrad.{t.dtype.scalar_type}Tensor {list(t.shape)}]"


class SavedTensor:
    """A tensor saved for backward, remembering its version at the time it was saved.

    Unpacking checks the version (an in-place change since saving would make the
    gradient wrong) and that the graph has not been freed. An op's own output is stored
    as its array, not as the tensor object, because the tensor points back at the node
    (``grad_fn``) and a node pointing at it would make a reference cycle.
    """

    __slots__ = ("_tensor", "_data", "_version_counter", "_saved_version", "_output_nr",
                 "_cls", "_producer")

    def __init__(self, t: Variable, node: Node, is_output: bool) -> None:
        if t._is_inference:
            check_inference_for_record(t)
        self._version_counter = t._version_counter
        self._saved_version = t._version_counter.value
        if is_output:
            self._tensor = None
            self._data = t._data
            self._output_nr = t._output_nr
            self._cls = type(t)
            self._producer = node.name()
        else:
            self._tensor = t
            # the producer *when saved* (an in-place op may give t a new grad_fn later)
            self._producer = t._grad_fn
            self._output_nr = t._output_nr

    def unpack_data(self, node: Node) -> Any:
        """The saved value's array, checked as `unpack` checks it, without building a
        tensor (for a backward that records nothing and computes on arrays)."""
        if self._version_counter.value != self._saved_version:
            return self.unpack(node)  # raises the modified-in-place error
        t = self._tensor
        return self._data if t is None else t._data

    def unpack(self, node: Node) -> Variable:
        if self._version_counter.value != self._saved_version:
            t = self._tensor
            if t is not None and t._view_meta is not None:
                t._sync_view()  # torch reads a saved view's history first (its own error)
            producer = self._producer
            if producer is not None and not isinstance(producer, str):
                producer = producer.name()
            which = "" if producer is None else (
                f", which is output {self._output_nr} "
                f"of {producer},"
            )
            hint = (
                "Hint: the backtrace further above shows the operation that failed to compute "
                "its gradient. The variable in question was changed in there or anywhere "
                "later. Good luck!"
                if anomaly.is_enabled() else
                "Hint: enable anomaly detection to find the operation that failed to compute "
                "its gradient, with tapegrad.autograd.set_detect_anomaly(True)."
            )
            shape_src = t if t is not None else self._cls._from_array(self._data)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: {_describe(shape_src)}{which} is at version "
                f"{self._version_counter.value}; expected version {self._saved_version} "
                f"instead. {hint}"
            )
        if self._tensor is not None:
            return self._tensor
        # Rebuild the output tensor; it is connected to `node` so that double backward
        # through a saved output (e.g. d/dx of exp's backward) works.
        out = self._cls._from_array(self._data)
        out._version_counter = self._version_counter
        if _state.grad_enabled:
            out._grad_fn = node
            out._output_nr = self._output_nr
            out._requires_grad = True
        return out


_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
