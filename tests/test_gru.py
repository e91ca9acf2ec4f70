"""rnnlib.gru: gradients vs finite differences and a detached surrogate; invariants;
truncation, per-step clipping, training and TBPTT with the GRU; bad input."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib import gradcheck as gc
from rnnlib import gru
from rnnlib.activations import ACTIVATIONS, get, sigmoid
from rnnlib.engine import NonFiniteWarning

ACTS = sorted(ACTIVATIONS)
FD = dict(rtol=1e-7, eps=1e-3, atol=1e-11, order=4)  # five-point central differences
MARGIN = 1e-2  # relu output: keep z away from the kink


def make(seed, T=4, B=None, D=2, H=3, O=2, g2="identity", s0=False):
    batch = () if B is None else (B,)
    for attempt in range(200):
        rng = np.random.default_rng([seed, attempt])
        p = gru.init(D, H, O, seed=int(rng.integers(2**31)), update_bias=0.5)
        for n in gru.BIASES:  # non-zero biases, so their gradients are exercised fully
            setattr(p, n, rng.normal(0.0, 0.3, H))
        xs = rng.normal(0.0, 0.8, (T,) + batch + (D,))
        ds = rng.normal(0.0, 0.5, (T,) + batch + (O,))
        S0 = rng.normal(0.0, 0.5, batch + (H,)) if s0 else None
        tr = gru.forward(p, xs, S0, g2)
        if g2 != "relu" or np.min(np.abs(tr.Z[tr.Z != 0]), initial=np.inf) > MARGIN:
            return p, xs, ds, S0, tr
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


def loss_fn(xs, ds, s0, g2, at):
    return lambda q: gru.loss(gru.forward(q, xs, s0, g2), ds, at)


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("g2", ACTS)
@given(pb=problems, at=st.sampled_from(["last", "all"]), big=st.booleans())
def test_gradients_match_finite_differences(g2, pb, at, big):
    pb = pb | {"g2": g2}
    p, xs, ds, s0, tr = make(**pb)
    kw = dict(truncate=pb["T"], clip_step=1e6) if big else {}
    g = gru.bptt(p, tr, ds, at, **kw)
    gc.assert_grads(loss_fn(xs, ds, s0, pb["g2"], at), p, g, **FD)
    assert g.finite and not g.clipped


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B", [None, 2])
def test_initial_state_gradient_matches_finite_differences(at, B):
    p, xs, ds, s0, tr = make(4, T=5, B=B, g2="tanh", s0=True)
    g = gru.bptt(p, tr, ds, at)
    f = lambda q: gru.loss(gru.forward(p, xs, q["s0"], "tanh"), ds, at)  # noqa: E731
    gc.assert_grads(f, {"s0": s0}, {"s0": g.dS[0]}, **FD)


def test_state_gradients_match_finite_differences_at_every_step():
    """dS[i] is the derivative of E_i + ... + E_T restarted from S_i."""
    p, xs, ds, s0, tr = make(8, T=5, B=2, g2="sigmoid", s0=True)
    g = gru.bptt(p, tr, ds, "all")
    for i in range(1, 6):

        def tail(S, i=i):
            Ei = np.sum((ds[i - 1] - sigmoid(S @ p.Wy.T)) ** 2)
            rest = gru.loss(gru.forward(p, xs[i:], S, "sigmoid"), ds[i:], "all") if i < 5 else 0
            return Ei + rest

        gc.assert_grads(lambda q, tail=tail: tail(q["S"]), {"S": tr.S[i]}, {"S": g.dS[i]}, **FD)


# ---------------------------------------------------------------- truncation


def truncated_surrogate(xs, ds, s0, g2, at, k, tr):
    """Each E_t computed from the *detached* state ``S_{t-k}`` of the original run."""
    T = len(xs)

    def f(q):
        total = 0.0
        for t in [T] if at == "last" else range(1, T + 1):
            j = max(t - k, 0)
            start = s0 if j == 0 else tr.S[j]
            total += gru.loss(gru.forward(q, xs[j:t], start, g2), ds[j:t], "last")
        return total

    return f


@given(pb=problems, at=st.sampled_from(["last", "all"]), k=st.integers(1, 4))
def test_truncated_gradient_is_the_gradient_of_the_detached_surrogate(pb, at, k):
    p, xs, ds, s0, tr = make(**pb)
    g = gru.bptt(p, tr, ds, at, truncate=k)
    gc.assert_grads(truncated_surrogate(xs, ds, s0, pb["g2"], at, k, tr), p, g, **FD)


@given(pb=problems, at=st.sampled_from(["last", "all"]), extra=st.integers(0, 3))
def test_truncate_at_least_T_is_full_bptt(pb, at, extra):
    p, xs, ds, s0, tr = make(**pb)
    full, cut = gru.bptt(p, tr, ds, at), gru.bptt(p, tr, ds, at, truncate=pb["T"] + extra)
    for n in p.names + ("dS",):
        np.testing.assert_array_equal(getattr(cut, n), getattr(full, n))


@pytest.mark.parametrize("at", ["last", "all"])
def test_truncate_one_keeps_only_immediate_terms(at):
    p, xs, ds, s0, tr = make(6, T=5, B=2, g2="tanh", s0=True)
    g = gru.bptt(p, tr, ds, at, truncate=1)
    np.testing.assert_allclose(g.dS[1:], rl.rnn.output_error(tr, ds, at) @ p.Wy, rtol=1e-14)
    assert not np.any(g.dS[0])


# ---------------------------------------------------------------- per-step clipping


@given(pb=problems, at=st.sampled_from(["last", "all"]), frac=st.floats(0.05, 0.9))
def test_clip_step_bounds_the_signal_and_keeps_direction(pb, at, frac):
    p, xs, ds, s0, tr = make(**pb)
    T, H = pb["T"], pb["H"]
    full = gru.bptt(p, tr, ds, at)
    theta = frac * float(np.max(full.step_norms))
    if theta <= 0:
        return
    g = gru.bptt(p, tr, ds, at, clip_step=theta)
    assert g.clipped
    assert np.all(np.linalg.norm(g.dS[1:], axis=-1) <= theta * (1 + 1e-12))
    u, c = full.dS.reshape(T + 1, -1, H), g.dS.reshape(T + 1, -1, H)
    for b, clipped_b in enumerate(g.step_clipped.reshape(T, -1).T):
        if not clipped_b.any():
            continue
        t = int(np.flatnonzero(clipped_b).max()) + 1  # the first clip, counting back from T
        n = full.step_norms.reshape(T, -1)[t - 1, b]
        np.testing.assert_allclose(c[t, b], u[t, b] * theta / n, rtol=1e-12, atol=1e-300)


def test_clip_step_gradients_match_a_scaled_recursion():
    """Per-step clipping scales the contribution of E_t to dE/dS_i by the factors of the clips
    at steps i..t (each decided on the total signal, so a constant here): the clipped weight
    gradient is the sum of the per-loss, per-step terms of unclipped BPTT, so weighted."""
    p, xs, ds, s0, tr = make(3, T=6, g2="tanh", s0=True)
    full = gru.bptt(p, tr, ds, "all")
    theta = 0.5 * float(np.max(full.step_norms))
    g = gru.bptt(p, tr, ds, "all", clip_step=theta)
    assert g.clipped
    # scale[t-1]: the factor applied to dE/dS_t; a clip at step t scales everything behind it
    scale = np.where(g.step_clipped, theta / g.step_norms, 1.0)
    total = {n: np.zeros_like(getattr(p, n)) for n in p.names}
    for t in range(1, 7):
        ds_t = ds.copy()
        ds_t[np.arange(6) != t - 1] = tr.Y[np.arange(6) != t - 1]  # zero residual elsewhere
        for i in range(1, t + 1):
            # the term of E_t entering through step i: truncated at t - i + 1 minus at t - i
            win = gru.bptt(p, tr, ds_t, "all", truncate=t - i + 1)
            cut = gru.bptt(p, tr, ds_t, "all", truncate=t - i) if t - i >= 1 else None
            f = np.prod(scale[i - 1 : t])
            for n in p.names:
                term = getattr(win, n) - (getattr(cut, n) if cut is not None else 0.0)
                total[n] += f * term
    total["Wy"] = full.Wy  # the output weights read S_t directly: no clip on their path
    for n in p.names:
        np.testing.assert_allclose(getattr(g, n), total[n], rtol=1e-10, atol=1e-13, err_msg=n)


@given(pb=problems, at=st.sampled_from(["last", "all"]))
def test_clip_step_that_never_triggers_is_full_bptt(pb, at):
    p, xs, ds, s0, tr = make(**pb)
    full = gru.bptt(p, tr, ds, at)
    g = gru.bptt(p, tr, ds, at, clip_step=1.01 * float(np.max(full.step_norms)) + 1e-300)
    assert not g.clipped
    for n in p.names + ("dS", "step_norms"):
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
    g = gru.bptt(p, tr, ds, **kw)
    assert tuple(g.terms) == p.names == g.names
    for n in p.names:
        assert g.terms[n].shape == (pb["T"],) + getattr(p, n).shape
        np.testing.assert_allclose(g.terms[n].sum(axis=0), getattr(g, n), rtol=1e-12, atol=1e-15)


@given(pb=problems.filter(lambda d: d["B"] is not None), kw=settings_st)
def test_batch_gradient_is_sum_of_single_sequence_gradients(pb, kw):
    p, xs, ds, s0, tr = make(**pb)
    g = gru.bptt(p, tr, ds, **kw)
    singles = [
        gru.bptt(
            p, gru.forward(p, xs[:, b], None if s0 is None else s0[b], pb["g2"]), ds[:, b], **kw
        )  # fmt: skip
        for b in range(pb["B"])
    ]
    for n in p.names:
        total = sum(getattr(s, n) for s in singles)
        np.testing.assert_allclose(getattr(g, n), total, rtol=1e-12, atol=1e-14, err_msg=n)


@pytest.mark.parametrize("g2", ACTS)
def test_one_step_is_a_feed_forward_layer(g2):
    """T = 1, written out from the torch.nn.GRU equations and differentiated by hand."""
    p, xs, ds, s0, tr = make(2, T=1, g2=g2, s0=True)
    f2, D = get(g2), xs.shape[-1]
    x, v = xs[0], np.concatenate([xs[0], s0])
    r = sigmoid(p.Wr @ v + p.br)
    z = sigmoid(p.Wz @ v + p.bz)
    m = p.Wn[:, D:] @ s0 + p.bsn
    n = np.tanh(p.Wn[:, :D] @ x + p.bxn + r * m)
    h = (1 - z) * n + z * s0
    y = f2.f(p.Wy @ h)
    np.testing.assert_allclose(tr.Y[0], y, rtol=1e-15)
    dz_out = 2 * (y - ds[0]) * f2.df(p.Wy @ h)
    dh = p.Wy.T @ dz_out
    dn = dh * (1 - z) * (1 - n**2)
    dz = dh * (s0 - n) * z * (1 - z)
    dr = dn * m * r * (1 - r)
    ref = {
        "Wr": np.outer(dr, v),
        "Wz": np.outer(dz, v),
        "Wn": np.hstack([np.outer(dn, x), np.outer(dn * r, s0)]),
        "br": dr,
        "bz": dz,
        "bxn": dn,
        "bsn": dn * r,
        "Wy": np.outer(dz_out, h),
    }
    g = gru.bptt(p, tr, ds)
    for k in p.names:
        np.testing.assert_allclose(getattr(g, k), ref[k], rtol=1e-13, atol=1e-16, err_msg=k)
    ds0 = dh * z + p.Wr[:, D:].T @ dr + p.Wz[:, D:].T @ dz + p.Wn[:, D:].T @ (dn * r)
    np.testing.assert_allclose(g.dS[0], ds0, rtol=1e-13, atol=1e-16)


def test_update_gate_at_one_copies_the_state_and_its_gradient():
    """z_t = 1 (a huge update bias): S_t = S_{t-1}, and dE/dS_{t-1} = dE/dS_t + e_{t-1}."""
    p = gru.init(2, 3, 1, seed=0, update_bias=1e3)
    rng = np.random.default_rng(1)
    xs, ds, s0 = rng.normal(size=(6, 2)), rng.normal(size=(6, 1)), rng.normal(size=3)
    tr = gru.forward(p, xs, s0)
    np.testing.assert_array_equal(tr.S, np.broadcast_to(s0, tr.S.shape))
    g = gru.bptt(p, tr, ds, "last")
    np.testing.assert_array_equal(g.dS, np.broadcast_to(g.dS[-1], g.dS.shape))


def test_matches_torch_nn_gru_equations():
    """torch.nn.GRU's documented step, written out on its stacked weight layout
    (weight_ih = [W_ir; W_iz; W_in], weight_hh = [W_hr; W_hz; W_hn], b_ih, b_hh)."""
    p, xs, ds, s0, tr = make(5, T=4, B=2, D=2, H=3, O=1, s0=True)
    D = 2
    w_ih = np.vstack([p.Wr[:, :D], p.Wz[:, :D], p.Wn[:, :D]])
    w_hh = np.vstack([p.Wr[:, D:], p.Wz[:, D:], p.Wn[:, D:]])
    b_ih = np.concatenate([p.br, p.bz, p.bxn])
    b_hh = np.concatenate([0 * p.br, 0 * p.bz, p.bsn])
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h, out = np.broadcast_to(s0, (2, 3)), []
    for x in xs:
        gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        (i_r, i_z, i_n), (h_r, h_z, h_n) = np.split(gi, 3, axis=-1), np.split(gh, 3, axis=-1)
        r, z = sig(i_r + h_r), sig(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        h = (1 - z) * n + z * h
        out.append(h)
    np.testing.assert_allclose(np.array(out), tr.S[1:], rtol=1e-12)


# ---------------------------------------------------------------- with the rest of rnnlib


def test_tbptt_with_the_gru():
    rng = np.random.default_rng(0)
    p = gru.init(2, 3, 1, seed=0)
    xs, ds = rng.normal(size=(7, 2, 2)), rng.normal(size=(7, 2, 1))
    full = gru.bptt(p, gru.forward(p, xs), ds, at="all")
    r = rl.truncation.tbptt(gru, p, xs, ds, 7, 7)
    for n in p.names:
        np.testing.assert_allclose(r.grads[n], getattr(full, n), rtol=1e-12, atol=1e-15)
    r1 = rl.truncation.tbptt(gru, p, xs, ds, 1, 3)
    cut = gru.bptt(p, gru.forward(p, xs), ds, at="all", truncate=3)
    for n in p.names:
        np.testing.assert_allclose(r1.grads[n], getattr(cut, n), rtol=1e-12, atol=1e-15)
    r2 = rl.truncation.tbptt(gru, p, xs, ds, 2, 3)
    assert len(r2.windows) == 4 and r2.rel_error > 0
    with pytest.raises(ValueError, match="^g1: rnnlib.gru has a fixed hidden activation"):
        rl.truncation.tbptt(gru, p, xs, ds, 2, 3, g1="relu")


@pytest.mark.parametrize("kw", [{}, {"clip": "norm", "threshold": 0.5}, {"clip_step": 0.1},
                                {"truncate": 5}])  # fmt: skip
def test_sgd_trains_the_gru(kw):
    p0 = gru.init(1, 8, 1, seed=0)
    h = rl.train.sgd(gru, p0, rl.tasks.sine(20, batch=8), steps=60, lr=0.3, **kw)
    assert h.stopped is None and len(h.loss) == 60
    assert h.loss[-5:].mean() < 0.7 * h.loss[:5].mean()
    assert isinstance(h.params, gru.Params) and not np.array_equal(h.params.Wz, p0.Wz)
    if "clip_step" in kw:
        assert h.clipped.any()


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kw", [{}, {"truncate": 2}, {"clip_step": 1.0}])
def test_overflow_warns_naming_the_step(kw):
    p = gru.init(2, 3, 2, seed=0)
    p.Wy = np.full((2, 3), 1e200)
    xs, ds = np.ones((6, 2)), np.zeros((6, 2))
    tr = gru.forward(p, xs)
    with pytest.warns(NonFiniteWarning, match=r"gru\.loss: E = inf"):
        assert not np.isfinite(gru.loss(tr, ds, "all"))
    with pytest.warns(NonFiniteWarning, match=r"gru\.bptt: dE/dS_t is first not finite at step"):
        g = gru.bptt(p, tr, ds, "all", **kw)
    assert not g.finite


@pytest.mark.filterwarnings("error")
def test_huge_gate_weights_saturate_without_warnings():
    p = gru.init(2, 3, 1, seed=0)
    for n in gru.WEIGHTS:
        setattr(p, n, getattr(p, n) * 1e300)
    tr = gru.forward(p, np.ones((50, 2)))
    assert tr.finite and np.all(np.abs(tr.S) <= 1)


def test_init_shapes_and_update_bias():
    p = gru.init(3, 4, 2, seed=1, update_bias=2.0)
    assert p.Wr.shape == p.Wz.shape == p.Wn.shape == (4, 7) and p.Wy.shape == (2, 4)
    np.testing.assert_array_equal(p.bz, 2.0)
    for n in ("br", "bxn", "bsn"):
        np.testing.assert_array_equal(getattr(p, n), 0.0)
    q = p.copy()
    q.Wz[0, 0] += 1
    assert p.Wz[0, 0] != q.Wz[0, 0]
    assert p.dims == (3, 4, 2)


# ---------------------------------------------------------------- bad input


def _good():
    p = gru.init(2, 3, 1, seed=0)
    return p, np.zeros((4, 2)), np.zeros((4, 1))


def _fields(**bad):
    p, _, _ = _good()
    return gru.Params(**({n: getattr(p, n) for n in p.names} | bad))


def _bptt(**kw):
    p, xs, ds = _good()
    return gru.bptt(**(dict(p=p, tr=gru.forward(p, xs), ds=ds) | kw))


Z = np.zeros
BAD = {
    "xs 1-D": (lambda: gru.forward(_good()[0], Z(4)), "xs"),
    "xs wrong D": (lambda: gru.forward(_good()[0], Z((4, 3))), "xs"),
    "xs NaN": (lambda: gru.forward(_good()[0], np.full((4, 2), np.nan)), "xs"),
    "T = 0": (lambda: gru.forward(_good()[0], Z((0, 2))), "xs"),
    "xs complex": (lambda: gru.forward(_good()[0], Z((4, 2)) + 1j), "xs"),
    "s0 wrong shape": (lambda: gru.forward(_good()[0], Z((4, 2)), s0=Z(4)), "s0"),
    "s0 batch shape": (lambda: gru.forward(_good()[0], Z((4, 5, 2)), s0=Z(3)), "s0"),
    "s0 inf": (lambda: gru.forward(_good()[0], Z((4, 2)), s0=np.array([0, np.inf, 0])), "s0"),
    "c0 is not a GRU argument": (lambda: gru.forward(_good()[0], Z((4, 2)), Z(3), Z(3)), "g2"),
    "unknown g2": (lambda: gru.forward(_good()[0], Z((4, 2)), g2="softplus"), "g2"),
    "p an LSTM's Params": (lambda: gru.forward(rl.lstm.init(2, 3, 1), Z((4, 2))), "p"),
    "p None": (lambda: gru.forward(None, Z((4, 2))), "p"),
    "Wr no input columns": (lambda: _fields(Wr=Z((3, 3))), "Wr"),
    "Wz wrong shape": (lambda: _fields(Wz=Z((3, 4))), "Wz"),
    "Wn NaN": (lambda: _fields(Wn=np.full((3, 5), np.nan)), "Wn"),
    "bsn wrong shape": (lambda: _fields(bsn=Z(4)), "bsn"),
    "bxn 2-D": (lambda: _fields(bxn=Z((3, 1))), "bxn"),
    "bz complex": (lambda: _fields(bz=Z(3) + 1j), "bz"),
    "Wy wrong H": (lambda: _fields(Wy=Z((1, 4))), "Wy"),
    "assign br wrong length": (lambda: setattr(_good()[0], "br", Z(5)), "br"),
    "assign a field that does not exist": (lambda: setattr(_good()[0], "Wf", Z((3, 5))), "Wf"),
    "loss tr an LSTM's": (
        lambda: gru.loss(rl.lstm.forward(rl.lstm.init(2, 3, 1), Z((4, 2))), Z((4, 1))),
        "tr",
    ),
    "loss unknown at": (lambda: gru.loss(gru.forward(_good()[0], Z((4, 2))), Z((4, 1)), "x"), "at"),
    "loss ds wrong T": (lambda: gru.loss(gru.forward(_good()[0], Z((4, 2))), Z((5, 1))), "ds"),
    "ds NaN": (lambda: _bptt(ds=np.full((4, 1), np.nan)), "ds"),
    "unknown at": (lambda: _bptt(at="first"), "at"),
    "truncate 0": (lambda: _bptt(truncate=0), "truncate"),
    "truncate float": (lambda: _bptt(truncate=1.5), "truncate"),
    "clip_step 0": (lambda: _bptt(clip_step=0.0), "clip_step"),
    "clip_step NaN": (lambda: _bptt(clip_step=float("nan")), "clip_step"),
    "bptt p and tr differ in H": (lambda: _bptt(p=gru.init(2, 4, 1)), "tr"),
    "bptt p an LSTM's": (lambda: _bptt(p=rl.lstm.init(2, 3, 1)), "p"),
    "n_hidden 0": (lambda: gru.init(2, 0, 1), "n_hidden"),
    "n_in float": (lambda: gru.init(2.5, 3, 1), "n_in"),
    "seed negative": (lambda: gru.init(2, 3, 1, seed=-1), "seed"),
    "update_bias NaN": (lambda: gru.init(2, 3, 1, update_bias=float("nan")), "update_bias"),
    "update_bias str": (lambda: gru.init(2, 3, 1, update_bias="1"), "update_bias"),
    "update_bias None": (lambda: gru.init(2, 3, 1, update_bias=None), "update_bias"),
}


@pytest.mark.parametrize(("call", "argument"), BAD.values(), ids=BAD.keys())
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match="^" + re.escape(argument) + ":"):
        call()


# ---------------------------------------------------------------- softmax and cross-entropy


def classes(seed, T, B, O):
    rng = np.random.default_rng(seed)
    return rng.integers(0, O, (T,) if B is None else (T, B))


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("kw", [{}, {"truncate": 2}, {"clip_step": 0.05}])
def test_cross_entropy_gradients_match_finite_differences(at, B, onehot, kw):
    p, xs, _, s0, tr = make(11, T=5, B=B, O=4, g2="softmax", s0=True)
    d = classes(1, 5, B, 4)
    ds = np.eye(4)[d] if onehot else d
    g = gru.bptt(p, tr, ds, at, kind="cross_entropy", **kw)
    if "truncate" in kw:
        ce = lambda q: f_ce(q, xs, d, s0, at, kw["truncate"], tr)  # noqa: E731
        gc.assert_grads(ce, p, g, **FD)
    elif "clip_step" in kw:
        assert g.clipped and np.all(np.linalg.norm(g.dS[1:], axis=-1) <= 0.05 * (1 + 1e-12))
    else:
        E = lambda q: gru.loss(gru.forward(q, xs, s0, "softmax"), ds, at, "cross_entropy")  # noqa: E731
        gc.assert_grads(E, p, g, **FD)


def f_ce(q, xs, d, s0, at, k, tr):
    """The truncated cross-entropy surrogate: each E_t from the detached S_{t-k}."""
    T, total = len(xs), 0.0
    for t in [T] if at == "last" else range(1, T + 1):
        j = max(t - k, 0)
        start = s0 if j == 0 else tr.S[j]
        total += gru.loss(gru.forward(q, xs[j:t], start, "softmax"), d[j:t], "last",
                          "cross_entropy")  # fmt: skip
    return total


@pytest.mark.parametrize("at", ["last", "all"])
def test_softmax_with_squared_error_matches_finite_differences(at):
    p, xs, ds, s0, tr = make(12, T=4, B=2, O=3, g2="softmax", s0=True)
    g = gru.bptt(p, tr, ds, at)
    gc.assert_grads(loss_fn(xs, ds, s0, "softmax", at), p, g, **FD)


def test_cross_entropy_error_at_the_output_is_y_minus_onehot():
    """T = 1 by hand: E = -log Y[d], dE/dz = Y - onehot(d), dE/dWy = (Y - onehot) S_1^T."""
    p, xs, _, s0, tr = make(13, T=1, O=3, g2="softmax", s0=True)
    z = p.Wy @ tr.S[1]
    y = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(tr.Y[0], y, rtol=1e-14)
    assert gru.loss(tr, [2], kind="cross_entropy") == pytest.approx(-np.log(y[2]), rel=1e-14)
    g = gru.bptt(p, tr, [2], kind="cross_entropy")
    np.testing.assert_allclose(g.Wy, np.outer(y - np.eye(3)[2], tr.S[1]), rtol=1e-13)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda p, tr: gru.loss(tr, [0, 1, 0, 1], kind="hinge"), "kind"),
        (lambda p, tr: gru.bptt(p, tr, [0, 1, 0, 1], kind=None), "kind"),
        (
            lambda p, tr: gru.bptt(
                p, gru.forward(p, np.zeros((4, 2))), [0, 1, 0, 1], kind="cross_entropy"
            ),
            "kind",
        ),  # fmt: skip
        (lambda p, tr: gru.loss(tr, [0, 1, 0, 2], kind="cross_entropy"), "ds"),
        (lambda p, tr: gru.bptt(p, tr, [0.0, 1.0, 0.0, 1.0], kind="cross_entropy"), "ds"),
        (lambda p, tr: gru.bptt(p, tr, np.zeros((4, 2)), kind="cross_entropy"), "ds"),
    ],
    ids=[
        "unknown kind",
        "kind None",
        "cross-entropy without softmax",
        "class out of range",
        "float classes",
        "rows not one-hot",
    ],  # fmt: skip
)
def test_cross_entropy_bad_input_names_the_argument(call, argument):
    p = gru.init(2, 3, 2, seed=0)
    tr = gru.forward(p, np.zeros((4, 2)), g2="softmax")
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call(p, tr)
