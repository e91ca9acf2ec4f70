"""rnnlib.terms: the scalar model's chain-rule terms against rnn.bptt and SymPy; their factors."""

import dataclasses

import numpy as np
import pytest

import rnnlib as rl
from rnnlib.terms import BackwardWalk, backward_walk, term_factors

WRT = ["Ws", "Wx", "Wy"]


def walk_direct(N, wrt):
    """The backward explorer's computation as it was inside rnnlib.widgets, written out."""
    p = rl.rnn.Params(Wx=np.array([[0.8]]), Ws=np.array([[1.2]]), Wy=np.array([[0.9]]))
    xs = np.random.default_rng(3).normal(0.0, 1.0, (8, 1))[:N]
    ds = np.zeros((N, 1))
    ds[-1] = 1.0
    tr = rl.rnn.forward(p, xs)
    g = rl.rnn.bptt(p, tr, ds)
    return tr, g.terms[wrt][:, 0, 0], float(getattr(g, wrt)[0, 0])


@pytest.mark.parametrize("wrt", WRT)
@pytest.mark.parametrize("N", range(1, 9))
def test_walk_equals_direct_computation(N, wrt):
    w = backward_walk(N, wrt)
    tr, terms, total = walk_direct(N, wrt)
    np.testing.assert_array_equal(w.terms, terms)
    assert w.total == total
    np.testing.assert_array_equal(w.S, tr.S[:, 0])
    np.testing.assert_array_equal(w.xs, tr.xs[:, 0])
    np.testing.assert_array_equal(w.jacobians, (1 - np.tanh(tr.A[:, 0]) ** 2) * 1.2)
    assert w.terms.sum() == pytest.approx(w.total, rel=1e-12, abs=1e-15)
    np.testing.assert_array_equal(w.running, np.cumsum(terms[::-1])[::-1])
    assert w.running[0] == pytest.approx(w.total, rel=1e-12, abs=1e-15)
    assert w.finite and w.N == N and w.wrt == wrt


@pytest.mark.parametrize("wrt", WRT)
@pytest.mark.parametrize("N", range(1, 9))
def test_factors_multiply_to_each_term(N, wrt):
    w = backward_walk(N, wrt)
    for i in range(1, N + 1) if wrt != "Wy" else [N]:
        facs = term_factors(w, i)
        assert all(isinstance(n, str) and isinstance(v, float) for n, v in facs)
        assert len(facs) == (2 if wrt == "Wy" else 3 + (i < N))
        prod = np.prod([v for _, v in facs])
        assert prod == pytest.approx(w.terms[i - 1], rel=1e-12, abs=1e-15)
    if wrt == "Wy":
        assert not np.any(w.terms[:-1])  # E_N reads Wy only through Y_N


@pytest.mark.parametrize("wrt", WRT)
@pytest.mark.parametrize("N", [1, 2, 3, 4])
def test_walk_terms_match_sympy(N, wrt):
    w = backward_walk(N, wrt)
    vals = {"W_x": 0.8, "W_s": 1.2, "W_y": 0.9, "S_0": 0.0, f"d_{N}": 1.0}
    vals |= {f"x_{i}": float(x) for i, x in enumerate(w.xs, start=1)}
    exact = rl.symbolic.evaluate(rl.symbolic.terms(wrt, N), vals)
    np.testing.assert_allclose(exact, w.terms if wrt != "Wy" else w.terms[-1:], rtol=1e-12)


def test_factor_names_are_a_small_fixed_set():
    names = {
        n
        for wrt in WRT
        for N in range(1, 9)
        for i in (range(1, N + 1) if wrt != "Wy" else [N])
        for n, _ in term_factors(backward_walk(N, wrt), i)
    }
    assert names == {
        n
        for wrt in WRT
        for i in (1, 2)
        for n, _ in term_factors(backward_walk(2, wrt), 2 if wrt == "Wy" else i)
    }
    assert len(names) == 6


def test_inputs_are_a_common_prefix():
    longest = backward_walk(8, "Ws").xs
    for N in range(1, 8):
        np.testing.assert_array_equal(backward_walk(N, "Wx").xs, longest[:N])


def test_walk_is_cached_and_read_only():
    w = backward_walk(5, "Wx")
    assert backward_walk(5, "Wx") is w
    assert backward_walk(N=5, wrt="Wx") is w
    for f in dataclasses.fields(w):
        a = getattr(w, f.name)
        if isinstance(a, np.ndarray):
            assert not a.flags.writeable, f.name
            with pytest.raises(ValueError, match="read-only"):
                a[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.total = 0.0
    assert isinstance(term_factors(w, 2), tuple)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: backward_walk(0, "Ws"), "N"),
        (lambda: backward_walk(3.0, "Ws"), "N"),
        (lambda: backward_walk(3, "W_s"), "wrt"),
        (lambda: term_factors(backward_walk(3, "Ws"), 0), "i"),
        (lambda: term_factors(backward_walk(3, "Ws"), 4), "i"),
        (lambda: term_factors(backward_walk(3, "Ws"), True), "i"),
        (lambda: term_factors(backward_walk(3, "Wy"), 2), "i"),
        (lambda: term_factors((3, "Ws"), 1), "walk"),
    ],
)
def test_bad_input_names_argument(call, argument):
    with pytest.raises(ValueError, match=f"^{argument}:"):
        call()


def test_walk_type_is_exported():
    assert rl.terms.BackwardWalk is BackwardWalk
