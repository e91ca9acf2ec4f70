"""rnnlib.truncation.tbptt: TBPTT(k1, k2) against full and truncated BPTT and a hand computation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib.truncation import tbptt


def data(T=9, B=None, D=2, H=4, seed=0):
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    xs = rng.normal(size=(T,) + batch + (D,))
    ds = rng.normal(size=(T,) + batch + (1,))
    return rl.rnn.init(D, H, 1, seed=seed), xs, ds


def assert_same(a, b, names=("Wx", "Ws", "Wy")):
    for n in names:
        x = a[n] if isinstance(a, dict) else getattr(a, n)
        y = b[n] if isinstance(b, dict) else getattr(b, n)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    T=st.integers(1, 10),
    B=st.sampled_from([None, 3]),
    at=st.sampled_from(["all", "last"]),
    g1=st.sampled_from(["tanh", "sigmoid", "relu"]),
    seed=st.integers(0, 1000),
)
def test_k1_equal_k2_equal_T_is_full_bptt(T, B, at, g1, seed):
    p, xs, ds = data(T, B, seed=seed)
    s0 = np.random.default_rng(seed).normal(size=(() if B is None else (B,)) + (4,))
    r = tbptt(rl.rnn, p, xs, ds, T, T, at=at, g1=g1, s0=s0)
    full = rl.rnn.bptt(p, rl.rnn.forward(p, xs, s0=s0, g1=g1), ds, at=at)
    assert_same(r.grads, full)
    assert_same(r.full, full)
    assert r.windows == [(0, T)] and r.rel_error < 1e-12
    assert r.loss == pytest.approx(rl.rnn.loss(rl.rnn.forward(p, xs, s0=s0, g1=g1), ds, at=at))


@pytest.mark.parametrize("k2", [1, 2, 4, 9, 20])
@pytest.mark.parametrize("B", [None, 2])
def test_k1_one_is_per_term_truncation(k2, B):
    p, xs, ds = data(9, B)
    r = tbptt(rl.rnn, p, xs, ds, 1, k2)
    assert_same(r.grads, rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="all", truncate=k2))


@pytest.mark.parametrize(("k1", "k2"), [(1, 3), (3, 5), (4, 4), (2, 9)])
def test_loss_at_last_step_is_plain_truncation(k1, k2):
    p, xs, ds = data(9)
    r = tbptt(rl.rnn, p, xs, ds, k1, k2, at="last")
    assert_same(r.grads, rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="last", truncate=k2))


@pytest.mark.parametrize(("k1", "k2"), [(2, 3), (3, 5), (4, 4), (4, 6)])
def test_segments_and_windows(k1, k2):
    T = 10
    p, xs, ds = data(T, 2)
    r = tbptt(rl.rnn, p, xs, ds, k1, k2)
    ends = list(range(k1, T, k1)) + [T]
    assert r.windows == [(max(e - k2, 0), e) for e in ends]
    assert len(r.segments) == len(ends)
    for n in p.names:
        np.testing.assert_allclose(sum(s[n] for s in r.segments), r.grads[n], rtol=1e-13)
    assert 0 < r.rel_error and 0 < r.cosine <= 1


def eq_tbptt(p, xs, ds, k1, k2):
    """The book's eq-tbptt written out: sum over segments m, loss steps tau in the segment,
    and i from max(1, t_m - k2 + 1) to tau of term i of dE_tau/dW (segment ends
    t_m = min(m k1, T), the last one possibly short)."""
    T = xs.shape[0]
    ends = [min(m * k1, T) for m in range(1, -(-T // k1) + 1)]
    out = {n: np.zeros_like(getattr(p, n)) for n in p.names}
    for lo, hi in zip([0] + ends[:-1], ends, strict=True):
        for tau in range(lo + 1, hi + 1):
            terms = rl.rnn.bptt(p, rl.rnn.forward(p, xs[:tau]), ds[:tau], at="last").terms
            for i in range(max(1, hi - k2 + 1), tau + 1):
                for n in p.names:
                    out[n] += terms[n][i - 1]
    return out


@pytest.mark.parametrize(
    ("T", "k1", "k2"), [(23, 5, 8), (10, 3, 3), (10, 4, 10), (7, 7, 7), (9, 2, 5)]
)
def test_equals_the_books_formula_with_lower_bound_and_short_last_segment(T, k1, k2):
    p, xs, ds = data(T, 2)
    r = tbptt(rl.rnn, p, xs, ds, k1, k2)
    assert_same(r.grads, eq_tbptt(p, xs, ds, k1, k2))


def test_detach_every_k_steps_loop_is_tbptt_k_k():
    """The framework loop (forward k steps from the detached state, backpropagate their loss),
    for T a multiple of k; with a short last segment TBPTT(k, k) reaches k steps back there."""
    T, k = 12, 4
    p, xs, ds = data(T, 2)
    total = {n: np.zeros_like(getattr(p, n)) for n in p.names}
    state = None
    for a in range(0, T, k):
        tr = rl.rnn.forward(p, xs[a : a + k], s0=state)
        g = rl.rnn.bptt(p, tr, ds[a : a + k], at="all")
        for n in p.names:
            total[n] += getattr(g, n)
        state = tr.S[-1]
    assert_same(total, tbptt(rl.rnn, p, xs, ds, k, k).grads)
    per_term = rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="all", truncate=k)
    assert not np.allclose(total["Ws"], per_term.Ws)


def test_hand_computed_scalar_case():
    # S_t = u x_t + w S_{t-1}, Y_t = S_t, E = sum_t S_t^2 (targets 0); u = 1, w = 1/2,
    # x = (1, 0, 0) gives S = (1, 1/2, 1/4).
    p = rl.rnn.Params(Wx=np.array([[1.0]]), Ws=np.array([[0.5]]), Wy=np.array([[1.0]]))
    xs = np.array([[1.0], [0.0], [0.0]])
    ds = np.zeros((3, 1))
    kw = {"g1": "identity"}
    # TBPTT(1, 1): only immediate terms, dE/dWs = sum 2 S_t S_{t-1}, dE/dWx = sum 2 S_t x_t
    r = tbptt(rl.rnn, p, xs, ds, 1, 1, **kw)
    assert r.grads["Ws"][0, 0] == pytest.approx(2 * (1 * 0 + 0.5 * 1 + 0.25 * 0.5))  # 1.25
    assert r.grads["Wx"][0, 0] == pytest.approx(2.0)
    assert r.grads["Wy"][0, 0] == pytest.approx(2 * (1 + 0.25 + 0.0625))
    # TBPTT(2, 2): segment (0, 2] with E_1, E_2: dE/dS_2 = 1, dE/dS_1 = 2 + 1 * 1/2 = 2.5,
    # so dWs = 1 * S_1 + 2.5 * S_0 = 1 and dWx = 2.5 x_1 = 2.5.  Segment (2, 3] with E_3,
    # window (1, 3]: dE/dS_3 = 0.5, dE/dS_2 = 0.25, dWs = 0.5 S_2 + 0.25 S_1 = 0.5, dWx = 0.
    r = tbptt(rl.rnn, p, xs, ds, 2, 2, **kw)
    assert r.windows == [(0, 2), (1, 3)]
    assert r.segments[0]["Ws"][0, 0] == pytest.approx(1.0)
    assert r.segments[1]["Ws"][0, 0] == pytest.approx(0.5)
    assert r.grads["Wx"][0, 0] == pytest.approx(2.5)
    # full BPTT: dE/dS_1 = 2 + (1 + 0.25) / 2 = 2.625 reaches x_1, so dWx = 2.625;
    # TBPTT(2, 2) misses exactly E_3's path back to S_1: 0.5 * 0.5 * 0.5 = 0.125
    assert r.full["Wx"][0, 0] == pytest.approx(2.625)
    assert r.full["Ws"][0, 0] == pytest.approx(1.5) == r.grads["Ws"][0, 0]


def test_lstm_k1_equal_k2_equal_T_is_full_bptt():
    lstm = pytest.importorskip("rnnlib.lstm")
    rng = np.random.default_rng(0)
    p = lstm.init(2, 3, 1, seed=0)
    xs, ds = rng.normal(size=(7, 2, 2)), rng.normal(size=(7, 2, 1))
    r = tbptt(lstm, p, xs, ds, 7, 7)
    full = lstm.bptt(p, lstm.forward(p, xs), ds, at="all")
    assert_same(r.grads, full, p.names)
    # streaming with k1 = 1 equals per-term truncation there too
    r1 = tbptt(lstm, p, xs, ds, 1, 3)
    assert_same(r1.grads, lstm.bptt(p, lstm.forward(p, xs), ds, at="all", truncate=3), p.names)
    r2 = tbptt(lstm, p, xs, ds, 2, 3)
    assert len(r2.windows) == 4 and r2.rel_error > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k1": 0}, "k1"),
        ({"k1": 1.5}, "k1"),
        ({"k2": 0}, "k2"),
        ({"k1": 4, "k2": 3}, "k2"),
        ({"at": "first"}, "at"),
        ({"xs": np.zeros((0, 2))}, "xs"),
        ({"xs": np.full((9, 2), np.nan)}, "xs"),
        ({"ds": np.zeros((8, 1))}, "ds"),
        ({"g1": "cos"}, "g1"),
        ({"s0": np.zeros(3)}, "s0"),
        ({"model": None}, "model"),
        ({"model": np}, "model"),
        ({"model": rl.lstm}, "params"),
        ({"params": None}, "params"),
        ({"xs": np.zeros((9, 2)) + 1j}, "xs"),
        ({"ds": np.full((9, 1), "0")}, "ds"),
    ],
)
def test_bad_input_names_argument(kwargs, match):
    p, xs, ds = data(9)
    args = {"model": rl.rnn, "params": p, "xs": xs, "ds": ds, "k1": 2, "k2": 3} | kwargs
    with pytest.raises(ValueError, match=rf"^{match}:"):
        tbptt(**args)


def test_the_lstm_declares_a_fixed_hidden_activation():
    p = rl.lstm.init(2, 3, 1, seed=0)
    with pytest.raises(ValueError, match="^g1: rnnlib.lstm has a fixed hidden activation"):
        tbptt(rl.lstm, p, np.zeros((6, 2)), np.zeros((6, 1)), 2, 3, g1="relu")
