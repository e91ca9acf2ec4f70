"""rnnlib.jacobians: step Jacobians against finite differences, the Pascanu bound, horizons."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib import jacobians as jac

G1 = ["tanh", "sigmoid", "relu", "identity"]


def trace(H=4, T=6, g1="tanh", scale=1.0, seed=0):
    p = rl.rnn.init(2, H, 1, seed=seed, scale=scale)
    xs = np.random.default_rng(seed + 1).normal(size=(T, 2))
    return p, rl.rnn.forward(p, xs, g1=g1)


def numeric_state_jacobian(p, tr, t, k, eps=1e-6):
    """dS_t/dS_k by central differences of the state map run from S_k."""
    H = p.Ws.shape[0]
    J = np.empty((H, H))
    for j in range(H):
        e = np.zeros(H)
        e[j] = eps
        up = rl.rnn.forward(p, tr.xs[k:t], s0=tr.S[k] + e, g1=tr.g1).S[-1]
        dn = rl.rnn.forward(p, tr.xs[k:t], s0=tr.S[k] - e, g1=tr.g1).S[-1]
        J[:, j] = (up - dn) / (2 * eps)
    return J


@pytest.mark.parametrize("g1", ["tanh", "sigmoid", "identity"])
def test_step_jacobians_match_finite_differences(g1):
    p, tr = trace(g1=g1)
    J = jac.step_jacobians(p, tr)
    assert J.shape == (6, 4, 4)
    for t in range(1, 7):
        np.testing.assert_allclose(J[t - 1], numeric_state_jacobian(p, tr, t, t - 1), atol=1e-8)


@pytest.mark.parametrize("g1", ["tanh", "sigmoid"])
@pytest.mark.parametrize(("t", "k"), [(6, 0), (5, 2), (3, 1), (4, 4)])
def test_product_matches_finite_differences(g1, t, k):
    p, tr = trace(g1=g1)
    M = jac.product(p, tr, t, k)
    if t == k:
        np.testing.assert_array_equal(M, np.eye(4))
    else:
        np.testing.assert_allclose(M, numeric_state_jacobian(p, tr, t, k), atol=1e-8)


def test_product_is_ordered_chain_of_steps():
    p, tr = trace(H=3, T=4)
    J = jac.step_jacobians(p, tr)
    np.testing.assert_allclose(jac.product(p, tr, 4, 1), J[3] @ J[2] @ J[1])
    np.testing.assert_allclose(jac.product(p, tr, 2, 1), J[1])


def test_norms_are_spectral_norms_of_products():
    p, tr = trace(T=5)
    n = jac.norms(p, tr)
    assert n.shape == (6,)
    for k in range(6):
        assert n[k] == pytest.approx(np.linalg.norm(jac.product(p, tr, 5, k), 2), rel=1e-12)
    assert jac.norms(p, tr, t=3).shape == (4,)
    assert jac.norms(p, tr, t=0)[0] == 1.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    H=st.integers(1, 8),
    T=st.integers(1, 12),
    scale=st.floats(0.1, 4.0),
    g1=st.sampled_from(G1),
    seed=st.integers(0, 10_000),
)
def test_pascanu_bound_holds(H, T, scale, g1, seed):
    p, tr = trace(H=H, T=T, g1=g1, scale=scale, seed=seed)
    n = jac.norms(p, tr)
    b = jac.bound(p.Ws, g1, T - np.arange(T + 1))
    assert np.all(n <= b * (1 + 1e-10) + 1e-300)


def test_constants():
    assert jac.gamma("tanh") == 1.0
    assert jac.gamma("sigmoid") == 0.25
    assert jac.gamma("relu") == 1.0
    nilpotent = np.array([[0.0, 2.0], [0.0, 0.0]])
    assert jac.spectral_radius(nilpotent) == 0.0
    assert jac.largest_singular_value(nilpotent) == pytest.approx(2.0)
    rot = 0.9 * np.array([[0.0, -1.0], [1.0, 0.0]])
    assert jac.spectral_radius(rot) == pytest.approx(0.9)
    assert jac.largest_singular_value(rot) == pytest.approx(0.9)
    assert jac.bound(rot, "tanh", 2) == pytest.approx(0.81)
    np.testing.assert_allclose(jac.bound(rot, "sigmoid", [0, 1]), [1.0, 0.225])


def test_horizon_values():
    assert jac.horizon_from_rate(0.5, 1e-2) == pytest.approx(np.log(100) / np.log(2))
    assert jac.horizon(0.1, eps=1e-3) == pytest.approx(3.0)
    assert jac.horizon(0.5 * np.eye(3)) == pytest.approx(6.643856189774724)
    # sigmoid: gamma = 1/4, so Ws = 2 I decays at rate 1/2
    assert jac.horizon(2.0 * np.eye(3), g1="sigmoid") == pytest.approx(6.643856189774724)
    assert jac.horizon(np.eye(2)) == np.inf
    assert jac.horizon(1.5) == np.inf
    assert jac.horizon(0.0) == 0.0
    # the bound at the horizon equals eps
    W = 0.7 * np.eye(2)
    assert jac.bound(W, "tanh", jac.horizon(W, eps=0.05)) == pytest.approx(0.05)


def test_overflow_gives_inf_without_warnings():
    p = rl.rnn.init(1, 3, 1, seed=0, scale=1e3)
    tr = rl.rnn.forward(p, np.zeros((400, 1)), s0=np.full(3, 1e-3), g1="identity")
    with np.errstate(all="raise"):
        n = jac.norms(p, tr)
        b = jac.bound(p.Ws, "identity", 400)
    assert n[0] == np.inf and b == np.inf


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda p, tr: jac.step_jacobians(p, rl.rnn.forward(p, np.zeros((3, 2, 2)))), "tr"),
        (lambda p, tr: jac.product(p, tr, 7, 0), "t"),
        (lambda p, tr: jac.product(p, tr, 2, 3), "k"),
        (lambda p, tr: jac.norms(p, tr, t=-1), "t"),
        (lambda p, tr: jac.spectral_radius(np.ones((2, 3))), "Ws"),
        (lambda p, tr: jac.largest_singular_value([[np.nan]]), "Ws"),
        (lambda p, tr: jac.bound(p.Ws, "tanh", -1), "steps"),
        (lambda p, tr: jac.gamma("softplus"), "g1"),
        (lambda p, tr: jac.horizon(0.5, eps=1.0), "eps"),
        (lambda p, tr: jac.horizon(0.5, eps=0), "eps"),
        (lambda p, tr: jac.horizon_from_rate(-0.5), "rate"),
        (lambda p, tr: jac.horizon_from_rate(float("nan")), "rate"),
    ],
)
def test_bad_input_names_argument(call, match):
    p, tr = trace()
    with pytest.raises(ValueError, match=rf"^{match}:"):
        call(p, tr)
