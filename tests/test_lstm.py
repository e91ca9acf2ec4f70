"""rnnlib.lstm: gradients vs finite differences and a detached surrogate; invariants; bad input;
the recall profile of the LSTM-versus-RNN explorer."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib import gradcheck as gc
from rnnlib import lstm
from rnnlib.activations import ACTIVATIONS, get, sigmoid
from rnnlib.engine import NonFiniteWarning

ACTS = sorted(ACTIVATIONS)
FD = dict(rtol=1e-7, eps=1e-3, atol=1e-11, order=4)  # five-point central differences
MARGIN = 1e-2  # relu output: keep z away from the kink


def make(seed, T=4, B=None, D=2, H=3, O=2, g2="identity", s0=False):
    batch = () if B is None else (B,)
    for attempt in range(200):
        rng = np.random.default_rng([seed, attempt])
        p = lstm.init(D, H, O, seed=int(rng.integers(2**31)), forget_bias=1.0)
        for n in ("bi", "bo", "bg"):  # non-zero biases, so their gradients are exercised fully
            setattr(p, n, rng.normal(0.0, 0.3, H))
        xs = rng.normal(0.0, 0.8, (T,) + batch + (D,))
        ds = rng.normal(0.0, 0.5, (T,) + batch + (O,))
        S0, C0 = rng.normal(0.0, 0.5, (2,) + batch + (H,)) if s0 else (None, None)
        tr = lstm.forward(p, xs, S0, C0, g2)
        if g2 != "relu" or np.min(np.abs(tr.Z[tr.Z != 0]), initial=np.inf) > MARGIN:
            return p, xs, ds, S0, C0, tr
    raise AssertionError("no kink-free problem found")


problems = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 10**6),
        T=st.integers(1, 5),
        B=st.one_of(st.none(), st.integers(1, 3)),
        D=st.integers(1, 3),
        H=st.integers(1, 3),
        O=st.integers(1, 2),
        g2=st.sampled_from(ACTS),
        s0=st.booleans(),
    )
)


def loss_fn(xs, ds, s0, c0, g2, at):
    return lambda q: lstm.loss(lstm.forward(q, xs, s0, c0, g2), ds, at)


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("g2", ACTS)
@given(pb=problems, at=st.sampled_from(["last", "all"]), big=st.booleans())
def test_gradients_match_finite_differences(g2, pb, at, big):
    pb = pb | {"g2": g2}
    p, xs, ds, s0, c0, tr = make(**pb)
    kw = dict(truncate=pb["T"], clip_step=1e6) if big else {}
    g = lstm.bptt(p, tr, ds, at, **kw)
    gc.assert_grads(loss_fn(xs, ds, s0, c0, pb["g2"], at), p, g, **FD)
    assert g.finite and not g.clipped


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B", [None, 2])
def test_initial_state_gradients_match_finite_differences(at, B):
    p, xs, ds, s0, c0, tr = make(4, T=5, B=B, g2="tanh", s0=True)
    g = lstm.bptt(p, tr, ds, at)
    f = lambda q: lstm.loss(lstm.forward(p, xs, q["s0"], q["c0"], "tanh"), ds, at)  # noqa: E731
    gc.assert_grads(f, {"s0": s0, "c0": c0}, {"s0": g.dS[0], "c0": g.dC[0]}, **FD)


def test_state_gradients_match_finite_differences_at_every_step():
    """dS[i] and dC[i] are derivatives of E_i + ... + E_T restarted from (S_i, C_i);
    dC[i] counts the same-step path S_i = o_i tanh(C_i) too."""
    p, xs, ds, s0, c0, tr = make(8, T=5, B=2, g2="sigmoid", s0=True)
    g = lstm.bptt(p, tr, ds, "all")
    for i in range(1, 6):
        o = tr.O[i - 1]

        def tail(S, C, i=i):  # E_i from S_i, then E_{i+1}..E_T from a restart at (S_i, C_i)
            Ei = np.sum((ds[i - 1] - sigmoid(S @ p.Wy.T)) ** 2)
            rest = (
                lstm.loss(lstm.forward(p, xs[i:], S, C, "sigmoid"), ds[i:], "all") if i < 5 else 0
            )
            return Ei + rest

        gc.assert_grads(lambda q, i=i: tail(q["S"], tr.C[i]), {"S": tr.S[i]}, {"S": g.dS[i]}, **FD)
        f_c = lambda q, o=o, tail=tail: tail(o * np.tanh(q["C"]), q["C"])  # noqa: E731
        gc.assert_grads(f_c, {"C": tr.C[i]}, {"C": g.dC[i]}, **FD)


# ---------------------------------------------------------------- truncation


def truncated_surrogate(xs, ds, s0, c0, g2, at, k, tr):
    """Each E_t computed from the *detached* pair ``(S_{t-k}, C_{t-k})`` of the original run."""
    T = len(xs)

    def f(q):
        total = 0.0
        for t in [T] if at == "last" else range(1, T + 1):
            j = max(t - k, 0)
            if j == 0:
                start = (s0, c0)
            else:
                start = (tr.S[j], tr.C[j])
            total += lstm.loss(lstm.forward(q, xs[j:t], *start, g2), ds[j:t], "last")
        return total

    return f


@given(pb=problems, at=st.sampled_from(["last", "all"]), k=st.integers(1, 4))
def test_truncated_gradient_is_the_gradient_of_the_detached_surrogate(pb, at, k):
    p, xs, ds, s0, c0, tr = make(**pb)
    g = lstm.bptt(p, tr, ds, at, truncate=k)
    gc.assert_grads(truncated_surrogate(xs, ds, s0, c0, pb["g2"], at, k, tr), p, g, **FD)


@given(pb=problems, at=st.sampled_from(["last", "all"]), extra=st.integers(0, 3))
def test_truncate_at_least_T_is_full_bptt(pb, at, extra):
    p, xs, ds, s0, c0, tr = make(**pb)
    full, cut = lstm.bptt(p, tr, ds, at), lstm.bptt(p, tr, ds, at, truncate=pb["T"] + extra)
    for n in p.names + ("dS", "dC"):
        np.testing.assert_array_equal(getattr(cut, n), getattr(full, n))


@pytest.mark.parametrize("at", ["last", "all"])
def test_truncate_one_keeps_only_immediate_terms(at):
    p, xs, ds, s0, c0, tr = make(6, T=5, B=2, g2="tanh", s0=True)
    g = lstm.bptt(p, tr, ds, at, truncate=1)
    e = lstm.rnn.output_error(tr, ds, at) @ p.Wy
    np.testing.assert_allclose(g.dS[1:], e, rtol=1e-14)
    # dE/dC_i only through S_i = o_i tanh(C_i) of the same step
    np.testing.assert_allclose(g.dC[1:], e * tr.O * (1 - np.tanh(tr.C[1:]) ** 2), rtol=1e-14)
    assert not np.any(g.dS[0]) and not np.any(g.dC[0])


# ---------------------------------------------------------------- per-step clipping


@given(pb=problems, at=st.sampled_from(["last", "all"]), frac=st.floats(0.05, 0.9))
def test_clip_step_bounds_the_stacked_signal_and_keeps_direction(pb, at, frac):
    p, xs, ds, s0, c0, tr = make(**pb)
    T, H = pb["T"], pb["H"]
    full = lstm.bptt(p, tr, ds, at)
    theta = frac * float(np.max(full.step_norms))
    if theta <= 0:
        return
    g = lstm.bptt(p, tr, ds, at, clip_step=theta)
    assert g.clipped
    # the recursion carries dE/dC_i through C_{i+1} only: undo the same-step path to recover it
    carried = g.dC[1:] - g.dS[1:] * tr.O * (1 - np.tanh(tr.C[1:]) ** 2)
    stacked = np.concatenate([g.dS[1:], carried], axis=-1)
    assert np.all(np.linalg.norm(stacked, axis=-1) <= theta * (1 + 1e-12))
    u_S, u_C = full.dS.reshape(T + 1, -1, H), full.dC.reshape(T + 1, -1, H)
    c_S, c_C = g.dS.reshape(T + 1, -1, H), g.dC.reshape(T + 1, -1, H)
    unclipped = full.step_norms.reshape(T, -1)
    for b, clipped_b in enumerate(g.step_clipped.reshape(T, -1).T):
        if not clipped_b.any():
            continue
        t = int(np.flatnonzero(clipped_b).max()) + 1  # the first clip, counting back from T
        n = unclipped[t - 1, b]
        assert g.step_norms.reshape(T, -1)[t - 1, b] == pytest.approx(n, rel=1e-14)
        np.testing.assert_allclose(c_S[t, b], u_S[t, b] * theta / n, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(c_C[t, b], u_C[t, b] * theta / n, rtol=1e-12, atol=1e-300)


@given(pb=problems, at=st.sampled_from(["last", "all"]))
def test_clip_step_that_never_triggers_is_full_bptt(pb, at):
    p, xs, ds, s0, c0, tr = make(**pb)
    full = lstm.bptt(p, tr, ds, at)
    g = lstm.bptt(p, tr, ds, at, clip_step=1.01 * float(np.max(full.step_norms)) + 1e-300)
    assert not g.clipped
    for n in p.names + ("dS", "dC", "step_norms"):
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
    p, xs, ds, s0, c0, tr = make(**pb)
    g = lstm.bptt(p, tr, ds, **kw)
    assert tuple(g.terms) == p.names
    for n in p.names:
        assert g.terms[n].shape == (pb["T"],) + getattr(p, n).shape
        np.testing.assert_allclose(g.terms[n].sum(axis=0), getattr(g, n), rtol=1e-12, atol=1e-15)


@given(pb=problems.filter(lambda d: d["B"] is not None), kw=settings_st)
def test_batch_gradient_is_sum_of_single_sequence_gradients(pb, kw):
    p, xs, ds, s0, c0, tr = make(**pb)
    g = lstm.bptt(p, tr, ds, **kw)
    singles = []
    for b in range(pb["B"]):
        start = (None, None) if s0 is None else (s0[b], c0[b])
        singles.append(lstm.bptt(p, lstm.forward(p, xs[:, b], *start, pb["g2"]), ds[:, b], **kw))
    for n in p.names:
        total = sum(getattr(s, n) for s in singles)
        np.testing.assert_allclose(getattr(g, n), total, rtol=1e-12, atol=1e-14, err_msg=n)


@pytest.mark.parametrize("g2", ACTS)
def test_one_step_is_a_feed_forward_layer(g2):
    p, xs, ds, s0, c0, tr = make(2, T=1, g2=g2, s0=True)
    f2 = get(g2)
    v = np.concatenate([xs[0], s0])  # the layer's input [x_1; S_0]
    f, i, o = (sigmoid(W @ v + b) for W, b in [(p.Wf, p.bf), (p.Wi, p.bi), (p.Wo, p.bo)])
    gg = np.tanh(p.Wg @ v + p.bg)
    c = f * c0 + i * gg
    h = o * np.tanh(c)
    z = p.Wy @ h
    y = f2.f(z)
    np.testing.assert_allclose(tr.Y[0], y, rtol=1e-15)
    dz = 2 * (y - ds[0]) * f2.df(z)
    dh = p.Wy.T @ dz
    dc = dh * o * (1 - np.tanh(c) ** 2)
    da = {
        "f": dc * c0 * f * (1 - f),
        "i": dc * gg * i * (1 - i),
        "o": dh * np.tanh(c) * o * (1 - o),
        "g": dc * i * (1 - gg**2),
    }
    ref = {"Wy": np.outer(dz, h)}
    for k, d in da.items():
        ref["W" + k], ref["b" + k] = np.outer(d, v), d
    g = lstm.bptt(p, tr, ds)
    for n in p.names:
        np.testing.assert_allclose(getattr(g, n), ref[n], rtol=1e-13, atol=1e-16, err_msg=n)
    np.testing.assert_allclose(g.dC[0], dc * f, rtol=1e-13, atol=1e-16)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kw", [{}, {"truncate": 2}, {"clip_step": 1.0}])
def test_overflow_warns_naming_the_step(kw):
    """Outputs finite but their squares overflow: the loss and the backward pass warn."""
    p = lstm.init(2, 3, 2, seed=0)
    p.Wy = np.full((2, 3), 1e200)
    xs, ds = np.ones((6, 2)), np.zeros((6, 2))
    tr = lstm.forward(p, xs)
    with pytest.warns(NonFiniteWarning, match=r"lstm\.loss: E = inf"):
        assert not np.isfinite(lstm.loss(tr, ds, "all"))
    with pytest.warns(NonFiniteWarning, match=r"lstm\.bptt: dE/dS_t is first not finite at step"):
        g = lstm.bptt(p, tr, ds, "all", **kw)
    assert not g.finite
    for n in g.terms:
        g.terms[n]


@pytest.mark.filterwarnings("error")
def test_huge_gate_weights_saturate_without_warnings():
    p = lstm.init(2, 3, 1, seed=0)
    for n in ("Wf", "Wi", "Wo", "Wg"):
        setattr(p, n, getattr(p, n) * 1e300)
    tr = lstm.forward(p, np.ones((50, 2)))
    assert tr.finite and np.all(np.abs(tr.S) <= 1)


def test_init_shapes_and_forget_bias():
    p = lstm.init(3, 4, 2, seed=1, forget_bias=2.0)
    assert p.Wf.shape == (4, 7) and p.bf.shape == (4,) and p.Wy.shape == (2, 4)
    np.testing.assert_array_equal(p.bf, 2.0)
    np.testing.assert_array_equal(p.bi, 0.0)
    q = p.copy()
    q.Wf[0, 0] += 1
    assert p.Wf[0, 0] != q.Wf[0, 0]


# Bad input to forward, loss, bptt and init: tests/test_bad_input.py, for both models.


# -- recall_profile: the LSTM-versus-RNN explorer's scenario -------------------------------


def recall_direct(lag, forget_bias, seed, H=8):
    """The explorer's computation as it was inside rnnlib.widgets, written out."""
    task = rl.tasks.recall(lag, batch=1, seed=seed)
    xs, ds = task.xs[:, 0], task.ds[:, 0]
    pr = rl.rnn.init(2, H, 1, seed=seed)
    gr = rl.rnn.bptt(pr, rl.rnn.forward(pr, xs), ds)
    pl = lstm.init(2, H, 1, seed=seed, forget_bias=forget_bias)
    tl = lstm.forward(pl, xs)
    gl = lstm.bptt(pl, tl, ds)
    norms = [np.linalg.norm(d[1:], axis=-1) for d in (gr.dS, gl.dS, gl.dC)]
    return norms, tl


@pytest.mark.parametrize(
    ("lag", "forget_bias", "seed"), [(20, 1.0, 0), (2, -2.0, 9), (60, 5.0, 3), (35, 0.5, 1)]
)
def test_recall_profile_equals_direct_computation(lag, forget_bias, seed):
    r = lstm.recall_profile(lag, forget_bias, seed)
    (rnn_n, h_n, c_n), tl = recall_direct(lag, forget_bias, seed)
    for got, want in ((r.rnn_norm, rnn_n), (r.lstm_norm, h_n), (r.cell_norm, c_n)):
        np.testing.assert_array_equal(got, want)
    for g in "FIO":
        np.testing.assert_array_equal(getattr(r, g), getattr(tl, g))
    assert r.rnn_norm.shape == (lag + 1,) and r.F.shape == (lag + 1, 8)
    assert r.rnn_reach == rnn_n[0] / rnn_n[-1] and r.cell_reach == c_n[0] / c_n[-1]
    assert r.lstm_reach == h_n[0] / h_n[-1]
    assert r.finite


def test_recall_profile_forget_bias_keeps_the_cell_gradient():
    """A larger forget bias opens f_t, and dE_N/dC_1 keeps more of its step-N size."""
    reach = [
        (r.cell_reach, r.F.mean())
        for r in (lstm.recall_profile(30, b, 0) for b in (-2.0, 1.0, 5.0))
    ]
    assert reach[0][0] < reach[1][0] < reach[2][0]
    assert reach[0][1] < reach[1][1] < reach[2][1]


def test_recall_profile_is_cached_and_read_only():
    r = lstm.recall_profile(10, 1.0, 0)
    assert lstm.recall_profile(10, 1.0, 0) is r
    assert lstm.recall_profile(10, forget_bias=1, seed=0, H=8) is r
    for name in ("rnn_norm", "lstm_norm", "cell_norm", "F", "I", "O"):
        a = getattr(r, name)
        assert not a.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            a[(0,) * a.ndim] = 0.0
    assert r.F.base is None  # not a view into a writable array of the trace
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.F = None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"lag": 0}, "lag"),
        ({"lag": 2.5}, "lag"),
        ({"forget_bias": np.nan}, "forget_bias"),
        ({"forget_bias": "1"}, "forget_bias"),
        ({"forget_bias": True}, "forget_bias"),
        ({"seed": -1}, "seed"),
        ({"H": 0}, "H"),
    ],
)
def test_recall_profile_bad_input_names_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        lstm.recall_profile(**({"lag": 5} | kwargs))


# -- softmax and cross-entropy --------------------------------------------------------------


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("truncate", [None, 2])
def test_cross_entropy_gradients_match_finite_differences(at, B, onehot, truncate):
    p, xs, _, s0, c0, tr = make(11, T=5, B=B, O=4, g2="softmax", s0=True)
    rng = np.random.default_rng(1)
    d = rng.integers(0, 4, (5,) if B is None else (5, B))
    ds = np.eye(4)[d] if onehot else d
    g = lstm.bptt(p, tr, ds, at, truncate=truncate, kind="cross_entropy")
    k = truncate or 5

    def E(q):  # each E_t from the detached (S_{t-k}, C_{t-k}); k = T is the full loss
        total = 0.0
        for t in [5] if at == "last" else range(1, 6):
            j = max(t - k, 0)
            start = (s0, c0) if j == 0 else (tr.S[j], tr.C[j])
            tr_j = lstm.forward(q, xs[j:t], *start, "softmax")
            total += lstm.loss(tr_j, ds[j:t], "last", kind="cross_entropy")
        return total

    gc.assert_grads(E, p, g, **FD)


def test_cross_entropy_with_per_step_clipping_bounds_the_signal():
    p, xs, _, s0, c0, tr = make(12, T=6, B=2, O=3, g2="softmax", s0=True)
    d = np.random.default_rng(2).integers(0, 3, (6, 2))
    full = lstm.bptt(p, tr, d, "all", kind="cross_entropy")
    theta = 0.5 * float(np.max(full.step_norms))
    g = lstm.bptt(p, tr, d, "all", clip_step=theta, kind="cross_entropy")
    assert g.clipped
    carried = g.dC[1:] - g.dS[1:] * tr.O * (1 - np.tanh(tr.C[1:]) ** 2)
    stacked = np.concatenate([g.dS[1:], carried], axis=-1)
    assert np.all(np.linalg.norm(stacked, axis=-1) <= theta * (1 + 1e-12))
    np.testing.assert_array_equal(g.Wy, full.Wy)  # the output weights sit before every clip


@pytest.mark.parametrize("at", ["last", "all"])
def test_softmax_with_squared_error_matches_finite_differences(at):
    p, xs, ds, s0, c0, tr = make(13, T=4, B=2, O=3, g2="softmax", s0=True)
    g = lstm.bptt(p, tr, ds, at)
    gc.assert_grads(loss_fn(xs, ds, s0, c0, "softmax", at), p, g, **FD)


def test_cross_entropy_error_at_the_output_is_y_minus_onehot():
    """T = 1 by hand: E = -log Y[d], dE/dz = Y - onehot(d), dE/dWy = (Y - onehot) S_1^T."""
    p, xs, _, s0, c0, tr = make(14, T=1, O=3, g2="softmax", s0=True)
    z = p.Wy @ tr.S[1]
    y = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(tr.Y[0], y, rtol=1e-14)
    assert lstm.loss(tr, [1], kind="cross_entropy") == pytest.approx(-np.log(y[1]), rel=1e-14)
    g = lstm.bptt(p, tr, [1], kind="cross_entropy")
    np.testing.assert_allclose(g.Wy, np.outer(y - np.eye(3)[1], tr.S[1]), rtol=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "g2", "argument"),
    [
        ({"kind": "hinge"}, "softmax", "kind"),
        ({"kind": None}, "softmax", "kind"),
        ({"kind": "cross_entropy"}, "identity", "kind"),
        ({"kind": "cross_entropy", "ds": [0, 1, 0, 2]}, "softmax", "ds"),
        ({"kind": "cross_entropy", "ds": [0.0, 1.0, 0.0, 1.0]}, "softmax", "ds"),
        ({"kind": "cross_entropy", "ds": np.zeros((4, 2))}, "softmax", "ds"),
    ],
)
def test_cross_entropy_bad_input_names_the_argument(kwargs, g2, argument):
    p = lstm.init(2, 3, 2, seed=0)
    tr = lstm.forward(p, np.zeros((4, 2)), g2=g2)
    kw = {"ds": [0, 1, 0, 1]} | kwargs
    with pytest.raises(ValueError, match=f"^{argument}:"):
        lstm.loss(tr, **kw)
    with pytest.raises(ValueError, match=f"^{argument}:"):
        lstm.bptt(p, tr, **kw)
