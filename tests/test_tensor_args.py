"""Non-tensor inputs (a numpy array, a list) at every public entry, against torch.

torch checks its arguments at the door: ``TypeError: linear(): argument 'input' (position 1)
must be Tensor, not numpy.ndarray``. tapegrad used to fail deep inside with a raw
``AttributeError: 'numpy.ndarray' object has no attribute '_data'``, and ``Dropout`` in
eval mode handed a list straight back. Each call below runs in both libraries with the
tensor replaced by a numpy array and by a list:

* where torch raises TypeError, tapegrad raises TypeError too, with torch's exact message when
  torch's is the standard "must be Tensor, not ..." form;
* where torch's own Python code trips over the missing attribute (AttributeError, e.g.
  ``F.softmax`` or the losses given a list), tapegrad still gives the TypeError naming the
  argument: the clearer error, and the one the issue asks for at every public entry.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import tapegrad

A = np.ones((2, 3, 4, 4), np.float32)


def _t(lib, *shape):
    return lib.ones(*(shape or (2, 3, 4, 4)))


def _long(lib, *shape):
    return lib.zeros(*shape, dtype=lib.int64)


def _fn(lib):
    return lib.nn.functional


def _unary(op):
    return lambda lib, x: getattr(lib, op)(x)


CALLS = {
    # layers
    "Linear": lambda lib, x: lib.nn.Linear(4, 2)(x),
    "Conv1d": lambda lib, x: lib.nn.Conv1d(3, 2, 3)(x),
    "Conv2d": lambda lib, x: lib.nn.Conv2d(3, 2, 3)(x),
    "BatchNorm2d": lambda lib, x: lib.nn.BatchNorm2d(3)(x),
    "BatchNorm2d.eval": lambda lib, x: lib.nn.BatchNorm2d(3).eval()(x),
    "LayerNorm": lambda lib, x: lib.nn.LayerNorm(4)(x),
    "ReLU": lambda lib, x: lib.nn.ReLU()(x),
    "GELU": lambda lib, x: lib.nn.GELU()(x),
    "Tanh": lambda lib, x: lib.nn.Tanh()(x),
    "Sigmoid": lambda lib, x: lib.nn.Sigmoid()(x),
    "Softmax": lambda lib, x: lib.nn.Softmax(1)(x),
    "LogSoftmax": lambda lib, x: lib.nn.LogSoftmax(1)(x),
    "Dropout.train": lambda lib, x: lib.nn.Dropout(0.5)(x),
    "Dropout.eval": lambda lib, x: lib.nn.Dropout(0.5).eval()(x),
    "MaxPool2d": lambda lib, x: lib.nn.MaxPool2d(2)(x),
    "AvgPool2d": lambda lib, x: lib.nn.AvgPool2d(2)(x),
    "AdaptiveAvgPool2d": lambda lib, x: lib.nn.AdaptiveAvgPool2d(1)(x),
    "Embedding": lambda lib, x: lib.nn.Embedding(5, 2)(x),
    "MultiheadAttention": lambda lib, x: lib.nn.MultiheadAttention(4, 2)(x, x, x),
    "Sequential": lambda lib, x: lib.nn.Sequential(lib.nn.Linear(4, 2))(x),
    "LeakyReLU": lambda lib, x: lib.nn.LeakyReLU()(x),
    "ELU": lambda lib, x: lib.nn.ELU()(x),
    "Softplus": lambda lib, x: lib.nn.Softplus()(x),
    "SiLU": lambda lib, x: lib.nn.SiLU()(x),
    "Hardtanh": lambda lib, x: lib.nn.Hardtanh()(x),
    "TransformerEncoderLayer": lambda lib, x: lib.nn.TransformerEncoderLayer(4, 2, 8)(x),
    # functional
    "F.relu": lambda lib, x: _fn(lib).relu(x),
    "F.gelu": lambda lib, x: _fn(lib).gelu(x),
    "F.linear": lambda lib, x: _fn(lib).linear(x, _t(lib, 2, 4)),
    "F.conv2d": lambda lib, x: _fn(lib).conv2d(x, _t(lib, 2, 3, 3, 3)),
    "F.softmax": lambda lib, x: _fn(lib).softmax(x, 1),
    "F.log_softmax": lambda lib, x: _fn(lib).log_softmax(x, 1),
    "F.dropout": lambda lib, x: _fn(lib).dropout(x, 0.5),
    "F.dropout.eval": lambda lib, x: _fn(lib).dropout(x, 0.5, training=False),
    "F.max_pool2d": lambda lib, x: _fn(lib).max_pool2d(x, 2),
    "F.avg_pool2d": lambda lib, x: _fn(lib).avg_pool2d(x, 2),
    "F.adaptive_avg_pool1d": lambda lib, x: _fn(lib).adaptive_avg_pool1d(x, 2),
    "F.layer_norm": lambda lib, x: _fn(lib).layer_norm(x, (4,)),
    "F.batch_norm": lambda lib, x: _fn(lib).batch_norm(x, None, None, training=True),
    "F.embedding": lambda lib, x: _fn(lib).embedding(x, _t(lib, 5, 2)),
    "F.pad": lambda lib, x: _fn(lib).pad(x, (1, 1)),
    "F.normalize": lambda lib, x: _fn(lib).normalize(x),
    "F.sigmoid": lambda lib, x: _fn(lib).sigmoid(x),
    "F.tanh": lambda lib, x: _fn(lib).tanh(x),
    "F.silu": lambda lib, x: _fn(lib).silu(x),
    "F.leaky_relu": lambda lib, x: _fn(lib).leaky_relu(x),
    "F.elu": lambda lib, x: _fn(lib).elu(x),
    "F.softplus": lambda lib, x: _fn(lib).softplus(x),
    "F.one_hot": lambda lib, x: _fn(lib).one_hot(x),
    "F.scaled_dot_product_attention":
        lambda lib, x: _fn(lib).scaled_dot_product_attention(x, x, x),
    # losses (the non-tensor as input, and as target)
    "MSELoss(x, t)": lambda lib, x: lib.nn.MSELoss()(x, _t(lib)),
    "MSELoss(t, x)": lambda lib, x: lib.nn.MSELoss()(_t(lib), x),
    "L1Loss": lambda lib, x: lib.nn.L1Loss()(x, _t(lib)),
    "SmoothL1Loss": lambda lib, x: lib.nn.SmoothL1Loss()(x, _t(lib)),
    "HuberLoss": lambda lib, x: lib.nn.HuberLoss()(x, _t(lib)),
    "BCELoss": lambda lib, x: lib.nn.BCELoss()(x, _t(lib)),
    "BCEWithLogitsLoss": lambda lib, x: lib.nn.BCEWithLogitsLoss()(x, _t(lib)),
    "CrossEntropyLoss(x, t)": lambda lib, x: lib.nn.CrossEntropyLoss()(x, _long(lib, 2, 4, 4)),
    "CrossEntropyLoss(t, x)": lambda lib, x: lib.nn.CrossEntropyLoss()(_t(lib), x),
    "NLLLoss": lambda lib, x: lib.nn.NLLLoss()(x, _long(lib, 2, 4, 4)),
    "KLDivLoss": lambda lib, x: lib.nn.KLDivLoss(reduction="batchmean")(x, _t(lib)),
    # ops
    **{op: _unary(op) for op in [
        "exp", "log", "sqrt", "abs", "neg", "relu", "sigmoid", "tanh", "sum", "mean", "max",
        "argmax", "flatten", "squeeze", "min", "prod", "all",
        "sign", "round", "floor", "square", "rsqrt", "sin", "std", "var", "norm"]},
    "softmax": lambda lib, x: lib.softmax(x, 1),
    "logsumexp": lambda lib, x: lib.logsumexp(x, 1),
    "matmul(x, t)": lambda lib, x: lib.matmul(x, _t(lib, 4, 2)),
    "matmul(t, x)": lambda lib, x: lib.matmul(_t(lib, 4, 4), x),
    "mm": lambda lib, x: lib.mm(x, _t(lib, 4, 2)),
    "add(x, t)": lambda lib, x: lib.add(x, _t(lib)),
    "add(t, x)": lambda lib, x: lib.add(_t(lib), x),
    "mul": lambda lib, x: lib.mul(x, _t(lib)),
    "sub": lambda lib, x: lib.sub(x, _t(lib)),
    "div": lambda lib, x: lib.div(x, _t(lib)),
    "maximum(t, x)": lambda lib, x: lib.maximum(_t(lib), x),
    "pow": lambda lib, x: lib.pow(x, 2),
    "clamp": lambda lib, x: lib.clamp(x, 0, 1),
    "where": lambda lib, x: lib.where(_t(lib) > 0, x, _t(lib)),
    "cat": lambda lib, x: lib.cat([x, _t(lib)]),
    "cat(array)": lambda lib, x: lib.cat(x),
    "stack": lambda lib, x: lib.stack([x, _t(lib)]),
    "reshape": lambda lib, x: lib.reshape(x, (-1,)),
    "transpose": lambda lib, x: lib.transpose(x, 0, 1),
    "permute": lambda lib, x: lib.permute(x, (1, 0, 2, 3)),
    "unsqueeze": lambda lib, x: lib.unsqueeze(x, 0),
    "gather": lambda lib, x: lib.gather(x, 0, _long(lib, 1, 3, 4, 4)),
    "index_select": lambda lib, x: lib.index_select(x, 0, lib.tensor([0])),
    "eq": lambda lib, x: lib.eq(x, _t(lib)),
    "gt": lambda lib, x: lib.gt(x, _t(lib)),
    "masked_fill": lambda lib, x: lib.masked_fill(x, _t(lib) > 0, 0.0),
    "chunk": lambda lib, x: lib.chunk(x, 2),
    "split": lambda lib, x: lib.split(x, 1),
    "cumsum": lambda lib, x: lib.cumsum(x, 0),
}
STANDARD = re.compile(r"^\w+\(\): argument '\w+' \(position \d\) must be Tensor, not [\w.]+$")


def _error(lib, fn, x):
    try:
        fn(lib, x)
    except Exception as exc:  # the test compares types
        return exc
    return None


@pytest.mark.parametrize("kind", ["ndarray", "list"])
@pytest.mark.parametrize("name", list(CALLS))
def test_non_tensor_gives_type_error_like_torch(name, kind):
    x = A if kind == "ndarray" else A.tolist()
    want = _error(torch, CALLS[name], x)
    got = _error(tapegrad, CALLS[name], x)
    assert isinstance(want, (TypeError, AttributeError)), f"torch accepted it: {want!r}"
    assert type(got) is TypeError, f"{type(got).__name__}: {got}"
    expected = "numpy.ndarray" if kind == "ndarray" else "list"
    assert expected in str(got), str(got)
    if type(want) is TypeError and STANDARD.match(str(want)):
        assert str(got) == str(want)


def test_numbers_stay_allowed_where_ops_take_them():
    assert float(tapegrad.add(2, tapegrad.ones(1))) == 3.0
    assert float(tapegrad.pow(2, tapegrad.ones(1))) == 2.0
    assert float(tapegrad.mul(tapegrad.ones(1), 3)) == 3.0


NUMBER_CASES = [
    # (op, arguments): Python numbers where torch's argument parser wants tensors
    ("logical_and", ("T", 2)), ("logical_and", (2, "T")), ("logical_or", (2, 3)),
    ("logical_xor", ("T", 2)), ("bitwise_and", (2, 3)), ("bitwise_or", (2, "T")),
    ("bitwise_xor", ("T", 2)), ("pow", (2, 3)), ("pow", (2, "T")), ("rsub", (2, "T")),
    ("rsub", ("T", 2)), ("clamp_max", (2, "T")), ("clamp_min", ("T", 2)), ("add", (2, 3)),
    ("add", (2, "T")), ("mul", ("T", 2)), ("sub", (2, 3)), ("div", (2, "T")),
    ("floor_divide", (2, 3)), ("maximum", ("T", 2)), ("eq", (2, "T")), ("exp", (2,)),
    ("clamp", (2,)), ("where", (True, "T", "T")),
]


@pytest.mark.parametrize(("op", "args"), NUMBER_CASES,
                         ids=[f"{op}{args}" for op, args in NUMBER_CASES])
def test_python_numbers_as_operands_like_torch(op, args):
    def call(lib, _=None):
        x = lib.tensor([1, 2, 3])
        return getattr(lib, op)(*(x if a == "T" else a for a in args))

    want, got = _error(torch, call, None), _error(tapegrad, call, None)
    if want is None:
        assert got is None, f"torch accepts it, tapegrad raised {got!r}"
    else:
        assert type(got) is type(want), f"torch {want!r}, tapegrad {got!r}"


@pytest.mark.parametrize("method", ["__radd__", "__rmul__", "__rand__", "__ror__", "__rxor__",
                                    "__rsub__", "__rpow__"])
def test_reflected_methods_called_on_a_number(method):
    def call(lib, _=None):
        return getattr(lib.Tensor, method)(2, lib.tensor([1, 2, 3]))

    want, got = _error(torch, call, None), _error(tapegrad, call, None)
    assert type(got) is type(want)
    if want is None:  # torch's Python-level methods: NotImplemented or a value, as here
        assert (call(tapegrad) is NotImplemented) == (call(torch) is NotImplemented)
