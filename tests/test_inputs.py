"""What the public functions take: dtypes, Python lists, wrong types and ranks (Hypothesis),
and no aliasing (nothing keeps or mutates a caller's array).

Each input either computes exactly the float64 answer (int and float arrays of any
width, and lists of numbers, are converted) or raises a ``ValueError`` whose
message starts with the argument's name (complex, str, bool, object data, wrong
types, wrong ranks).
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlib as rl
from rnnlib import cliff, clipping, gradcheck, jacobians, lstm, rnn, tasks, train
from rnnlib.truncation import tbptt

MODELS = {"rnn": rnn, "lstm": lstm}
DTYPES = ["bool", "int8", "int32", "int64", "uint8", "float16", "float32", "float64",
          "complex64", "complex128", "str", "object"]  # fmt: skip
NUMERIC = "iuf"


def problem(m, B=None):
    p = m.init(2, 3, 1, seed=0)
    batch = () if B is None else (B,)
    rng = np.random.default_rng(1)
    # small integers: exact in every dtype drawn, so a conversion cannot change a value
    xs = rng.integers(0, 3, (4,) + batch + (2,)).astype(float)
    ds = rng.integers(0, 2, (4,) + batch + (1,)).astype(float)
    return p, xs, ds


def as_drawn(a: np.ndarray, dtype: str, container: str):
    v = a.astype(dtype)
    return v.tolist() if container == "list" else v


def outcome(call):
    """``("ok", value)`` or ``("error", message)``; any other exception fails the test."""
    try:
        return "ok", call()
    except ValueError as e:
        return "error", str(e)


def assert_named(message: str, argument: str):
    assert re.match(re.escape(argument) + r"[:.\[]", message), (argument, message)


def same(a, b):
    if isinstance(a, float | np.floating):
        return a == b
    names = getattr(a, "names", None) or [f for f in ("S", "Y") if hasattr(a, f)]
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in names)


def uses(m, p, xs, ds, s0=None):
    """forward, loss and bptt of one problem (the values every dtype must reproduce)."""
    tr = m.forward(p, xs, s0=s0)
    return tr, m.loss(tr, ds, "all"), m.bptt(p, tr, ds, "all")


ARGS = ["xs", "ds", "s0", "field"]


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=200)
@given(
    dtype=st.sampled_from(DTYPES),
    container=st.sampled_from(["array", "list"]),
    arg=st.sampled_from(ARGS),
    B=st.sampled_from([None, 2]),
)
def test_every_dtype_computes_the_float64_answer_or_names_the_argument(
    name, dtype, container, arg, B
):
    m = MODELS[name]
    p, xs, ds = problem(m, B)
    s0 = np.ones(xs.shape[1:-1] + (3,))
    ref = uses(m, p, xs, ds, s0)
    given_ = {"xs": xs, "ds": ds, "s0": s0}
    if arg == "field":
        field = p.names[1]
        exact = np.abs(np.round(getattr(p, field) * 4))  # small integers >= 0: uint8 too
        value = as_drawn(exact, dtype, container)
        kind = np.asarray(value).dtype.kind
        got = outcome(lambda: m.Params(**({n: getattr(p, n) for n in p.names} | {field: value})))
        if kind in NUMERIC:
            q = m.Params(**({n: getattr(p, n) for n in p.names} | {field: exact}))
            assert got[0] == "ok"
            assert all(np.array_equal(getattr(got[1], n), getattr(q, n)) for n in p.names)
            assert all(getattr(got[1], n).dtype == np.float64 for n in p.names)
        else:
            assert got[0] == "error"
            assert_named(got[1], field)
        return
    value = as_drawn(given_[arg], dtype, container)
    kind = np.asarray(value).dtype.kind
    args = given_ | {arg: value}
    got = outcome(lambda: uses(m, p, args["xs"], args["ds"], args["s0"]))
    if kind in NUMERIC:
        assert got[0] == "ok", got
        assert all(same(a, b) for a, b in zip(got[1], ref, strict=True))
    else:
        assert got[0] == "error"
        assert_named(got[1], arg)


@pytest.mark.parametrize("name", MODELS)
@given(rank=st.integers(0, 5), arg=st.sampled_from(["xs", "ds", "s0"]))
def test_wrong_ranks_name_the_argument(name, rank, arg):
    m = MODELS[name]
    p, xs, ds = problem(m)
    right = {"xs": xs, "ds": ds, "s0": np.zeros(3)}[arg]
    shape = (right.shape[:1] * rank)[: rank - 1] + right.shape[-1:] if rank else ()
    value = np.zeros(shape)
    args = {"xs": xs, "ds": ds, "s0": None} | {arg: value}
    got = outcome(lambda: uses(m, p, args["xs"], args["ds"], args["s0"]))
    if value.shape == right.shape or (arg == "xs" and rank == 3):
        if got[0] == "error":  # a batch of xs needs a batch of ds: then ds is named
            assert_named(got[1], "ds")
        return
    assert got[0] == "error"
    assert_named(got[1], arg)


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from(["rnn params", "lstm params", "rnn trace", "lstm trace", "a module"]),
)


def wrong_object(w):
    if isinstance(w, str) and w.endswith(("params", "trace")):
        m = rnn if w.startswith("rnn") else lstm
        p = m.init(2, 3, 1, seed=0)
        return p if w.endswith("params") else m.forward(p, np.zeros((4, 2)))
    return np if w == "a module" else w


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=100)
@given(w=WRONG, arg=st.sampled_from(["p", "tr"]))
def test_wrong_types_for_p_and_tr_name_them(name, w, arg):
    m = MODELS[name]
    p, xs, ds = problem(m)
    tr = m.forward(p, xs)
    w = wrong_object(w)
    if (arg == "p" and isinstance(w, m.Params)) or (arg == "tr" and isinstance(w, m.Trace)):
        return  # the right type after all
    calls = {
        "p": [lambda: m.forward(w, xs), lambda: m.bptt(w, tr, ds)],
        "tr": [lambda: m.loss(w, ds), lambda: m.bptt(p, w, ds)],
    }[arg]
    for call in calls:
        kind, message = outcome(call)
        assert kind == "error"
        assert_named(message, arg)


# ---------------------------------------------------------------- the analysis functions

OTHERS = {
    "clipping.global_norm": (lambda v: clipping.global_norm({"W": v}), "grads",
                             np.array([[3, 4]])),
    "clipping.clip_by_norm": (lambda v: clipping.clip_by_norm({"W": v}, 1.0)[0]["W"], "grads",
                              np.array([[3, 4]])),
    "jacobians.spectral_radius": (jacobians.spectral_radius, "Ws", np.array([[0, 1], [2, 0]])),
    "jacobians.largest_singular_value": (jacobians.largest_singular_value, "Ws",
                                         np.array([[0, 1], [2, 0]])),
    "jacobians.bound(steps)": (lambda v: jacobians.bound(np.eye(2), "tanh", v), "steps",
                               np.array([0, 1, 2])),
    "jacobians.scaled_to_spectral_norm": (lambda v: jacobians.scaled_to_spectral_norm(v, 2.0),
                                          "W", np.array([[1, 2], [0, 1]])),
    "cliff.loss(w)": (lambda v: cliff.loss(v, -2.0), "w", np.array([4, 5])),
    "cliff.grad(w)": (lambda v: cliff.grad(v, -2.0).b, "w", np.array([4, 5])),
}  # fmt: skip


@pytest.mark.parametrize("fn", OTHERS)
@settings(max_examples=50)
@given(dtype=st.sampled_from(DTYPES), container=st.sampled_from(["array", "list"]))
def test_analysis_functions_take_numbers_of_any_width_and_refuse_the_rest(fn, dtype, container):
    call, arg, base = OTHERS[fn]
    value = as_drawn(base, dtype, container)
    kind = np.asarray(value).dtype.kind
    got = outcome(lambda: call(value))
    if kind in NUMERIC:
        assert got[0] == "ok"
        np.testing.assert_array_equal(got[1], call(base.astype(float)))
    else:
        assert got[0] == "error"
        assert_named(got[1], arg)


# ---------------------------------------------------------------- no aliasing


@pytest.mark.parametrize("name", MODELS)
def test_a_trace_keeps_no_caller_array(name):
    """The issue's case: xs *= 2 after forward must not change the old trace's gradient."""
    m = MODELS[name]
    p, xs, ds = problem(m, B=2)
    s0 = np.full((2, 3), 0.5)
    tr = m.forward(p, xs, s0=s0)
    before = m.bptt(p, tr, ds, "all")
    assert not np.shares_memory(tr.xs, xs) and not np.shares_memory(tr.S, s0)
    xs *= 2
    s0[:] = 0
    after = m.bptt(p, tr, ds, "all")
    for n in p.names:
        np.testing.assert_array_equal(getattr(after, n), getattr(before, n))


@pytest.mark.parametrize("name", MODELS)
def test_params_keep_no_caller_array(name):
    m = MODELS[name]
    p = m.init(2, 3, 1, seed=0)
    arrays = {n: getattr(p, n).copy() for n in p.names}
    q = m.Params(**arrays)
    q2 = q.copy()
    for n in p.names:
        assert not np.shares_memory(getattr(q, n), arrays[n])
        assert not np.shares_memory(getattr(q2, n), getattr(q, n))
    arrays[p.names[0]] += 1
    np.testing.assert_array_equal(getattr(q, p.names[0]), getattr(p, p.names[0]))
    w = np.zeros_like(q.Wy)
    q.Wy = w
    assert not np.shares_memory(q.Wy, w)


def snapshot(*arrays):
    return [np.array(a, copy=True) for a in arrays]


@pytest.mark.parametrize("name", MODELS)
def test_nothing_mutates_a_caller_array(name):
    m = MODELS[name]
    p, xs, ds = problem(m, B=2)
    s0 = np.full((2, 3), 0.5)
    keep = snapshot(xs, ds, s0, *(getattr(p, n) for n in p.names))
    tr = m.forward(p, xs, s0=s0)
    m.loss(tr, ds, "all")
    g = m.bptt(p, tr, ds, "all", truncate=2, clip_step=0.1)
    tbptt(m, p, xs, ds, 2, 3, s0=s0)
    task = tasks.Task("t", xs, ds, "all", 1)
    train.sgd(m, p, task, steps=3, lr=0.1, momentum=0.5, clip="norm", threshold=0.1)
    grads = {n: getattr(g, n) for n in p.names}
    gsnap = snapshot(*grads.values())
    clipping.clip_by_norm(grads, 1e-3)
    clipping.clip_by_value(grads, 1e-3)
    f = lambda q: m.loss(m.forward(q, xs, s0=s0), ds, "all")  # noqa: E731
    gradcheck.check(f, p, g, eps=1e-4, order=4, rtol=1e-6)
    gradcheck.directional(f, p, g, n=2)
    for a, b in zip(keep + gsnap, [xs, ds, s0, *(getattr(p, n) for n in p.names), *grads.values()],
                    strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)


def test_rnn_analysis_mutates_nothing():
    p, xs, ds = problem(rnn)
    tr = rnn.forward(p, xs)
    Ws, xs0, ds0 = p.Ws.copy(), xs.copy(), ds.copy()
    jacobians.norms(p, tr)
    jacobians.state_gradient_norms(p, tr, ds)
    W = p.Ws
    jacobians.scaled_to_spectral_norm(W, 2.0)
    w0, b0 = np.array([4.0, 5.0]), np.array([-2.0, -3.0])
    cliff.sgd(w0, b0, steps=3)
    np.testing.assert_array_equal(p.Ws, Ws)
    np.testing.assert_array_equal(xs, xs0)
    np.testing.assert_array_equal(ds, ds0)
    np.testing.assert_array_equal(w0, [4.0, 5.0])
    np.testing.assert_array_equal(b0, [-2.0, -3.0])


def test_nonfinite_warning_is_exported():
    assert issubclass(rl.NonFiniteWarning, RuntimeWarning)
