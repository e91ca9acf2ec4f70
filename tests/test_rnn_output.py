"""rnnlib.rnn with biases, the softmax output and the cross-entropy loss.

Gradients against central differences (T > 1, batches), the cross-entropy
gradient against its hand-derived formula at T = 1, the bias-free network
unchanged, and bad input.
"""

import numpy as np
import pytest

from rnnlib import clipping, rnn, tasks, train, truncation
from rnnlib import gradcheck as gc
from rnnlib.activations import ACTIVATIONS

FD = dict(rtol=1e-7, eps=1e-3, atol=1e-11, order=4)
ELEMENTWISE = ("tanh", "sigmoid", "identity")  # no kinks: central differences hold everywhere


def biased(D, H, O, seed, scale=0.8):
    """Params with biases that are not zero (``init`` starts them at zero)."""
    p = rnn.init(D, H, O, seed=seed, scale=scale, bias=True)
    rng = np.random.default_rng(seed + 1000)
    p.bs, p.by = rng.normal(0, 0.5, H), rng.normal(0, 0.5, O)
    return p


def problem(seed, T=5, B=3, D=2, H=4, O=3):
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    xs = rng.normal(0.0, 0.7, (T,) + batch + (D,))
    classes = rng.integers(0, O, (T,) + batch)
    targets = rng.normal(0.0, 0.5, (T,) + batch + (O,))
    return biased(D, H, O, seed), xs, classes, targets


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("B", [None, 1, 3])
@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("g1", ELEMENTWISE)
def test_cross_entropy_gradients_match_finite_differences(B, at, g1):
    p, xs, ds, _ = problem(11, B=B)
    g = rnn.bptt(p, rnn.forward(p, xs, g1=g1, g2="softmax"), ds, at, kind="cross_entropy")

    def f(q):
        return rnn.loss(rnn.forward(q, xs, g1=g1, g2="softmax"), ds, at, kind="cross_entropy")

    assert set(g.names) == {"Wx", "Ws", "Wy", "bs", "by"}
    gc.assert_grads(f, p, g, **FD)


@pytest.mark.parametrize("g2", [*ELEMENTWISE, "softmax"])
@pytest.mark.parametrize("at", ["last", "all"])
def test_squared_error_gradients_with_biases_match_finite_differences(g2, at):
    """The biases under the book's loss, and the softmax's full Jacobian under it."""
    p, xs, _, ds = problem(12, T=4, B=2)
    s0 = np.random.default_rng(5).normal(0, 0.5, (2, 4))
    g = rnn.bptt(p, rnn.forward(p, xs, s0, g2=g2), ds, at)
    gc.assert_grads(lambda q: rnn.loss(rnn.forward(q, xs, s0, g2=g2), ds, at), p, g, **FD)


def test_one_bias_alone_matches_finite_differences():
    p, xs, ds, _ = problem(13, T=4, B=2)
    q = rnn.Params(Wx=p.Wx, Ws=p.Ws, Wy=p.Wy, by=p.by)
    assert q.names == ("Wx", "Ws", "Wy", "by") and q.bs is None
    g = rnn.bptt(q, rnn.forward(q, xs, g2="softmax"), ds, "all", kind="cross_entropy")
    assert g.bs is None and g.names == q.names

    def f(r):
        return rnn.loss(rnn.forward(r, xs, g2="softmax"), ds, "all", kind="cross_entropy")

    gc.assert_grads(f, q, g, **FD)


def test_bias_terms_sum_to_the_bias_gradients():
    p, xs, ds, _ = problem(14, T=6, B=2)
    g = rnn.bptt(p, rnn.forward(p, xs, g2="softmax"), ds, "all", kind="cross_entropy")
    for n in g.names:
        assert g.terms[n].shape == (6,) + getattr(p, n).shape
        np.testing.assert_allclose(g.terms[n].sum(axis=0), getattr(g, n), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- by hand at T = 1


def test_cross_entropy_at_one_step_equals_the_hand_derived_gradient():
    """T = 1, one sequence: every gradient written out from the chain rule.

    a = Wx x + Ws S0 + bs, S1 = tanh(a), z = Wy S1 + by, Y = softmax(z),
    E = -log Y[c] = -z[c] + log sum_k exp z[k].
    dE/dz = Y - e_c;  dE/dWy = (Y - e_c) S1^T;  dE/dby = Y - e_c;
    delta = (Wy^T (Y - e_c)) * (1 - S1^2);
    dE/dWx = delta x^T;  dE/dWs = delta S0^T;  dE/dbs = delta.
    """
    Wx = np.array([[0.5, -0.3], [0.2, 0.8]])
    Ws = np.array([[0.1, 0.4], [-0.6, 0.3]])
    Wy = np.array([[1.0, -1.0], [0.5, 0.7], [-0.2, 0.3]])
    bs, by = np.array([0.1, -0.2]), np.array([0.0, 0.3, -0.1])
    x, S0, c = np.array([1.0, -2.0]), np.array([0.3, -0.4]), 2
    p = rnn.Params(Wx=Wx, Ws=Ws, Wy=Wy, bs=bs, by=by)

    S1 = np.tanh(Wx @ x + Ws @ S0 + bs)
    z = Wy @ S1 + by
    E = -z[c] + np.log(np.sum(np.exp(z)))
    err = np.exp(z) / np.sum(np.exp(z)) - np.eye(3)[c]  # Y - e_c
    delta = (Wy.T @ err) * (1.0 - S1**2)
    want = {"Wx": np.outer(delta, x), "Ws": np.outer(delta, S0), "Wy": np.outer(err, S1),
            "bs": delta, "by": err}  # fmt: skip

    tr = rnn.forward(p, x[None], S0, g2="softmax")
    for ds in ([c], np.eye(3)[[c]]):  # a class index, and the same as a one-hot row
        assert rnn.loss(tr, ds, kind="cross_entropy") == pytest.approx(E, rel=1e-14)
        g = rnn.bptt(p, tr, ds, kind="cross_entropy")
        for n, w in want.items():
            np.testing.assert_allclose(getattr(g, n), w, rtol=1e-13, atol=1e-15, err_msg=n)
        np.testing.assert_allclose(g.dS[0], Ws.T @ delta, rtol=1e-13)
    np.testing.assert_allclose(rnn.output_error(tr, [c], kind="cross_entropy")[0], err, rtol=1e-13)


# ---------------------------------------------------------------- the loss itself


def test_cross_entropy_sums_minus_log_probabilities_over_steps_and_batch():
    p, xs, ds, _ = problem(15, T=4, B=3)
    tr = rnn.forward(p, xs, g2="softmax")
    np.testing.assert_allclose(tr.Y.sum(axis=-1), 1.0, rtol=1e-14)
    picked = np.take_along_axis(tr.Y, ds[..., None], axis=-1)[..., 0]  # Y_t[d_t]
    assert rnn.loss(tr, ds, "all", kind="cross_entropy") == pytest.approx(
        -np.log(picked).sum(), rel=1e-13
    )
    assert rnn.loss(tr, ds, "last", kind="cross_entropy") == pytest.approx(
        -np.log(picked[-1]).sum(), rel=1e-13
    )
    onehot = np.eye(3)[ds]
    assert rnn.loss(tr, onehot, "all", kind="cross_entropy") == pytest.approx(
        rnn.loss(tr, ds, "all", kind="cross_entropy"), rel=1e-15
    )
    g1 = rnn.bptt(p, tr, ds, "all", kind="cross_entropy")
    g2 = rnn.bptt(p, tr, onehot.astype(int), "all", kind="cross_entropy")
    for n in g1.names:
        np.testing.assert_array_equal(getattr(g1, n), getattr(g2, n))


def test_softmax_output_is_stable_for_huge_pre_activations():
    p = rnn.Params(Wx=[[1.0]], Ws=[[0.0]], Wy=[[800.0], [-800.0]], by=[0.0, 0.0])
    tr = rnn.forward(p, [[5.0]], g2="softmax")
    assert np.all(np.isfinite(tr.Y)) and tr.Y[0, 0] == pytest.approx(1.0)
    E = rnn.loss(tr, [1], kind="cross_entropy")  # -log of a probability below 1e-300
    assert np.isfinite(E) and E == pytest.approx(1600 * np.tanh(5.0), rel=1e-12)


def test_init_without_bias_is_the_book_network():
    """``bias=False`` (the default) is the old network; zero biases change no number."""
    rng = np.random.default_rng(16)
    xs, ds = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 2))
    p, q = rnn.init(3, 4, 2, seed=4), rnn.init(3, 4, 2, seed=4, bias=True)
    assert p.names == ("Wx", "Ws", "Wy") and p.bs is None and p.by is None
    assert rnn.Params.names == ("Wx", "Ws", "Wy", "bs", "by")
    np.testing.assert_array_equal(q.bs, 0.0)
    np.testing.assert_array_equal(q.by, 0.0)
    gp = rnn.bptt(p, tp := rnn.forward(p, xs), ds, "all")
    gq = rnn.bptt(q, tq := rnn.forward(q, xs), ds, "all")
    assert gp.names == ("Wx", "Ws", "Wy") and gp.bs is None and gp.by is None
    assert set(gp.terms) == {"Wx", "Ws", "Wy"}
    np.testing.assert_array_equal(tp.Y, tq.Y)
    for n in p.names:
        np.testing.assert_array_equal(getattr(p, n), getattr(q, n))
        np.testing.assert_array_equal(getattr(gp, n), getattr(gq, n))
    # the old explicit recursion, written out: S_t = tanh(Wx x_t + Ws S_{t-1}), Y_t = Wy S_t
    S = np.zeros((2, 4))
    for t in range(5):
        S = np.tanh(xs[t] @ p.Wx.T + S @ p.Ws.T)
        np.testing.assert_allclose(tp.Y[t], S @ p.Wy.T, rtol=1e-14)


def test_copy_training_clipping_and_tbptt_carry_the_biases():
    p, xs, _, ds = problem(17, T=6, B=2)
    q = p.copy()
    assert q.names == p.names and q.bs is not p.bs
    np.testing.assert_array_equal(q.bs, p.bs)
    g = rnn.bptt(p, rnn.forward(p, xs), ds, "all")
    clipped, rep = clipping.clip_by_norm(g, 1e-3)
    assert set(clipped) == set(p.names) and rep.clipped
    assert clipping.global_norm(g) == pytest.approx(
        np.sqrt(sum(np.sum(getattr(g, n) ** 2) for n in p.names))
    )
    task = tasks.Task("biased", xs, ds, "all", 1)
    hist = train.sgd(rnn, p, task, steps=5, lr=0.05)
    assert hist.stopped is None and hist.params.names == p.names
    assert not np.array_equal(hist.params.bs, p.bs)  # the biases are trained too
    assert hist.loss[-1] < hist.loss[0]
    tb = truncation.tbptt(rnn, p, xs, ds, k1=2, k2=6, at="all")
    for n in p.names:
        np.testing.assert_allclose(tb.grads[n], getattr(g, n), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- bad input

RNG = np.random.default_rng(18)
P, XS, CLS, _ = problem(18, T=3, B=2, O=3)
TR = rnn.forward(P, XS, g2="softmax")


def ce(ds, **kw):
    return lambda: rnn.loss(TR, ds, "all", kind="cross_entropy", **kw)


def ce_bptt(ds):
    return lambda: rnn.bptt(P, TR, ds, "all", kind="cross_entropy")


BAD = {
    "index too large": (ce(np.full((3, 2), 3)), "ds", "out of range"),
    "negative index": (ce(np.full((3, 2), -1)), "ds", "out of range"),
    "float indices": (ce(CLS.astype(float)), "ds", "integers"),
    "indices of the wrong shape": (ce(CLS[:2]), "ds", "shape"),
    "indices without the batch": (ce(CLS[:, 0]), "ds", "shape"),
    "one-hot not summing to 1": (ce(np.full((3, 2, 3), 0.5)), "ds", "sum to 1"),
    "one-hot negative": (ce(np.eye(3)[CLS] * 2 - np.eye(3)[(CLS + 1) % 3]), "ds", ">= 0"),
    "one-hot wrong shape": (ce(np.eye(4)[CLS]), "ds", "shape"),
    "one-hot with NaN": (ce(np.full((3, 2, 3), np.nan)), "ds", "NaN"),
    "str targets": (ce("abc"), "ds", ""),
    "bool indices": (ce(CLS > 0), "ds", ""),
    "bptt index too large": (ce_bptt(np.full((3, 2), 7)), "ds", "out of range"),
    "unknown kind": (lambda: rnn.loss(TR, CLS, kind="hinge"), "kind", "cross_entropy"),
    "unknown kind in bptt": (lambda: rnn.bptt(P, TR, CLS, kind=None), "kind", ""),
    "unknown kind in output_error": (lambda: rnn.output_error(TR, CLS, kind=3), "kind", ""),
    "cross-entropy without softmax": (
        lambda: rnn.loss(rnn.forward(P, XS, g2="sigmoid"), CLS, kind="cross_entropy"),
        "kind", "softmax",
    ),
    "softmax as g1": (lambda: rnn.forward(P, XS, g1="softmax"), "g1", "element-wise"),
    "unknown g2": (lambda: rnn.forward(P, XS, g2="softplus"), "g2", "softmax"),
    "bias not a bool": (lambda: rnn.init(2, 3, 1, bias="yes"), "bias", ""),
    "bs of the wrong shape": (lambda: rnn.Params(Wx=P.Wx, Ws=P.Ws, Wy=P.Wy, bs=[1.0]), "bs", ""),
    "by of the wrong shape": (lambda: rnn.Params(Wx=P.Wx, Ws=P.Ws, Wy=P.Wy, by=np.ones(4)), "by",
                              ""),
    "bs with NaN": (lambda: rnn.Params(Wx=P.Wx, Ws=P.Ws, Wy=P.Wy, bs=[np.nan] * 4), "bs", "NaN"),
    "bs as a matrix": (lambda: rnn.Params(Wx=P.Wx, Ws=P.Ws, Wy=P.Wy, bs=np.ones((4, 1))), "bs",
                       "dimensions"),
    "bs added later": (lambda: setattr(rnn.init(2, 3, 1), "bs", np.zeros(3)), "bs", "without"),
    "bs removed later": (lambda: setattr(rnn.init(2, 3, 1, bias=True), "bs", None), "bs", ""),
    "bs reshaped later": (lambda: setattr(rnn.init(2, 3, 1, bias=True), "bs", np.zeros(2)), "bs",
                          "shape"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_input_raises_value_error_naming_the_argument(case):
    call, argument, words = BAD[case]
    with pytest.raises(ValueError, match=f"^{argument}:.*{words}") as info:
        call()
    assert str(info.value).startswith(argument + ":")


def test_bad_input_changes_nothing():
    before = {n: getattr(P, n).copy() for n in P.names}
    with pytest.raises(ValueError):
        P.bs = np.zeros(7)
    for n in P.names:
        np.testing.assert_array_equal(getattr(P, n), before[n])


def test_softmax_is_an_output_not_an_element_wise_activation():
    assert "softmax" not in ACTIVATIONS  # g1, and the element-wise derivative tests, exclude it
