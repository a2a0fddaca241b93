"""Draw README's picture: micrograd's neuron after backward (docs/images/neuron_backward.svg).

Run from the repository root: ``.venv/bin/python scripts/readme_picture.py``.
"""

from __future__ import annotations

from pathlib import Path

import tapegrad as tg
from tapegrad import viz

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "neuron_backward.svg"


def neuron() -> tg.Scalar:
    """o = tanh(x1*w1 + x2*w2 + b), the neuron of micrograd's lecture, after backward."""
    x1, x2 = tg.Scalar(2.0, label="x1"), tg.Scalar(0.0, label="x2")
    w1, w2 = tg.Scalar(-3.0, label="w1"), tg.Scalar(1.0, label="w2")
    b = tg.Scalar(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def main(out: Path = OUT) -> Path:
    o = neuron()
    title = "o = tanh(x1·w1 + x2·w2 + b), after o.backward()"
    return viz.render(viz.draw(o, view="backward", title=title), out)


if __name__ == "__main__":
    print(f"wrote {main()}")
