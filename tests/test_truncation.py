"""rnnlib.engine.backward against the explicit sum over chains; rnnlib.truncation's profile."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib.engine import backward
from rnnlib.truncation import truncation_profile


def linear_problem(seed, T, B, H, last_only):
    """Random step Jacobians M[t-1] = dS_t/dS_{t-1} and local errors e[t-1] = dE_t/dS_t."""
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    M = rng.normal(0.0, 0.8, (T, H, H))
    e = rng.normal(0.0, 1.0, (T,) + batch + (H,))
    if last_only:
        e[:-1] = 0.0
    return M, e, (lambda t, v: v @ M[t - 1])


def explicit(M, e, k):
    """dS_i = sum over t >= i with t - i < k of e_t M_t M_{t-1} ... M_{i+1}: O(T^2) chains."""
    T = len(e)
    dS = np.zeros((T + 1,) + e.shape[1:])
    for t in range(1, T + 1):
        v = e[t - 1]
        for i in range(t, max(t - k, -1), -1):  # i = t, ..., max(t - k + 1, 0)
            dS[i] += v
            if i > 0:
                v = v @ M[i - 1]
    return dS


cases = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 10**6),
        T=st.integers(1, 7),
        B=st.one_of(st.none(), st.integers(1, 3)),
        H=st.integers(1, 4),
        last_only=st.booleans(),
    )
)


@given(c=cases, k=st.one_of(st.none(), st.integers(1, 9)))
def test_recursion_equals_explicit_sum_of_chains(c, k):
    M, e, vjp = linear_problem(**c)
    b = backward(e, vjp, truncate=k, last_only=c["last_only"])
    ref = explicit(M, e, c["T"] + 1 if k is None else k)
    np.testing.assert_allclose(b.dS, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.norms, np.linalg.norm(b.dS[1:], axis=-1), rtol=1e-14)
    assert not b.clipped.any()


@given(c=cases, k=st.one_of(st.none(), st.integers(1, 9)))
def test_last_only_flag_is_an_optimisation_not_a_different_answer(c, k):
    M, e, vjp = linear_problem(**(c | {"last_only": True}))
    fast = backward(e, vjp, truncate=k, last_only=True)
    general = backward(e, vjp, truncate=k, last_only=False)
    np.testing.assert_allclose(fast.dS, general.dS, rtol=1e-14, atol=1e-300)


@given(c=cases, theta=st.floats(0.05, 3.0))
def test_clipping_follows_its_definition(c, theta):
    """dS_t = clip(e_t + dS_{t+1} M_{t+1}), clip(v) = v * min(1, theta / ||v||), per sequence."""
    M, e, vjp = linear_problem(**c)
    b = backward(e, vjp, clip_step=theta, last_only=c["last_only"])
    T = c["T"]
    v = e[-1]
    for t in range(T, 0, -1):
        n = np.linalg.norm(v, axis=-1)
        np.testing.assert_allclose(b.norms[t - 1], n, rtol=1e-12)
        np.testing.assert_array_equal(b.clipped[t - 1], n > theta)
        v = v * np.minimum(1.0, theta / np.maximum(n, 1e-300))[..., None]
        np.testing.assert_allclose(b.dS[t], v, rtol=1e-12, atol=1e-14)
        v = v @ M[t - 1] + (e[t - 2] if t > 1 else 0.0)
    np.testing.assert_allclose(b.dS[0], v, rtol=1e-12, atol=1e-14)
    assert np.all(np.linalg.norm(b.dS[1:], axis=-1) <= theta * (1 + 1e-12))


@pytest.mark.parametrize("last_only", [False, True])
def test_truncate_one_keeps_only_the_local_errors(last_only):
    M, e, vjp = linear_problem(0, T=6, B=2, H=3, last_only=last_only)
    b = backward(e, vjp, truncate=1, last_only=last_only)
    np.testing.assert_array_equal(b.dS[1:], e)
    assert not np.any(b.dS[0])


# -- truncation_profile: the truncation explorer's scenario ---------------------------------


def profile_direct(N, scale, H=8, seed=0):
    """The truncation explorer's computation as it was inside rnnlib.widgets, written out."""
    rng = np.random.default_rng(seed)
    p = rl.rnn.init(1, H, 1, seed=seed)
    p.Ws = p.Ws * (scale / np.linalg.norm(p.Ws, 2))
    xs, ds = rng.normal(size=(N, 1)), rng.normal(size=(N, 1))
    tr = rl.rnn.forward(p, xs)
    terms = rl.rnn.bptt(p, tr, ds).terms["Ws"].reshape(N, -1)
    full = terms.sum(axis=0)
    trunc = np.cumsum(terms[::-1], axis=0)
    nf = np.linalg.norm(full)
    cos = trunc @ full / (np.linalg.norm(trunc, axis=1) * nf)
    err = np.linalg.norm(trunc - full, axis=1) / nf
    return p, tr, ds, np.linalg.norm(terms, axis=1), cos, err


@pytest.mark.parametrize(("N", "scale"), [(20, 1.0), (2, 0.5), (40, 2.0), (12, 1.35)])
def test_truncation_profile_equals_direct_computation(N, scale):
    r = truncation_profile(N, scale)
    *_, size, cos, err = profile_direct(N, scale)
    np.testing.assert_array_equal(r.term_norm, size)
    np.testing.assert_array_equal(r.cos, cos)
    np.testing.assert_array_equal(r.rel_error, err)
    assert r.finite


@pytest.mark.parametrize(("N", "scale", "seed"), [(12, 1.2, 0), (9, 0.7, 3), (15, 1.8, 1)])
def test_truncation_profile_is_truncated_bptt(N, scale, seed):
    """The k newest terms are exactly rnn.bptt(..., truncate=k) for the loss at the last step."""
    r = truncation_profile(N, scale, seed=seed)
    p, tr, ds, *_ = profile_direct(N, scale, seed=seed)
    full = rl.rnn.bptt(p, tr, ds).Ws.ravel()
    for k in range(1, N + 1):
        g = rl.rnn.bptt(p, tr, ds, truncate=k).Ws.ravel()
        cos = g @ full / (np.linalg.norm(g) * np.linalg.norm(full))
        assert r.cos[k - 1] == pytest.approx(cos, rel=1e-10)
        rel = np.linalg.norm(g - full) / np.linalg.norm(full)
        assert r.rel_error[k - 1] == pytest.approx(rel, rel=1e-8, abs=1e-14)
    assert r.rel_error[-1] == pytest.approx(0.0, abs=1e-14)  # k = N is full BPTT
    assert r.cos[-1] == pytest.approx(1.0, rel=1e-14)


def test_truncation_profile_is_cached_and_read_only():
    r = truncation_profile(10, 1.1)
    assert truncation_profile(10, 1.1) is r
    assert truncation_profile(N=10, scale=1.1, H=8, seed=0) is r
    for name in ("term_norm", "cos", "rel_error"):
        a = getattr(r, name)
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.cos = None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(N=0, scale=1.0), "N"),
        (dict(N=2.0, scale=1.0), "N"),
        (dict(N=5, scale=0.0), "scale"),
        (dict(N=5, scale=np.nan), "scale"),
        (dict(N=5, scale=1.0, H=0), "H"),
        (dict(N=5, scale=1.0, seed=-2), "seed"),
    ],
)
def test_truncation_profile_bad_input_names_argument(kwargs, match):
    with pytest.raises(ValueError, match=rf"^{match}:"):
        truncation_profile(**kwargs)


# -- randomized_truncation: unbiased in expectation, biased when q = 0 -----------------------


def recall_setup(T=9, B=3, seed=0):
    task = rl.tasks.recall(T - 1, batch=B, seed=seed)
    return rl.rnn.init(2, 5, 1, seed=seed), task.xs, task.ds


def exact_expectation(r, k, q):
    """sum_K P(K) g_K over every length, with the tail K >= J lumped (all its estimates agree)."""
    J = len(r.survive)
    out = {}
    for name, s in r.slices.items():
        w = s / r.survive.reshape((-1,) + (1,) * (s.ndim - 1))
        running = np.concatenate([np.zeros((1,) + s.shape[1:]), np.cumsum(w, axis=0)])
        total = np.zeros(s.shape[1:])
        for K in range(k, J):  # P(K) = q^(K-k) (1 - q)
            total += q ** (K - k) * (1 - q) * running[K]
        total += q ** max(J - k, 0) * running[J]  # P(K >= J)
        out[name] = total
    return out


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize(("k", "q"), [(1, 0.5), (2, 0.8), (4, 0.3)])
def test_randomized_truncation_is_unbiased_exactly(at, k, q):
    p, xs, ds = recall_setup()
    # enough draws that some reach the start of the sequence, so every slice is present
    r = rl.truncation.randomized_truncation(rl.rnn, p, xs, ds, k, q, 4000, seed=1, at=at)
    assert len(r.survive) == xs.shape[0]
    expected = exact_expectation(r, k, q)
    for n in p.names:
        np.testing.assert_allclose(expected[n], r.full[n], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(r.slices[n].sum(axis=0), r.full[n], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("at", ["last", "all"])
def test_randomized_truncation_estimates_follow_their_definition(at):
    p, xs, ds = recall_setup()
    k, q = 2, 0.6
    r = rl.truncation.randomized_truncation(rl.rnn, p, xs, ds, k, q, 50, seed=3, at=at)
    tr = rl.rnn.forward(p, xs)
    assert np.all(r.lengths >= k)
    np.testing.assert_allclose(r.survive[:k], 1.0)
    np.testing.assert_allclose(r.survive[k:], q ** np.arange(1, len(r.survive) - k + 1))
    for idx in (0, 7, 49):
        K = int(r.lengths[idx])
        g = [rl.rnn.bptt(p, tr, ds, at=at, truncate=m) for m in range(1, max(K, 1) + 1)]
        # rebuild g_K = sum_{j<K} (g_{j+1} - g_j) / c_j from truncated BPTT alone
        for n in p.names:
            prev, est = 0.0, 0.0
            for j in range(min(K, xs.shape[0])):
                cur = getattr(g[j], n)
                est = est + (cur - prev) / r.survive[j]
                prev = cur
            np.testing.assert_allclose(r.estimates[n][idx], est, rtol=1e-10, atol=1e-12)


def test_randomized_truncation_mean_approaches_full_while_fixed_stays_biased():
    p, xs, ds = recall_setup(T=13)
    r = rl.truncation.randomized_truncation(rl.rnn, p, xs, ds, 3, 0.8, 20000, seed=0)
    assert r.fixed_rel_error > 0.1
    assert r.rel_bias() < 0.2 * r.fixed_rel_error
    # the error of the mean shrinks with more draws (on average like 1/sqrt(n))
    assert r.rel_bias(20000) < r.rel_bias(200)
    # the price: a single estimate lies far from the full gradient, farther than the fixed one
    assert r.rel_spread > r.fixed_rel_error


def test_randomized_truncation_with_q_zero_is_fixed_truncation():
    p, xs, ds = recall_setup()
    r = rl.truncation.randomized_truncation(rl.rnn, p, xs, ds, 3, 0.0, 5, at="all")
    ref = rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="all", truncate=3)
    assert np.all(r.lengths == 3)
    for n in p.names:
        np.testing.assert_allclose(r.fixed[n], getattr(ref, n), rtol=1e-13)
        for e in r.estimates[n]:
            np.testing.assert_allclose(e, getattr(ref, n), rtol=1e-12, atol=1e-14)
    assert r.rel_bias() == pytest.approx(r.fixed_rel_error, rel=1e-10)


def test_randomized_truncation_works_for_the_lstm():
    p = rl.lstm.init(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, ds = rng.normal(size=(6, 2, 2)), rng.normal(size=(6, 2, 1))
    r = rl.truncation.randomized_truncation(rl.lstm, p, xs, ds, 2, 0.7, 3000, seed=0, at="all")
    expected = exact_expectation(r, 2, 0.7)
    for n in p.names:
        np.testing.assert_allclose(expected[n], r.full[n], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(k=0), "k"),
        (dict(k=2.5), "k"),
        (dict(q=1.0), "q"),
        (dict(q=-0.1), "q"),
        (dict(q=np.nan), "q"),
        (dict(n=0), "n"),
        (dict(seed=-1), "seed"),
        (dict(at="first"), "at"),
        (dict(xs=np.zeros((0, 3, 2))), "xs"),
        (dict(xs=np.full((9, 3, 2), np.nan)), "xs"),
        (dict(ds=np.zeros((4, 3, 1))), "ds"),
        (dict(ds=np.zeros((9, 1))), "ds"),
        (dict(model=np), "model"),
        (dict(model=rl.lstm), "params"),
        (dict(g1="cos"), "g1"),
        (dict(s0=np.zeros(4)), "s0"),
    ],
)
def test_randomized_truncation_bad_input_names_argument(kwargs, match):
    p, xs, ds = recall_setup()
    args = dict(model=rl.rnn, params=p, xs=xs, ds=ds, k=2, q=0.5, n=10) | kwargs
    with pytest.raises(ValueError, match=rf"^{match}:"):
        rl.truncation.randomized_truncation(**args)


def test_randomized_truncation_mean_of_n_checks_n():
    p, xs, ds = recall_setup()
    r = rl.truncation.randomized_truncation(rl.rnn, p, xs, ds, 2, 0.5, 10)
    with pytest.raises(ValueError, match="^n:"):
        r.mean(0)
