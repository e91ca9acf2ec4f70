"""rnnlib.rnn: gradients against finite differences, explicit sums and invariants; bad input."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnlib import gradcheck as gc
from rnnlib import rnn
from rnnlib.activations import ACTIVATIONS, get
from rnnlib.engine import NonFiniteWarning

ACTS = sorted(ACTIVATIONS)
# Five-point central differences: accurate to ~1e-11, so 1e-7 holds for every entry above 1e-4.
FD = dict(rtol=1e-7, eps=1e-3, atol=1e-11, order=4)
MARGIN = 1e-2  # relu: no pre-activation this close to its kink, so the FD never straddles it


def make(seed, T=4, B=None, D=2, H=3, O=2, g1="tanh", g2="identity", s0=False, scale=0.8):
    """A small problem whose relu pre-activations (if any) keep a margin from 0."""
    batch = () if B is None else (B,)
    for attempt in range(200):
        rng = np.random.default_rng([seed, attempt])
        p = rnn.init(D, H, O, seed=int(rng.integers(2**31)), scale=scale)
        xs = rng.normal(0.0, 0.7, (T,) + batch + (D,))
        ds = rng.normal(0.0, 0.5, (T,) + batch + (O,))
        S0 = rng.normal(0.0, 0.5, batch + (H,)) if s0 else None
        tr = rnn.forward(p, xs, S0, g1, g2)
        kinks = ([tr.A] if g1 == "relu" else []) + ([tr.Z] if g2 == "relu" else [])
        # exact zeros stay exact (a dead unit's S_t = 0 gives z_t = 0 under any small change)
        if all(np.min(np.abs(a[a != 0]), initial=np.inf) > MARGIN for a in kinks):
            return p, xs, ds, S0, tr
    raise AssertionError("no kink-free problem found")


def loss_fn(xs, ds, s0, g1, g2, at):
    return lambda q: rnn.loss(rnn.forward(q, xs, s0, g1, g2), ds, at)


problems = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 10**6),
        T=st.integers(1, 5),
        B=st.one_of(st.none(), st.integers(1, 3)),
        D=st.integers(1, 3),
        H=st.integers(1, 4),
        O=st.integers(1, 2),
        g1=st.sampled_from(ACTS),
        g2=st.sampled_from(ACTS),
        s0=st.booleans(),
    )
)


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("g1", ACTS)
@pytest.mark.parametrize("g2", ACTS)
@settings(max_examples=12)
@given(pb=problems, at=st.sampled_from(["last", "all"]), extra=st.integers(0, 2), big=st.booleans())
def test_gradients_match_finite_differences(g1, g2, pb, at, extra, big):
    """Full BPTT, and settings that must not change it (truncate >= T, clip_step never reached)."""
    pb = pb | {"g1": g1, "g2": g2}
    p, xs, ds, s0, tr = make(**pb)
    kw = dict(truncate=pb["T"] + extra if big else None, clip_step=1e6 if big else None)
    g = rnn.bptt(p, tr, ds, at, **kw)
    gc.assert_grads(loss_fn(xs, ds, s0, pb["g1"], pb["g2"], at), p, g, **FD)
    assert g.finite and not g.clipped


@pytest.mark.parametrize("g1", ACTS)
@pytest.mark.parametrize("at", ["last", "all"])
def test_ds0_matches_finite_differences_wrt_s0(g1, at):
    p, xs, ds, s0, tr = make(7, T=5, B=2, g1=g1, g2="tanh", s0=True)
    g = rnn.bptt(p, tr, ds, at)
    f = lambda q: rnn.loss(rnn.forward(p, xs, q["s0"], g1, "tanh"), ds, at)  # noqa: E731
    gc.assert_grads(f, {"s0": s0}, {"s0": g.dS[0]}, **FD)


def test_directional_derivatives_agree():
    p, xs, ds, s0, tr = make(3, T=6, B=3, g1="tanh", g2="sigmoid", s0=True)
    g = rnn.bptt(p, tr, ds, "all")
    a, n = gc.directional(loss_fn(xs, ds, s0, "tanh", "sigmoid", "all"), p, g, n=8, eps=1e-5)
    np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------- truncation


def truncated_surrogate(xs, ds, s0, g1, g2, at, k, S):
    """E_trunc: each E_t computed from the *detached* state ``S[t-k]`` (original values).

    Its exact gradient keeps precisely the terms with ``t - i < k``.
    """
    T = len(xs)

    def f(q):
        total = 0.0
        for t in [T] if at == "last" else range(1, T + 1):
            j = max(t - k, 0)
            start = S[j] if (j > 0 or s0 is not None) else None
            total += rnn.loss(rnn.forward(q, xs[j:t], start, g1, g2), ds[j:t], "last")
        return total

    return f


def explicit_truncated_sum(p, tr, ds, at, k):
    """The seeds' explicit O(T^2) sum, one sequence: for every E_t and every i with t-i < k,
    ``dE_t/dS_t (dS_t/dS_{t-1}) ... (dS_{i+1}/dS_i) d+S_i/dW`` with Jacobian matrices."""
    g1 = get(tr.g1)
    T, H = len(tr.xs), p.Ws.shape[0]
    dZ = rnn.output_error(tr, ds, at)
    J = [np.diag(g1.df(tr.A[i - 1])) @ p.Ws for i in range(1, T + 1)]  # J[i-1] = dS_i/dS_{i-1}
    out = {n: np.zeros_like(getattr(p, n)) for n in p.names}
    for t in range(1, T + 1):
        out["Wy"] += np.outer(dZ[t - 1], tr.S[t])
        chain = np.eye(H)  # dS_t/dS_i
        for i in range(t, max(t - k, 0), -1):
            v = (dZ[t - 1] @ p.Wy @ chain) * g1.df(tr.A[i - 1])  # dE_t/da_i
            out["Ws"] += np.outer(v, tr.S[i - 1])
            out["Wx"] += np.outer(v, tr.xs[i - 1])
            chain = chain @ J[i - 1]
    return out


@given(pb=problems, at=st.sampled_from(["last", "all"]), k=st.integers(1, 4))
def test_truncated_gradient_is_the_gradient_of_the_detached_surrogate(pb, at, k):
    p, xs, ds, s0, tr = make(**pb)
    g = rnn.bptt(p, tr, ds, at, truncate=k)
    f = truncated_surrogate(xs, ds, s0, pb["g1"], pb["g2"], at, k, tr.S)
    gc.assert_grads(f, p, g, **FD)


@pytest.mark.parametrize("g1", ACTS)
@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("k", [1, 2, 3, 6, 9])
def test_truncated_gradient_equals_explicit_sum(g1, at, k):
    p, xs, ds, s0, tr = make(11, T=6, g1=g1, g2="tanh", s0=True)
    g = rnn.bptt(p, tr, ds, at, truncate=k)
    ref = explicit_truncated_sum(p, tr, ds, at, k)
    for n in p.names:
        np.testing.assert_allclose(getattr(g, n), ref[n], rtol=1e-12, atol=1e-14, err_msg=n)


@given(pb=problems, at=st.sampled_from(["last", "all"]), extra=st.integers(0, 3))
def test_truncate_at_least_T_is_full_bptt(pb, at, extra):
    p, xs, ds, s0, tr = make(**pb)
    full, cut = rnn.bptt(p, tr, ds, at), rnn.bptt(p, tr, ds, at, truncate=pb["T"] + extra)
    for n in ("Wx", "Ws", "Wy", "dS"):
        np.testing.assert_array_equal(getattr(cut, n), getattr(full, n))


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B", [None, 3])
def test_truncate_one_keeps_only_immediate_terms(at, B):
    p, xs, ds, s0, tr = make(5, T=5, B=B, g1="tanh", g2="sigmoid", s0=True)
    g = rnn.bptt(p, tr, ds, at, truncate=1)
    e = rnn.output_error(tr, ds, at) @ p.Wy  # dE_t/dS_t through Y_t only
    np.testing.assert_allclose(g.dS[1:], e, rtol=1e-14, atol=0)
    assert not np.any(g.dS[0])
    delta = e * get("tanh").df(tr.A)
    H = p.Ws.shape[0]
    ref = delta.reshape(-1, H).T @ tr.S[:-1].reshape(-1, H)
    np.testing.assert_allclose(g.Ws, ref, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- per-step clipping


def clipped_reference(p, tr, ds, at, theta):
    """Per-step clipping written out for one sequence with explicit Jacobian matrices."""
    g1 = get(tr.g1)
    T = len(tr.xs)
    e = rnn.output_error(tr, ds, at) @ p.Wy
    dS = np.zeros_like(tr.S)
    v = e[-1]
    for t in range(T, 0, -1):
        n = np.linalg.norm(v)
        v = v * (theta / n) if n > theta else v
        dS[t] = v
        v = v @ (np.diag(g1.df(tr.A[t - 1])) @ p.Ws) + (e[t - 2] if t > 1 else 0.0)
    dS[0] = v
    delta = dS[1:] * g1.df(tr.A)
    return dS, {"Wx": delta.T @ tr.xs, "Ws": delta.T @ tr.S[:-1]}


@given(pb=problems, at=st.sampled_from(["last", "all"]), frac=st.floats(0.05, 0.9))
def test_clip_step_bounds_every_step_and_keeps_direction(pb, at, frac):
    p, xs, ds, s0, tr = make(**pb)
    full = rnn.bptt(p, tr, ds, at)
    norms = np.linalg.norm(full.dS[1:], axis=-1)  # (T, [B])
    theta = frac * float(np.max(norms))
    if theta <= 0:
        return  # nothing flows back (e.g. a dead relu output): nothing to clip
    g = rnn.bptt(p, tr, ds, at, clip_step=theta)
    assert g.clipped and g.step_clipped.shape == norms.shape
    assert np.all(np.linalg.norm(g.dS[1:], axis=-1) <= theta * (1 + 1e-12))
    # Before the first clip (counting back from T) nothing differs from full BPTT, so there
    # the clipped signal is the unclipped one rescaled to norm theta.
    T, H = pb["T"], pb["H"]
    u_all, c_all = full.dS.reshape(T + 1, -1, H), g.dS.reshape(T + 1, -1, H)
    reported = g.step_norms.reshape(T, -1)
    for b, clipped_b in enumerate(g.step_clipped.reshape(T, -1).T):
        if not clipped_b.any():
            continue
        t = int(np.flatnonzero(clipped_b).max()) + 1
        u = u_all[t, b]
        assert reported[t - 1, b] == pytest.approx(np.linalg.norm(u), rel=1e-14)
        np.testing.assert_allclose(c_all[t, b], theta * u / np.linalg.norm(u), rtol=1e-12)
    # ... and the whole clipped recursion matches one written with explicit Jacobians.
    if pb["B"] is None:
        dS, ref = clipped_reference(p, tr, ds, at, theta)
        np.testing.assert_allclose(g.dS, dS, rtol=1e-12, atol=1e-15)
        for n in ref:
            np.testing.assert_allclose(getattr(g, n), ref[n], rtol=1e-12, atol=1e-15)


@given(pb=problems, at=st.sampled_from(["last", "all"]))
def test_clip_step_that_never_triggers_is_full_bptt(pb, at):
    p, xs, ds, s0, tr = make(**pb)
    full = rnn.bptt(p, tr, ds, at)
    theta = 1.01 * float(np.max(np.linalg.norm(full.dS[1:], axis=-1))) + 1e-300
    g = rnn.bptt(p, tr, ds, at, clip_step=theta)
    assert not g.clipped and not np.any(g.step_clipped)
    np.testing.assert_allclose(g.step_norms, np.linalg.norm(full.dS[1:], axis=-1), rtol=1e-15)
    for n in ("Wx", "Ws", "Wy", "dS"):
        np.testing.assert_array_equal(getattr(g, n), getattr(full, n))


# ---------------------------------------------------------------- invariants


settings_st = st.fixed_dictionaries(
    dict(
        at=st.sampled_from(["last", "all"]),
        truncate=st.one_of(st.none(), st.integers(1, 6)),
        clip_step=st.one_of(st.none(), st.floats(0.01, 2.0)),
    )
)


@given(pb=problems, kw=settings_st)
def test_terms_sum_to_totals(pb, kw):
    p, xs, ds, s0, tr = make(**pb)
    g = rnn.bptt(p, tr, ds, **kw)
    assert set(g.terms) == set(p.names)
    for n in p.names:
        assert g.terms[n].shape == (pb["T"],) + getattr(p, n).shape
        np.testing.assert_allclose(g.terms[n].sum(axis=0), getattr(g, n), rtol=1e-12, atol=1e-15)


@given(pb=problems.filter(lambda d: d["B"] is not None), kw=settings_st)
def test_batch_gradient_is_sum_of_single_sequence_gradients(pb, kw):
    p, xs, ds, s0, tr = make(**pb)
    g = rnn.bptt(p, tr, ds, **kw)
    for n in p.names:
        total = sum(
            getattr(
                rnn.bptt(
                    p,
                    rnn.forward(p, xs[:, b], None if s0 is None else s0[b], pb["g1"], pb["g2"]),
                    ds[:, b],
                    **kw,
                ),
                n,
            )
            for b in range(pb["B"])
        )
        np.testing.assert_allclose(getattr(g, n), total, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("g1", ACTS)
@pytest.mark.parametrize("g2", ACTS)
def test_one_step_is_a_feed_forward_layer(g1, g2):
    p, xs, ds, s0, tr = make(2, T=1, g1=g1, g2=g2, s0=True)
    f1, f2 = get(g1), get(g2)
    x, s, d = xs[0], s0, ds[0]
    a = p.Wx @ x + p.Ws @ s  # one hidden layer fed by x and a constant input s0
    h = f1.f(a)
    z = p.Wy @ h
    y = f2.f(z)
    np.testing.assert_allclose(tr.Y[0], y, rtol=1e-15)
    assert rnn.loss(tr, ds) == pytest.approx(np.sum((d - y) ** 2), rel=1e-15)
    dz = 2 * (y - d) * f2.df(z)
    da = (p.Wy.T @ dz) * f1.df(a)
    g = rnn.bptt(p, tr, ds)
    for name, ref in {"Wy": np.outer(dz, h), "Wx": np.outer(da, x), "Ws": np.outer(da, s)}.items():
        np.testing.assert_allclose(getattr(g, name), ref, rtol=1e-13, atol=1e-16, err_msg=name)
    np.testing.assert_allclose(g.dS[0], p.Ws.T @ da, rtol=1e-13, atol=1e-16)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("g1", ["identity", "relu"])
@pytest.mark.parametrize("kw", [{}, {"truncate": 3}, {"clip_step": 1.0}])
def test_overflow_warns_once_per_pass_naming_the_step(g1, kw):
    """Only NonFiniteWarning (no numpy RuntimeWarning), naming the first bad step."""
    p = rnn.Params(np.full((3, 2), 1e3), np.full((3, 3), 1e3), np.full((1, 3), 1e3))
    xs, ds = np.ones((200, 2)), np.zeros((200, 1))
    with pytest.warns(NonFiniteWarning, match=r"rnn\.forward: .* from step t = \d+ ") as rec:
        tr = rnn.forward(p, xs, g1=g1)
    assert len(rec) == 1 and not tr.finite
    t = int(re.search(r"t = (\d+)", str(rec[0].message)).group(1))
    assert np.all(np.isfinite(tr.S[:t])) and np.all(np.isfinite(tr.Y[: t - 1]))
    assert not (np.all(np.isfinite(tr.S[t])) and np.all(np.isfinite(tr.Y[t - 1])))
    with pytest.warns(NonFiniteWarning, match=r"rnn\.loss: E = (inf|nan)"):
        assert not np.isfinite(rnn.loss(tr, ds, "all"))
    with pytest.warns(NonFiniteWarning, match=r"rnn\.bptt: dE/dS_t is first not finite at step"):
        g = rnn.bptt(p, tr, ds, "all", **kw)
    assert not g.finite
    for n in g.terms:
        g.terms[n]  # reading the per-step terms must not warn again


@pytest.mark.filterwarnings("error")
def test_exploding_identity_network_warns():
    """The issue's case: identity g1 at scale 10, T = 400."""
    p = rnn.init(1, 8, 1, seed=0, scale=10.0)
    xs, ds = np.ones((400, 1)), np.zeros((400, 1))
    with pytest.warns(NonFiniteWarning):
        tr = rnn.forward(p, xs, g1="identity")
    with pytest.warns(NonFiniteWarning):
        rnn.bptt(p, tr, ds)


# Bad input to forward, loss, bptt and init: tests/test_bad_input.py, for both models.
