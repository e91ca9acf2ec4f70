"""The truncation explorer (chapter 7): which terms survive k steps, and the cost of the bias."""

from __future__ import annotations

import numpy as np

from .. import plots, truncation
from .base import C, Explorer
from .controls import Slider


class Truncation(Explorer):
    """Truncated BPTT: which terms survive k steps, and how close the gradient stays."""

    name, main = "truncation", "k"
    mosaic = [["terms", "cos"], ["terms", "err"]]
    gridspec = {"width_ratios": [1.4, 1]}
    figsize = (7.6, 4.2)
    H, N_MAX = 8, 40
    interval = 300
    YLIM, ERR_YLIM = (1e-26, 1e3), (1e-17, 1e1)  # fixed over every control's range
    grid = {
        "k": (1, 2, 3, 5, 8, 10, 15, 20, 30, 40),
        "N": (10, 20, 40),
        "scale": (0.8, 1.0, 1.5),
    }
    depends = {"k": "N"}

    def _specs(self):
        return {
            "k": Slider("k", 5, 1, self.N_MAX, 1, kind="int"),
            "N": Slider("N", 20, 2, self.N_MAX, 1, kind="int"),
            "scale": Slider("λ₁ of Ws", 1.0, 0.5, 2.0, 0.05, fmt=".2f"),
        }

    def _build(self):
        tx, cx, ex = self.ax["terms"], self.ax["cos"], self.ax["err"]
        plots.log_axis(tx)
        self.bar = plots.bars(tx, self.N_MAX, log=True)
        self.off = plots.offscale(tx)
        self.unused = [plots.unused_span(a) for a in (tx, cx, ex)]
        self.semi += self.unused  # redrawn only when N changes
        tx.set_xlim(0.4, self.N_MAX + 0.6)
        plots.fixed_log_limits(tx, *self.YLIM)
        tx.set_xlabel("$i$ (blue: kept by truncation at $k$)")
        tx.set_ylabel(r"$\|$term $i$ of $dE_N/dW_s\|$")
        self.info = plots.status_text(tx)
        self.boom = plots.exploded_text(tx)
        self.l_cos = cx.plot([], [], color=C["blue"], lw=1.5)[0]
        self.m_cos = cx.plot([], [], "o", color=C["vermillion"], ms=7)[0]
        cx.set_ylim(-1.05, 1.05)
        cx.set_ylabel("cosine to full")
        plots.log_axis(ex)
        self.l_err = ex.plot([], [], color=C["blue"], lw=1.5)[0]
        self.m_err = ex.plot([], [], "o", color=C["vermillion"], ms=7)[0]
        ex.set_ylabel("relative error")
        ex.set_xlabel("$k$")
        plots.fixed_log_limits(ex, *self.ERR_YLIM)
        for a in (cx, ex):
            a.set_xlim(0.5, self.N_MAX + 0.5)
        return (
            *self.bar.patches,
            *self.off,
            self.info,
            self.boom,
            self.l_cos,
            self.m_cos,
            self.l_err,
            self.m_err,
        )

    def _semi_key(self, v):
        return v["N"]

    def _draw(self, k, N, scale):
        prof = truncation.truncation_profile(N, scale, self.H)
        size, cos, err = prof.term_norm, prof.cos, prof.rel_error
        i = np.arange(1, N + 1)
        plots.set_bars(
            self.bar,
            plots.positive(size),
            [C["blue"] if j > N - k else plots.MUTED for j in i],
            bottom=plots.LOG_BOTTOM,
        )
        for span in self.unused:
            plots.set_unused(span, N + 0.5)
        plots.set_offscale(self.off, self.ax["terms"], (i, size))
        ks = np.arange(1, N + 1)
        self.l_cos.set_data(ks, cos)
        self.m_cos.set_data([k], [cos[k - 1]])
        plots.set_line(self.l_err, ks, err, log=True)
        plots.set_line(self.m_err, [k], [err[k - 1]], log=True)
        saved = 1 - k / N
        self.info.set_text(
            f"k = {k}: {k} of {N} steps back ({saved:.0%} saved)"
            f"\ncos {cos[k - 1]:.4f}, rel. error {err[k - 1]:.1e}"
        )
        self._explode(self.boom, not prof.finite)
        self.state = {"size": size, "cos": cos, "err": err, "k": np.array([k])}

    def _describe(self, k, N, scale):
        cos, err = self.state["cos"][k - 1], self.state["err"][k - 1]
        return (
            f"Bar chart of the sizes of the {N} terms of dE_N/dW s (log scale), the newest {k} "
            f"kept by truncation at k = {k}, largest singular value {scale:.2f}; beside it, "
            f"the cosine and relative error of the truncated gradient against k: at k = {k} "
            f"the cosine is {cos:.4f} and the relative error {err:.2e}."
        )
