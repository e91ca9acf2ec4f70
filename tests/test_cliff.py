"""Tests for rnnlib.cliff: the single-unit model of Pascanu et al. (2013)."""

import warnings

import numpy as np
import pytest

from rnnlib import cliff


def central(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@pytest.mark.parametrize("w, b", [(1.0, 0.0), (-2.0, 0.5), (4.5, -3.0), (5.5, -4.0), (8.0, -1.0)])
@pytest.mark.parametrize("T", [1, 3, 50])
def test_gradient_matches_finite_differences(w, b, T):
    g = cliff.grad(w, b, T=T)
    dw = central(lambda v: cliff.loss(v, b, T=T), w)
    db = central(lambda v: cliff.loss(w, v, T=T), b)
    np.testing.assert_allclose(g.w, dw, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.b, db, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g.E, cliff.loss(w, b, T=T))


def test_T1_is_one_sigmoid_layer():
    # x_1 = w sigmoid(x_0) + b: the gradient has a single term
    g = cliff.grad(2.0, 0.3, T=1, x0=0.5, target=0.7)
    s = 1 / (1 + np.exp(-0.5))
    r = 2.0 * s + 0.3 - 0.7
    np.testing.assert_allclose([g.w, g.b, g.E], [2 * r * s, 2 * r, r * r])


def test_grid_is_vectorized_and_matches_pointwise():
    W, B = np.meshgrid(np.linspace(3, 7, 5), np.linspace(-5, -1, 4))
    g = cliff.grad(W, B)
    assert g.w.shape == g.b.shape == g.E.shape == (4, 5)
    one = cliff.grad(W[2, 3], B[2, 3])
    np.testing.assert_allclose([g.w[2, 3], g.b[2, 3]], [one.w, one.b])


def test_surface_has_a_wall():
    # across the wall the gradient norm jumps by orders of magnitude and E jumps
    b = np.linspace(-3.5, -2.0, 20001)
    g = cliff.grad(5.0, b)
    norm = g.norm
    i = int(np.argmax(norm))
    assert norm[i] > 1e3 * np.median(norm)
    assert np.median(norm) < 50
    # the loss on the two sides of the wall differs by far more than a step's worth
    assert g.E[max(i - 500, 0)] - g.E[min(i + 500, b.size - 1)] > 5.0
    # and the wall is narrow: 1% of the cut holds every point 100x above the median
    assert np.mean(norm > 100 * np.median(norm)) < 0.01


def test_surface_grid():
    s = cliff.surface(n=(41, 31))
    assert s.W.shape == s.B.shape == s.E.shape == s.grad_norm.shape == (31, 41)
    assert s.grad_norm.max() > 10 * np.median(s.grad_norm)


@pytest.mark.parametrize("threshold", [1.0, 5.0, 15.0])
def test_norm_clipped_steps_are_bounded(threshold):
    lr = 0.01
    p = cliff.sgd(5.5, -4.0, lr=lr, steps=80, clip="norm", threshold=threshold)
    steps = np.hypot(np.diff(p.w), np.diff(p.b))
    assert np.all(steps <= lr * threshold * (1 + 1e-12))
    assert np.all(p.clipped == (p.grad_norm > threshold))


def test_value_clipped_steps_are_bounded_per_component():
    lr, th = 0.01, 2.0
    p = cliff.sgd(5.5, -4.0, lr=lr, steps=80, clip="value", threshold=th)
    assert np.all(np.abs(np.diff(p.w)) <= lr * th * (1 + 1e-12))
    assert np.all(np.abs(np.diff(p.b)) <= lr * th * (1 + 1e-12))


def test_unclipped_sgd_is_thrown_off_by_the_wall():
    p = cliff.sgd(5.5, -4.0, lr=0.005, steps=60)
    q = cliff.sgd(5.5, -4.0, lr=0.005, steps=60, clip="norm", threshold=15.0)
    jump = np.hypot(np.diff(p.w), np.diff(p.b)).max()
    assert jump > 10.0
    assert np.hypot(np.diff(q.w), np.diff(q.b)).max() <= 0.005 * 15.0 * (1 + 1e-12)
    assert q.E[-1] < p.E[0]


@pytest.mark.parametrize("clip, threshold", [(None, None), ("norm", 15.0), ("value", 2.0)])
def test_batched_runs_equal_single_runs(clip, threshold):
    w0, b0 = np.array([4.6, 5.1, 6.1]), np.array([-4.0, -4.5, -4.0])
    batch = cliff.sgd(w0, b0, lr=0.01, steps=40, clip=clip, threshold=threshold)
    assert batch.w.shape == (41, 3) and batch.grad_norm.shape == (40, 3)
    for j in range(3):
        one = cliff.sgd(w0[j], b0[j], lr=0.01, steps=40, clip=clip, threshold=threshold)
        np.testing.assert_allclose(batch.w[:, j], one.w, rtol=1e-12)
        np.testing.assert_allclose(batch.b[:, j], one.b, rtol=1e-12)
        np.testing.assert_array_equal(batch.clipped[:, j], one.clipped)


def test_no_warnings_on_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cliff.grad(1e8, -5e7, x0=0.0)  # x stays at the fixed point 0: (w/4)^50 overflows
        assert not np.isfinite(g.norm)
        p = cliff.sgd(1e8, -5e7, x0=0.0, steps=5)
    assert p.stopped is not None and "non-finite" in p.stopped
    assert p.w.size == 1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cliff.grad(np.nan, 0.0), "^w"),
        (lambda: cliff.grad(1.0, [np.inf]), "^b"),
        (lambda: cliff.grad(np.ones(3), np.ones(2)), "^b"),
        (lambda: cliff.grad(1.0, 0.0, T=0), "^T"),
        (lambda: cliff.grad(1.0, 0.0, x0=np.nan), "^x0"),
        (lambda: cliff.loss(1.0, 0.0, target="a"), "^target"),
        (lambda: cliff.sgd(1.0, 0.0, lr=-1.0), "^lr"),
        (lambda: cliff.sgd(np.nan, 0.0), "^w0"),
        (lambda: cliff.sgd(np.ones(2), np.ones(3)), "^b0"),
        (lambda: cliff.sgd(1.0, 0.0, steps=0), "^steps"),
        (lambda: cliff.sgd(1.0, 0.0, clip="max"), "^clip"),
        (lambda: cliff.sgd(1.0, 0.0, clip="norm"), "^threshold"),
        (lambda: cliff.sgd(1.0, 0.0, clip="norm", threshold=0.0), "^threshold"),
        (lambda: cliff.surface(w_range=(2.0, 1.0)), "w_range"),
        (lambda: cliff.surface(n=(0, 5)), "^n"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: cliff.sgd(np.zeros(0), -2.0), "w0"),
        (lambda: cliff.sgd(5.0, -2.0, clip=np.array(["norm"]), threshold=1.0), "clip"),
        (lambda: cliff.surface(n=5), "n"),
        (lambda: cliff.surface(w_range=(1.0, 2.0, 3.0)), "w_range"),
        (lambda: cliff.loss(5.0 + 1j, -2.0), "w"),
    ],
)
def test_more_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call()
