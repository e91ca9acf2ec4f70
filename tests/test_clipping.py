"""rnnlib.clipping: global-norm and value clipping, reports, non-finite gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnnlib as rl
from rnnlib.clipping import clip_by_norm, clip_by_value, global_norm

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True)
values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
thresholds = st.floats(1e-3, 1e3)


@st.composite
def gradients(draw):
    shapes = draw(
        st.lists(hnp.array_shapes(min_dims=1, max_dims=2, max_side=5), min_size=1, max_size=3)
    )
    return {f"W{i}": draw(hnp.arrays(np.float64, s, elements=values)) for i, s in enumerate(shapes)}


def flat(g):
    return np.concatenate([np.ravel(v) for v in g.values()])


def norm(g):
    """Reference norm, scaled first so that tiny entries do not underflow."""
    v = flat(g)
    m = np.max(np.abs(v))
    return float(m * np.linalg.norm(v / m)) if m > 0 else 0.0


def cosine(a, b):
    return float(flat(a) @ flat(b) / (np.linalg.norm(flat(a)) * np.linalg.norm(flat(b))))


@SETTINGS
@given(g=gradients(), theta=thresholds)
def test_norm_clipping_bounds_norm_and_keeps_direction(g, theta):
    out, rep = clip_by_norm(g, theta)
    n = norm(g)
    assert rep.norm == pytest.approx(n, rel=1e-12, abs=1e-300)
    assert rep.finite and rep.threshold == theta
    assert global_norm(out) <= theta * (1 + 1e-12)
    assert rep.clipped == (n > theta)
    if n > theta:
        assert cosine(out, g) == pytest.approx(1.0, abs=1e-12)
        assert global_norm(out) == pytest.approx(theta, rel=1e-12)
    else:  # below the threshold nothing changes
        for k in g:
            np.testing.assert_array_equal(out[k], g[k])


@SETTINGS
@given(g=gradients(), theta=thresholds)
def test_value_clipping_bounds_every_entry(g, theta):
    out, rep = clip_by_value(g, theta)
    assert all(np.all(np.abs(v) <= theta) for v in out.values())
    assert rep.clipped == bool(np.any(np.abs(flat(g)) > theta))
    for k in g:  # entries already inside the box are untouched
        inside = np.abs(g[k]) <= theta
        np.testing.assert_array_equal(out[k][inside], g[k][inside])


def test_value_clipping_changes_direction():
    g = {"Ws": np.array([[3.0, 0.1]]), "Wy": np.array([0.2])}
    out, rep = clip_by_value(g, 1.0)
    np.testing.assert_array_equal(out["Ws"], [[1.0, 0.1]])
    assert rep.clipped and rep.norm == pytest.approx(np.sqrt(9 + 0.01 + 0.04))
    assert cosine(out, g) < 0.99
    by_norm, _ = clip_by_norm(g, 1.0)
    assert cosine(by_norm, g) == pytest.approx(1.0)


def test_inputs_are_not_mutated_and_outputs_are_copies():
    g = {"a": np.array([3.0, 4.0])}
    for fn in (clip_by_norm, clip_by_value):
        for theta in (1.0, 10.0):
            out, _ = fn(g, theta)
            out["a"][0] = -99.0
            np.testing.assert_array_equal(g["a"], [3.0, 4.0])


def test_accepts_grads_objects():
    p = rl.rnn.init(2, 3, 1, seed=0)
    xs = np.random.default_rng(0).normal(size=(5, 2))
    g = rl.rnn.bptt(p, rl.rnn.forward(p, xs), np.ones((5, 1)))
    n = np.sqrt(sum(np.sum(getattr(g, k) ** 2) for k in g.names))
    assert global_norm(g) == pytest.approx(n)
    out, rep = clip_by_norm(g, n / 2)
    assert set(out) == {"Wx", "Ws", "Wy"} and rep.clipped
    assert global_norm(out) == pytest.approx(n / 2)


def test_huge_finite_gradient_does_not_overflow():
    g = {"a": np.array([1e200, 1e200]), "b": np.array([[1e200]])}
    with np.errstate(all="raise"):
        out, rep = clip_by_norm(g, 1.0)
    assert rep.finite and rep.norm == pytest.approx(np.sqrt(3) * 1e200)
    assert global_norm(out) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fn", [clip_by_norm, clip_by_value])
def test_non_finite_gradient_is_flagged_and_left_unchanged(fn, bad):
    g = {"a": np.array([5.0, bad]), "b": np.array([100.0])}
    with np.errstate(all="raise"):
        out, rep = fn(g, 1.0)
    assert rep.finite is False and rep.clipped is False
    np.testing.assert_array_equal(out["a"], g["a"])
    np.testing.assert_array_equal(out["b"], g["b"])
    assert np.isnan(rep.norm) if np.isnan(bad) else rep.norm == np.inf


@pytest.mark.parametrize("theta", [0, -1.0, np.nan, np.inf, None, "1", True])
@pytest.mark.parametrize("fn", [clip_by_norm, clip_by_value])
def test_bad_threshold_raises(fn, theta):
    with pytest.raises(ValueError, match="^threshold:"):
        fn({"a": np.ones(2)}, theta)


def test_bad_grads_raises():
    with pytest.raises(ValueError, match="^grads:"):
        clip_by_norm([1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="^grads:"):
        global_norm(3.0)
