"""tapegrad.viz: pictures of the tape.

* `draw` (a Graphviz graph of the forward program or of the backward graph), `to_svg`,
  `render`: see `tapegrad.viz.graph`;
* `backprop_steps` (one `Frame` per step of the backward walk) and `stepper_html` (a
  self-contained page to step through backprop): see `tapegrad.viz.stepper`.

Importing this package does not import matplotlib: the plots in ``tapegrad.viz.plots``
load it when they are imported themselves.
"""

from tapegrad.viz.graph import draw, render, to_svg
from tapegrad.viz.stepper import Frame, backprop_steps, stepper_html

__all__ = ["Frame", "backprop_steps", "draw", "render", "stepper_html", "to_svg"]
