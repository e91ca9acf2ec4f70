"""The clipping explorer (chapter 6): the direction kept or lost, and training with clipping."""

from __future__ import annotations

import numpy as np

from .. import clipping, plots, rnn, tasks, train
from .base import C, Explorer
from .controls import Choice, Slider


def _scaled(W, lam):
    return W * (lam / np.linalg.norm(W, 2))


class Clipping(Explorer):
    """Gradient clipping: the direction before and after, and training with and without it."""

    name, main = "clipping", "threshold"
    mosaic = [["vec", "loss"], ["vec", "gnorm"]]
    gridspec = {"width_ratios": [1, 1.4]}
    figsize = (8.0, 4.2)
    H, T, BATCH, STEPS, LR = 8, 15, 4, 20, 0.3  # 20 steps: both runs in ~25 ms, spikes by step 10
    YLIM = {"loss": (1e-6, 1e8), "gnorm": (1e-4, 1e8)}  # fixed; beyond: off-scale markers
    grid = {
        "threshold": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0),
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
        gx.set_ylabel(r"$\|\mathrm{d}E/\mathrm{d}W\|$")
        gx.set_xlabel("SGD step")
        lx.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=9, frameon=False, ncol=2)
        self.boom = plots.exploded_text(lx)
        self.tinfo = plots.status_text(gx, loc=(0.02, 0.02), va="bottom")
        self._runs = {}
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

    def _setup(self, scale):
        task = tasks.adding(self.T, batch=self.BATCH, seed=0)
        p = rnn.init(task.xs.shape[-1], self.H, 1, seed=0)
        p.Ws = _scaled(p.Ws, scale)
        return p, task

    def _run(self, scale, method, threshold):
        key = (scale, method, threshold)
        if key not in self._runs:
            p, task = self._setup(scale)
            kw = {}
            if method == "per-step":
                kw = {"clip_step": threshold}
            elif method is not None:
                kw = {"clip": method, "threshold": threshold}
            self._runs[key] = train.sgd(rnn, p, task, steps=self.STEPS, lr=self.LR, **kw)
        return self._runs[key]

    def gradients(self, threshold, method, scale):
        """Flattened gradient before and after clipping (at the initial weights)."""
        p, task = self._setup(scale)
        tr = rnn.forward(p, task.xs)
        n = task.xs.shape[1]
        g = rnn.bptt(p, tr, task.ds, at=task.at)
        before = {k: getattr(g, k) / n for k in p.names}
        if method == "norm":
            after, _ = clipping.clip_by_norm(before, threshold)
        elif method == "value":
            after, _ = clipping.clip_by_value(before, threshold)
        else:
            gs = rnn.bptt(p, tr, task.ds, at=task.at, clip_step=threshold)
            after = {k: getattr(gs, k) / n for k in p.names}
        flat = [np.concatenate([d[k].ravel() for k in p.names]) for d in (before, after)]
        return flat[0], flat[1]

    def _draw(self, threshold, method, scale):
        b, a = self.gradients(threshold, method, scale)
        nb, na = np.linalg.norm(b), np.linalg.norm(a)
        e1 = b / nb
        along = a @ e1
        ortho = np.linalg.norm(a - along * e1)
        cos = along / na if na > 0 else np.nan
        plots.set_vectors(
            self.q,
            self.circle,
            (1.0, 0.0),
            (along / nb, ortho / nb),
            threshold / nb if method == "norm" and threshold < nb else None,
        )
        self.vinfo.set_text(f"‖g‖ {nb:.3g} → {na:.3g}\ncos = {cos:.4f}")  # few glyphs: fast
        free = self._run(scale, None, None)
        clip = self._run(scale, method, threshold)
        for what, attr in (("loss", "loss"), ("gnorm", "grad_norm")):
            xys = []
            for line, h in zip(self.lines[what], (free, clip), strict=True):
                y = getattr(h, attr)
                plots.set_line(line, np.arange(len(y)), y, log=True)
                xys.append((np.arange(len(y)), y))
            plots.set_offscale(self.off[what], self.ax[what], *xys)
        self.l_theta.set_visible(method == "norm")
        self.l_theta.set_ydata([threshold, threshold])
        stops = [
            f"{lab}: {h.stopped}"
            for lab, h in (("no clipping", free), ("clipped", clip))
            if h.stopped
        ]
        self._explode(self.boom, bool(stops), "exploded\n" + "\n".join(stops))
        n_clip = int(np.sum(clip.clipped))
        self.tinfo.set_text(f"clipped in {n_clip} of {len(clip.clipped)} steps")
        self.state = {
            "before": b,
            "after": a,
            "cos": np.array([cos]),
            "loss_free": free.loss,
            "loss_clip": clip.loss,
        }
        self._facts = (nb, na, cos, n_clip, len(clip.clipped), stops)

    def _describe(self, threshold, method, scale):
        nb, na, cos, n_clip, steps, stops = self._facts
        end = "; ".join(stops) if stops else "neither run exploded"
        return (
            f"Clipping by {method} at threshold {threshold:.3g}, largest singular value of W s "
            f"{scale:.2f}: the gradient norm goes from {nb:.3g} to {na:.3g} with cosine "
            f"{cos:.4f} to the original direction. Training for {steps} SGD steps clipped "
            f"{n_clip} of them; {end}."
        )
