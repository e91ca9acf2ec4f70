"""rnnlib.jacobians: step Jacobians against finite differences, the Pascanu bound, horizons."""

import dataclasses

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


@pytest.mark.parametrize("rate", [0.5, np.float32(0.5), np.array(0.5), np.int64(0)])
def test_horizon_takes_numpy_scalars_as_rates(rate):
    assert jac.horizon(rate) == jac.horizon_from_rate(float(rate))


def test_overflow_gives_inf_without_numpy_warnings():
    p = rl.rnn.init(1, 3, 1, seed=0, scale=1e3)
    with pytest.warns(rl.NonFiniteWarning, match="step t = 110 "):
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
        (lambda p, tr: jac.horizon_from_rate(np.array([0.5])), "rate"),
        (lambda p, tr: jac.horizon("0.5"), "Ws_or_rate"),
        (lambda p, tr: jac.horizon(None), "Ws_or_rate"),
        (lambda p, tr: jac.horizon(-0.5), "Ws_or_rate"),
        (lambda p, tr: jac.horizon(np.array(-0.5)), "Ws_or_rate"),
        (lambda p, tr: jac.horizon(np.zeros((0, 0))), "Ws"),
        (lambda p, tr: jac.spectral_radius(np.zeros((0, 0))), "Ws"),
        (lambda p, tr: jac.largest_singular_value(np.zeros((0, 0))), "Ws"),
        (lambda p, tr: jac.spectral_radius(np.eye(2) * 1j), "Ws"),
        (lambda p, tr: jac.spectral_radius(np.eye(2).astype(str)), "Ws"),
        (lambda p, tr: jac.norms(None, tr), "p"),
        (lambda p, tr: jac.norms(p, None), "tr"),
        (lambda p, tr: jac.norms(rl.rnn.init(1, 4, 1), tr), "tr"),
        (lambda p, tr: jac.product(rl.lstm.init(1, 3, 1), tr, 2, 0), "p"),
        (lambda p, tr: jac.step_jacobians(p, rl.lstm.forward(rl.lstm.init(1, 3, 1), [[0]])), "tr"),
        (lambda p, tr: jac.state_gradient_norms(p, tr, np.zeros((2, 1)) + 1j), "ds"),
        (lambda p, tr: jac.scaled_to_spectral_norm(np.eye(2), np.float32(-1)), "lam"),
    ],
)
def test_bad_input_names_argument(call, match):
    p, tr = trace()
    with pytest.raises(ValueError, match=rf"^{match}:"):
        call(p, tr)


# -- scaled_to_spectral_norm, state_gradient_norms and the decay explorer's scenario --------


def assert_frozen(result):
    """Every array field is read-only and the dataclass cannot be reassigned."""
    arrays = [
        f.name
        for f in dataclasses.fields(result)
        if isinstance(getattr(result, f.name), np.ndarray)
    ]
    assert arrays
    for name in arrays:
        a = getattr(result, name)
        assert not a.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            a[(0,) * a.ndim] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, arrays[0], None)


@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    lam=st.floats(1e-3, 1e3),
    seed=st.integers(0, 10_000),
)
def test_scaled_to_spectral_norm_sets_largest_singular_value(shape, lam, seed):
    W = np.random.default_rng(seed).normal(size=shape)
    before = W.copy()
    V = jac.scaled_to_spectral_norm(W, lam)
    assert np.linalg.norm(V, 2) == pytest.approx(lam, rel=1e-12)
    np.testing.assert_allclose(V * np.linalg.norm(W, 2), W * lam, rtol=1e-12)  # one common factor
    np.testing.assert_array_equal(W, before)  # the caller's array is untouched


def loss_at(tr, ds, t):
    """Targets that make only E_t nonzero: elsewhere the target is the output itself."""
    only = tr.Y.copy()
    only[t - 1] = ds[t - 1]
    return only


@pytest.mark.parametrize("g1", G1)
def test_state_gradient_norms_are_rows_of_single_loss_terms(g1):
    p, tr = trace(H=3, T=7, g1=g1, scale=1.3)
    ds = np.random.default_rng(5).normal(size=(7, 1))
    M = jac.state_gradient_norms(p, tr, ds)
    assert M.shape == (7, 7)
    for t in range(1, 8):
        g = rl.rnn.bptt(p, tr, loss_at(tr, ds, t), at="all")  # dS[i] = dE_t/dS_i
        np.testing.assert_allclose(M[t - 1], np.linalg.norm(g.dS[1:], axis=-1), rtol=1e-12)
    assert np.all(np.triu(M, 1) == 0.0)  # E_t does not read S_i for i > t


def decay_direct(scale, g1, N, seed, H=8):
    """The decay explorer's computation as it was inside rnnlib.widgets, written out."""
    rng = np.random.default_rng(seed)
    p = rl.rnn.init(1, H, 1, seed=seed)
    p.Ws = p.Ws * (scale / np.linalg.norm(p.Ws, 2))
    xs, ds = rng.normal(0.0, 1.0, (N, 1)), rng.normal(0.0, 1.0, (N, 1))
    tr = rl.rnn.forward(p, xs, g1=g1)
    g = rl.rnn.bptt(p, tr, ds, at="last")
    norm = np.linalg.norm(g.dS[1:], axis=-1)
    term = np.linalg.norm(g.terms["Ws"].reshape(N, -1), axis=-1)
    rate = jac.gamma(g1) * scale
    bound = norm[-1] * rate ** (N - np.arange(1, N + 1)).astype(float)
    e = rl.rnn.output_error(tr, ds, at="all") @ p.Wy
    d1 = rl.activations.get(g1).df(tr.A)
    M, V = np.zeros((N, N)), np.zeros((N, H))
    for i in range(N, 0, -1):
        V[i - 1] = e[i - 1]
        M[:, i - 1] = np.linalg.norm(V, axis=-1)
        V = (V * d1[i - 1]) @ p.Ws
    return norm, term, bound, rate, M


@pytest.mark.parametrize(
    ("scale", "g1", "N", "seed"),
    [(1.0, "tanh", 30, 0), (0.3, "sigmoid", 5, 4), (2.5, "relu", 60, 9), (1.1, "identity", 17, 2)],
)
def test_decay_profile_equals_direct_computation(scale, g1, N, seed):
    r = jac.decay_profile(scale, g1, N, seed)
    norm, term, bound, rate, M = decay_direct(scale, g1, N, seed)
    for got, want in ((r.norm, norm), (r.term, term), (r.bound, bound), (r.heat, M)):
        np.testing.assert_array_equal(got, want)
    assert r.rate == rate and r.gamma == jac.gamma(g1)
    assert r.horizon == jac.horizon_from_rate(rate)
    assert r.finite


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    scale=st.floats(0.1, 10.0),
    g1=st.sampled_from(G1),
    N=st.integers(1, 40),
    seed=st.integers(0, 9),
)
def test_decay_profile_invariants(scale, g1, N, seed):
    r = jac.decay_profile(scale, g1, N, seed)
    assert r.norm.shape == r.term.shape == r.bound.shape == (N,) and r.heat.shape == (N, N)
    np.testing.assert_allclose(r.heat[-1], r.norm, rtol=1e-12)  # row N of the heat map is E_N
    assert np.all(r.norm <= r.bound * (1 + 1e-9) + 1e-300)  # the Pascanu bound holds
    assert r.bound[-1] == r.norm[-1]


def test_decay_profile_is_cached_and_read_only():
    r = jac.decay_profile(1.0, "tanh", 12, 0)
    assert jac.decay_profile(1.0, "tanh", 12, 0) is r
    assert jac.decay_profile(1, g1="tanh", N=12, seed=0, H=8) is r  # normalized arguments
    assert_frozen(r)
    assert jac.decay_profile(1.0, "tanh", 12, 0).norm[0] == decay_direct(1.0, "tanh", 12, 0)[0][0]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: jac.scaled_to_spectral_norm(np.eye(2), 0.0), "lam"),
        (lambda: jac.scaled_to_spectral_norm(np.eye(2), float("inf")), "lam"),
        (lambda: jac.scaled_to_spectral_norm(np.eye(2), True), "lam"),
        (lambda: jac.scaled_to_spectral_norm(np.zeros((2, 2)), 1.0), "W"),
        (lambda: jac.scaled_to_spectral_norm(np.ones(3), 1.0), "W"),
        (lambda: jac.scaled_to_spectral_norm([[np.nan]], 1.0), "W"),
        (lambda: jac.state_gradient_norms(*trace(), np.zeros((5, 1))), "ds"),
        (lambda: jac.decay_profile(0.0), "scale"),
        (lambda: jac.decay_profile(float("nan")), "scale"),
        (lambda: jac.decay_profile([1.0]), "scale"),
        (lambda: jac.decay_profile(1.0, "softsign"), "g1"),
        (lambda: jac.decay_profile(1.0, "tanh", 0), "N"),
        (lambda: jac.decay_profile(1.0, "tanh", True), "N"),
        (lambda: jac.decay_profile(1.0, "tanh", 5, -1), "seed"),
        (lambda: jac.decay_profile(1.0, "tanh", 5, 0.5), "seed"),
        (lambda: jac.decay_profile(1.0, "tanh", 5, 0, H=0), "H"),
    ],
)
def test_new_functions_bad_input_names_argument(call, match):
    with pytest.raises(ValueError, match=rf"^{match}:"):
        call()
