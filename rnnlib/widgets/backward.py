"""The backward-walk explorer (chapter 3): one term of the total derivative dE_N/dW at a time."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import plots, terms
from .base import C, Explorer
from .controls import Choice, Slider

NAMES = {"Ws": "W_s", "Wx": "W_x", "Wy": "W_y"}


class Backward(Explorer):
    """Walk backward through time: each term of dE_N/dW, its path and its factors."""

    name, main = "backward", "step"
    mosaic = [["graph"], ["bars"]]
    gridspec = {"height_ratios": [1.3, 1]}
    figsize = (7.6, 4.4)
    N_MAX = 8
    interval = 800
    YLIM = 6.5  # fixed: every term, running sum and total for N <= N_MAX stays below the notes
    # every step of every W for N up to 8 (N = 7 left out: a deck must stay under 3 MB)
    grid = {"step": tuple(range(1, N_MAX + 1)), "wrt": ("Ws", "Wx", "Wy"), "N": (2, 3, 4, 5, 6, 8)}
    depends = {"step": "N"}

    def _specs(self):
        return {
            "step": Slider("step back", 1, 1, self.N_MAX, 1, kind="int"),
            "wrt": Choice("W", ("Ws", "Wx", "Wy"), "Ws"),
            "N": Slider("N", 3, 2, self.N_MAX, 1, kind="int"),
        }

    def _build(self):
        ax, bx = self.ax["graph"], self.ax["bars"]
        self.graph = plots.unrolled_graph(ax, self.N_MAX)
        g = self.graph
        # the nodes and the Jacobian values on the recurrent edges change only with N
        self.semi += [g["nodes"], *g["S"], *g["x"], g["Y"], g["E"], *g["jac"]]
        ax.set_ylim(-1.45, 2.35)  # room under the x nodes for the tallest factor name
        # factor names (math, a finite set the mathtext cache keeps) above their values (plain)
        slot = dict(transform=ax.transAxes, fontsize=10, ha="left")
        self.f_names = [ax.text(0.16 + 0.21 * j, 0.1, "", va="bottom", **slot) for j in range(4)]
        self.f_vals = [ax.text(0.16 + 0.21 * j, 0.0, "", va="bottom", **slot) for j in range(4)]
        self.factors = ax.text(0.0, 0.0, "", transform=ax.transAxes, fontsize=10, va="bottom")
        self.bar = plots.bars(bx, self.N_MAX)
        self.running = bx.plot(
            [], [], "o-", color=C["black"], lw=1.5, ms=4, label="running sum from $i=N$"
        )[0]
        self.total = bx.axhline(0, color=C["green"], ls="--", lw=1.5, label="total")
        bx.axhline(0, color=plots.MUTED, lw=0.8)
        bx.set_xlabel("$i$ (the step where the weight is used)")
        bx.xaxis.set_major_locator(MaxNLocator(integer=True))
        bx.set_xlim(0.4, self.N_MAX + 0.6)
        bx.set_ylim(-self.YLIM, self.YLIM)
        bx.set_ylabel("term $i$")
        bx.legend(loc="lower left", fontsize=9, frameon=False, ncol=2)
        self.note_name = plots.status_text(bx, loc=(0.01, 0.97))
        self.note = plots.status_text(bx, loc=(0.99, 0.97), ha="right")
        # the factor names depend only on (N, wrt, i < N): drawn with the nodes, per semi key
        self.semi += [*self.f_names, self.note_name]
        self.boom = plots.exploded_text(bx)
        self._warm_mathtext()
        return (
            *self.bar.patches,
            self.running,
            self.total,
            self.factors,
            self.note,
            *self.f_vals,
            *[a for k in ("Ws", "Wx") for a in self.graph[k]],
            self.graph["lit"],
            self.graph["Wy"],
            self.graph["YE"],
            self.boom,
        )

    def _warm_mathtext(self):
        """Parse every node and factor label once (mathtext parsing costs ~5 ms a string).

        Matplotlib caches parsed mathtext, so later updates only draw glyphs.
        """
        renderer = self.fig.canvas.get_renderer()
        g = self.graph
        names = {
            rf"${n}$"
            for wrt in ("Ws", "Wx", "Wy")
            for i in ((2,) if wrt == "Wy" else (1, 2))
            for n, _ in terms.term_factors(terms.backward_walk(2, wrt), i)
        }
        slots = [(t, t.get_text()) for t in (*g["S"], *g["x"])]
        slots += [(self.f_names[0], s) for s in sorted(names)]
        slots += [(self.note_name, rf"terms of $dE_N/d{w}$") for w in NAMES.values()]
        for t, text in slots:
            old, vis = t.get_text(), t.get_visible()
            t.set_text(text)
            t.set_visible(True)
            t.draw(renderer)
            t.set_text(old)
            t.set_visible(vis)

    def _semi_key(self, v):
        N = v["N"]
        return N, v["wrt"], v["wrt"] != "Wy" and min(v["step"], N) > 1  # i < N: a product factor

    def _draw(self, step, wrt, N):
        walk = terms.backward_walk(N, wrt)
        i = N if wrt == "Wy" else N + 1 - step
        plots.set_graph(self.graph, N, i, wrt)
        for k in range(1, N + 1):
            self.graph["jac"][k - 1].set_text(f"{walk.jacobians[k - 1]:.2f}")
        facs = terms.term_factors(walk, i)
        self.factors.set_text(f"term {i} =\n{walk.terms[i - 1]:.4g}")
        for j, (tn, tv) in enumerate(zip(self.f_names, self.f_vals, strict=True)):
            shown = j < len(facs)
            tn.set_text(f"${facs[j][0]}$" if shown else "")
            tv.set_text(("× " if j else "") + f"{facs[j][1]:.3g}" if shown else "")
        visited = np.arange(1, N + 1) >= i
        colors = [
            C["vermillion"] if k == i else (C["blue"] if visited[k - 1] else plots.MUTED)
            for k in range(1, N + 1)
        ]
        plots.set_bars(self.bar, walk.terms, colors)
        run = walk.running[i - 1 :]
        self.running.set_data(np.arange(i, N + 1), run)
        self.total.set_ydata([walk.total, walk.total])
        self.note_name.set_text(rf"terms of $dE_N/d{NAMES[wrt]}$")  # 3 strings
        self.note.set_text(f"sum so far {run[0]:.4g} of total {walk.total:.4g}")  # plain: cheap
        self._explode(self.boom, not walk.finite)
        self.state = {
            "terms": walk.terms,
            "running": run,
            "total": np.array([walk.total]),
            "i": np.array([i]),
        }

    def _describe(self, step, wrt, N):
        i = int(self.state["i"][0])
        term = self.state["terms"][i - 1]
        w = {"Ws": "W s", "Wx": "W x", "Wy": "W y"}[wrt]
        return (
            f"Unrolled network of N = {N} steps with the path of term {i} of dE_N/d{w} lit, "
            f"and a bar chart of all {N} terms: term {i} = {term:.4g}, "
            f"running sum from i = N down to i = {i} is {self.state['running'][0]:.4g} "
            f"of the total {self.state['total'][0]:.4g}."
        )
