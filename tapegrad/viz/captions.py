"""The stepper's captions: what one backward step sent to one input, with the numbers.

A caption is written from the op's own definition and from what the engine did (the
event's incoming gradient and the gradient it sent), never from a gradient computed here:

* a **pointwise** op's caption is its formula from `tapegrad.pointwise`, once with the
  values' names and once with their numbers::

      ∂L/∂w1 = ∂L/∂%5·x1 = 0.5·2 = 1

  For tensors bigger than a few elements the numbers are those of one element (the first)
  with a summary of the whole gradient. A gradient summed because the input was broadcast
  says over which dims ("summed over dim 0: the bias was broadcast over the batch").
* every **other** op's caption is written on its `Function`, beside its forward and
  backward (the ``caption`` attribute: a text per input, with shapes; see
  `tapegrad.autograd.function.Function.caption` for the placeholders), filled in here:
  ``∂L/∂W = gᵀ·x : (2, 3) = (4, 2)ᵀ·(4, 3)``.

`accumulation` writes a gradient stored into a ``.grad`` (or into a value reached more
than once) as the sum it is: ``0.5 + 0.25 = 0.75``, one element and the norms for large
tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.formula import Expr, chain
from tapegrad.pointwise import RULES, Binary

__all__ = ["GENERIC", "accumulation", "broadcast_dims", "broadcast_note", "caption",
           "shape_text", "templates_of"]

_SMALL = 6  # tensors with at most this many elements are written out in full
GENERIC = "sends grad through"  # the fallback caption's words (an op without a caption)
_GRAD = Expr("var", "grad")



def templates_of(entry: Any) -> tuple[str, ...]:
    """The caption texts an entry's op states (``()`` when it states none): the
    ``caption`` of the entry's `Function` (or of a node the engine made itself, such as
    `CopySlices`)."""
    node = entry.node
    function = getattr(node, "_function", None)
    return getattr(function, "caption", None) or getattr(node, "caption", None) or ()


def shape_text(shape: Any) -> str:
    """``(2, 3)``, ``(4,)``, ``()`` as Python writes a shape."""
    return str(tuple(shape))


def _array(x: Any) -> np.ndarray:
    if x is None:
        return np.zeros(())
    if hasattr(x, "_data"):
        x = x._data
    return np.asarray(x)


def _num(x: Any, paren: bool = False) -> str:
    """A number or small array as the caption writes it: 0.5, −3, [1, 2] (``paren``: a
    negative number in brackets, as an operand)."""
    a = _array(x)
    if a.size == 1:
        v = float(a.reshape(()))
        s = f"{v:.6g}"
        s = "−" + s[1:] if s.startswith("-") else s
        return f"({s})" if paren and v < 0 else s
    return np.array2string(a, precision=4, separator=", ", max_line_width=10_000,
                           suppress_small=False).replace("\n", "")


def _summary(x: Any) -> str:
    a = _array(x).astype(np.float64)
    if a.size <= _SMALL:
        return _num(a)
    return f"{shape_text(a.shape)} tensor, norm {np.linalg.norm(a):.4g}"


def _element(a: np.ndarray, index: tuple, paren: bool = False) -> str:
    """Element ``index`` of the broadcast of ``a`` to the output's shape."""
    return _num(a.reshape(-1)[0] if a.size == 1 else a[index[len(index) - a.ndim:]], paren)


def accumulation(before: Any, grad: Any, after: Any) -> str:
    """A gradient added to what was already there, as arithmetic:
    ``0.5 + 0.25 = 0.75``; for big tensors one element and the norms."""
    if before is None:
        return _summary(after)
    b, g, a = _array(before), _array(grad), _array(after)
    if a.size <= _SMALL:
        return f"{_num(b)} + {_num(g, True)} = {_num(a)}"
    idx = (0,) * a.ndim
    first = f"{_element(b, idx)} + {_element(g, idx, True)} = {_element(a, idx)}"
    return (f"{shape_text(a.shape)}: element {list(idx)}: {first}; "
            f"norm {np.linalg.norm(b):.4g} + norm {np.linalg.norm(g):.4g} "
            f"→ norm {np.linalg.norm(a):.4g}")


def broadcast_dims(in_shape: tuple, out_shape: tuple) -> list[int]:
    """The dims of ``out_shape`` an input of ``in_shape`` was broadcast over."""
    if len(in_shape) > len(out_shape):
        return []  # not a broadcast at all (a reduction made the output smaller)
    lead = len(out_shape) - len(in_shape)
    dims = list(range(lead))
    dims += [lead + i for i, n in enumerate(in_shape) if n == 1 and out_shape[lead + i] != 1]
    return dims


def broadcast_note(name: str, in_shape: tuple, out_shape: tuple, bias: bool = False) -> str:
    """"summed over dim 0: the bias was broadcast over the batch" (or "" when the input
    had the output's shape)."""
    dims = broadcast_dims(tuple(in_shape), tuple(out_shape))
    if not dims:
        return ""
    which = (f"dim {dims[0]}" if len(dims) == 1
             else "dims " + ", ".join(map(str, dims)))
    if bias and dims == [0]:
        return f"summed over {which}: the bias was broadcast over the batch"
    if bias:
        return f"summed over {which}: the bias was broadcast over the batch and positions"
    return (f"summed over {which}: {name} {shape_text(in_shape)} was broadcast to "
            f"{shape_text(out_shape)}")


def _is_value(v: Any) -> bool:
    return hasattr(v, "kind") and hasattr(v, "shape") and hasattr(v, "id")


def _name(v: Any) -> str:
    if _is_value(v):
        return v.name or f"%{v.id}"
    return _num(v) if v is not None else "None"


def _pointwise(entry: Any, index: int, rule: Any, g_text: str, grad_out: Any, sent: Any,
               target: str) -> str:
    variables = ("a", "b") if isinstance(rule, Binary) else ("x",)
    formula = rule.formulas[min(index, 1)] if isinstance(rule, Binary) else rule.formula
    names = {"y": _name(entry.outputs[0]), "grad": g_text}
    consts: dict[str, float] = {}
    numbers: dict[str, Any] = {"y": entry.outputs[0].data, "grad": grad_out}
    for var, arg in zip(variables, entry.inputs, strict=False):
        if _is_value(arg):
            names[var] = _name(arg)
            numbers[var] = arg.data
        else:  # a constant operand: put the number in and simplify
            consts[var] = float(arg)
    for opt, default in getattr(rule, "options", ()):
        consts[opt] = float(entry.options.get(opt, default))
    expr = chain(formula.substitute(consts), _GRAD)
    text = f"∂L/∂{target} = {expr.text(names)}"
    if entry.op.endswith("_"):  # in place: the input's old values were overwritten
        return f"{text} = {_summary(sent)} (in place)"
    out_shape = tuple(np.shape(_array(grad_out)))
    sent_a = _array(sent)
    used = expr.variables
    if any(numbers.get(v) is None for v in used):
        return f"{text} = {_summary(sent_a)}"  # a value was not kept: no numbers to show
    arrays = {v: _array(numbers[v]) for v in used}
    if sent_a.shape != out_shape and sent_a.size != int(np.prod(out_shape)):
        # the gradient was summed over broadcast dims: the element form does not hold
        return f"{text} = {_summary(sent_a)}"
    big = max([sent_a.size, *(a.size for a in arrays.values())]) > _SMALL
    if not big:
        numeric = expr.text({v: _num(a, True) for v, a in arrays.items()})
        result = _num(sent_a)
        return f"{text} = {result}" if numeric == result else f"{text} = {numeric} = {result}"
    idx = (0,) * len(out_shape)
    numeric = expr.text({v: _element(a, idx, True) for v, a in arrays.items()})
    result = _element(sent_a.reshape(out_shape), idx)
    element = result if numeric.strip("()") == result else f"{numeric} = {result}"
    return (f"{text}, elementwise; element {list(idx)}: {element}; "
            f"all: {_summary(sent_a)}")


def caption(entry: Any, index: int, grad_out: Any, sent: Any) -> str:
    """What ``entry``'s backward sent to its input ``index``: the formula, the numbers
    (or shapes) and, when the gradient was summed over broadcast dims, why.

    ``grad_out`` is the gradient that arrived (∂L/∂output) and ``sent`` the gradient the
    engine sent to the input, both from the engine's event.
    """
    out = entry.outputs[0]
    g_text = f"∂L/∂{_name(out)}"
    inp = entry.inputs[index] if index < len(entry.inputs) else None
    target = _name(inp)
    rule = RULES.get(entry.op) or RULES.get(entry.op.rstrip("_"))  # tanh_ is tanh's rule
    templates = templates_of(entry)
    if entry.op.endswith("_backward") and not templates:
        # an op recorded by a backward that built a graph (create_graph=True)
        text = (f"∂L/∂{target} = the derivative of {entry.op[:-9]}'s backward formula "
                f"(double backward) : {shape_text(np.shape(_array(sent)))} = {_summary(sent)}")
        return text
    if rule is not None:
        text = _pointwise(entry, index, rule, g_text, grad_out, sent, target)
    else:
        if not templates:
            return f"{GENERIC} ∂{_name(out)}/∂input {index}: {_summary(sent)}"
        template = templates[min(index, len(templates) - 1)]
        fields: dict[str, Any] = {"g": g_text, "sg": shape_text(np.shape(_array(grad_out))),
                                  "so": shape_text(np.shape(_array(sent))),
                                  "xi": target, "dim": entry.options.get("dim", "?")}
        for i in range(3):
            arg = entry.inputs[i] if i < len(entry.inputs) else None
            fields[f"x{i}"] = _name(arg)
            fields[f"s{i}"] = shape_text(arg.shape) if _is_value(arg) else "?"
        opts = ", ".join(f"{k}={v}" for k, v in entry.options.items()
                         if k not in ("out_size",))
        fields["opts"] = opts or "no options"
        n_in = int(np.prod(inp.shape)) if _is_value(inp) else 1
        n_out = int(np.prod(out.shape))
        fields["n"] = n_in // max(n_out, 1)
        if "{bias}" in template and _is_value(inp):
            fields["bias"] = broadcast_note(target, inp.shape, np.shape(_array(grad_out)),
                                            bias=True)
        text = f"∂L/∂{target} = {template.format(**fields)} = {_summary(sent)}"
    if rule is not None and _is_value(inp):
        bias = "bias" in (inp.name or "")
        note = broadcast_note(target, inp.shape, np.shape(_array(grad_out)), bias=bias)
        if note:
            text += f" ({note})"
    return text

