"""Interactive explorers: ipywidgets controls wired to rnnlib's math and to :mod:`rnnlib.plots`.

Every explorer has the same face (see the design notes):

- ``.controls``: name -> ipywidgets control (with its range or options);
- ``.update(**values)``: set controls, recompute, redraw in place (the controls call it);
- ``.ui``: the ipywidgets container a notebook shows;
- one display, two faces: ``_repr_mimebundle_`` returns the live widget view
  *and* a kernel-free ``text/html`` twin, a JavaScript animation whose frames
  sweep the explorer's main control.  A live notebook shows the widgets; the
  built book is told to prefer ``text/html``.

In a chapter::

    rl.widgets.EXPLORERS["decay"]()          # last expression of a cell
"""

from __future__ import annotations

import re
import warnings

import ipywidgets as W
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import MaxNLocator

from . import clipping, jacobians, lstm, plots, rnn, tasks, train
from .activations import get as activation

C = plots.OKABE_ITO
TWIN_BUDGET_MB = 2.0  # one twin; a page must stay under 3 MB


def _orthonormal_scale(W, lam):
    """``W`` rescaled so that its largest singular value is ``lam``."""
    return W * (lam / np.linalg.norm(W, 2))


class Explorer:
    """Base class: controls, a figure rendered to an Image widget, and the static twin."""

    name = ""
    main = ""  # the control the static twin sweeps
    mosaic = [["a"]]
    gridspec: dict = {}
    figsize = (8.0, 4.0)
    dpi = 72
    frames = 24
    interval = 400  # ms per frame of the twin and of the Play button

    def __init__(self, presentation: bool = False):
        self.controls = self._controls()
        self.controls["presentation"] = W.ToggleButton(
            value=bool(presentation),
            description="presentation",
            icon="desktop",
            tooltip="larger fonts and lines for a projector",
        )
        self.fig, self.ax = plots.figure(self.mosaic, self.figsize, self.dpi, **self.gridspec)
        self.exploded = False
        self.state: dict[str, np.ndarray] = {}
        self.semi: list = []  # artists that change rarely (see plots.Painter); _build may fill
        self.on_top: list = []  # static artists kept above the semi layer; _build may fill
        self.painter = plots.Painter(self.fig, self._build(), semi=self.semi, on_top=self.on_top)
        self._presenting = False
        self._static = None
        self._busy = False
        self.image = W.Image(format="png", layout=W.Layout(width="auto", max_width="100%"))
        for c in self.controls.values():
            c.observe(self._on_change, names="value")
        self.ui = W.VBox([self._control_box(), self.image])
        self.update()

    # -- the explorer contract ------------------------------------------------
    def values(self) -> dict:
        """Current control values, name -> value."""
        return {k: c.value for k, c in self.controls.items()}

    def update(self, **values):
        """Set the named controls, recompute and redraw in place; returns ``self``."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown control(s) {sorted(unknown)}; known: {sorted(self.controls)}"
            )
        self._busy = True  # the controls' own observers stay quiet while we set and redraw
        try:
            for k, val in values.items():
                try:
                    self.controls[k].value = val
                except Exception as exc:  # traitlets reports bad options as TraitError
                    raise ValueError(f"{k}: {exc}") from None
            v = self.values()
            full = self._present(v.pop("presentation"))
            key = self._static_key(v)
            self._static = key
            self._draw(**v)
            self.image.value = self.painter.png(
                full=full, key=key, layout=self._presenting, semi_key=self._semi_key(v)
            )
        finally:
            self._busy = False
        return self

    def twin(self) -> str:
        """The kernel-free face: ``to_jshtml`` animation sweeping ``self.main``."""
        v = self.values()
        v.pop("presentation")
        seq = self._frames(v)
        self.painter.release()

        def frame(x):
            self._static = None
            self._draw(**{**v, self.main: x})
            return []

        anim = FuncAnimation(
            self.fig,
            frame,
            frames=seq,
            interval=self.interval,
            blit=False,
            repeat=True,
            cache_frame_data=False,
        )
        html = anim.to_jshtml(default_mode="loop")
        # matplotlib links Font Awesome from a CDN; the book must work offline and the theme
        # already ships the icons the player buttons use
        html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
        # the animation would restart itself on the next draw of the live figure
        self.fig.canvas.mpl_disconnect(anim._first_draw_id)
        anim._stop()
        size_mb = len(html) / 2**20
        if size_mb > TWIN_BUDGET_MB:
            warnings.warn(
                f"{self.name}: static twin is {size_mb:.1f} MB, over the "
                f"{TWIN_BUDGET_MB} MB budget",
                RuntimeWarning,
                stacklevel=2,
            )
        self.update()
        return f'<div class="rl-explorer rl-{self.name}">{html}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        data = dict(self.ui._repr_mimebundle_(include=include, exclude=exclude) or {})
        data["text/html"] = self.twin()
        data["text/plain"] = f"<{type(self).__name__}: {self.name} explorer>"
        return data

    # -- plumbing ------------------------------------------------------------
    def _on_change(self, change):
        if not self._busy:
            self.update()

    def _control_box(self):
        cs = [c for k, c in self.controls.items() if k != "presentation"]
        return W.VBox([W.HBox(cs[:3]), W.HBox(cs[3:] + [self.controls["presentation"]])])

    def _present(self, on: bool) -> bool:
        if on == self._presenting:
            return False
        plots.set_presentation(self.fig, on)
        self._presenting = on
        return True

    def _frames(self, v):
        c = self.controls[self.main]
        if isinstance(c, W.FloatLogSlider):
            return list(np.logspace(c.min, c.max, self.frames, base=c.base))
        if isinstance(c, W.IntSlider):
            return [int(x) for x in np.unique(np.linspace(c.min, c.max, self.frames).round())]
        return list(np.linspace(c.min, c.max, self.frames))

    def _explode(self, text, bad: bool, message="exploded: values overflowed to inf/NaN"):
        self.exploded = bool(bad)
        plots.set_exploded(text, message if bad else None)

    def _controls(self) -> dict:
        raise NotImplementedError

    def _build(self) -> list:
        raise NotImplementedError

    def _static_key(self, v):
        """What the background depends on besides axis ranges and presentation mode."""
        return None

    def _semi_key(self, v):
        """What the ``semi`` artists depend on."""
        return None

    def _draw(self, **v):
        raise NotImplementedError


def _slider(cls, value, lo, hi, step, description, **kw):
    return cls(
        value=value,
        min=lo,
        max=hi,
        step=step,
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        **kw,
    )


class Backward(Explorer):
    """Walk backward through time: each term of dE_N/dW, its path and its factors."""

    name, main = "backward", "step"
    mosaic = [["graph"], ["bars"]]
    gridspec = {"height_ratios": [1.3, 1]}
    N_MAX = 8
    interval = 800
    PARAMS = rnn.Params(Wx=np.array([[0.8]]), Ws=np.array([[1.2]]), Wy=np.array([[0.9]]))
    YLIM = 4.75  # fixed: every term, running sum and total for N <= N_MAX fits (tested)

    def _controls(self):
        step = _slider(W.IntSlider, 1, 1, 3, 1, "step back")
        play = W.Play(value=1, min=1, max=3, interval=self.interval, description="play")
        W.jslink((play, "value"), (step, "value"))
        self.play = play
        return {
            "step": step,
            "wrt": W.ToggleButtons(options=["Ws", "Wx", "Wy"], value="Ws", description="W"),
            "N": _slider(W.IntSlider, 3, 2, self.N_MAX, 1, "N"),
        }

    def _control_box(self):
        c = self.controls
        return W.VBox(
            [W.HBox([self.play, c["step"], c["N"]]), W.HBox([c["wrt"], c["presentation"]])]
        )

    def _build(self):
        ax, bx = self.ax["graph"], self.ax["bars"]
        self.graph = plots.unrolled_graph(ax, self.N_MAX)
        g = self.graph
        # the nodes and the Jacobian values on the recurrent edges change only with N
        self.semi += [g["nodes"], *g["S"], *g["x"], g["Y"], g["E"], *g["jac"]]
        ax.set_ylim(-0.95, 2.35)
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
        bx.legend(loc="lower left", fontsize=8, frameon=False, ncol=2)
        self.note_name = plots.status_text(bx, loc=(0.99, 0.97), ha="right")
        self.note = plots.status_text(bx, loc=(0.99, 0.84), ha="right")
        # the factor names depend only on (N, wrt, i < N): drawn with the nodes, per semi key
        self.semi += [*self.f_names, self.note_name]
        self.boom = plots.exploded_text(bx)
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

    def __init__(self, presentation: bool = False):
        super().__init__(presentation)
        self._warm_mathtext()

    def _warm_mathtext(self):
        """Parse every node and factor label once (mathtext parsing costs ~5 ms a string).

        Matplotlib caches parsed mathtext, so later updates only draw glyphs.
        """
        renderer = self.fig.canvas.get_renderer()
        g = self.graph
        names = {
            rf"${n}$"
            for wrt in ("Ws", "Wx", "Wy")
            for i in (1, 2)
            for n, _ in self.factors_of(2, wrt, i)
        }
        slots = [(t, t.get_text()) for t in (*g["S"], *g["x"])]
        slots += [(self.f_names[0], s) for s in sorted(names)]
        slots += [
            (self.note_name, rf"terms of $\partial E_N/\partial {w}$")
            for w in ("W_s", "W_x", "W_y")
        ]
        for t, text in slots:
            old, vis = t.get_text(), t.get_visible()
            t.set_text(text)
            t.set_visible(True)
            t.draw(renderer)
            t.set_text(old)
            t.set_visible(vis)
        self.image.value = self.painter.png(
            key=self._static, layout=self._presenting, semi_key=self._semi_key(self.values())
        )

    def _semi_key(self, v):
        N = v["N"]
        return N, v["wrt"], v["wrt"] != "Wy" and min(v["step"], N) > 1  # i < N: a product factor

    def _compute(self, N, wrt):
        key = (N, wrt)
        if getattr(self, "_cache_key", None) != key:
            xs = np.random.default_rng(3).normal(0.0, 1.0, (self.N_MAX, 1))[:N]
            ds = np.zeros((N, 1))
            ds[-1] = 1.0
            p = self.PARAMS
            tr = rnn.forward(p, xs)
            g = rnn.bptt(p, tr, ds)
            self._cache = (tr, g, ds, g.terms[wrt][:, 0, 0].copy(), float(getattr(g, wrt)[0, 0]))
            self._cache_key = key
        return self._cache

    def factors_of(self, N, wrt, i):
        """The factors of term ``i`` as (latex name, value) pairs; their product is the term."""
        tr, g, ds, terms, total = self._compute(N, wrt)
        p = self.PARAMS
        d1 = activation(tr.g1).df(tr.A[:, 0])  # g1'(a_k), k = 1..N
        dEdY = 2.0 * (tr.Y[-1, 0] - ds[-1, 0])
        if wrt == "Wy":
            return [
                (r"\partial E_N/\partial Y_N", dEdY),
                (r"\partial^+ Y_N/\partial W_y", tr.S[N, 0]),
            ]
        jac = np.prod(d1[i:N] * p.Ws[0, 0])  # prod_{k=i+1}^{N} dS_k/dS_{k-1}
        own = tr.S[i - 1, 0] if wrt == "Ws" else tr.xs[i - 1, 0]
        w = "W_s" if wrt == "Ws" else "W_x"
        out = [(r"\partial E_N/\partial Y_N", dEdY), (r"\partial Y_N/\partial S_N", p.Wy[0, 0])]
        if i < N:  # names use the symbol i (a finite set of strings, parsed once and cached)
            out.append((r"\prod_{k=i+1}^{N}\partial S_k/\partial S_{k-1}", jac))
        out.append((rf"\partial^+ S_i/\partial {w}", d1[i - 1] * own))
        return out

    def _draw(self, step, wrt, N):
        self.controls["step"].max = N
        self.play.max = N
        step = min(step, N)
        tr, g, ds, terms, total = self._compute(N, wrt)
        i = N if wrt == "Wy" else N + 1 - step
        plots.set_graph(self.graph, N, i, wrt)
        d1 = activation(tr.g1).df(tr.A[:, 0])
        for k in range(1, N + 1):
            self.graph["jac"][k - 1].set_text(f"{d1[k - 1] * self.PARAMS.Ws[0, 0]:.2f}")
        facs = self.factors_of(N, wrt, i)
        self.factors.set_text(f"term {i} =\n{np.prod([x for _, x in facs]):.4g}")
        for j, (tn, tv) in enumerate(zip(self.f_names, self.f_vals, strict=True)):
            shown = j < len(facs)
            tn.set_text(f"${facs[j][0]}$" if shown else "")
            tv.set_text(("× " if j else "") + f"{facs[j][1]:.3g}" if shown else "")
        visited = np.arange(1, N + 1) >= i
        colors = [
            C["vermillion"] if k == i else (C["blue"] if visited[k - 1] else plots.MUTED)
            for k in range(1, N + 1)
        ]
        plots.set_bars(self.bar, terms, colors)
        ks = np.arange(i, N + 1)
        run = np.cumsum(terms[::-1])[::-1][i - 1 :]
        self.running.set_data(ks, run)
        self.total.set_ydata([total, total])
        name = {"Ws": "W_s", "Wx": "W_x", "Wy": "W_y"}[wrt]
        self.note_name.set_text(rf"terms of $\partial E_N/\partial {name}$")  # 3 strings: cached
        self.note.set_text(f"sum so far {run[0]:.4g} of total {total:.4g}")  # plain text: cheap
        bad = not (np.all(np.isfinite(terms)) and np.isfinite(total))
        self._explode(self.boom, bad)
        self.state = {
            "terms": terms,
            "running": run,
            "total": np.array([total]),
            "i": np.array([i]),
        }


class Decay(Explorer):
    """Vanishing and exploding: ||dE_N/dS_i|| against i with the bound and the horizon."""

    name, main = "decay", "scale"
    mosaic = [["norms", "heat"]]
    gridspec = {"width_ratios": [1.5, 1]}
    H = 8
    N_MAX = 60
    YLIM = (1e-15, 1e15)  # fixed, so no control moves an axis; beyond it: off-scale markers

    def _controls(self):
        return {
            "scale": W.FloatLogSlider(
                value=1.0,
                base=10,
                min=-1,
                max=1,
                step=0.02,
                description="λ₁ of Ws",
                readout_format=".2f",
                style={"description_width": "initial"},
            ),
            "activation": W.Dropdown(
                options=["tanh", "sigmoid", "relu", "identity"], value="tanh", description="g₁"
            ),
            "N": _slider(W.IntSlider, 30, 5, 60, 1, "N"),
            "seed": _slider(W.IntSlider, 0, 0, 9, 1, "seed"),
        }

    def _build(self):
        ax, hx = self.ax["norms"], self.ax["heat"]
        plots.log_axis(ax)
        self.unused = plots.unused_span(ax)
        self.l_norm = ax.plot(
            [], [], "o-", ms=3, color=C["blue"], label=r"$\|\partial E_N/\partial S_i\|$"
        )[0]
        self.l_term = ax.plot(
            [],
            [],
            "s-",
            ms=3,
            color=C["orange"],
            label=r"$\|$term $i$ of $\partial E_N/\partial W_s\|$",
        )[0]
        self.l_bound = ax.plot(
            [],
            [],
            "--",
            color=C["black"],
            label=r"bound $\|\partial E_N/\partial S_N\|"
            r"(\gamma\lambda_1)^{N-i}$",
        )[0]
        self.l_hor = ax.axvline(0, color=C["green"], ls=":", lw=2, label="horizon")
        self.off = plots.offscale(ax)
        ax.set_xlabel("$i$")
        ax.set_ylabel("size")
        ax.set_xlim(0.5, self.N_MAX + 0.5)
        plots.fixed_log_limits(ax, *self.YLIM)
        # the grey "unused" band moves only when the length changes; the legend stays above it
        self.legend = ax.legend(loc="lower right", fontsize=7, framealpha=1.0, edgecolor="none")
        self.semi.append(self.unused)
        self.on_top.append(self.legend)
        self.info = plots.status_text(ax)
        self.boom = plots.exploded_text(ax)
        self.im = plots.heatmap(hx, 1e-8, 1e4)
        hx.set_facecolor("#EEEEEE")  # the heatmap's colour for "no entry" (i > t, t > N)
        hx.set_xlim(0.5, self.N_MAX + 0.5)
        hx.set_ylim(0.5, self.N_MAX + 0.5)
        hx.set_autoscale_on(False)
        self.fig.colorbar(self.im, ax=hx, shrink=0.9)
        hx.set_xlabel("$i$")
        hx.set_ylabel("$t$")
        hx.set_title(r"$\|\partial E_t/\partial S_i\|$, loss at every step", fontsize=9)
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

    def _model(self, scale, activation, N, seed):
        rng = np.random.default_rng(seed)
        p = rnn.init(1, self.H, 1, seed=seed)
        p.Ws = _orthonormal_scale(p.Ws, scale)
        xs = rng.normal(0.0, 1.0, (N, 1))
        ds = rng.normal(0.0, 1.0, (N, 1))
        return p, rnn.forward(p, xs, g1=activation), ds

    def _semi_key(self, v):
        return v["N"]

    def _draw(self, scale, activation, N, seed):
        p, tr, ds = self._model(scale, activation, N, seed)
        g = rnn.bptt(p, tr, ds, at="last")
        i = np.arange(1, N + 1)
        with np.errstate(over="ignore", invalid="ignore"):
            norm = np.linalg.norm(g.dS[1:], axis=-1)
            term = np.linalg.norm(g.terms["Ws"].reshape(N, -1), axis=-1)
            rate = jacobians.gamma(activation) * scale
            bound = norm[-1] * rate ** (N - i).astype(float)
            M = self._heat(p, tr, ds)
        ax = self.ax["norms"]
        plots.set_line(self.l_norm, i, norm, log=True)
        plots.set_line(self.l_term, i, term, log=True)
        plots.set_line(self.l_bound, i, bound, log=True)
        h = jacobians.horizon_from_rate(rate)
        self.l_hor.set_visible(bool(np.isfinite(h) and h < N))
        if np.isfinite(h):
            self.l_hor.set_xdata([N - h, N - h])
        plots.set_unused(self.unused, N + 0.5)
        plots.set_offscale(self.off, ax, (i, norm), (i, term), (i, bound))
        hor = f"horizon ≈ {h:.1f} steps" if np.isfinite(h) else "no horizon (γλ₁ ≥ 1)"
        self.info.set_text(
            f"γλ₁ = {jacobians.gamma(activation):g}×{scale:.2f} = {rate:.2f};  {hor}"
        )
        plots.set_heatmap(self.im, M)
        bad = not (tr.finite and np.all(np.isfinite(norm)) and np.all(np.isfinite(term)))
        self._explode(self.boom, bad)
        self.state = {"norm": norm, "term": term, "bound": bound, "heat": M}

    @staticmethod
    def _heat(p, tr, ds):
        """``M[t-1, i-1] = ||dE_t/dS_i||`` for the loss at every step (zero for i > t)."""
        N = tr.A.shape[0]
        e = rnn.output_error(tr, ds, at="all") @ p.Wy  # e[t-1] = dE_t/dS_t
        d1 = activation(tr.g1).df(tr.A)
        M = np.zeros((N, N))
        V = np.zeros((N, p.Ws.shape[0]))  # row t-1: dE_t/dS_i for the current i
        for i in range(N, 0, -1):
            V[i - 1] = e[i - 1]
            M[:, i - 1] = np.linalg.norm(V, axis=-1)
            V = (V * d1[i - 1]) @ p.Ws
        return M


class Clipping(Explorer):
    """Gradient clipping: the direction before and after, and training with and without it."""

    name, main = "clipping", "threshold"
    mosaic = [["vec", "loss"], ["vec", "gnorm"]]
    gridspec = {"width_ratios": [1, 1.4]}
    frames = 17
    H, T, BATCH, STEPS, LR = 8, 15, 4, 20, 0.3  # 20 steps: both runs in ~25 ms, spikes by step 10
    YLIM = {"loss": (1e-6, 1e8), "gnorm": (1e-4, 1e8)}  # fixed; beyond: off-scale markers

    def _controls(self):
        return {
            "threshold": W.FloatLogSlider(
                value=1.0, base=10, min=-2, max=2, step=0.25, description="θ", readout_format=".3g"
            ),
            "method": W.ToggleButtons(
                options=["norm", "value", "per-step"], value="norm", description="clip"
            ),
            "scale": _slider(W.FloatSlider, 2.0, 0.5, 3.0, 0.25, "λ₁ of Ws"),
        }

    def _build(self):
        vx, lx, gx = self.ax["vec"], self.ax["loss"], self.ax["gnorm"]
        self.q, self.circle = plots.vectors(vx)
        vx.set_xlim(-1.2, 1.2)
        vx.set_ylim(-0.3, 1.3)
        vx.set_xlabel(r"along $g$ (units of $\|g\|$)")
        vx.set_ylabel(r"orthogonal to $g$")
        vx.set_title(r"$g$ (blue) and clipped $g$ (orange)", fontsize=9)
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
        gx.set_ylabel(r"$\|\partial E/\partial W\|$")
        gx.set_xlabel("SGD step")
        lx.legend(loc="upper right", fontsize=7, frameon=False, ncol=2)
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
        p.Ws = _orthonormal_scale(p.Ws, scale)
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


class Truncation(Explorer):
    """Truncated BPTT: which terms survive k steps, and how close the gradient stays."""

    name, main = "truncation", "k"
    mosaic = [["terms", "cos"], ["terms", "err"]]
    gridspec = {"width_ratios": [1.4, 1]}
    H, N_MAX = 8, 40
    interval = 300
    YLIM, ERR_YLIM = (1e-26, 1e3), (1e-17, 1e1)  # fixed over every control's range

    def _controls(self):
        k = _slider(W.IntSlider, 5, 1, 20, 1, "k")
        play = W.Play(value=5, min=1, max=20, interval=self.interval, description="play")
        W.jslink((play, "value"), (k, "value"))
        self.play = play
        return {
            "k": k,
            "N": _slider(W.IntSlider, 20, 2, self.N_MAX, 1, "N"),
            "scale": _slider(W.FloatSlider, 1.0, 0.5, 2.0, 0.05, "λ₁ of Ws"),
        }

    def _control_box(self):
        c = self.controls
        return W.VBox(
            [W.HBox([self.play, c["k"], c["N"]]), W.HBox([c["scale"], c["presentation"]])]
        )

    def _frames(self, v):
        return [int(x) for x in np.unique(np.linspace(1, v["N"], self.frames).round())]

    def _build(self):
        tx, cx, ex = self.ax["terms"], self.ax["cos"], self.ax["err"]
        plots.log_axis(tx)
        self.bar = plots.bars(tx, self.N_MAX, log=True)
        self.off = plots.offscale(tx)
        self.unused = [plots.unused_span(a) for a in (tx, cx, ex)]
        self.semi += self.unused  # redrawn only when N changes
        tx.set_xlim(0.4, self.N_MAX + 0.6)
        plots.fixed_log_limits(tx, *self.YLIM)
        tx.set_xlabel("$i$")
        tx.set_ylabel(r"$\|$term $i$ of $\partial E_N/\partial W_s\|$")
        self.info = plots.status_text(tx)
        self.boom = plots.exploded_text(tx)
        self.l_cos = cx.plot([], [], color=C["blue"], lw=1.5)[0]
        self.m_cos = cx.plot([], [], "o", color=C["vermillion"], ms=7)[0]
        cx.set_ylim(-1.05, 1.05)
        cx.set_ylabel("cosine")
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

    def _curves(self, N, scale):
        key = (N, scale)
        if getattr(self, "_ckey", None) != key:
            rng = np.random.default_rng(0)
            p = rnn.init(1, self.H, 1, seed=0)
            p.Ws = _orthonormal_scale(p.Ws, scale)
            xs, ds = rng.normal(size=(N, 1)), rng.normal(size=(N, 1))
            tr = rnn.forward(p, xs)
            g = rnn.bptt(p, tr, ds)
            terms = g.terms["Ws"].reshape(N, -1)
            full = terms.sum(axis=0)
            trunc = np.cumsum(terms[::-1], axis=0)  # trunc[k-1]: the k newest terms
            with np.errstate(invalid="ignore", divide="ignore"):
                nf = np.linalg.norm(full)
                cos = trunc @ full / (np.linalg.norm(trunc, axis=1) * nf)
                err = np.linalg.norm(trunc - full, axis=1) / nf
            self._c = (p, tr, ds, np.linalg.norm(terms, axis=1), cos, err)
            self._ckey = key
        return self._c

    def _semi_key(self, v):
        return v["N"]

    def _draw(self, k, N, scale):
        self.controls["k"].max = N
        self.play.max = N
        k = min(k, N)
        p, tr, ds, size, cos, err = self._curves(N, scale)
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
            f"k = {k}: {k} of {N} backward steps ({saved:.0%} saved), {k + 1} of {N + 1} states"
            f"\ncos = {cos[k - 1]:.4f}, relative error = {err[k - 1]:.2e}"
        )
        self._explode(self.boom, not (np.all(np.isfinite(size)) and tr.finite))
        self.state = {"size": size, "cos": cos, "err": err, "k": np.array([k])}


class LstmVsRnn(Explorer):
    """The same recall task for a simple RNN and an LSTM: how far back the gradient reaches."""

    name, main = "lstm_vs_rnn", "lag"
    mosaic = [["norms", "gates"]]
    gridspec = {"width_ratios": [1.4, 1]}
    H = 8
    N_MAX = 61  # lag 60: the value at step 1, the recall at step 61
    YLIM = (1e-20, 1e2)  # fixed; beyond it (forget bias < 0, long lags): off-scale markers

    def _controls(self):
        return {
            "lag": _slider(W.IntSlider, 20, 2, 60, 1, "lag"),
            "forget_bias": _slider(W.FloatSlider, 1.0, -2.0, 5.0, 0.5, "forget bias"),
            "seed": _slider(W.IntSlider, 0, 0, 9, 1, "seed"),
        }

    def _build(self):
        ax, gx = self.ax["norms"], self.ax["gates"]
        plots.log_axis(ax)
        self.unused = plots.unused_span(ax)
        self.off = plots.offscale(ax)
        self.l_rnn = ax.plot(
            [], [], "-", color=C["vermillion"], lw=1.8, label=r"RNN $\|\partial E_N/\partial S_i\|$"
        )[0]
        self.l_h = ax.plot(
            [], [], "-", color=C["blue"], lw=1.8, label=r"LSTM $\|\partial E_N/\partial S_i\|$"
        )[0]
        self.l_c = ax.plot(
            [],
            [],
            "--",
            color=C["green"],
            lw=1.8,
            label=r"LSTM cell $\|\partial E_N/\partial C_i\|$",
        )[0]
        ax.set_xlabel("$i$")
        ax.set_ylabel("gradient norm")
        plots.fixed_log_limits(ax, *self.YLIM)
        for a in (ax, gx):
            a.set_xlim(0.5, self.N_MAX + 0.5)
        # the grey "unused" band moves only when the length changes; the legend stays above it
        self.legend = ax.legend(loc="lower right", fontsize=7, framealpha=1.0, edgecolor="none")
        self.semi.append(self.unused)
        self.on_top.append(self.legend)
        self.info = plots.status_text(ax)
        self.boom = plots.exploded_text(ax)
        self.l_units = [
            gx.plot([], [], color=C["sky"], lw=0.6, alpha=0.6)[0] for _ in range(self.H)
        ]
        self.l_gates = {
            "F": gx.plot([], [], color=C["blue"], lw=2, label="forget $f_t$")[0],
            "I": gx.plot([], [], color=C["orange"], lw=2, label="input $i_t$")[0],
            "O": gx.plot([], [], color=C["purple"], lw=2, label="output $o_t$")[0],
        }
        gx.set_ylim(-0.02, 1.02)
        gx.set_xlabel("$t$")
        gx.set_ylabel("gate value (mean over units)")
        gx.legend(loc="lower right", fontsize=7, frameon=False)
        return (
            *self.off,
            self.l_rnn,
            self.l_h,
            self.l_c,
            self.info,
            self.boom,
            *self.l_units,
            *self.l_gates.values(),
        )

    def _semi_key(self, v):
        return v["lag"]

    def _draw(self, lag, forget_bias, seed):
        task = tasks.recall(lag, batch=1, seed=seed)
        xs, ds = task.xs[:, 0], task.ds[:, 0]
        D, N = xs.shape[-1], xs.shape[0]
        pr = rnn.init(D, self.H, 1, seed=seed)
        gr = rnn.bptt(pr, rnn.forward(pr, xs), ds)
        pl = lstm.init(D, self.H, 1, seed=seed, forget_bias=forget_bias)
        tl = lstm.forward(pl, xs)
        gl = lstm.bptt(pl, tl, ds)
        i = np.arange(1, N + 1)
        norms = {
            "rnn": np.linalg.norm(gr.dS[1:], axis=-1),
            "h": np.linalg.norm(gl.dS[1:], axis=-1),
            "c": np.linalg.norm(gl.dC[1:], axis=-1),
        }
        for line, y in zip((self.l_rnn, self.l_h, self.l_c), norms.values(), strict=True):
            plots.set_line(line, i, y, log=True)
        plots.set_unused(self.unused, N + 0.5)
        plots.set_offscale(self.off, self.ax["norms"], *((i, y) for y in norms.values()))
        back = {k: v[0] / v[-1] if v[-1] > 0 else np.nan for k, v in norms.items()}
        self.info.set_text(
            f"reaches step 1 at: RNN {back['rnn']:.1e}, "
            f"LSTM cell {back['c']:.1e} of its step-N size"
        )
        t = np.arange(1, N + 1)
        for u, line in enumerate(self.l_units):
            line.set_data(t, tl.F[:, u])
        for k, line in self.l_gates.items():
            line.set_data(t, getattr(tl, k).mean(axis=-1))
        bad = not (gl.finite and gr.finite and all(np.all(np.isfinite(v)) for v in norms.values()))
        self._explode(self.boom, bad)
        self.state = {**norms, "F": tl.F, "I": tl.I, "O": tl.O}


EXPLORERS: dict[str, type[Explorer]] = {
    cls.name: cls for cls in (Backward, Decay, Clipping, Truncation, LstmVsRnn)
}
