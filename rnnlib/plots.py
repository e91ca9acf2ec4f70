"""Drawing for the explorers: data in, artists out, artists updated in place.

Matplotlib only (no pyplot state, no ipywidgets): every function takes data and
an ``Axes`` and returns the artists it made, and a matching ``set_*`` function
changes those artists' data without rebuilding anything.  :class:`Painter`
turns a figure into PNG bytes quickly, redrawing only the artists that change
(blitting) unless an axis range moved.

Colours are the Okabe-Ito palette, safe for the common colour-vision deficiencies.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections import OrderedDict

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import LogLocator, NullLocator
from PIL import Image

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
MUTED = "#BBBBBB"
CMAP = "cividis"  # perceptually uniform and readable with every common colour-vision deficiency


def figure(mosaic, figsize=(8.0, 4.0), dpi=72, **gridspec_kw):
    """A figure with its own Agg canvas (never shown by pyplot) and a dict of named axes."""
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    axd = fig.subplot_mosaic(mosaic, gridspec_kw=gridspec_kw or None)
    return fig, axd


def log_axis(ax, which="y"):
    """Log scale with few major ticks and no minor ticks (cheap to redraw)."""
    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_locator(LogLocator(numticks=5))
    axis.set_minor_locator(NullLocator())


def positive(y):
    """``y`` with zeros, negatives, inf and NaN replaced by NaN (gaps on a log axis)."""
    y = np.array(y, dtype=float)
    y[~(np.isfinite(y) & (y > 0))] = np.nan
    return y


def log_limits(ax, *ys, floor=1e-12, pad=1.0, which="y"):
    """Set decade-aligned limits that cover the positive finite values of ``ys``.

    The limits only move when the data leave them or shrink by more than two
    decades, so most updates keep the axis (and the cached background) as is.
    """
    vals = np.concatenate([positive(y).ravel() for y in ys] or [np.array([1.0])])
    vals = vals[np.isfinite(vals) & (vals >= floor)]
    if vals.size == 0:
        vals = np.array([floor, 1.0])
    lo = 10.0 ** (np.floor(np.log10(vals.min())) - pad)
    hi = 10.0 ** (np.ceil(np.log10(vals.max())) + pad)
    cur_lo, cur_hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    covers = cur_lo <= vals.min() and vals.max() <= cur_hi
    tight = np.log10(cur_hi) - np.log10(max(cur_lo, 1e-300)) <= np.log10(hi / lo) + 2
    if not (covers and tight):
        (ax.set_ylim if which == "y" else ax.set_xlim)(lo, hi)


def fixed_log_limits(ax, lo, hi, which="y"):
    """Fix a log axis to ``[lo, hi]`` (chosen from a control's whole range, so it never moves)."""
    (ax.set_ylim if which == "y" else ax.set_xlim)(lo, hi)
    ax.set_autoscale_on(False)


def offscale(ax, color=OKABE_ITO["vermillion"]):
    """Markers for values beyond fixed y-limits: ``^`` at the top edge, ``v`` at the bottom."""
    kw = dict(color=color, ms=6, clip_on=False, zorder=5)
    up, down = ax.plot([], [], "^", **kw)[0], ax.plot([], [], "v", **kw)[0]
    for m in (up, down):
        m.set_in_layout(False)  # empty, unclipped markers would otherwise collapse the layout
    return up, down


def set_offscale(markers, ax, *xys):
    """Mark the points of ``(x, y)`` pairs that lie above or below ``ax``'s y-limits.

    Non-finite values above the top (inf) are marked too; NaN and values <= 0
    stay gaps.  Returns how many points were off the scale.
    """
    lo, hi = ax.get_ylim()
    ups, downs = [], []
    for x, y in xys:
        x, y = np.asarray(x, float), np.asarray(y, float)
        with np.errstate(invalid="ignore"):
            ups.append(x[(y > hi)])
            downs.append(x[(y > 0) & (y < lo)])
    up, down = np.concatenate(ups), np.concatenate(downs)
    markers[0].set_data(up, np.full(up.shape, hi))
    markers[1].set_data(down, np.full(down.shape, lo))
    return up.size + down.size


def unused_span(ax, color="#E4E4E4"):
    """A grey band over the unused right part of a fixed x-range (see :func:`set_unused`)."""
    r = Rectangle(
        (0, 0), 0, 1, transform=ax.get_xaxis_transform(), fc=color, ec="none", alpha=0.7, zorder=0.5
    )
    ax.add_patch(r)
    return r


def set_unused(span, start):
    """Grey the x-range from ``start`` to the right edge of the axes."""
    hi = span.axes.get_xlim()[1]
    span.set_x(start)
    span.set_width(max(hi - start, 0.0))
    span.set_visible(hi > start)


def status_text(ax, color=OKABE_ITO["black"], loc=(0.02, 0.97), **kw):
    """An updatable text line in axes coordinates (top left by default)."""
    kw.setdefault("va", "top")
    # a white backing keeps the line readable where a curve or a marker crosses it
    kw.setdefault("bbox", dict(boxstyle="square,pad=0.15", fc="white", ec="none", alpha=0.85))
    t = ax.text(*loc, "", transform=ax.transAxes, color=color, fontsize=9, **kw)
    t.set_in_layout(False)  # a long line must not squeeze the axes when the layout is computed
    return t


def exploded_text(ax):
    """A hidden warning box; :func:`set_exploded` shows it when values overflow."""
    return ax.text(
        0.5,
        0.5,
        "",
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=12,
        color="white",
        visible=False,
        zorder=10,
        bbox=dict(boxstyle="round", fc=OKABE_ITO["vermillion"], ec="none", alpha=0.9),
    )


def set_exploded(text, message=None):
    """Show ``message`` (e.g. "exploded: overflow to inf") or hide the box when None."""
    text.set_visible(message is not None)
    text.set_text(message or "")


def set_line(line, x, y, log=False):
    """Put new data into ``line``; on a log axis non-positive values become gaps."""
    line.set_data(np.asarray(x, float), positive(y) if log else np.asarray(y, float))


LOG_BOTTOM = 1e-300  # bars on a log axis start far below any visible range


def bars(ax, n, color=OKABE_ITO["blue"], log=False, **kw):
    """``n`` bars at x = 1..n (on a log axis they start at LOG_BOTTOM); returns the BarContainer."""
    if log:
        return ax.bar(
            np.arange(1, n + 1), np.ones(n), bottom=LOG_BOTTOM, color=color, width=0.8, **kw
        )
    return ax.bar(np.arange(1, n + 1), np.zeros(n), color=color, width=0.8, **kw)


def set_bars(container, heights, colors=None, bottom=None):
    """Heights (and colours) of the first ``len(heights)`` bars; the rest are hidden."""
    heights = np.asarray(heights, float)
    for j, rect in enumerate(container.patches):
        shown = j < heights.size and np.isfinite(heights[j])
        rect.set_visible(bool(shown))
        if shown:
            rect.set_height(heights[j])
            rect.set_y(0.0 if bottom is None else bottom)
            if colors is not None:
                rect.set_color(colors[j])


def heatmap(ax, vmin=1e-8, vmax=1e2):
    """A log-coloured image for a (t, i) table; NaN cells (i > t) drawn light grey."""
    import matplotlib as mpl

    cmap = mpl.colormaps[CMAP].with_extremes(bad="#EEEEEE", over=OKABE_ITO["vermillion"])
    im = ax.imshow(
        np.full((2, 2), np.nan),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        norm=LogNorm(vmin, vmax),
        extent=(0.5, 2.5, 0.5, 2.5),
    )
    return im


def set_heatmap(im, M):
    """Show ``M[t-1, i-1]`` with t on the vertical axis and i on the horizontal one."""
    M = np.array(M, dtype=float)
    M[np.isinf(M)] = np.finfo(float).max  # overflow shows in the "over" colour, not as a gap
    M[M <= 0] = np.nan
    im.set_data(M)
    n_t, n_i = M.shape
    im.set_extent((0.5, n_i + 0.5, 0.5, n_t + 0.5))


def vectors(ax, colors=(OKABE_ITO["blue"], OKABE_ITO["orange"])):
    """Two arrows from the origin (before/after) and a circle for a norm threshold."""
    q = ax.quiver(
        [0, 0],
        [0, 0],
        [1, 0],
        [0, 1],
        color=list(colors),
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.012,
        zorder=3,
    )
    circle = Circle((0, 0), 1.0, fill=False, ls="--", ec=OKABE_ITO["black"], lw=1)
    ax.add_patch(circle)
    ax.set_aspect("equal", adjustable="box")
    ax.axhline(0, color=MUTED, lw=0.8)
    ax.axvline(0, color=MUTED, lw=0.8)
    return q, circle


def set_vectors(q, circle, before, after, radius=None):
    """Arrows to the 2-D points ``before`` and ``after``; circle of ``radius`` (None hides it)."""
    uv = np.array([before, after], dtype=float)
    q.set_UVC(uv[:, 0], uv[:, 1])
    circle.set_visible(radius is not None)
    if radius is not None:
        circle.set_radius(radius)


def unrolled_graph(ax, n_max):
    """Nodes and edges of the unrolled RNN for up to ``n_max`` steps.

    Returns a dict of artists: ``S`` (n_max+1 node texts), ``x`` (n_max), ``Y``,
    ``E``, ``nodes`` (the discs under the node labels), edge lines ``Ws``
    (n_max), ``Wx`` (n_max), ``Wy``, ``YE`` and
    ``jac`` (n_max value labels on the recurrent edges, shown for every step
    k <= N) and ``lit`` (discs over the nodes on the lit path).  Only ``lit``
    and the edges change as the path moves; the node texts and ``jac`` change
    only with ``N``.  Positions are set by :func:`set_graph`.
    """
    ax.set_axis_off()
    ax.set_xlim(-0.08, 1.12)
    ax.set_ylim(-0.25, 2.35)
    node = dict(
        ha="center",
        va="center",
        fontsize=10,
        zorder=3,
    )

    def edge():
        return ax.plot([], [], color=MUTED, lw=1.5, zorder=1, solid_capstyle="round")[0]

    g = {
        "S": [ax.text(0, 1, f"$S_{{{k}}}$", **node) for k in range(n_max + 1)],
        "x": [ax.text(0, 0, f"$x_{{{k}}}$", **node) for k in range(1, n_max + 1)],
        "Y": ax.text(0, 2, "$Y_N$", **node),
        "E": ax.text(0, 2, "$E_N$", **node),
        "Ws": [edge() for _ in range(n_max)],
        "Wx": [edge() for _ in range(n_max)],
        "Wy": edge(),
        "YE": edge(),
        "jac": [
            ax.text(0, 1.2, "", ha="center", va="bottom", fontsize=9, color="#555555")
            for _ in range(n_max)
        ],
        # one white disc under every node label (one artist: much cheaper than a box per text)
        "nodes": ax.scatter(
            [], [], s=340, fc="white", ec=OKABE_ITO["black"], linewidths=1.0, zorder=2.9
        ),
        # the lit nodes: a translucent disc over each node (the node texts stay static)
        "lit": ax.scatter(
            [], [], s=330, color=OKABE_ITO["vermillion"], alpha=0.3, zorder=4, linewidths=0
        ),
    }
    return g


def set_graph(g, N, path_from=None, wrt="Ws"):
    """Lay out ``N`` steps and light the path of the term entering at step ``path_from``.

    The lit path runs ``E_N <- Y_N <- S_N <- ... <- S_i`` and then along the
    weight's own edge at step ``i`` (``Ws``: ``S_{i-1} -> S_i``, ``Wx``:
    ``x_i -> S_i``; ``Wy``: only ``S_N -> Y_N``).
    """
    n_max = len(g["x"])
    xs = np.linspace(0.0, 1.0, N + 1)
    hot, cold = OKABE_ITO["vermillion"], MUTED
    i = path_from
    on_chain = (lambda k: i is not None and k >= i) if wrt != "Wy" else (lambda k: k == N)
    lit = []
    for k, t in enumerate(g["S"]):
        t.set_visible(k <= N)
        if k <= N:
            t.set_position((xs[k], 1.0))
            if on_chain(k) or (wrt == "Ws" and i is not None and k == i - 1):
                lit.append((xs[k], 1.0))
    gap = 0.22 / N  # edges stop short of the node circles
    for k in range(1, n_max + 1):
        shown = k <= N
        xk, wk, jk, xe = g["x"][k - 1], g["Ws"][k - 1], g["jac"][k - 1], g["Wx"][k - 1]
        for a in (xk, wk, jk, xe):
            a.set_visible(shown)
        if not shown:
            continue
        xk.set_position((xs[k], 0.0))
        lit_x = wrt == "Wx" and k == i
        if lit_x:
            lit.append((xs[k], 0.0))
        wk.set_data([xs[k - 1] + gap, xs[k] - gap], [1.0, 1.0])
        chain = i is not None and wrt != "Wy" and k > i
        own = wrt == "Ws" and k == i
        wk.set_color(hot if chain or own else cold)
        wk.set_linewidth(3.0 if chain or own else 1.5)
        wk.set_linestyle(":" if own else "-")
        jk.set_position(((xs[k - 1] + xs[k]) / 2, 1.12))
        xe.set_data([xs[k], xs[k]], [0.22, 0.78])
        xe.set_color(hot if lit_x else cold)
        xe.set_linewidth(3.0 if lit_x else 1.5)
        xe.set_linestyle(":" if lit_x else "-")
    lit_top = i is not None
    g["Y"].set_position((xs[N], 2.0))
    g["E"].set_position((xs[N] + 0.1, 2.0))
    g["Wy"].set_data([xs[N], xs[N]], [1.22, 1.78])
    g["YE"].set_data([xs[N] + 0.025, xs[N] + 0.075], [2.0, 2.0])
    for a in (g["Wy"], g["YE"]):
        a.set_color(hot if lit_top else cold)
        a.set_linewidth(3.0 if lit_top else 1.5)
    g["Wy"].set_linestyle(":" if wrt == "Wy" else "-")
    if lit_top:
        lit += [(xs[N], 2.0), (xs[N] + 0.1, 2.0)]
    g["lit"].set_offsets(np.array(lit).reshape(-1, 2))
    nodes = [t.get_position() for t in (*g["S"], *g["x"], g["Y"], g["E"]) if t.get_visible()]
    g["nodes"].set_offsets(np.array(nodes, dtype=float).reshape(-1, 2))


def set_presentation(fig, on, font=1.25, line=1.6, dpi=1.5):
    """Enlarge (or restore) the image, every font and every line width, for a projector."""
    base_dpi = fig.__dict__.setdefault("_rl_dpi", fig.get_dpi())
    fig.set_dpi(base_dpi * dpi if on else base_dpi)
    for a in fig.findobj():
        if isinstance(a, PathCollection):  # scatter discs (graph nodes) grow with the fonts
            base = a.__dict__.setdefault("_rl_sizes", np.array(a.get_sizes(), dtype=float))
            a.set_sizes(base * font**2 if on else base)
        if isinstance(a, Text):
            base = a.__dict__.setdefault("_rl_fontsize", a.get_fontsize())
            a.set_fontsize(base * font if on else base)
        elif hasattr(a, "get_linewidth") and hasattr(a, "set_linewidth"):
            lw = a.get_linewidth()
            if np.ndim(lw) == 0:
                base = a.__dict__.setdefault("_rl_linewidth", lw)
                a.set_linewidth(base * line if on else base)
    for ax in fig.axes:
        base = ax.__dict__.setdefault(
            "_rl_ticksize",
            ax.xaxis.get_ticklabels()[0].get_fontsize() if ax.xaxis.get_ticklabels() else 10.0,
        )
        ax.tick_params(labelsize=base * font if on else base)
    fig.set_layout_engine("constrained")


def encode_png(canvas) -> bytes:
    """The Agg canvas as RGB PNG bytes, fast: zlib level 1 with run-length strategy (~3 ms)."""
    w, h = canvas.get_width_height(physical=True)
    im = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="png", compress_level=1, compress_type=zlib.Z_RLE)
    return buf.getvalue()


@functools.cache
def palette() -> Image.Image:
    """The fixed palette of every frame: the figures' own colours, their tints, greys, the colormap.

    A palette chosen per picture (median cut) merges nearby colours, such as
    Okabe-Ito orange and vermillion; a fixed one keeps every colour the
    figures use exact, maps anti-aliased edges to the nearest tint, and is
    three times faster to apply.
    """
    import matplotlib as mpl

    def rgb(h):
        return np.array([int(h[i : i + 2], 16) for i in (1, 3, 5)], float)

    white = np.full(3, 255.0)
    # the grey band (#E4E4E4 at alpha 0.7 over white is #ECECEC) and the heatmap's blank
    extra = (MUTED, "#E4E4E4", "#ECECEC", "#EEEEEE", "#555555")
    named = [rgb(h) for h in (*OKABE_ITO.values(), *extra)]
    tints = [c * a + white * (1 - a) for c in named[:8] for a in (1 / 3, 2 / 3)]
    greys = [np.full(3, g) for g in np.linspace(0, 255, 16)]
    cmap = [np.array(mpl.colormaps[CMAP](x)[:3]) * 255 for x in np.linspace(0, 1, 16)]
    cols = np.clip(np.round([*named, *tints, *greys, *cmap]), 0, 255).astype(np.uint8)
    pal = Image.new("P", (1, 1))
    pal.putpalette(list(cols.ravel()) + [0] * (768 - cols.size))
    return pal


def encode_png_palette(canvas) -> bytes:
    """The Agg canvas as a compact palette PNG in :func:`palette`'s colours (no dithering)."""
    w, h = canvas.get_width_height(physical=True)
    im = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    q = im.convert("RGB").quantize(palette=palette(), dither=Image.Dither.NONE)
    buf = io.BytesIO()
    q.save(buf, format="png", optimize=True)
    return buf.getvalue()


class Painter:
    """Render a figure to PNG bytes, blitting the changing artists when it can.

    ``dynamic`` artists are drawn over a cached background.  Backgrounds are
    cached by ``key`` (whatever else the caller says the static picture depends
    on, e.g. presentation mode), the axis ranges and the dpi, together with the
    axes positions they were drawn at, so returning to an earlier state (a
    presentation toggle, an option seen before) is a blit too.  A full draw
    happens on a cache miss; the layout is computed only when ``full=True`` and
    no layout for this ``layout`` is known, then frozen, because constrained
    layout is the slowest part of a draw.

    ``semi`` artists change rarely (e.g. the nodes of a graph of ``N`` steps):
    they are drawn over the background once per ``semi_key`` and that picture
    is cached as a second layer, so most updates draw only ``dynamic``.
    ``on_top`` artists are static (drawn with the background) but stay above
    the semi layer: their pixels are stamped back after it (e.g. a legend over
    a grey band that moves with ``N``).
    """

    def __init__(self, fig, dynamic, semi=(), on_top=(), cache_size=12):
        self.fig = fig
        self.dynamic = list(dynamic)
        self.semi = list(semi)
        self.on_top = list(on_top)
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()  # (key, layout, limits, dpi) -> (bg, positions)
        self._layouts: dict = {}  # layout -> axes positions
        self.full_draws = 0  # how many times the background was drawn (for tests and tuning)

    def _current_limits(self):
        return tuple((ax.get_xlim(), ax.get_ylim()) for ax in self.fig.axes)

    def _positions(self):
        """Original and active (after fixed aspect) position of every axes, as plain tuples."""
        return tuple(
            (ax.get_position(original=True).bounds, ax.get_position().bounds)
            for ax in self.fig.axes
        )

    def _set_positions(self, positions):
        for ax, (orig, active) in zip(self.fig.axes, positions, strict=True):
            ax.set_position(orig, which="original")
            ax.set_position(active, which="active")

    def png(
        self, full=False, redraw=False, key=None, layout=None, semi_key=None, encode=encode_png
    ) -> bytes:
        """PNG bytes of the figure.

        ``key`` names the static state (the background), ``layout`` the sizes
        the layout depends on (e.g. presentation mode); ``full`` says the sizes
        changed, so the layout for ``layout`` is reused if known and computed
        otherwise; ``redraw`` forces a fresh background; ``encode`` turns the
        canvas into bytes.
        """
        canvas = self.fig.canvas
        if full and layout in self._layouts:
            self._set_positions(self._layouts[layout])
            self.fig.set_layout_engine("none")
            full = False
        ckey = (key, layout, self._current_limits(), self.fig.dpi)
        hit = None if (full or redraw) else self._cache.get(ckey)
        fresh = False  # True once the background has just been drawn on the canvas
        if hit is None:
            if full:  # sizes changed: lay out again (slow), otherwise keep positions
                self.fig.set_layout_engine("constrained")
            for a in self.dynamic + self.semi:
                a.set_animated(True)
            canvas.draw()
            self.full_draws += 1
            self.fig.set_layout_engine("none")  # keep the positions just computed
            positions = self._positions()
            if full or layout not in self._layouts:
                self._layouts[layout] = positions
            ckey = (key, layout, self._current_limits(), self.fig.dpi)
            renderer = canvas.get_renderer()
            stamps = [
                canvas.copy_from_bbox(a.get_window_extent(renderer).padded(1))
                for a in self.on_top
                if a.get_visible()
            ]
            hit = (canvas.copy_from_bbox(self.fig.bbox), positions, stamps)
            self._cache[ckey] = hit
            fresh = True
            self._trim()
        else:
            if hit[1] != self._positions():
                self._set_positions(hit[1])
            self._cache.move_to_end(ckey)
        if self.semi:
            skey = (ckey, "semi", semi_key)
            shit = self._cache.get(skey)
            if shit is None:
                if not fresh:
                    canvas.restore_region(hit[0])
                renderer = canvas.get_renderer()
                for a in self.semi:
                    if a.get_visible():
                        a.draw(renderer)
                for stamp in hit[2]:  # static artists that stay on top of the semi layer
                    canvas.restore_region(stamp)
                self._cache[skey] = (canvas.copy_from_bbox(self.fig.bbox), None)
                self._trim()
            else:
                self._cache.move_to_end(skey)
                canvas.restore_region(shit[0])
        elif not fresh:
            canvas.restore_region(hit[0])
        renderer = canvas.get_renderer()
        for a in self.dynamic:
            if a.get_visible():
                a.draw(renderer)
        return encode(canvas)

    def _trim(self):
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def release(self):
        """Make the dynamic artists ordinary again (for savefig and animations)."""
        for a in self.dynamic + self.semi:
            a.set_animated(False)
        self._cache.clear()
