"""rnnlib.diagrams: the cell diagrams draw every gate and node, highlight the gated path,
name the adjoints on request, and stay inside their axes."""

import io

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

from rnnlib import diagrams, plots

CELLS = {"lstm": diagrams.lstm_cell, "gru": diagrams.gru_cell}


def draw(name, backward=False):
    fig, axd = plots.figure([["a"]], figsize=(6, 3.6))
    return fig, axd["a"], CELLS[name](axd["a"], backward=backward)


def flat(x):
    if isinstance(x, dict):
        return [a for v in x.values() for a in flat(v)]
    if isinstance(x, list):
        return [a for v in x for a in flat(v)]
    return [x]


def texts(d, key):
    return {a.get_text() for a in flat(d[key]) if isinstance(a, Text)}


def colour(a):
    return to_hex(a.get_color() if isinstance(a, Line2D) else a.get_edgecolor()).upper()


def test_no_pyplot_or_ipywidgets():
    assert "ipywidgets" not in vars(diagrams)
    assert "pyplot" not in vars(diagrams) and "plt" not in vars(diagrams)


@pytest.mark.parametrize(("name", "gates"), [("lstm", "figo"), ("gru", "rzn")])
def test_every_gate_is_drawn_once(name, gates):
    _, _, d = draw(name)
    assert sorted(d["gates"]) == sorted(gates)
    products = [k for k in d["nodes"] if k.startswith("times")]
    assert len(products) == {"lstm": 3, "gru": 3}[name]
    assert "plus" in d["nodes"]


@pytest.mark.parametrize(("name", "ends"), [("lstm", ("$C_{t-1}$", "$C_t$")),
                                            ("gru", ("$S_{t-1}$", "$S_t$"))])  # fmt: skip
def test_the_gated_path_is_highlighted_from_input_to_output(name, ends):
    _, _, d = draw(name)
    path = d.path
    assert path and all(colour(a) == diagrams.PATH.upper() for a in path)
    others = [a for k, v in d.items() if k not in ("path", "title") for a in flat(v)
              if isinstance(a, (Line2D, FancyArrowPatch))]  # fmt: skip
    assert others and not any(colour(a) == diagrams.PATH.upper() for a in others)
    assert min(a.get_linewidth() for a in path) > max(a.get_linewidth() for a in others)
    # the path runs from the left edge to the right edge at one height
    arrows = [a for a in path if isinstance(a, FancyArrowPatch)]
    xs = [v[0] for a in arrows for v in a.get_path().vertices]
    assert min(xs) < 0 < 10 < max(xs)
    assert set(ends) <= texts(d, "labels")


@pytest.mark.parametrize("name", CELLS)
def test_backward_names_the_adjoints_and_every_gate_error(name):
    _, _, plain = draw(name)
    assert "adjoints" not in plain
    _, _, d = draw(name, backward=True)
    names = texts(d, "adjoints")
    state = r"$\bar S_{t-1}$", r"$\bar S_t$"
    assert set(state) <= names
    if name == "lstm":
        assert {r"$\bar C_{t-1}$", r"$\bar C_t$"} <= names
    for q in d["gates"]:
        assert rf"$\delta^{q}_t$" in names
    assert all(a.get_color() == diagrams.ADJOINT for a in flat(d["adjoints"]))


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("backward", [False, True])
def test_everything_stays_inside_the_axes(name, backward):
    fig, ax, d = draw(name, backward)
    fig.canvas.draw()
    box = ax.get_window_extent()
    for a in flat({k: v for k, v in d.items() if k != "title"}):
        ext = a.get_window_extent()
        assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, a
        assert box.y0 - 1 <= ext.y0 and ext.y1 <= box.y1 + 1, a
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_two_cells_share_one_layout():
    """Side by side, the diagrams use the same limits and the same node size."""
    _, a1, _ = draw("lstm")
    _, a2, _ = draw("gru")
    np.testing.assert_array_equal(a1.get_xlim(), a2.get_xlim())
    np.testing.assert_array_equal(a1.get_ylim(), a2.get_ylim())
