"""Interactive explorers: controls wired to rnnlib's math and drawn by :mod:`rnnlib.plots`.

Every explorer has the same face (see the design notes):

- ``.controls``: name -> ipywidgets control (with its range or options);
- ``.update(**values)``: validate every value, then set them, recompute and redraw;
  all or nothing (a bad value raises ``ValueError`` naming the control);
- ``.ui``: the ipywidgets container a notebook shows;
- one display, one face per place: in a notebook with a kernel the controls
  recompute (live); in the built book and the slides (``RNNLIB_EXPLORERS=frames``)
  the same controls switch, in the browser, between pictures precomputed over the
  explorer's ``grid`` by the same drawing code.

In a chapter::

    rl.widgets.EXPLORERS["decay"]()          # last expression of a cell
"""

from __future__ import annotations

from .backward import Backward
from .base import FACE_ENV, Explorer, frames_face
from .clipping import Clipping
from .decay import Decay
from .lstm_vs_rnn import LstmVsRnn
from .truncation import Truncation

EXPLORERS: dict[str, type[Explorer]] = {
    cls.name: cls for cls in (Backward, Decay, Clipping, Truncation, LstmVsRnn)
}

__all__ = [
    "EXPLORERS",
    "FACE_ENV",
    "Backward",
    "Clipping",
    "Decay",
    "Explorer",
    "LstmVsRnn",
    "Truncation",
    "frames_face",
]
