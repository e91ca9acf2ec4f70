"""Bad input to rnn and lstm (one harness for both models): every case raises a ValueError
whose message starts with the argument's name.

Each case is ``(call, argument)``: ``call(m)`` misuses model module ``m``.  Cases
that only one model has are listed per model.
"""

import re

import numpy as np
import pytest

from rnnlib import lstm, rnn

MODELS = {"rnn": rnn, "lstm": lstm}
OTHER = {rnn: lstm, lstm: rnn}


def good(m, H=3):
    p = m.init(2, H, 1, seed=0)
    return p, np.zeros((4, 2)), np.zeros((4, 1))


def zeros(m, D, H, O):
    """Parameter arrays of the given sizes, as keyword arguments of ``m.Params``."""
    if m is rnn:
        return dict(Wx=np.zeros((H, D)), Ws=np.zeros((H, H)), Wy=np.zeros((O, H)))
    W = {n: np.zeros((H, D + H)) for n in lstm.WEIGHTS}
    return W | {n: np.zeros(H) for n in lstm.BIASES} | {"Wy": np.zeros((O, H))}


def forward(**kw):
    def call(m):
        p, xs, _ = good(m)
        return m.forward(**(dict(p=p, xs=xs) | kw))

    return call


def field(name, value):
    """``Params`` built with one bad field (``name = "W0"``: the first matrix of the model)."""

    def call(m):
        p, _, _ = good(m)
        n = p.names[0] if name == "W0" else name
        m.Params(**({k: getattr(p, k) for k in p.names} | {n: value(getattr(p, n))}))

    return call


def assign(name, value):
    """A bad value assigned to a field of valid Params."""

    def call(m):
        p, _, _ = good(m)
        n = p.names[0] if name == "W0" else name
        setattr(p, n, value(getattr(p, n)))

    return call


def sized(D, H, O):
    return lambda m: m.Params(**zeros(m, D, H, O))


def bptt(**kw):
    def call(m):
        p, xs, ds = good(m)
        tr = m.forward(p, xs)
        return m.bptt(**(dict(p=p, tr=tr, ds=ds) | kw))

    return call


def loss(**kw):
    def call(m):
        p, xs, ds = good(m)
        return m.loss(**(dict(tr=m.forward(p, xs), ds=ds) | kw))

    return call


def init(**kw):
    return lambda m: m.init(**(dict(n_in=2, n_hidden=3, n_out=1) | kw))


def other_params(m):
    return OTHER[m].init(2, 3, 1, seed=0)


def other_trace(m):
    o = OTHER[m]
    return o.forward(o.init(2, 3, 1, seed=0), np.zeros((4, 2)))


Z = np.zeros
BOTH = {
    # forward: xs
    "xs 1-D": (forward(xs=Z(4)), "xs"),
    "xs 0-D": (forward(xs=1.0), "xs"),
    "xs 4-D": (forward(xs=Z((4, 1, 1, 2))), "xs"),
    "xs wrong D": (forward(xs=Z((4, 3))), "xs"),
    "xs NaN": (forward(xs=np.array([[0.0, np.nan]] * 4)), "xs"),
    "xs inf": (forward(xs=np.array([[np.inf, 0.0]] * 4)), "xs"),
    "T = 0": (forward(xs=Z((0, 2))), "xs"),
    "T = 0 batch": (forward(xs=Z((0, 5, 2))), "xs"),
    "B = 0": (forward(xs=Z((4, 0, 2))), "xs"),
    "xs complex": (forward(xs=Z((4, 2)) + 1j), "xs"),
    "xs complex, zero imaginary": (forward(xs=Z((4, 2), dtype=complex)), "xs"),
    "xs str array": (forward(xs=np.full((4, 2), "1.5")), "xs"),
    "xs str list": (forward(xs=[["1", "2"]] * 4), "xs"),
    "xs str": (forward(xs="0.5"), "xs"),
    "xs object": (forward(xs=Z((4, 2)).astype(object)), "xs"),
    "xs bool": (forward(xs=np.ones((4, 2), dtype=bool)), "xs"),
    "xs None": (forward(xs=None), "xs"),
    "xs dict": (forward(xs={"x": Z((4, 2))}), "xs"),
    "xs ragged list": (forward(xs=[[0.0, 1.0], [0.0]]), "xs"),
    "xs datetime": (forward(xs=Z((4, 2), dtype="datetime64[s]")), "xs"),
    # forward: s0 and g2
    "s0 wrong shape": (forward(s0=Z(4)), "s0"),
    "s0 batch shape": (forward(xs=Z((4, 5, 2)), s0=Z(3)), "s0"),
    "s0 NaN": (forward(s0=np.array([0.0, np.nan, 0.0])), "s0"),
    "s0 inf": (forward(s0=np.array([0.0, -np.inf, 0.0])), "s0"),
    "s0 complex": (forward(s0=Z(3) + 1j), "s0"),
    "s0 str": (forward(s0=["0", "0", "0"]), "s0"),
    "s0 scalar": (forward(s0=0.0), "s0"),
    "unknown g2": (forward(g2="softplus"), "g2"),
    "g2 None": (forward(g2=None), "g2"),
    "g2 list": (forward(g2=["tanh"]), "g2"),
    # forward: p
    "p None": (lambda m: m.forward(None, Z((4, 2))), "p"),
    "p dict": (lambda m: m.forward(dict(zeros(m, 2, 3, 1)), Z((4, 2))), "p"),
    "p tuple": (lambda m: m.forward(tuple(zeros(m, 2, 3, 1).values()), Z((4, 2))), "p"),
    "p other model's Params": (lambda m: m.forward(other_params(m), Z((4, 2))), "p"),
    "p a Trace": (lambda m: m.forward(other_trace(m), Z((4, 2))), "p"),
    # Params, built with a bad field
    "field 1-D": (field("W0", lambda w: w[0]), "W0"),
    "field 3-D": (field("W0", lambda w: w[None]), "W0"),
    "field NaN": (field("W0", lambda w: np.full_like(w, np.nan)), "W0"),
    "field inf": (field("W0", lambda w: np.full_like(w, -np.inf)), "W0"),
    "field complex": (field("W0", lambda w: w + 0.5j), "W0"),
    "field str": (field("W0", lambda w: w.astype(str)), "W0"),
    "field object": (field("W0", lambda w: w.astype(object)), "W0"),
    "field bool": (field("W0", lambda w: w > 0), "W0"),
    "field None": (field("W0", lambda w: None), "W0"),
    "field dict": (field("W0", lambda w: {"W": w}), "W0"),
    "field ragged": (field("W0", lambda w: [[0.0], [0.0, 1.0]]), "W0"),
    "Wy wrong H": (field("Wy", lambda w: Z((1, 4))), "Wy"),
    "Wy 1-D": (field("Wy", lambda w: Z(3)), "Wy"),
    "H = 0": (sized(2, 0, 1), "W0"),
    "D = 0": (sized(0, 3, 1), "W0"),
    "O = 0": (sized(2, 3, 0), "Wy"),
    # Params: a bad value assigned later
    "assign wrong shape": (assign("W0", lambda w: Z((w.shape[0] + 1, w.shape[1]))), "W0"),
    "assign NaN": (assign("W0", lambda w: np.full_like(w, np.nan)), "W0"),
    "assign complex": (assign("W0", lambda w: w * 1j), "W0"),
    "assign str": (assign("Wy", lambda w: w.astype(str)), "Wy"),
    "assign list of wrong shape": (assign("Wy", lambda w: [[1.0]]), "Wy"),
    "assign a field that does not exist": (lambda m: setattr(good(m)[0], "ws", Z((3, 3))), "ws"),
    # loss
    "loss tr None": (loss(tr=None), "tr"),
    "loss tr dict": (loss(tr={"Y": Z((4, 1))}), "tr"),
    "loss tr other model's": (lambda m: m.loss(other_trace(m), Z((4, 1))), "tr"),
    "loss tr is Params": (lambda m: m.loss(m.init(2, 3, 1), Z((4, 1))), "tr"),
    "loss unknown at": (loss(at="sum"), "at"),
    "loss at None": (loss(at=None), "at"),
    "loss at list": (loss(at=["last"]), "at"),
    "loss ds shape": (loss(ds=Z(4)), "ds"),
    "loss ds wrong T": (loss(ds=Z((5, 1))), "ds"),
    "loss ds NaN": (loss(ds=np.full((4, 1), np.nan)), "ds"),
    "loss ds complex": (loss(ds=Z((4, 1)) + 1j), "ds"),
    "loss ds str": (loss(ds=np.full((4, 1), "0")), "ds"),
    "loss ds None": (loss(ds=None), "ds"),
    # bptt
    "ds wrong shape": (bptt(ds=Z((4, 2))), "ds"),
    "ds wrong T": (bptt(ds=Z((3, 1))), "ds"),
    "ds NaN": (bptt(ds=np.full((4, 1), np.nan)), "ds"),
    "ds inf": (bptt(ds=np.full((4, 1), np.inf)), "ds"),
    "ds complex": (bptt(ds=Z((4, 1)) + 2j), "ds"),
    "ds object": (bptt(ds=Z((4, 1)).astype(object)), "ds"),
    "ds bool": (bptt(ds=Z((4, 1), dtype=bool)), "ds"),
    "unknown at": (bptt(at="first"), "at"),
    "truncate 0": (bptt(truncate=0), "truncate"),
    "truncate negative": (bptt(truncate=-2), "truncate"),
    "truncate float": (bptt(truncate=1.5), "truncate"),
    "truncate whole float": (bptt(truncate=2.0), "truncate"),
    "truncate str": (bptt(truncate="3"), "truncate"),
    "truncate bool": (bptt(truncate=True), "truncate"),
    "truncate numpy bool": (bptt(truncate=np.True_), "truncate"),
    "clip_step 0": (bptt(clip_step=0.0), "clip_step"),
    "clip_step negative": (bptt(clip_step=-1.0), "clip_step"),
    "clip_step NaN": (bptt(clip_step=float("nan")), "clip_step"),
    "clip_step inf": (bptt(clip_step=float("inf")), "clip_step"),
    "clip_step str": (bptt(clip_step="1"), "clip_step"),
    "clip_step bool": (bptt(clip_step=True), "clip_step"),
    "clip_step complex": (bptt(clip_step=1 + 0j), "clip_step"),
    "clip_step array": (bptt(clip_step=np.ones(2)), "clip_step"),
    "bptt p None": (bptt(p=None), "p"),
    "bptt p dict": (lambda m: bptt(p=dict(zeros(m, 2, 3, 1)))(m), "p"),
    "bptt p other model's": (lambda m: bptt(p=other_params(m))(m), "p"),
    "bptt tr None": (bptt(tr=None), "tr"),
    "bptt tr other model's": (lambda m: bptt(tr=other_trace(m))(m), "tr"),
    "bptt tr is Params": (lambda m: bptt(tr=m.init(2, 3, 1))(m), "tr"),
    "bptt p and tr differ in H": (lambda m: bptt(p=m.init(2, 4, 1))(m), "tr"),
    "bptt p and tr differ in O": (lambda m: bptt(p=m.init(2, 3, 2))(m), "tr"),
    "bptt p and tr differ in D": (lambda m: bptt(p=m.init(3, 3, 1))(m), "tr"),
    # init
    "n_in 0": (init(n_in=0), "n_in"),
    "n_hidden 0": (init(n_hidden=0), "n_hidden"),
    "n_out 0": (init(n_out=0), "n_out"),
    "n_hidden float": (init(n_hidden=2.5), "n_hidden"),
    "n_hidden str": (init(n_hidden="3"), "n_hidden"),
    "n_hidden None": (init(n_hidden=None), "n_hidden"),
    "n_hidden negative": (init(n_hidden=-3), "n_hidden"),
    "seed str": (init(seed="a"), "seed"),
    "seed float": (init(seed=1.5), "seed"),
    "seed negative": (init(seed=-1), "seed"),
    "seed numpy negative": (init(seed=np.int64(-1)), "seed"),
    "seed bool": (init(seed=True), "seed"),
    "seed None": (init(seed=None), "seed"),
    "seed list": (init(seed=[1, 2]), "seed"),
}

ONLY = {
    rnn: {
        "unknown g1": (forward(g1="softplus"), "g1"),
        "g1 None": (forward(g1=None), "g1"),
        "Ws not square": (field("Ws", lambda w: Z((3, 2))), "Ws"),
        "scale 0": (init(scale=0), "scale"),
        "scale NaN": (init(scale=float("nan")), "scale"),
        "scale str": (init(scale="1"), "scale"),
    },
    lstm: {
        "c0 wrong shape": (forward(xs=Z((4, 5, 2)), c0=Z(3)), "c0"),
        "c0 inf": (forward(c0=np.array([0.0, np.inf, 0.0])), "c0"),
        "c0 complex": (forward(c0=Z(3) + 1j), "c0"),
        "c0 str": (forward(c0=np.array(["0", "0", "0"])), "c0"),
        "Wf no input columns": (field("Wf", lambda w: Z((3, 3))), "Wf"),
        "Wi wrong shape": (field("Wi", lambda w: Z((3, 4))), "Wi"),
        "bo wrong shape": (field("bo", lambda w: Z(4)), "bo"),
        "bf 2-D": (field("bf", lambda w: Z((3, 1))), "bf"),
        "bg complex": (field("bg", lambda w: w + 1j), "bg"),
        "assign bi wrong length": (assign("bi", lambda w: Z(5)), "bi"),
        "forget_bias NaN": (init(forget_bias=float("nan")), "forget_bias"),
        "forget_bias inf": (init(forget_bias=float("inf")), "forget_bias"),
        "forget_bias str": (init(forget_bias="1"), "forget_bias"),
        "forget_bias complex": (init(forget_bias=1j), "forget_bias"),
        "forget_bias None": (init(forget_bias=None), "forget_bias"),
    },
}

CASES = [
    pytest.param(m, call, arg, id=f"{name}-{case}")
    for name, m in MODELS.items()
    for case, (call, arg) in (BOTH | ONLY[m]).items()
]


@pytest.mark.parametrize("m, call, argument", CASES)
def test_bad_input_raises_value_error_naming_the_argument(m, call, argument):
    if argument == "W0":
        argument = m.Params.names[0]
    with pytest.raises(ValueError, match="^" + re.escape(argument) + ":"):
        call(m)


GOOD = {
    "xs as a list": forward(xs=[[0.0, 1.0]] * 4),
    "xs int": forward(xs=np.ones((4, 2), dtype=int)),
    "xs float32": forward(xs=np.ones((4, 2), dtype=np.float32)),
    "seed numpy int": init(seed=np.int64(3)),
    "n_hidden numpy int": init(n_hidden=np.int32(3)),
    "clip_step numpy float": bptt(clip_step=np.float32(0.5)),
    "truncate numpy int": bptt(truncate=np.int64(2)),
}


@pytest.mark.parametrize("model", MODELS.values(), ids=MODELS.keys())
@pytest.mark.parametrize("call", GOOD.values(), ids=GOOD.keys())
def test_what_numpy_users_pass_is_accepted(model, call):
    call(model)
