"""rnnlib.gradcheck: exact on known gradients, loud on wrong ones, sensible near zero."""

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnlib import gradcheck as gc
from rnnlib import rnn


@dataclass
class Quad:
    """f = sum(A * W^3) + sum(b^2): gradient 3 A W^2 and 2 b."""

    W: np.ndarray
    b: np.ndarray
    names = ("W", "b")

    def copy(self):
        return Quad(self.W.copy(), self.b.copy())


A = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])


def f(q):
    return float(np.sum(A * q.W**3) + np.sum(q.b**2))


def exact(q):
    return {"W": 3 * A * q.W**2, "b": 2 * q.b}


def quad(seed=0):
    rng = np.random.default_rng(seed)
    return Quad(rng.normal(size=(2, 3)), rng.normal(size=4))


@pytest.mark.parametrize("order, eps, rtol", [(2, 1e-6, 1e-7), (4, 1e-3, 1e-10)])
def test_numeric_grad_of_a_cubic(order, eps, rtol):
    q = quad()
    before = q.W.copy()
    num = gc.numeric_grad(f, q, eps=eps, order=order)
    np.testing.assert_array_equal(q.W, before)  # params are not modified
    for n, g in exact(q).items():
        np.testing.assert_allclose(num[n], g, rtol=rtol, atol=1e-9)


def test_dict_params_and_dict_grads():
    q = quad()
    params = {"W": q.W, "b": q.b}
    r = gc.check(lambda d: f(Quad(d["W"], d["b"])), params, exact(q))
    assert r.passed and set(r.max_rel) == {"W", "b"}


def test_integer_params_are_differentiated_in_float64():
    q = Quad(np.array([[1, 2, 3], [4, 5, 6]]), np.array([1, -1, 2, 0]))
    num = gc.numeric_grad(f, q, order=4, eps=1e-3)
    np.testing.assert_allclose(num["W"], 3 * A * q.W**2, rtol=1e-10)


def test_check_passes_and_fails_with_analytic_beside_numeric():
    q = quad()
    good = exact(q)
    assert gc.check(f, q, good).passed
    bad = {"W": good["W"].copy(), "b": good["b"]}
    bad["W"][1, 2] *= 1.001
    r = gc.check(f, q, bad)
    assert not r.passed and r.max_rel["W"] == pytest.approx(1e-3, rel=1e-2)
    assert r.max_rel["b"] < 1e-7
    with pytest.raises(AssertionError) as info:
        gc.assert_grads(f, q, bad)
    msg = str(info.value)
    assert "FAILED" in msg and "W[1, 2]" in msg
    assert f"{bad['W'][1, 2]: .12e}" in msg  # the analytic value ...
    assert f"{r.numeric['W'][1, 2]: .12e}" in msg  # ... beside the numeric one
    assert "BAD W" in msg and "ok  b" in msg


def test_check_accepts_a_grads_object_and_rejects_wrong_shapes():
    p = rnn.init(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, ds = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 1))
    g = rnn.bptt(p, rnn.forward(p, xs), ds, "all")
    loss = lambda q: rnn.loss(rnn.forward(q, xs), ds, "all")  # noqa: E731
    assert gc.assert_grads(loss, p, g, eps=1e-3, order=4).passed
    with pytest.raises(ValueError, match="grads"):
        gc.check(loss, p, {"Wx": g.Wx, "Ws": g.Ws.T[:2], "Wy": g.Wy})


def test_entries_that_are_both_tiny_are_judged_absolutely():
    # a parameter f hardly depends on: its true gradient 1e-13 is below what FD resolves
    f_tiny = lambda d: float(np.sum(d["w"] ** 2) + 1e-13 * d["v"][0])  # noqa: E731
    params = {"w": np.array([0.3, -0.7]), "v": np.array([2.0])}
    grads = {"w": 2 * params["w"], "v": np.array([1e-13])}
    r = gc.check(f_tiny, params, grads)
    assert r.passed
    zero = {"w": grads["w"], "v": np.array([0.0])}  # 1e-13 vs 0 is below atol as well
    assert gc.check(f_tiny, params, zero).passed
    assert not gc.check(f_tiny, params, {"w": grads["w"], "v": np.array([1e-3])}).passed


@given(
    a=st.floats(-1e6, 1e6, allow_nan=False),
    n=st.floats(-1e6, 1e6, allow_nan=False),
)
def test_relative_error_is_symmetric_and_bounded(a, n):
    r = gc.rel_error(a, n)
    assert r == gc.rel_error(n, a)
    assert 0.0 <= r <= 2.0
    assert (r == 0.0) == (a == n)


def test_relative_error_of_nan_is_infinite():
    assert gc.rel_error(np.nan, 1.0) == np.inf
    assert gc.rel_error(0.0, 0.0) == 0.0
    assert gc.rel_error(0.0, 1e-20, floor=1e-10) == pytest.approx(1e-10)


def test_directional_derivatives():
    q = quad(3)
    a, n = gc.directional(f, q, exact(q), n=6, seed=1)
    assert a.shape == n.shape == (6,)
    np.testing.assert_allclose(a, n, rtol=1e-7, atol=1e-9)
    wrong = {"W": exact(q)["W"], "b": -exact(q)["b"]}
    a2, n2 = gc.directional(f, q, wrong, n=6, seed=1)
    np.testing.assert_allclose(n2, n)  # the numeric side does not depend on the gradient
    assert not np.allclose(a2, n2, rtol=1e-3)


def test_unknown_order():
    with pytest.raises(ValueError, match="^order:"):
        gc.numeric_grad(f, quad(), order=3)


def test_default_tolerance_follows_the_rounding_noise_of_large_losses():
    """A long sequence with a loss ~40: correct gradients pass with the defaults, a
    1e-4 relative error in one entry does not."""
    from rnnlib import lstm

    rng = np.random.default_rng(0)
    p = lstm.init(1, 4, 1, seed=0)
    xs, ds = rng.normal(size=(40, 1)), rng.normal(size=(40, 1))
    loss = lambda q: lstm.loss(lstm.forward(q, xs), ds, "all")  # noqa: E731
    g = lstm.bptt(p, lstm.forward(p, xs), ds, "all")
    r = gc.check(loss, p, g)
    assert loss(p) > 10 and r.passed
    assert r.atol == pytest.approx(gc.NOISE * np.finfo(float).eps * loss(p) / 1e-6)
    g.Wo[0, 0] *= 1 + 1e-4
    assert not gc.check(loss, p, g).passed


def test_rtol_zero_judges_by_the_absolute_error_alone():
    """rtol = 0 used to divide atol by zero (an infinite floor): every gradient passed."""
    q = quad()
    wrong = {"W": exact(q)["W"] + 1.0, "b": exact(q)["b"]}
    r = gc.check(f, q, wrong, rtol=0)
    assert not r.passed and "BAD W" in r.report() and "ok  b" in r.report()
    assert gc.check(f, q, exact(q), rtol=0, atol=1e-6).passed
    assert not gc.check(f, q, exact(q), rtol=0, atol=0).passed  # FD is never exact


BAD = {
    "rtol negative": (dict(rtol=-1e-7), "rtol"),
    "rtol NaN": (dict(rtol=float("nan")), "rtol"),
    "rtol str": (dict(rtol="1e-7"), "rtol"),
    "atol negative": (dict(atol=-1.0), "atol"),
    "atol inf": (dict(atol=float("inf")), "atol"),
    "eps 0": (dict(eps=0.0), "eps"),
    "eps negative": (dict(eps=-1e-6), "eps"),
    "eps NaN": (dict(eps=float("nan")), "eps"),
    "eps inf": (dict(eps=float("inf")), "eps"),
    "order 3": (dict(order=3), "order"),
    "order bool": (dict(order=True), "order"),
    "grads missing a name": (dict(grads={"W": exact(quad())["W"]}), "grads"),
    "grads None": (dict(grads=None), "grads"),
    "grads str entry": (dict(grads={"W": "x", "b": exact(quad())["b"]}), "grads"),
    "params None": (dict(params=None), "params"),
    "params NaN": (dict(params={"W": np.full((2, 3), np.nan), "b": np.zeros(4)}), "params"),
    "params complex": (dict(params={"W": np.zeros((2, 3)) + 1j, "b": np.zeros(4)}), "params"),
    "f not callable": (dict(f=1.0), "f"),
}


@pytest.mark.parametrize("kw, argument", BAD.values(), ids=BAD.keys())
def test_check_bad_input_names_the_argument(kw, argument):
    q = quad()
    args = dict(f=f, params=q, grads=exact(q)) | kw
    if isinstance(args["params"], dict):
        args["f"] = kw.get("f", lambda d: f(Quad(d["W"], d["b"])))
    with pytest.raises(ValueError, match=f"^{argument}"):
        gc.check(**args)


@pytest.mark.parametrize(
    "kw, argument",
    [(dict(n=0), "n"), (dict(n=2.5), "n"), (dict(seed=-1), "seed"), (dict(seed="a"), "seed"),
     (dict(eps=0.0), "eps")],
)  # fmt: skip
def test_directional_bad_input_names_the_argument(kw, argument):
    q = quad()
    with pytest.raises(ValueError, match=f"^{argument}:"):
        gc.directional(f, q, exact(q), **kw)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: gc.numeric_grad(f, quad(), order=[2]), "order"),
        (lambda: gc.numeric_grad(f, quad(), order=np.array([2, 4])), "order"),
        (lambda: gc.rel_error(None, 1.0), "a"),
        (lambda: gc.rel_error(1.0, "x"), "n"),
        (lambda: gc.rel_error(1j, 1.0), "a"),
        (lambda: gc.check(lambda d: 0.0, {}, {}), "params"),
    ],
)
def test_more_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call()
