"""The stepper's captions: what one backward step sent to one input, with the numbers.

A caption is written from the op's own definition and from what the engine did (the
event's incoming gradient and the gradient it sent), never from a gradient computed here:

* a **pointwise** op's caption is its formula from `tapegrad.pointwise`, once with the
  values' names and once with their numbers::

      ∂L/∂w1 = ∂L/∂%5·x1 = 0.5·2 = 1

  For tensors bigger than a few elements the numbers are those of one element (the first)
  with a summary of the whole gradient. A gradient summed because the input was broadcast
  says over which dims ("summed over dim 0: the bias was broadcast over the batch").
* every **other** op has one line of `CAPTIONS` below (op name -> text per input, with
  shapes): ``∂L/∂W = gᵀ·x : (2, 3) = (4, 2)ᵀ·(4, 3)``.

`accumulation` writes a gradient stored into a ``.grad`` (or into a value reached more
than once) as the sum it is: ``0.5 + 0.25 = 0.75``, one element and the norms for large
tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapegrad.formula import Expr, chain
from tapegrad.pointwise import RULES, Binary

__all__ = ["CAPTIONS", "GENERIC", "accumulation", "caption", "shape_text"]

_SMALL = 6  # tensors with at most this many elements are written out in full
GENERIC = "sends grad through"  # the fallback caption's words (an op missing below)
_GRAD = Expr("var", "grad")

#: Op name (the tape's ``entry.op``) -> what its backward sends to input 0, 1, 2... (the
#: last text serves the inputs after it). Placeholders: ``{x0}`` ``{x1}`` ``{x2}`` the
#: inputs' names, ``{s0}`` ``{s1}`` ``{s2}`` their shapes, ``{g}`` the incoming gradient
#: (∂L/∂output), ``{sg}`` its shape, ``{so}`` the shape sent, ``{opts}`` the options, ``{n}``
#: the number of elements averaged, ``{dim}`` the option ``dim``.
CAPTIONS: dict[str, tuple[str, ...]] = {
    "linear": ("{g}·{x1} : {s0} = {sg}·{s1}",
               "{g}ᵀ·{x0}, every row of the batch adds up : {s1} = {sg}ᵀ·{s0}",
               "Σ {g} over the batch : {s2} = rows of {sg} summed"),
    "addmm": ("Σ {g} over the batch : {s0} = rows of {sg} summed",
              "{g}·{x2}ᵀ : {s1} = {sg}·{s2}ᵀ", "{x1}ᵀ·{g} : {s2} = {s1}ᵀ·{sg}"),
    "mm": ("{g}·{x1}ᵀ : {s0} = {sg}·{s1}ᵀ", "{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg}"),
    "matmul": ("{g}·{x1}ᵀ : {s0} = {sg}·{s1}ᵀ (ᵀ swaps the last two dims)",
               "{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg} (ᵀ swaps the last two dims)"),
    "bmm": ("{g}·{x1}ᵀ per batch : {s0} = {sg}·{s1}ᵀ",
            "{x0}ᵀ·{g} per batch : {s1} = {s0}ᵀ·{sg}"),
    "mv": ("outer({g}, {x1}) : {s0} = {sg} ⊗ {s1}", "{x0}ᵀ·{g} : {s1} = {s0}ᵀ·{sg}"),
    "dot": ("{g}·{x1} : {s0} = scalar · {s1}", "{g}·{x0} : {s1} = scalar · {s0}"),
    "outer": ("{g}·{x1} : {s0} = {sg}·{s1}", "{g}ᵀ·{x0} : {s1} = {sg}ᵀ·{s0}"),
    "sum": ("{g} copied to every element that was summed (∂sum/∂xᵢ = 1) : {sg} → {s0}",),
    "mean": ("{g} / {n} copied to every element that was averaged : {sg} → {s0}",),
    "sum_to_size": ("{g} copied back over the summed dims : {sg} → {s0}",),
    "prod": ("{g}·(product of the other elements) : {sg} → {s0}",),
    "max": ("{g} goes to the largest element, 0 to the rest (max routes) : {sg} → {s0}",),
    "min": ("{g} goes to the smallest element, 0 to the rest (min routes) : {sg} → {s0}",),
    "amax": ("{g} shared by the largest elements, 0 to the rest : {sg} → {s0}",),
    "amin": ("{g} shared by the smallest elements, 0 to the rest : {sg} → {s0}",),
    "maximum": ("{g} where {x0} is the larger, 0 elsewhere (ties share) : {s0}",),
    "minimum": ("{g} where {x0} is the smaller, 0 elsewhere (ties share) : {s0}",),
    "logsumexp": ("{g}·softmax({x0}) along dim {dim} : {sg} → {s0}",),
    "cumsum": ("{g} summed from the end backwards along dim {dim} : {s0}",),
    "norm": ("{g}·{x0} / ‖{x0}‖ : {sg} → {s0}",),
    "var": ("{g}·2({x0} − mean) / (n − correction) : {sg} → {s0}",),
    "std": ("{g}·({x0} − mean) / ((n − correction)·std) : {sg} → {s0}",),
    "reshape": ("{g} reshaped back (same numbers, new shape) : {sg} → {s0}",),
    "view": ("{g} reshaped back (same numbers, new shape) : {sg} → {s0}",),
    "flatten": ("{g} unflattened back : {sg} → {s0}",),
    "unflatten": ("{g} flattened back : {sg} → {s0}",),
    "squeeze": ("{g} with the size-1 dims put back : {sg} → {s0}",),
    "unsqueeze": ("{g} with the added dim removed : {sg} → {s0}",),
    "transpose": ("{g} transposed back ({opts}) : {sg} → {s0}",),
    "t": ("{g}ᵀ : {sg} → {s0}",),
    "permute": ("{g} permuted back by the inverse of {opts} : {sg} → {s0}",),
    "movedim": ("{g} with the dims moved back : {sg} → {s0}",),
    "expand": ("{g} summed over the expanded dims : {sg} → {s0}",),
    "repeat": ("{g} summed over the copies : {sg} → {s0}",),
    "tile": ("{g} summed over the copies : {sg} → {s0}",),
    "flip": ("{g} flipped back : {sg} → {s0}",),
    "clone": ("{g} unchanged (a copy passes the gradient as it is) : {s0}",),
    "contiguous": ("{g} unchanged : {s0}",),
    "to": ("{g} converted back to the input's dtype : {s0}",),
    "alias": ("{g} unchanged : {s0}",),
    "slice": ("{g} put into zeros of shape {s0} at the slice ({opts}); the rest get 0 : "
              "{sg} → {s0}",),
    "narrow": ("{g} put into zeros at the narrowed range ({opts}) : {sg} → {s0}",),
    "select": ("{g} put into zeros at the selected index ({opts}) : {sg} → {s0}",),
    "index": ("{g} added into zeros at the indexed places (repeats add up) : {sg} → {s0}",),
    "getitem": ("{g} added into zeros at the indexed places (repeats add up) : {sg} → {s0}",),
    "index_select": ("{g} added into zeros at the selected rows ({opts}) : {sg} → {s0}",),
    "take": ("{g} added into zeros at the taken places : {sg} → {s0}",),
    "take_along_dim": ("{g} added into zeros at the taken places : {sg} → {s0}",),
    "gather": ("{g} scattered (added) back where it was gathered from ({opts}) : "
               "{sg} → {s0}",),
    "masked_select": ("{g} put back where the mask is true, 0 elsewhere : {sg} → {s0}",),
    "masked_fill": ("{g} where the mask is false, 0 where it was filled : {s0}",),
    "where": ("0 (the condition has no gradient)", "{g} where the condition holds : {s1}",
              "{g} where the condition fails : {s2}"),
    "scatter": ("{g} where nothing was scattered over : {s0}",
                "0 (indices have no gradient)", "{g} gathered at the indices : {s2}"),
    "scatter_add": ("{g} unchanged : {s0}", "0 (indices have no gradient)",
                    "{g} gathered at the indices : {s2}"),
    "index_add": ("{g} unchanged : {s0}", "0 (indices have no gradient)",
                  "{g} selected at the indices : {s2}"),
    "index_put": ("{g} with the overwritten places set to 0 : {s0}",
                  "{g} taken at the indices : {s1}"),
    "cat": ("the slice of {g} that {xi} filled (cat splits the gradient back) : "
            "{sg} → {so} along {opts}",),
    "concat": ("the slice of {g} that {xi} filled : {sg} → {so} along {opts}",),
    "stack": ("the slice of {g} that {xi} filled : {sg} → {so} along {opts}",),
    "split": ("the pieces' gradients concatenated (a piece nobody used counts as 0) : "
              "→ {s0} along {opts}",),
    "chunk": ("the pieces' gradients concatenated : → {s0} along {opts}",),
    "unbind": ("the pieces' gradients stacked : → {s0} along {opts}",),
    "constant_pad_nd": ("{g} with the padding cut off : {sg} → {s0}",),
    "pad": ("{g} with the padding cut off : {sg} → {s0}",),
    "softmax": ("y ⊙ ({g} − Σ {g} ⊙ y along dim {dim}), y the softmax : {sg} → {s0}",),
    "log_softmax": ("{g} − softmax·Σ {g} along dim {dim} : {sg} → {s0}",),
    "cross_entropy": ("(softmax({x0}) − one-hot({x1}))·{g} / N over the batch : "
                      "{s0} (reduction {opts})", "0 (the targets have no gradient)"),
    "nll_loss": ("−{g} at each target's log-probability, 0 elsewhere : {s0} ({opts})",
                 "0 (the targets have no gradient)"),
    "mse_loss": ("2({x0} − {x1})·{g} / n : {s0} ({opts})",
                 "−2({x0} − {x1})·{g} / n : {s1} ({opts})"),
    "l1_loss": ("sign({x0} − {x1})·{g} / n : {s0}", "−sign({x0} − {x1})·{g} / n : {s1}"),
    "huber_loss": ("clamp({x0} − {x1}, ±δ)·{g} / n : {s0}",
                   "−clamp({x0} − {x1}, ±δ)·{g} / n : {s1}"),
    "smooth_l1_loss": ("clamp(({x0} − {x1}) / β, ±1)·{g} / n : {s0}",
                       "−clamp(({x0} − {x1}) / β, ±1)·{g} / n : {s1}"),
    "binary_cross_entropy": ("(p − t) / (p(1 − p))·{g} / n : {s0}",
                             "log((1 − p)/p)·{g} / n : {s1}"),
    "binary_cross_entropy_with_logits": ("(sigmoid({x0}) − {x1})·{g} / n : {s0}",
                                         "−{x0}·{g} / n : {s1}"),
    "kl_div": ("−{x1}·{g} / n : {s0}", "(log {x1} + 1 − {x0})·{g} / n : {s1}"),
    "convolution": ("{g} convolved back with the kernel (a transposed convolution) : "
                    "{s0} ← {sg} ⋆ {s1}",
                    "{x0} correlated with {g}, summed over the batch : {s1} ← {s0} ⋆ {sg}",
                    "Σ {g} over the batch and every position : {s2} = {sg} summed over "
                    "dims 0, 2, 3"),
    "conv2d": ("{g} convolved back with the kernel : {s0} ← {sg} ⋆ {s1}",
               "{x0} correlated with {g} : {s1} ← {s0} ⋆ {sg}",
               "Σ {g} over the batch and every position : {s2}"),
    "max_pool2d": ("{g} goes to the position of each window's max, 0 elsewhere (max "
                   "routes) : {sg} → {s0}",),
    "adaptive_max_pool2d": ("{g} goes to each window's max, 0 elsewhere : {sg} → {s0}",),
    "avg_pool2d": ("{g} / window size, spread over each window : {sg} → {s0}",),
    "adaptive_avg_pool2d": ("{g} / window size, spread over each window : {sg} → {s0}",),
    "dropout": ("{g}·mask / (1 − p): dropped elements get 0 : {s0}",),
    "embedding": ("0 (indices have no gradient)",
                  "rows of {g} added into the rows that were looked up : {sg} → {s1}"),
    "layer_norm": ("(γ{g} − mean(γ{g}) − x̂·mean(γ{g}·x̂)) / σ per sample : {s0}",
                   "Σ {g}·x̂ over the batch : {s1}", "Σ {g} over the batch : {s2}"),
    "batch_norm": ("(γ{g} − mean(γ{g}) − x̂·mean(γ{g}·x̂)) / σ per channel : {s0}",
                   "Σ {g}·x̂ over batch and positions : {s1}",
                   "Σ {g} over batch and positions : {s2}"),
    "clamp": ("{g} inside [min, max], 0 where clamped : {s0}",),
    "clamp_min": ("{g} above min, 0 where clamped : {s0}",),
    "clamp_max": ("{g} below max, 0 where clamped : {s0}",),
    "clip": ("{g} inside [min, max], 0 where clamped : {s0}",),
    "xlogy": ("{g}·log({x1}) : {s0}", "{g}·{x0} / {x1} : {s1}"),
    "square": ("{g}·2{x0} : {s0}",),
    "copy_": ("0 (overwritten)", "{g} : {s1}"),
    "fill_": ("0 (every element was overwritten) : {s0}",),
    "zero_": ("0 (every element was overwritten) : {s0}",),
    "sample_": ("0 (every element was overwritten by a random draw) : {s0}",),
    "sample": ("0 (a random draw is not differentiated, as in torch)",
               "0 (a random draw is not differentiated, as in torch)"),
    "setitem": ("{g} with the assigned places set to 0 : {s0}",
                "{g} at the assigned places : {s1}"),
    "backward_hook": ("{g}, through the hook : {s0}",),
    "gru_step": ("∂L/∂input through the GRU cell's gates : {s0}",),
    "lstm_step": ("∂L/∂input through the LSTM cell's gates : {s0}",),
    "logsoftmax": ("{g} − softmax·Σ {g} along dim {dim} : {sg} → {s0}",),
    "indexselect": ("{g} added into zeros at the selected rows ({opts}) : {sg} → {s0}",),
    "maskedselect": ("{g} put back where the mask is true, 0 elsewhere : {sg} → {s0}",),
    "masked_scatter": ("{g} where the mask is false : {s0}", "0 (the mask has no gradient)",
                       "{g} where the mask is true, in order : {s2}"),
    "diagonal": ("{g} put on the diagonal of zeros ({opts}) : {sg} → {s0}",),
    "nll_loss2d": ("−{g} at each pixel's target log-probability, 0 elsewhere : {s0}",
                   "0 (the targets have no gradient)"),
    "gather_planes": ("{g} added back into the planes it was gathered from : {s0}",),
    "clampinplacetensor": ("{g} inside [min, max], 0 where clamped : {s0}",),
    "scaled_dot_product_attention": ("{g} back through softmax(QKᵀ/√d)·V : {s0}",),
}


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


def _broadcast_dims(in_shape: tuple, out_shape: tuple) -> list[int]:
    """The dims of ``out_shape`` an input of ``in_shape`` was broadcast over."""
    lead = len(out_shape) - len(in_shape)
    dims = list(range(lead))
    dims += [lead + i for i, n in enumerate(in_shape) if n == 1 and out_shape[lead + i] != 1]
    return dims


def broadcast_note(name: str, in_shape: tuple, out_shape: tuple, bias: bool = False) -> str:
    """"summed over dim 0: the bias was broadcast over the batch" (or "" when the input
    had the output's shape)."""
    dims = _broadcast_dims(tuple(in_shape), tuple(out_shape))
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
    if entry.op.endswith("_backward") and entry.op not in CAPTIONS:
        # an op recorded by a backward that built a graph (create_graph=True)
        text = (f"∂L/∂{target} = the derivative of {entry.op[:-9]}'s backward formula "
                f"(double backward) : {shape_text(np.shape(_array(sent)))} = {_summary(sent)}")
        return text
    if rule is not None:
        text = _pointwise(entry, index, rule, g_text, grad_out, sent, target)
    else:
        templates = CAPTIONS.get(entry.op) or CAPTIONS.get(entry.op.rstrip("_"))
        if templates is None:
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
        text = f"∂L/∂{target} = {template.format(**fields)} = {_summary(sent)}"
    if not _is_value(inp):
        return text
    bias_at = _BIAS.get(entry.op)
    if bias_at is not None and index == bias_at[0]:
        return f"{text} ({bias_at[1]})" if bias_at[1] else (
            f"{text} ({broadcast_note(target, inp.shape, np.shape(_array(grad_out)), True)})")
    if rule is not None:
        bias = "bias" in (inp.name or "")
        note = broadcast_note(target, inp.shape, np.shape(_array(grad_out)), bias=bias)
        if note:
            text += f" ({note})"
    return text


# Which input of a layer op is its bias, and how its gradient was summed ("": from shapes)
_BIAS = {"linear": (2, ""), "addmm": (0, ""),
         "convolution": (2, "summed over dims 0, 2, 3: the bias was broadcast over the "
                            "batch and every position"),
         "conv2d": (2, "summed over dims 0, 2, 3: the bias was broadcast over the batch "
                       "and every position")}
