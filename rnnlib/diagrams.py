"""Cell diagrams of the gated networks, drawn with matplotlib (book: :ref:`ch-lstm`).

Matplotlib only, like :mod:`rnnlib.plots`: each function takes an ``Axes``,
draws one step of a cell on it (gates as boxes, element-wise products and
sums as round nodes, wires as arrows) and returns the artists by name.  The
path along which the gradient is multiplied by a gate alone — the LSTM's cell
``C_{t-1} -> C_t`` through the forget gate, the GRU's state ``S_{t-1} -> S_t``
through the update gate — is drawn thick and in colour.  With
``backward=True`` every wire also carries the name of its adjoint
(``\\bar C_t = dE/dC_t``, ...) and every gate the error at its pre-activation
(``delta^f_t``, ...), in the order the backward pass computes them.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .plots import OKABE_ITO

PATH = OKABE_ITO["vermillion"]  # the gated path through time
WIRE = "#444444"
ADJOINT = OKABE_ITO["blue"]  # names of the backward quantities
GATE_FILL = "#F3F3F3"
R_NODE = 0.3  # radius of a product or sum node
BOX = (0.9, 0.6)  # width, height of a gate box
XLIM, YLIM = (-1.3, 11.2), (-0.9, 6.4)


class Diagram(dict):
    """Name -> artist (or list of artists) of one cell; ``.path``: the highlighted wires."""

    @property
    def path(self) -> list:
        return self["path"]


def _setup(ax, title):
    ax.set_xlim(*XLIM)
    ax.set_ylim(*YLIM)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax.set_title(title, fontsize=11)


def _unit(a, b):
    d = np.subtract(b, a, dtype=float)
    return d / np.hypot(*d)


def _wire(ax, pts, to_node=False, color=WIRE, lw=1.4):
    """A polyline through ``pts`` with an arrow head at the end; ``to_node`` stops it at the
    rim of a node centred on the last point."""
    pts = [np.asarray(p, dtype=float) for p in pts]
    if to_node:
        pts[-1] = pts[-1] - R_NODE * _unit(pts[-2], pts[-1])
    arts = []
    if len(pts) > 2:
        xs, ys = zip(*pts[:-1], strict=True)
        arts += ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="round", zorder=1)
    arrow = FancyArrowPatch(tuple(pts[-2]), tuple(pts[-1]), arrowstyle="-|>", mutation_scale=11,
                            color=color, lw=lw, shrinkA=0, shrinkB=0, zorder=1)  # fmt: skip
    ax.add_patch(arrow)
    return arts + [arrow]


def _line(ax, pts, color=WIRE, lw=1.4):
    xs, ys = zip(*pts, strict=True)
    return ax.plot(xs, ys, color=color, lw=lw, solid_capstyle="round", zorder=1)


def _node(ax, xy, symbol, color=WIRE, fontsize=11):
    c = Circle(xy, R_NODE, facecolor="white", edgecolor=color, lw=1.4, zorder=3)
    ax.add_patch(c)
    t = ax.text(*xy, symbol, ha="center", va="center", fontsize=fontsize, color=color, zorder=4)
    return [c, t]


def _box(ax, xy, text, size=BOX, fontsize=10):
    w, h = size
    b = FancyBboxPatch((xy[0] - w / 2, xy[1] - h / 2), w, h, boxstyle="round,pad=0.04",
                       facecolor=GATE_FILL, edgecolor=WIRE, lw=1.2, zorder=3)  # fmt: skip
    ax.add_patch(b)
    t = ax.text(*xy, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    return [b, t]


def _label(ax, xy, text, color="black", **kw):
    kw = dict(ha="center", va="center", fontsize=10) | kw
    return ax.text(*xy, text, color=color, zorder=5, **kw)


def lstm_cell(ax, backward: bool = False) -> Diagram:
    """One step of the LSTM (book: :eq:`eq-lstm-gates` to :eq:`eq-lstm-state`).

    The cell path ``C_{t-1} -> (x f_t) -> (+ i_t g_t) -> C_t`` is highlighted.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    backward : bool
        Also name the adjoints ``\\bar C``, ``\\bar S`` and the gate errors ``delta^q_t``.

    Returns
    -------
    Diagram
        Artists by name: ``"path"`` (the highlighted cell path), ``"gates"``, ``"nodes"``, ...
    """
    d = Diagram()
    d["title"] = _setup(ax, "LSTM cell, one step")
    y_c, y_g, bus = 5.0, 2.3, 0.8
    top = y_g + BOX[1] / 2
    # the cell path, drawn first and on top of nothing
    d["path"] = _wire(ax, [(-0.5, y_c), (2.0, y_c)], to_node=True, color=PATH, lw=3)
    d["path"] += _wire(ax, [(2.0, y_c), (5.0, y_c)], to_node=True, color=PATH, lw=3)
    d["path"] += _wire(ax, [(5.0, y_c), (10.4, y_c)], color=PATH, lw=3)
    # S_{t-1} enters at the bottom left and joins x_t on the bus [x_t; S_{t-1}]
    d["S_in"] = _line(ax, [(-0.5, bus), (6.6, bus)])
    d["x_in"] = _wire(ax, [(0.9, -0.25), (0.9, bus)])
    gates = {"f": (2.0, r"$\sigma$"), "i": (3.5, r"$\sigma$"), "g": (5.0, "tanh"),
             "o": (6.6, r"$\sigma$")}  # fmt: skip
    d["gates"] = {}
    for q, (x, text) in gates.items():
        d[f"to_{q}"] = _wire(ax, [(x, bus), (x, y_g - BOX[1] / 2)])
        d["gates"][q] = _box(ax, (x, y_g), text)
    d["nodes"] = {
        "times_f": _node(ax, (2.0, y_c), r"$\odot$"),
        "plus": _node(ax, (5.0, y_c), "$+$"),
        "times_ig": _node(ax, (5.0, 3.7), r"$\odot$"),
        "tanh_c": _box(ax, (8.2, 3.9), "tanh", size=(0.9, 0.5)),
        "times_o": _node(ax, (8.2, y_g), r"$\odot$"),
    }
    d["f"] = _wire(ax, [(2.0, top), (2.0, y_c)], to_node=True)
    d["i"] = _wire(ax, [(3.5, top), (3.5, 3.7), (5.0, 3.7)], to_node=True)
    d["g"] = _wire(ax, [(5.0, top), (5.0, 3.7)], to_node=True)
    d["ig"] = _wire(ax, [(5.0, 3.7), (5.0, y_c)], to_node=True)
    d["tap"] = _wire(ax, [(8.2, y_c), (8.2, 3.9 + 0.25)])
    d["tanh_out"] = _wire(ax, [(8.2, 3.9 - 0.25), (8.2, y_g)], to_node=True)
    d["o"] = _wire(ax, [(6.6 + BOX[0] / 2, y_g), (8.2, y_g)], to_node=True)
    d["S_out"] = _wire(ax, [(8.2, y_g - R_NODE), (8.2, bus), (10.4, bus)])
    d["labels"] = [
        _label(ax, (-0.6, y_c + 0.35), "$C_{t-1}$", ha="left"),
        _label(ax, (10.4, y_c + 0.35), "$C_t$", ha="right"),
        _label(ax, (-0.6, bus + 0.35), "$S_{t-1}$", ha="left"),
        _label(ax, (10.4, bus + 0.35), "$S_t$", ha="right"),
        _label(ax, (0.9, -0.35), "$x_t$", va="top"),
        _label(ax, (1.75, 3.5), "$f_t$", ha="right"),
        _label(ax, (3.35, 3.3), "$i_t$", ha="right"),
        _label(ax, (5.2, 3.05), "$g_t$", ha="left"),
        _label(ax, (7.4, y_g + 0.3), "$o_t$"),
        _label(ax, (3.8, bus - 0.35), r"$[x_t;\,S_{t-1}]$", fontsize=9),
    ]
    if backward:
        d["adjoints"] = [
            _label(ax, (0.7, y_c - 0.4), r"$\bar C_{t-1}$", ADJOINT),
            _label(ax, (9.6, y_c - 0.4), r"$\bar C_t$", ADJOINT),
            _label(ax, (-0.6, bus - 0.45), r"$\bar S_{t-1}$", ADJOINT, ha="left"),
            _label(ax, (9.6, bus - 0.45), r"$\bar S_t$", ADJOINT),
        ] + [
            _label(ax, (x + 0.55, y_g - 0.55), rf"$\delta^{q}_t$", ADJOINT, fontsize=9)
            for q, (x, _) in gates.items()
        ]
    return d


def gru_cell(ax, backward: bool = False) -> Diagram:
    """One step of the GRU (book: :eq:`eq-gru-cell`).

    The state path ``S_{t-1} -> (x z_t) -> (+ (1 - z_t) n_t) -> S_t`` is highlighted.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    backward : bool
        Also name the adjoints ``\\bar S`` and the gate errors ``delta^q_t``.

    Returns
    -------
    Diagram
        Artists by name: ``"path"`` (the highlighted state path), ``"gates"``, ``"nodes"``, ...
    """
    d = Diagram()
    d["title"] = _setup(ax, "GRU cell, one step")
    y_s, y_g, bus, y_1z = 5.0, 2.3, 0.8, 4.1
    top = y_g + BOX[1] / 2
    d["path"] = _wire(ax, [(-0.5, y_s), (1.9, y_s)], to_node=True, color=PATH, lw=3)
    d["path"] += _wire(ax, [(1.9, y_s), (8.2, y_s)], to_node=True, color=PATH, lw=3)
    d["path"] += _wire(ax, [(8.2, y_s), (10.4, y_s)], color=PATH, lw=3)
    # S_{t-1} also drops to the bus [x_t; S_{t-1}] that the gates read
    d["S_drop"] = _line(ax, [(0.4, y_s), (0.4, bus), (6.6, bus)])
    d["x_in"] = _wire(ax, [(1.0, -0.25), (1.0, bus)])
    gates = {"z": (1.9, r"$\sigma$"), "r": (3.3, r"$\sigma$"), "n": (6.6, "tanh")}
    d["gates"] = {}
    for q, (x, text) in gates.items():
        d[f"to_{q}"] = _wire(ax, [(x, bus), (x, y_g - BOX[1] / 2)])
        d["gates"][q] = _box(ax, (x, y_g), text)
    m_box = (5.2, 1.5)
    d["to_m"] = _wire(ax, [(4.9, bus), (4.9, m_box[1] - 0.22)])
    d["nodes"] = {
        "times_z": _node(ax, (1.9, y_s), r"$\odot$"),
        "one_minus": _node(ax, (4.9, y_1z), "1−", fontsize=8),
        "times_n": _node(ax, (8.2, y_1z), r"$\odot$"),
        "plus": _node(ax, (8.2, y_s), "$+$"),
        "times_r": _node(ax, (4.9, 2.6), r"$\odot$"),
        "m": _box(ax, m_box, r"$W_{ns}S_{t-1}{+}b_{sn}$", size=(1.8, 0.44), fontsize=8),
    }
    d["z"] = _wire(ax, [(1.9, top), (1.9, y_s)], to_node=True)
    d["z_branch"] = _wire(ax, [(1.9, y_1z), (4.9, y_1z)], to_node=True)
    d["one_minus_z"] = _wire(ax, [(4.9, y_1z), (8.2, y_1z)], to_node=True)
    d["r"] = _wire(ax, [(3.3, top), (3.3, 3.3), (4.9, 3.3), (4.9, 2.6)], to_node=True)
    d["m_out"] = _wire(ax, [(4.9, m_box[1] + 0.22), (4.9, 2.6)], to_node=True)
    d["rm"] = _wire(ax, [(4.9 + R_NODE, 2.6), (6.6 - BOX[0] / 2, 2.6)])
    d["n"] = _wire(ax, [(6.6 + BOX[0] / 2, y_g), (8.2, y_g), (8.2, y_1z)], to_node=True)
    d["n_in"] = d.pop("to_n")  # the candidate reads x_t from the bus (and r_t m_t from the left)
    d["update"] = _wire(ax, [(8.2, y_1z), (8.2, y_s)], to_node=True)
    d["labels"] = [
        _label(ax, (-0.6, y_s + 0.35), "$S_{t-1}$", ha="left"),
        _label(ax, (10.4, y_s + 0.35), "$S_t$", ha="right"),
        _label(ax, (1.0, -0.35), "$x_t$", va="top"),
        _label(ax, (1.65, 3.3), "$z_t$", ha="right"),
        _label(ax, (3.15, 3.0), "$r_t$", ha="right"),
        _label(ax, (4.7, 2.05), "$m_t$", ha="right", fontsize=9),
        _label(ax, (7.4, y_g + 0.3), "$n_t$"),
        _label(ax, (6.5, y_1z + 0.3), "$1-z_t$", fontsize=9),
        _label(ax, (3.6, bus - 0.35), r"$[x_t;\,S_{t-1}]$", fontsize=9),
    ]
    if backward:
        d["adjoints"] = [
            _label(ax, (-0.6, y_s - 0.45), r"$\bar S_{t-1}$", ADJOINT, ha="left"),
            _label(ax, (9.6, y_s - 0.4), r"$\bar S_t$", ADJOINT),
        ] + [
            _label(ax, (x + 0.55, y_g - 0.55), rf"$\delta^{q}_t$", ADJOINT, fontsize=9)
            for q, (x, _) in gates.items()
        ]
    return d
