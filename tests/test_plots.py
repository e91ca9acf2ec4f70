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
