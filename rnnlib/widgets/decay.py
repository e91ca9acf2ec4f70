"""The vanishing/exploding explorer (chapter 5): ||dE_N/dS_i|| against i."""

from __future__ import annotations

import numpy as np

from .. import jacobians, plots
from .base import C, Explorer
from .controls import Choice, Slider


class Decay(Explorer):
    """Vanishing and exploding: ||dE_N/dS_i|| against i with the bound and the horizon."""

    name, main = "decay", "scale"
    mosaic = [["norms", "heat"]]
    gridspec = {"width_ratios": [1.5, 1]}
    figsize = (7.6, 4.2)
    H = 8
    N_MAX = 60
    YLIM = (1e-15, 1e15)  # fixed, so no control moves an axis; beyond it: off-scale markers
    # lambda_1 in eighths of a decade from 0.18 to 10, for each activation
    grid = {
        "scale": tuple(np.round(10.0 ** np.linspace(-0.75, 1, 15), 12)),
        "activation": ("tanh", "sigmoid", "relu", "identity"),
    }

    def _specs(self):
        return {
            "scale": Slider("λ₁ of Ws", 10**-0.125, -1, 1, 0.025, kind="log", fmt=".2f"),
            "activation": Choice("g₁", ("tanh", "sigmoid", "relu", "identity"), "tanh", True),
            "N": Slider("N", 30, 5, self.N_MAX, 1, kind="int"),
            "seed": Slider("seed", 0, 0, 9, 1, kind="int"),
        }

    def _build(self):
        ax, hx = self.ax["norms"], self.ax["heat"]
        plots.log_axis(ax)
        self.unused = plots.unused_span(ax)
        self.l_norm = ax.plot([], [], "o-", ms=3, color=C["blue"], label=r"$\|dE_N/dS_i\|$")[0]
        self.l_term = ax.plot(
            [],
            [],
            "s-",
            ms=3,
            color=C["orange"],
            label=r"$\|$term $i$ of $dE_N/dW_s\|$",
        )[0]
        self.l_bound = ax.plot(
            [],
            [],
            "--",
            color=C["black"],
            label=r"bound $\|dE_N/dS_N\|(\gamma\lambda_1)^{N-i}$",
        )[0]
        self.l_hor = ax.axvline(0, color=C["green"], ls=":", lw=2, label="horizon")
        self.off = plots.offscale(ax)
        ax.set_xlabel("$i$ (the step the gradient reaches back to)")
        ax.set_ylabel("size (log scale)")
        ax.set_xlim(0.5, self.N_MAX + 0.5)
        plots.fixed_log_limits(ax, *self.YLIM)
        # the legend sits above the axes, where it covers no data
        # one legend across the top of the figure, where it covers no data
        self.fig.legend(
            handles=[self.l_norm, self.l_term, self.l_bound, self.l_hor],
            loc="outside upper left",
            fontsize=9,
            ncol=2,
            frameon=False,
        )
        self.semi.append(self.unused)
        self.info = plots.status_text(ax)
        self.boom = plots.exploded_text(ax)
        self.im = plots.heatmap(hx, 1e-8, 1e4)
        hx.set_facecolor("#EEEEEE")  # the heatmap's colour for "no entry" (i > t, t > N)
        hx.set_xlim(0.5, self.N_MAX + 0.5)
        hx.set_ylim(0.5, self.N_MAX + 0.5)
        hx.set_autoscale_on(False)
        self.fig.colorbar(self.im, ax=hx, shrink=0.9, extend="max")  # the over colour: overflow
        hx.set_xlabel("$i$")
        hx.set_ylabel("$t$")
        hx.set_title(r"$\|dE_t/dS_i\|$, loss at every step", fontsize=10)
        return (
            self.l_norm,
            self.l_term,
            self.l_bound,
            self.l_hor,
            *self.off,
            self.info,
            self.boom,
            self.im,
        )

    def _semi_key(self, v):
        return v["N"]

    def _draw(self, scale, activation, N, seed):
        d = jacobians.decay_profile(scale, activation, N, seed, self.H)
        i = np.arange(1, N + 1)
        plots.set_line(self.l_norm, i, d.norm, log=True)
        plots.set_line(self.l_term, i, d.term, log=True)
        plots.set_line(self.l_bound, i, d.bound, log=True)
        h = d.horizon
        self.l_hor.set_visible(bool(np.isfinite(h) and h < N))
        if np.isfinite(h):
            self.l_hor.set_xdata([N - h, N - h])
        plots.set_unused(self.unused, N + 0.5)
        plots.set_offscale(self.off, self.ax["norms"], (i, d.norm), (i, d.term), (i, d.bound))
        hor = f"horizon ≈ {h:.1f} steps" if np.isfinite(h) else "no horizon (γλ₁ ≥ 1)"
        lines = [f"γλ₁ = {d.gamma:g}×{scale:.2f} = {d.rate:.2f};  {hor}"]
        lo, hi = self.YLIM
        if len(self.off[0].get_xdata()):
            lines.append(f"▲ above {hi:.0e}: exploding")
        if len(self.off[1].get_xdata()):
            lines.append(f"▼ below {lo:.0e}: vanished")
        self.info.set_text("\n".join(lines))
        plots.set_heatmap(self.im, d.heat)
        self._explode(self.boom, not d.finite)
        self.state = {"norm": d.norm, "term": d.term, "bound": d.bound, "heat": d.heat}
        self._profile = d

    def _describe(self, scale, activation, N, seed):
        d = self._profile
        rate, h, bad, norm = d.rate, d.horizon, not d.finite, d.norm
        hor = f"the horizon is about {h:.1f} steps" if np.isfinite(h) else "there is no horizon"
        if bad:
            shape = "the values overflowed (exploded)"
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = norm[0] / norm[-1]
            shape = f"from i = N back to i = 1 the gradient norm changes by a factor {ratio:.1e}"
        return (
            f"Log-scale plot of the gradient norm ||dE_N/dS_i|| against i for N = {N}, "
            f"{activation}, largest singular value {scale:.2f} (gamma lambda = {rate:.2f}): "
            f"{shape}; {hor}. "
            "Beside it, a heat map of every ||dE_t/dS_i||."
        )
