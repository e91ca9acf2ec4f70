"""rnnlib.plots: artists are made once and updated in place; PNG rendering with blitting."""

import numpy as np
import pytest

from rnnlib import plots


@pytest.fixture
def fig_ax():
    fig, axd = plots.figure([["a", "b"]])
    return fig, axd


def test_no_pyplot_or_ipywidgets():
    import sys

    import rnnlib.plots  # noqa: F401

    assert "ipywidgets" not in rnnlib.plots.__dict__
    assert not any(
        name == "matplotlib.pyplot" and mod is not None for name, mod in vars(rnnlib.plots).items()
    )
    assert "rnnlib.plots" in sys.modules


def test_positive_masks_non_positive_and_non_finite():
    y = plots.positive([1.0, 0.0, -2.0, np.inf, np.nan, 3.0])
    assert y[0] == 1.0 and y[5] == 3.0
    assert np.all(np.isnan(y[1:5]))


def test_log_limits_cover_data_and_keep_steady(fig_ax):
    fig, axd = fig_ax
    ax = axd["a"]
    plots.log_axis(ax)
    plots.log_limits(ax, [1e-3, 1e2])
    lo, hi = ax.get_ylim()
    assert lo <= 1e-3 and hi >= 1e2
    plots.log_limits(ax, [2e-3, 5e1])  # still covered, not much tighter: limits stay
    assert ax.get_ylim() == (lo, hi)
    plots.log_limits(ax, [1e-20, 1e30], floor=1e-30)
    assert ax.get_ylim()[0] <= 1e-20 and ax.get_ylim()[1] >= 1e30


def test_set_line_and_bars_update_in_place(fig_ax):
    fig, axd = fig_ax
    line = axd["a"].plot([], [])[0]
    plots.set_line(line, [1, 2, 3], [1.0, 0.0, 2.0], log=True)
    assert np.isnan(line.get_ydata()[1])
    b = plots.bars(axd["b"], 5)
    plots.set_bars(b, [1.0, -2.0, 3.0], colors=["r", "g", "b"])
    assert [r.get_visible() for r in b.patches] == [True, True, True, False, False]
    assert b.patches[1].get_height() == -2.0


def test_heatmap_shows_overflow_as_over_colour(fig_ax):
    fig, axd = fig_ax
    im = plots.heatmap(axd["a"])
    M = np.array([[1.0, 0.0], [np.inf, 1e-3]])
    plots.set_heatmap(im, M)
    data = im.get_array()
    assert np.isfinite(data[1, 0]) and data[1, 0] > 1e300
    assert im.get_extent() == [0.5, 2.5, 0.5, 2.5] or tuple(im.get_extent()) == (0.5, 2.5, 0.5, 2.5)


def test_exploded_text_toggles(fig_ax):
    fig, axd = fig_ax
    t = plots.exploded_text(axd["a"])
    assert not t.get_visible()
    plots.set_exploded(t, "exploded")
    assert t.get_visible() and t.get_text() == "exploded"
    plots.set_exploded(t, None)
    assert not t.get_visible()


def test_vectors_and_graph(fig_ax):
    fig, axd = fig_ax
    q, circle = plots.vectors(axd["a"])
    plots.set_vectors(q, circle, (1.0, 0.0), (0.5, 0.5), radius=0.3)
    assert circle.get_visible() and circle.get_radius() == 0.3
    assert np.allclose(q.U, [1.0, 0.5])
    g = plots.unrolled_graph(axd["b"], 6)
    plots.set_graph(g, 4, 2, "Ws")
    assert [t.get_visible() for t in g["S"]] == [True] * 5 + [False] * 2
    assert len(g["lit"].get_offsets()) == 4 + 2  # S_{i-1}..S_N, then Y_N and E_N


def test_painter_blits_and_redraws_on_limit_change(fig_ax):
    fig, axd = fig_ax
    line = axd["a"].plot([0, 1], [0, 1])[0]
    p = plots.Painter(fig, [line])
    first = p.png()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    line.set_ydata([1, 0])
    second = p.png()
    assert second != first
    axd["a"].set_xlim(0, 5)
    assert p.png() != second


def test_presentation_enlarges_and_restores(fig_ax):
    fig, axd = fig_ax
    t = axd["a"].set_xlabel("x")
    line = axd["a"].plot([0, 1])[0]
    fs, lw, dpi = t.get_fontsize(), line.get_linewidth(), fig.get_dpi()
    plots.set_presentation(fig, True)
    assert t.get_fontsize() > fs and line.get_linewidth() > lw and fig.get_dpi() > dpi
    plots.set_presentation(fig, False)
    assert (t.get_fontsize(), line.get_linewidth(), fig.get_dpi()) == (fs, lw, dpi)


def test_painter_caches_backgrounds_per_key_and_layout(fig_ax):
    fig, axd = fig_ax
    line = axd["a"].plot([0, 1], [0, 1])[0]
    p = plots.Painter(fig, [line])
    first = p.png(key="k1", layout=False)
    assert p.full_draws == 1
    line.set_ydata([1, 0])
    p.png(key="k1", layout=False)
    assert p.full_draws == 1  # a blit over the cached background
    p.png(key="k2", layout=False)
    assert p.full_draws == 2  # a new static state: one full draw
    line.set_ydata([0, 1])
    assert p.png(key="k1", layout=False) == first and p.full_draws == 2  # back to k1: cached
    plots.set_presentation(fig, True)
    p.png(full=True, key="k1", layout=True)
    plots.set_presentation(fig, False)
    assert p.png(full=True, key="k1", layout=False) == first  # layout and background reused
    assert p.full_draws == 3


def test_painter_semi_layer_and_on_top(fig_ax):
    fig, axd = fig_ax
    ax = axd["a"]
    ax.set_xlim(0, 10)
    legend_line = ax.plot([0, 1], [0, 1], label="data")[0]
    leg = ax.legend(loc="lower right", framealpha=1.0)
    span = plots.unused_span(ax)
    ax.set_xlim(0, 10)
    p = plots.Painter(fig, [legend_line], semi=[span], on_top=[leg])
    plots.set_unused(span, 3.0)
    a = p.png(semi_key=3)
    plots.set_unused(span, 6.0)
    b = p.png(semi_key=6)
    assert a != b and p.full_draws == 1  # the band moved without a full draw
    assert p.png(semi_key=3) == a
    # the legend's pixels are stamped over the band: same with and without the band there
    import io

    from PIL import Image

    renderer = fig.canvas.get_renderer()
    x0, y0, x1, y1 = leg.get_window_extent(renderer).extents.astype(int)
    h = fig.canvas.get_width_height()[1]
    crop = [
        np.asarray(Image.open(io.BytesIO(png)))[h - y1 + 2 : h - y0 - 2, x0 + 2 : x1 - 2]
        for png in (a, b)
    ]
    assert np.array_equal(crop[0], crop[1])


def test_fixed_limits_offscale_and_unused(fig_ax):
    fig, axd = fig_ax
    ax = axd["a"]
    plots.log_axis(ax)
    ax.set_xlim(0.5, 10.5)
    plots.fixed_log_limits(ax, 1e-3, 1e3)
    assert ax.get_ylim() == (1e-3, 1e3) and not ax.get_autoscale_on()
    markers = plots.offscale(ax)
    n = plots.set_offscale(markers, ax, ([1, 2, 3, 4, 5], [1e5, 1.0, 1e-9, np.inf, 0.0]))
    assert n == 3
    assert list(markers[0].get_xdata()) == [1, 4] and list(markers[1].get_xdata()) == [3]
    assert np.all(markers[0].get_ydata() == 1e3) and np.all(markers[1].get_ydata() == 1e-3)
    span = plots.unused_span(ax)
    plots.set_unused(span, 4.5)
    assert span.get_x() == 4.5 and np.isclose(span.get_x() + span.get_width(), 10.5)
    plots.set_unused(span, 10.5)
    assert not span.get_visible()
    assert ax.get_xlim() == (0.5, 10.5)  # adding the band did not move the axis


def test_encode_png_roundtrip(fig_ax):
    import io

    from PIL import Image

    fig, axd = fig_ax
    fig.canvas.draw()
    png = plots.encode_png(fig.canvas)
    img = np.asarray(Image.open(io.BytesIO(png)))
    assert img.shape == (*fig.canvas.get_width_height()[::-1], 3)
    assert np.array_equal(img, np.asarray(fig.canvas.buffer_rgba())[..., :3])
