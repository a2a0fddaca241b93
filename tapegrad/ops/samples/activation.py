"""Samples for the activations and softmax/log_softmax.

Values stay >= 0.15 away from kinks (relu/leaky_relu at 0, hardtanh at its edges, elu at 0
where its second derivative jumps, softplus at its threshold), since gradcheck perturbs
inputs by ~1e-6. The conventions *at* the kinks are tested by hand against torch in
tests/ops/test_activation.py.

Functions that torch keeps in ``torch.nn.functional`` are looked up there for torch (and
for tapegrad once it has ``nn.functional``), else at the top level.
"""

import numpy as np

from tapegrad.ops.registry import OpInfo, Sample, register
from tapegrad.ops.samples.elementwise import SHAPES, away, randn


def F(lib, name: str):  # reads like torch's F.gelu
    functional = getattr(getattr(lib, "nn", None), "functional", None)
    return getattr(functional, name, None) or getattr(lib, name)


def _pointwise(kinks=(), scale: float = 1.5):
    def samples(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shape in SHAPES:
            x = randn(rng, shape) * scale
            out.append(Sample((away(x, kinks) if kinks else x,),
                              name="x".join(map(str, shape)) or "0-d"))
        return out

    return samples


register(OpInfo("relu", lambda lib, x: x.relu(), _pointwise((0.0,)), gradgradcheck=True))
register(OpInfo("relu_fn", lambda lib, x: lib.relu(x * 1), _pointwise((0.0,))))
register(OpInfo("relu_", lambda lib, x: (x * 1).relu_(), _pointwise((0.0,)),
                gradgradcheck=True))
register(OpInfo("sigmoid", lambda lib, x: x.sigmoid(), _pointwise(scale=3.0),
                gradgradcheck=True))
register(OpInfo("tanh", lambda lib, x: lib.tanh(x), _pointwise(scale=2.0), gradgradcheck=True))
register(OpInfo("leaky_relu", lambda lib, x: F(lib, "leaky_relu")(x), _pointwise((0.0,)),
                gradgradcheck=True))
register(OpInfo("leaky_relu_slope", lambda lib, x: F(lib, "leaky_relu")(x, 0.2),
                _pointwise((0.0,))))
register(OpInfo("hardtanh", lambda lib, x: F(lib, "hardtanh")(x), _pointwise((-1.0, 1.0)),
                gradgradcheck=True))
register(OpInfo("hardtanh_bounds", lambda lib, x: F(lib, "hardtanh")(x, -0.5, 2.0),
                _pointwise((-0.5, 2.0))))
register(OpInfo("elu", lambda lib, x: F(lib, "elu")(x), _pointwise((0.0,)),
                gradgradcheck=True))
register(OpInfo("elu_alpha", lambda lib, x: F(lib, "elu")(x, alpha=0.7), _pointwise((0.0,)),
                gradgradcheck=True))
register(OpInfo("softplus", lambda lib, x: F(lib, "softplus")(x), _pointwise(scale=3.0),
                gradgradcheck=True))
register(OpInfo("softplus_beta", lambda lib, x: F(lib, "softplus")(x, beta=2.0, threshold=3.0),
                _pointwise((1.5,), scale=2.0), gradgradcheck=True))
register(OpInfo("gelu", lambda lib, x: F(lib, "gelu")(x), _pointwise(scale=2.0),
                gradgradcheck=True))
register(OpInfo("gelu_tanh", lambda lib, x: F(lib, "gelu")(x, approximate="tanh"),
                _pointwise(scale=2.0), gradgradcheck=True))
register(OpInfo("silu", lambda lib, x: F(lib, "silu")(x), _pointwise(scale=2.0),
                gradgradcheck=True))
register(OpInfo("logsigmoid", lambda lib, x: F(lib, "logsigmoid")(x), _pointwise(scale=3.0),
                gradgradcheck=True))


def _softmax(rng: np.random.Generator) -> list[Sample]:
    def r(shape):
        return randn(rng, shape)

    return [Sample((r((3, 5)),), {"dim": 1}, name="rows"),
            Sample((r((3, 5)),), {"dim": 0}, name="columns"),
            Sample((r((2, 3, 4)),), {"dim": -2}, name="middle dim negative"),
            Sample((r((2, 3, 4)) * 10,), {"dim": -1}, name="large logits"),
            Sample((r(()),), {"dim": 0}, name="0-d"),
            Sample((r((4, 1)),), {"dim": 1}, name="size-1 dim"),
            Sample((r((0, 3)),), {"dim": 1}, name="empty")]


register(OpInfo("softmax", lambda lib, x, dim: x.softmax(dim), _softmax, gradgradcheck=True))
register(OpInfo("log_softmax", lambda lib, x, dim: lib.log_softmax(x, dim=dim), _softmax,
                gradgradcheck=True))
register(OpInfo("softmax_dtype", lambda lib, x, dim: lib.softmax(x, dim, dtype=lib.float64),
                _softmax))
register(OpInfo("log_softmax_dtype", lambda lib, x, dim: x.log_softmax(dim, dtype=lib.float64),
                _softmax))
