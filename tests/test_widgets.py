"""rnnlib.widgets: every explorer, every control, both faces of the display.

Runs headless (Agg).  Sweeps each control over min, max and random values and
checks that the plotted data change, stay finite where they should, and that an
overflow shows the "exploded" state instead of raising.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnlib as rl  # noqa: E402
from rnnlib.widgets import EXPLORERS  # noqa: E402

NAMES = ["backward", "decay", "clipping", "truncation", "lstm_vs_rnn"]
WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def explorers():
    return {name: EXPLORERS[name]() for name in NAMES}


def _values(control, rng, n_random=2):
    if isinstance(control, W.FloatLogSlider):
        lo, hi = control.min, control.max
        return [control.base**lo, control.base**hi] + [
            control.base ** rng.uniform(lo, hi) for _ in range(n_random)
        ]
    if isinstance(control, W.IntSlider):
        return [control.min, control.max] + [
            int(rng.integers(control.min, control.max + 1)) for _ in range(n_random)
        ]
    if isinstance(control, W.FloatSlider):
        return [control.min, control.max] + [
            float(rng.uniform(control.min, control.max)) for _ in range(n_random)
        ]
    if isinstance(control, W.ToggleButton):
        return [True, False]
    return list(control.options)


def _snapshot(ex):
    return {k: np.array(v, dtype=float, copy=True) for k, v in ex.state.items()}


def _changed(a, b):
    if a.keys() != b.keys():
        return True
    return any(
        x.shape != y.shape or not np.array_equal(x, y, equal_nan=True)
        for x, y in ((a[k], b[k]) for k in a)
    )


def test_registry_names_and_contract():
    assert sorted(EXPLORERS) == sorted(NAMES)
    for name, cls in EXPLORERS.items():
        assert cls.name == name
        assert cls.main


@pytest.mark.parametrize("name", NAMES)
def test_contract(explorers, name):
    ex = explorers[name]
    assert isinstance(ex.ui, W.Box)
    assert ex.main in ex.controls and "presentation" in ex.controls
    for c in ex.controls.values():
        assert isinstance(c, W.ValueWidget)
    assert ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.update() is ex


@pytest.mark.parametrize("name", NAMES)
def test_sweep_every_control(explorers, name):
    ex = explorers[name]
    rng = np.random.default_rng(0)
    defaults = ex.values()
    for cname, control in ex.controls.items():
        changed = False
        before = _snapshot(ex)
        png_before = ex.image.value
        for v in _values(control, rng):
            ex.update(**{cname: v})
            snap = _snapshot(ex)
            changed |= _changed(before, snap) or ex.image.value != png_before
            if not ex.exploded:
                for k, arr in snap.items():
                    assert not np.any(np.isinf(arr)), f"{name}.{cname}={v}: {k} has inf"
        assert changed, f"{name}: sweeping {cname} changed nothing"
        ex.update(**defaults)


@pytest.mark.parametrize("name", NAMES)
def test_main_control_changes_plotted_data(explorers, name):
    ex = explorers[name]
    c = ex.controls[ex.main]
    ex.update(**{ex.main: c.min if not isinstance(c, W.FloatLogSlider) else c.base**c.min})
    lo = _snapshot(ex)
    ex.update(**{ex.main: c.max if not isinstance(c, W.FloatLogSlider) else c.base**c.max})
    assert _changed(lo, _snapshot(ex))
    ex.update(**{ex.main: c.value})


def test_update_rejects_unknown_controls_and_options(explorers):
    ex = explorers["decay"]
    with pytest.raises(ValueError, match="unknown control"):
        ex.update(spectral=2.0)
    with pytest.raises(ValueError, match="activation"):
        ex.update(activation="softsign")


def test_controls_call_update(explorers):
    ex = explorers["truncation"]
    ex.controls["k"].value = 3
    assert ex.state["k"][0] == 3
    ex.controls["k"].value = 5


def test_backward_shows_the_library_terms(explorers):
    ex = explorers["backward"]
    for wrt in ("Ws", "Wx", "Wy"):
        for N in (2, 3, 5):
            ex.update(N=N, wrt=wrt, step=1)
            p = rl.rnn.Params(Wx=np.array([[0.8]]), Ws=np.array([[1.2]]), Wy=np.array([[0.9]]))
            xs = np.random.default_rng(3).normal(0.0, 1.0, (8, 1))[:N]
            ds = np.zeros((N, 1))
            ds[-1] = 1.0
            g = rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds)
            assert np.allclose(ex.state["terms"], g.terms[wrt][:, 0, 0], rtol=1e-12)
            assert np.isclose(ex.state["total"][0], getattr(g, wrt)[0, 0])
    ex.update(N=3, wrt="Ws", step=1)


def test_backward_running_sum_reaches_total(explorers):
    ex = explorers["backward"]
    ex.update(N=3, wrt="Ws", step=3)
    assert np.isclose(ex.state["running"][0], ex.state["total"][0])
    ex.update(step=1)


def test_backward_play_is_linked_to_step(explorers):
    ex = explorers["backward"]
    assert isinstance(ex.play, W.Play)
    ex.update(N=6)
    assert ex.play.max == 6 == ex.controls["step"].max
    ex.update(N=3)


def test_truncation_matches_library_truncated_bptt(explorers):
    ex = explorers["truncation"]
    ex.update(N=12, k=4, scale=1.2)
    rng = np.random.default_rng(0)
    p = rl.rnn.init(1, 8, 1, seed=0)
    p.Ws = rl.jacobians.scaled_to_spectral_norm(p.Ws, 1.2)
    xs, ds = rng.normal(size=(12, 1)), rng.normal(size=(12, 1))
    tr = rl.rnn.forward(p, xs)
    full = rl.rnn.bptt(p, tr, ds).Ws.ravel()
    trunc = rl.rnn.bptt(p, tr, ds, truncate=4).Ws.ravel()
    cos = trunc @ full / np.linalg.norm(trunc) / np.linalg.norm(full)
    assert np.isclose(ex.state["cos"][3], cos)
    assert np.isclose(ex.state["err"][-1], 0.0, atol=1e-12)  # k = N is full BPTT
    ex.update(N=20, k=5, scale=1.0)


def test_clipping_norm_keeps_direction_value_may_not(explorers):
    ex = explorers["clipping"]
    ex.update(method="norm", threshold=0.01)
    assert np.isclose(ex.state["cos"][0], 1.0)
    assert np.isclose(np.linalg.norm(ex.state["after"]), 0.01)
    ex.update(method="value", threshold=0.01)
    assert ex.state["cos"][0] < 1.0
    ex.update(method="norm", threshold=1.0)


def test_overflow_shows_exploded_state_not_an_error(monkeypatch):
    # weights far beyond any slider's range make the forward and backward passes overflow
    monkeypatch.setattr(rl.jacobians, "scaled_to_spectral_norm", lambda W, lam: W * 1e200)
    rl._scenario.clear()
    try:
        ex = EXPLORERS["decay"]()
        ex.update(activation="identity")
        assert ex.exploded
        assert ex.boom.get_visible() and "exploded" in ex.boom.get_text()
        assert ex.image.value[:4] == b"\x89PNG"
        assert "overflowed" in ex.describe()
    finally:
        monkeypatch.undo()
        rl._scenario.clear()


def test_training_that_stops_shows_exploded_state(explorers, monkeypatch):
    ex = explorers["clipping"]
    real = rl.train.sgd

    def diverging(*args, **kw):
        h = real(*args, **kw)
        h.stopped = "non-finite loss at step 7"
        return h

    monkeypatch.setattr(rl.train, "sgd", diverging)
    rl._scenario.clear()
    ex.update(threshold=10.0)
    assert ex.exploded and "step 7" in ex.boom.get_text()
    monkeypatch.undo()
    rl._scenario.clear()
    ex.update(threshold=1.0)
    assert not ex.exploded


def test_decay_bound_holds_for_identity(explorers):
    ex = explorers["decay"]
    ex.update(activation="identity", scale=0.5, N=20, seed=1)
    norm, bound = ex.state["norm"], ex.state["bound"]
    assert np.all(norm <= bound * (1 + 1e-9))
    heat = ex.state["heat"]
    assert np.allclose(np.triu(heat, 1), 0.0)  # dE_t/dS_i = 0 for i > t
    ex.update(activation="tanh", scale=1.0, N=30, seed=0)


@pytest.mark.parametrize("name", NAMES)
def test_live_face_without_the_frames_setting(explorers, name, monkeypatch):
    monkeypatch.delenv(rl.widgets.FACE_ENV, raising=False)
    ex = explorers[name]
    bundle = ex._repr_mimebundle_()
    assert bundle[WIDGET]["model_id"] == ex.ui.model_id
    assert "text/html" not in bundle


@pytest.mark.parametrize("name", NAMES)
def test_every_value_is_checked_before_any_is_applied(explorers, name):
    ex = explorers[name]
    before, png = ex.values(), ex.image.value
    bad = [float("nan"), None, "x", [1], float("inf"), 1e9, -1e9]
    for cname in ex.specs:
        for v in bad:
            good = {k: val for k, val in before.items() if k != cname}
            with pytest.raises(ValueError, match=cname):
                ex.update(**good, **{cname: v})
            assert ex.values() == before, f"{name}.{cname}={v!r} changed the state"
            assert ex.image.value == png
    ex.update()  # and the explorer still works
    assert ex.values() == before


def test_dependent_maximum_is_set_before_clamping():
    for args in ({"N": 7, "step": 4}, {"step": 4, "N": 7}):
        ex = EXPLORERS["backward"]()
        ex.update(**args)
        assert ex.values()["step"] == 4 and ex.state["i"][0] == 7 + 1 - 4
    ex.update(N=2)
    assert ex.values()["step"] == 2  # clamped to the new length, as the slider clamps
    assert ex.controls["step"].max == 2


def test_bad_update_leaves_later_updates_working():
    ex = EXPLORERS["decay"]()
    with pytest.raises(ValueError, match="scale"):
        ex.update(scale=float("nan"))
    ex.update(scale=2.0)
    assert np.isclose(ex.values()["scale"], 2.0) and "2.00" in ex.describe()


@pytest.mark.parametrize("name", NAMES)
def test_alt_text_follows_the_values(explorers, name):
    ex = explorers[name]
    c = ex.specs[ex.main]
    lo, hi = c.bounds
    ex.update(**{ex.main: lo})
    a = ex.describe()
    ex.update(**{ex.main: hi})
    b = ex.describe()
    assert a and b and a != b
    assert ex.image.tooltip == b
    ex.update(**{ex.main: c.value})


@pytest.mark.parametrize("name", NAMES)
def test_grid_lies_within_the_live_ranges(name):
    cls = EXPLORERS[name]
    ex = cls()
    grid = ex.frame_grid()
    assert ex.main in grid and len(grid) >= 2
    for k, vals in grid.items():
        assert len(set(vals)) == len(vals) >= 2, k


def _small(ex):
    """The explorer with a 3 x 2 grid (the full grids are built by the book)."""
    grid = ex.frame_grid()
    ex.grid = {k: v[:3] if k == ex.main else v[-2:] for k, v in list(grid.items())[:2]}
    return ex


def _walk(w, seen=None):
    seen = [] if seen is None else seen
    seen.append(w)
    for c in getattr(w, "children", ()):
        _walk(c, seen)
    return seen


@pytest.mark.parametrize("name", NAMES)
def test_frames_face_switches_precomputed_pictures(name, monkeypatch):
    monkeypatch.setenv(rl.widgets.FACE_ENV, "frames")
    ex = _small(EXPLORERS[name]())
    before = ex.values()
    bundle = ex._repr_mimebundle_()
    ui = ex._frames
    assert bundle[WIDGET]["model_id"] == ui.model_id
    assert ex._live is None, "the frames face must not make (and store) live widgets"
    assert ex.values() == before
    widgets = _walk(ui)
    images = {id(w): w for w in widgets if isinstance(w, W.Image)}
    sliders = [
        w for w in widgets if isinstance(w, (W.SelectionSlider, W.ToggleButtons, W.Dropdown))
    ]
    plays = [w for w in widgets if isinstance(w, W.Play)]
    assert len(plays) == 1 and plays[0].max == len(ex.grid[ex.main]) - 1
    # the same labels as the live controls, limited to the grid
    for k, vals in ex.grid.items():
        c = next(w for w in sliders if w.description == ex.specs[k].description)
        assert len(c.options) == len(vals)
    # one picture per distinct combination, each with its own alt text
    assert 2 <= len(images) <= 6
    for img in images.values():
        assert img.value[:8] == b"\x89PNG\r\n\x1a\n" and img.tooltip
    # a picture shown for some values is the one frame() draws for them on a fresh explorer
    k_main, k_other = list(ex.grid)
    fresh = _small(EXPLORERS[name]())
    top = next(w for w in widgets if isinstance(w, W.Stack))
    for a, va in enumerate(ex.grid[k_main]):
        for b, vb in enumerate(ex.grid[k_other]):
            inner = top.children[a] if list(ex.grid)[0] == k_main else top.children[b]
            idx = b if list(ex.grid)[0] == k_main else a
            shown = inner.children[idx]
            png = fresh.frame(**{k_main: va, k_other: vb})
            assert np.array_equal(_pixels(shown.value), _pixels(png)), (va, vb)


def _pixels(png):
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_frame_is_twice_as_sharp_and_compact():
    ex = EXPLORERS["decay"]()
    png = ex.frame()
    px = _pixels(png)
    assert px.shape[1] == 2 * ex.css_width
    assert len(png) < len(ex.image.value) * 2  # a palette PNG: 4x the pixels, < 2x the bytes


def test_presentation_argument_and_control():
    ex = EXPLORERS["truncation"](presentation=True)
    big = ex.image.width if False else len(ex.image.value)
    assert ex.controls["presentation"].value is True
    ex.update(presentation=False)
    assert len(ex.image.value) < big  # a smaller image at normal size


@pytest.mark.parametrize("name", NAMES)
def test_controls_never_force_a_full_redraw(explorers, name):
    # fixed axis ranges: every control but presentation only blits over a cached background
    ex = explorers[name]
    defaults = ex.values()
    ex.update()
    before = ex.painter.full_draws
    rng = np.random.default_rng(1)
    for cname, control in ex.controls.items():
        if cname == "presentation":
            continue
        for v in _values(control, rng, n_random=1):
            ex.update(**{cname: v})
        ex.update(**defaults)
    assert ex.painter.full_draws == before, f"{name}: a control moved an axis or a static label"


def test_presentation_layout_is_computed_once():
    ex = EXPLORERS["decay"]()
    normal = ex.image.value
    ex.update(presentation=True)
    big = ex.image.value
    n = ex.painter.full_draws
    for _ in range(2):
        ex.update(presentation=False)
        assert ex.image.value == normal
        ex.update(presentation=True)
        assert ex.image.value == big
    assert ex.painter.full_draws == n  # later toggles are blits of cached backgrounds


def test_backward_fixed_range_holds_every_term(explorers):
    ex = explorers["backward"]
    for wrt in ("Ws", "Wx", "Wy"):
        for N in range(2, ex.N_MAX + 1):
            ex.update(N=N, wrt=wrt, step=N)
            for k in ("terms", "running", "total"):
                # below the top 20 % of the axes, where the notes are
                assert np.all(np.abs(ex.state[k]) < 0.6 * ex.YLIM), (wrt, N, k)
    ex.update(N=3, wrt="Ws", step=1)


def test_values_beyond_the_fixed_range_get_offscale_markers(explorers):
    ex = explorers["decay"]
    ex.update(scale=10.0, activation="identity", N=60)
    up, _ = ex.off
    assert len(up.get_xdata()) > 0 and np.all(up.get_ydata() == ex.YLIM[1])
    ex.update(scale=0.1, activation="sigmoid")
    _, down = ex.off
    assert len(down.get_xdata()) > 0 and np.all(down.get_ydata() == ex.YLIM[0])
    ex.update(scale=1.0, activation="tanh", N=30)
    assert len(ex.off[0].get_xdata()) == len(ex.off[1].get_xdata()) == 0


def test_backward_labels_never_cover_a_node(explorers):
    ex = explorers["backward"]
    renderer = ex.fig.canvas.get_renderer()
    r = (340 / np.pi) ** 0.5 * ex.fig.dpi / 72  # the node discs' radius in pixels
    for wrt in ("Ws", "Wx", "Wy"):
        for N in range(2, ex.N_MAX + 1):
            ex.update(N=N, wrt=wrt, step=min(2, N))
            g = ex.graph
            nodes = [t for t in (*g["S"], *g["x"], g["Y"], g["E"]) if t.get_visible()]
            labels = [t for t in (*ex.f_names, *ex.f_vals, ex.factors) if t.get_text()]
            for lab in labels:
                box = lab.get_window_extent(renderer)
                for node in nodes:
                    x, y = ex.graph["nodes"].axes.transData.transform(node.get_position())
                    hit = box.x0 - r < x < box.x1 + r and box.y0 - r < y < box.y1 + r
                    assert not hit, f"N={N} {wrt}: {lab.get_text()!r} covers {node.get_text()}"
    ex.update(N=3, wrt="Ws", step=1)
