"""The clipping explorer (chapter 6): the direction kept or lost, and training with clipping."""

from __future__ import annotations

import numpy as np

from .. import plots, train
from .base import C, Explorer
from .controls import Choice, Slider


class Clipping(Explorer):
    """Gradient clipping: the direction before and after, and training with and without it."""

    name, main = "clipping", "threshold"
    mosaic = [["vec", "loss"], ["vec", "gnorm"]]
    gridspec = {"width_ratios": [1, 1.4]}
    figsize = (7.6, 4.2)
    H, T, BATCH, STEPS, LR = 8, 15, 4, 20, 0.3  # 20 steps: both runs in ~25 ms, spikes by step 10
    YLIM = {"loss": (1e-6, 1e8), "gnorm": (1e-4, 1e8)}  # fixed; beyond: off-scale markers
    grid = {
        "threshold": (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
        "method": ("norm", "value", "per-step"),
        "scale": (1.0, 2.0, 3.0),
    }

    def _specs(self):
        return {
            "threshold": Slider("θ", 1.0, -2, 2, 0.25, kind="log", fmt=".3g"),
            "method": Choice("clip", ("norm", "value", "per-step"), "norm"),
            "scale": Slider("λ₁ of Ws", 2.0, 0.5, 3.0, 0.25, fmt=".2f"),
        }

    def _build(self):
        vx, lx, gx = self.ax["vec"], self.ax["loss"], self.ax["gnorm"]
        self.q, self.circle = plots.vectors(vx)
        vx.set_xlim(-1.2, 1.2)
        vx.set_ylim(-0.3, 1.3)
        vx.set_xlabel(r"along $g$ (units of $\|g\|$)")
        vx.set_ylabel(r"orthogonal to $g$")
        vx.set_title(r"$g$ (blue) and clipped $g$ (orange)", fontsize=10)
        self.vinfo = plots.status_text(vx, loc=(0.02, 0.98))
        self.lines = {}
        self.off = {}
        for ax, what in ((lx, "loss"), (gx, "gnorm")):
            plots.log_axis(ax)
            ax.set_xlim(0, self.STEPS)
            plots.fixed_log_limits(ax, *self.YLIM[what])
            self.lines[what] = (
                ax.plot([], [], color=C["vermillion"], lw=1.5, label="no clipping")[0],
                ax.plot([], [], color=C["blue"], lw=1.5, label="clipped")[0],
            )
            self.off[what] = plots.offscale(ax, color=C["black"])
        self.l_theta = gx.axhline(1.0, color=C["black"], ls=":", lw=1, label=r"$\theta$")
        lx.set_ylabel("loss")
        gx.set_ylabel(r"$\|dE/dW\|$")
        gx.set_xlabel("SGD step")
        lx.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=9, frameon=False, ncol=2)
        self.boom = plots.exploded_text(lx)
        self.tinfo = plots.status_text(gx, loc=(0.02, 0.02), va="bottom")
        return (
            self.q,
            self.circle,
            self.vinfo,
            *self.lines["loss"],
            *self.lines["gnorm"],
            *self.off["loss"],
            *self.off["gnorm"],
            self.l_theta,
            self.boom,
            self.tinfo,
        )

    def _draw(self, threshold, method, scale):
        r = train.clipping_runs(
            scale, method, threshold, self.H, self.T, self.BATCH, self.STEPS, self.LR
        )
        nb = r.norm_before
        plots.set_vectors(
            self.q,
            self.circle,
            (1.0, 0.0),
            (r.along / nb, r.ortho / nb),
            threshold / nb if method == "norm" and threshold < nb else None,
        )
        self.vinfo.set_text(f"‖g‖ {nb:.3g} → {r.norm_after:.3g}\ncos = {r.cos:.4f}")
        for what, attr in (("loss", "loss"), ("gnorm", "grad_norm")):
            xys = []
            for line, h in zip(self.lines[what], (r.free, r.clip), strict=True):
                y = getattr(h, attr)
                plots.set_line(line, np.arange(len(y)), y, log=True)
                xys.append((np.arange(len(y)), y))
            plots.set_offscale(self.off[what], self.ax[what], *xys)
        self.l_theta.set_visible(method == "norm")
        self.l_theta.set_ydata([threshold, threshold])
        stops = [
            f"{lab}: {h.stopped}"
            for lab, h in (("no clipping", r.free), ("clipped", r.clip))
            if h.stopped
        ]
        self._explode(self.boom, bool(stops), "exploded\n" + "\n".join(stops))
        n_clip = int(np.sum(r.clip.clipped))
        self.tinfo.set_text(f"clipped in {n_clip} of {len(r.clip.clipped)} steps")
        self.state = {
            "before": r.before,
            "after": r.after,
            "cos": np.array([r.cos]),
            "loss_free": r.free.loss,
            "loss_clip": r.clip.loss,
        }
        self._facts = (nb, r.norm_after, r.cos, n_clip, len(r.clip.clipped), stops)

    def _describe(self, threshold, method, scale):
        nb, na, cos, n_clip, steps, stops = self._facts
        end = "; ".join(stops) if stops else "neither run exploded"
        return (
            f"Clipping by {method} at threshold {threshold:.3g}, largest singular value of W s "
            f"{scale:.2f}: the gradient norm goes from {nb:.3g} to {na:.3g} with cosine "
            f"{cos:.4f} to the original direction. Training for {steps} SGD steps clipped "
            f"{n_clip} of them; {end}."
        )
