"""y = x^2 as hand-written Functions whose backwards are deliberately wrong: the subjects the
gradcheck and torch-oracle suites must catch.

Imported by its sibling test modules as ``from square_functions import WrongSquare``
(pytest's default "prepend" import mode puts this folder, which has no ``__init__.py``, on
``sys.path``)."""

from __future__ import annotations

from tapegrad.autograd import Function
from tapegrad.ops._util import wrap


class SquareForward(Function):
    """The forward y = x^2 (saving x); subclasses write the backward under test."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(x._data * x._data)


class WrongSquare(SquareForward):
    """y = x^2 with a backward that forgot the factor 2."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x
