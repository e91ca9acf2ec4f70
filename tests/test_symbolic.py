"""rnnlib.symbolic: the chain-rule sums, proved equal to the derivative and to rnn.bptt."""

import itertools
import re

import numpy as np
import pytest
import sympy as sp

from rnnlib import activations, rnn
from rnnlib import symbolic as sym
from rnnlib.symbolic import _diff, scalar
from rnnlib.symbolic import activations as forms

PAIRS = list(itertools.product(sym.ACTIVATIONS, repeat=2))
NS = range(1, 7)


@pytest.mark.parametrize("g1, g2", PAIRS)
def test_sum_of_terms_is_the_gradient_symbolically(g1, g2):
    for N in NS:
        for wrt in sym.WRT:
            assert sym.check_symbolic(wrt, N, g1, g2), (wrt, N)


@pytest.mark.parametrize("g1, g2", PAIRS)
def test_sum_of_terms_is_the_gradient_at_many_points(g1, g2):
    rng = np.random.default_rng(1)
    for N in NS:
        diffs = [sym.gradient(w, N, g1, g2) - sp.Add(*sym.terms(w, N, g1, g2)) for w in sym.WRT]
        f = sym.lambdify(diffs, N)
        X = rng.uniform(-1.5, 1.5, (len(sym.symbols(N).inputs), 200))
        out = np.array([np.broadcast_to(r, 200) for r in f(*X)])
        assert np.max(np.abs(out)) < 1e-12, N


@pytest.mark.parametrize("g1, g2", PAIRS)
def test_terms_match_bptt_and_gradient_matches_finite_differences(g1, g2):
    for N in NS:
        for seed in (N, N + 10):
            c = sym.compare(N, g1, g2, seed=seed)
            assert c.term_err <= 1e-12 and c.total_err <= 1e-12, str(c)
            assert c.fd_err <= 1e-6, str(c)
            assert c.passed
            assert len(c.rows) == 2 * N + 1


def test_long_sequence_still_agrees():
    c = sym.compare(10, "tanh", "sigmoid", seed=3)
    assert c.passed, str(c)


def test_term_count_and_order():
    assert [t.i for t in sym.expansion("Ws", 4).terms] == [1, 2, 3, 4]
    assert len(sym.terms("Wx", 5)) == 5
    assert len(sym.terms("Wy", 5)) == 1


def test_t3_result_shown_in_the_docstrings():
    S0, S1, S2, S3, Y3, d3 = sp.symbols("S_0 S_1 S_2 S_3 Y_3 d_3")
    Ws, Wy = sp.Symbol("W_s"), sp.Symbol("W_y")
    want = [
        2 * S0 * Ws**2 * Wy * (1 - S1**2) * (1 - S2**2) * (1 - S3**2) * (Y3 - d3),
        2 * S1 * Ws * Wy * (1 - S2**2) * (1 - S3**2) * (Y3 - d3),
        2 * S2 * Wy * (1 - S3**2) * (Y3 - d3),
    ]
    got = [t.expr for t in sym.expansion("Ws", 3).terms]
    assert [sp.expand(g - w) for g, w in zip(got, want, strict=True)] == [0, 0, 0]
    x1, Wx = sp.symbols("x_1 W_x")
    S1e = sp.tanh(Wx * x1 + Ws * S0)
    assert (
        sp.expand(
            sym.gradient("Ws", 1) - 2 * (Wy * S1e - sp.Symbol("d_1")) * Wy * (1 - S1e**2) * S0
        )
        == 0
    )


def test_symbols_are_named_as_the_book():
    names = {str(s) for s in sym.gradient("Ws", 3).free_symbols}
    assert names == {"W_x", "W_s", "W_y", "x_1", "x_2", "x_3", "S_0", "d_3"}
    assert sym.W_s == sp.Symbol("W_s")
    m = sym.model(3)
    assert [str(s) for s in m.defs] == ["S_1", "S_2", "S_3", "Y_3"]


def test_factors_are_the_chain_rule_pieces():
    e = sym.expansion("Wx", 3, "sigmoid", "tanh")
    f = {x.latex: x.expr for x in e.factors()}
    S2, S3, Y3, x2 = sp.symbols("S_2 S_3 Y_3 x_2")
    assert f[r"\frac{\partial S_{3}}{\partial S_{2}}"] == sp.Symbol("W_s") * S3 * (1 - S3)
    assert f[r"\frac{\ipartial S_{2}}{\partial W_x}"] == x2 * S2 * (1 - S2)
    assert f[r"\frac{\partial Y_{3}}{\partial S_{3}}"] == sp.Symbol("W_y") * (1 - Y3**2)


def test_activation_table_is_rnnlibs():
    assert sym.ACTIVATIONS == tuple(activations.ACTIVATIONS)
    assert list(forms.FORMS) == list(activations.ACTIVATIONS)


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_sympy_activations_agree_with_rnnlib_numerically(name):
    a_ = sp.Symbol("a")
    form, act = forms.FORMS[name], activations.get(name)
    a = np.array([-30.0, -2.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 2.0, 30.0])
    g = sp.lambdify(a_, form.f(a_), modules=forms.NUMPY)
    dg = sp.lambdify(a_, form.df(a_, form.f(a_)), modules=forms.NUMPY)
    np.testing.assert_allclose(np.broadcast_to(g(a), a.shape), act.f(a), rtol=1e-15, atol=0)
    np.testing.assert_allclose(np.broadcast_to(dg(a), a.shape), act.df(a), rtol=1e-12, atol=0)
    # exact SymPy numbers too: g and g' evaluated node by node, as evaluate() does
    vals = [float(form.f(sp.Float(v))) for v in a]
    np.testing.assert_allclose(vals, act.f(a), rtol=1e-15, atol=0)
    dvals = [float(sp.sympify(form.df(sp.Float(v), form.f(sp.Float(v))))) for v in a]
    np.testing.assert_allclose(dvals, act.df(a), rtol=1e-12, atol=1e-300)
    # and g' is SymPy's derivative of g (relu's is theta, by its fdiff)
    exact = [float(sp.sympify(sp.diff(form.f(a_), a_)).subs(a_, v)) for v in a]
    np.testing.assert_allclose(exact, act.df(a), rtol=1e-12, atol=1e-300)


def test_custom_activations_match_rnnlib():
    a = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    for name in ("sigmoid", "relu"):
        f = sp.lambdify(sp.Symbol("a"), forms.FORMS[name].f(sp.Symbol("a")), modules=forms.NUMPY)
        np.testing.assert_allclose(f(a), activations.get(name).f(a), rtol=1e-15)
        vals = [float(forms.FORMS[name].f(sp.Float(v))) for v in a]
        np.testing.assert_allclose(vals, activations.get(name).f(a), rtol=1e-15)
    step = sp.lambdify(sp.Symbol("a"), sym.step(sp.Symbol("a")), modules=forms.NUMPY)
    np.testing.assert_array_equal(step(a), activations.get("relu").df(a))  # relu'(0) = 0
    assert sym.step(0) == 0 and sym.step(sp.Float(1e-9)) == 1
    a_ = sp.Symbol("a")
    assert sp.diff(sym.relu(a_), a_) == sym.step(a_)
    assert sp.diff(sym.sigmoid(a_), a_) == sym.sigmoid(a_) * (1 - sym.sigmoid(a_))
    assert sym.relu(a_).rewrite(sp.Piecewise) == sp.Piecewise((a_, a_ > 0), (0, True))


def test_latex_forms():
    seed_t3 = sym.latex_seed("Ws")
    assert seed_t3.count("+") == 2 and r"\ipartial" not in seed_t3
    seed_x = sym.latex_seed("Wx", general=True)
    assert seed_x.startswith(r"\frac{\partial E_N}{\partial W_S}")  # the seed's label, kept
    assert r"\partial Y_N}{\partial S_i}" in seed_x
    general = sym.latex_general("Ws")
    assert r"\prod_{k=i+1}^{N}" in general and r"\ipartial S_i" in general
    assert sym.latex_terms("Ws", 3).count(r"\ipartial") == 3
    assert sym.latex_terms("Wy", 3).count("+") == 0
    factors = sym.latex_factors("Ws", 3)
    assert r"\frac{\partial Y_{3}}{\partial S_{3}} &= W_{y}" in factors
    assert sym.latex_expansion("Ws", 3).count("i = ") == 3
    concrete = sym.latex_concrete("Ws", 3)
    assert r"S_{1} &= \tanh" in concrete
    assert "S_{1}" not in sym.latex_concrete("Ws", 3, explicit=True)
    assert sym.latex_general("Wy")._repr_latex_().startswith("$$")
    assert sym.expansion("Ws", 2)._repr_latex_().startswith("$$")


def _book_forms():
    """Every LaTeX form that speaks the book's notation (not the seed as printed)."""
    out = [sym.latex_general(w) for w in sym.WRT]
    for w in sym.WRT:
        out += [sym.latex_terms(w, 3), sym.latex_factors(w, 3), sym.latex_expansion(w, 3)]
        out += [sym.latex_concrete(w, 2), sym.expansion(w, 2)._repr_latex_()]
        out += [sym.latex_seed(w, reading=r) for r in ("immediate", "total")]
    out += [sym.latex_seed(w, True, r) for w in ("Ws", "Wx") for r in ("immediate", "total")]
    return out + [sym.vector_case().latex()]


def test_book_notation_total_d_and_immediate_only_in_numerators():
    for text in _book_forms():
        assert not re.search(r"\\frac\{[^{}]*\}\{\\ipartial", text), text  # never below the bar
        assert r"\partial E_{N}}{\partial W" not in text and r"\partial E_3}{\partial W" not in text
    for w, name in zip(sym.WRT, ("W_x", "W_s", "W_y"), strict=True):
        assert rf"\frac{{d E_{{3}}}}{{d {name}}} =" in sym.latex_terms(w, 3)
        assert sym.latex_general(w).startswith(rf"\frac{{d E_N}}{{d {name}}} = ")
    # the one-step partials keep a plain partial; the column gradient is a nabla
    assert r"\frac{\partial S_{3}}{\partial S_{2}}" in sym.latex_terms("Ws", 3)
    assert r"\nabla_{S_{t-1}} E_N" in sym.vector_case().latex()


def test_seed_readings():
    printed = sym.latex_seed("Ws")
    assert "W_S" in printed and r"\frac{d" not in printed  # a quotation: the seed's partials
    imm, tot = sym.latex_seed("Ws", reading="immediate"), sym.latex_seed("Ws", reading="total")
    for S in ("S_1", "S_2", "S_3"):
        assert rf"\frac{{\ipartial {S}}}{{\partial W_s}}" in imm
        assert rf"\frac{{d {S}}}{{d W_s}}" in tot and rf"\ipartial {S}" not in tot
    # the two readings differ in the last factors only: same number of products and chains
    assert imm.count(r"\left(") == tot.count(r"\left(") == 3
    assert printed.count(r"\\") == imm.count(r"\\") == 2  # one product a line
    assert r"\overset{?}{=}" in tot and "?" not in imm  # reading 2 claims a false equation
    assert imm.count(r"\partial S_3}{\partial S_2}") == tot.count(r"\partial S_3}{\partial S_2}")
    gen = sym.latex_seed("Wx", general=True, reading="total")
    assert r"\frac{d Y_N}{d S_i}" in gen and r"\frac{d S_i}{d W_x}" in gen
    assert sym.latex_seed("Wy", reading="total") == sym.latex_seed("Wy", reading="immediate")


@pytest.mark.parametrize("g1", ["tanh", "sigmoid"])
def test_seed_total_reading_overcounts_and_immediate_reading_is_the_gradient(g1):
    """The arithmetic behind the two readings, at N = 3 in SymPy, exactly."""
    m, e = sym.model(3, g1), sym.expansion("Ws", 3, g1)
    grad = sym.gradient("Ws", 3, g1)
    imm, tot = 0, 0
    for t in e.terms:  # prefix = every factor but the last, then the last factor read two ways
        prefix = sp.Mul(*(f.expr for f in t.factors[:-1])).xreplace(m.explicit)
        imm += prefix * t.factors[-1].expr.xreplace(m.explicit)
        tot += prefix * _diff.diff(m.S[t.i], sym.W_s)  # dS_i/dW_s, every path
    vals = sym.values(3, seed=2)
    g, i_, t_ = sym.evaluate([grad, imm, tot], vals)
    assert i_ == pytest.approx(g, rel=1e-13)
    # reading 2 = the gradient + the paths through S_2 once more + through S_1 twice more
    assert abs(t_ - g) > 1e-3 * abs(g)
    assert sp.simplify(sp.expand(imm - grad)) == 0


@pytest.mark.parametrize("g1", sym.ACTIVATIONS)
def test_vector_case_diag_and_transpose(g1):
    v = sym.vector_case(g1)
    assert v.check()
    assert v.J.shape == (2, 2)
    assert sp.expand(v.J - v.D * v.Ws) == sp.zeros(2, 2)
    assert sp.expand(v.back - v.J.T * v.v) == sp.zeros(2, 1)
    if g1 != "identity":  # diag(g1') scales rows: the order matters
        assert sp.expand(v.J - v.Ws * v.D) != sp.zeros(2, 2)
    assert v.check_numeric(T=4, seed=2) < 1e-12
    assert r"\diag" in v.latex()


def test_comparison_table():
    c = sym.compare(3, wrt="Ws")
    text = str(c)
    assert "dE/dWs i=3" in text and "agree" in text and "finite diff" in text
    assert len(c.rows) == 3 and list(c.totals) == ["Ws"]


def test_compare_accepts_names_as_values():
    vals = {str(k): v for k, v in sym.values(2, seed=5).items()}
    assert sym.compare(2, vals=vals).passed


def test_short_forms_evaluate_like_explicit_terms():
    vals = sym.values(4, seed=7)
    e = sym.expansion("Wx", 4, "sigmoid", "relu")
    short = sym.evaluate([t.expr for t in e.terms], sym.states(vals, 4, "sigmoid", "relu"))
    explicit = sym.evaluate(sym.terms("Wx", 4, "sigmoid", "relu"), vals)
    np.testing.assert_allclose(short, explicit, rtol=1e-13, atol=1e-15)


def test_rnn_model_is_the_same_model():
    vals = sym.values(3, seed=4)
    m = sym.model(3, "relu", "sigmoid")
    E = sym.evaluate([m.E], vals)[0]
    v = {str(k): x for k, x in vals.items()}
    p = rnn.Params(np.array([[v["W_x"]]]), np.array([[v["W_s"]]]), np.array([[v["W_y"]]]))
    xs = np.array([[v["x_1"]], [v["x_2"]], [v["x_3"]]])
    tr = rnn.forward(p, xs, s0=[v["S_0"]], g1="relu", g2="sigmoid")
    assert E == pytest.approx(rnn.loss(tr, np.array([[0.0], [0.0], [v["d_3"]]])), rel=1e-14)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sym.terms("Wz"), "wrt"),
        (lambda: sym.gradient("W_s"), "wrt"),
        (lambda: sym.gradient("Ws", 0), "N"),
        (lambda: sym.terms("Ws", 2.5), "N"),
        (lambda: sym.terms("Ws", 3.0), "N"),
        (lambda: sym.expansion("Ws", True), "N"),
        (lambda: sym.gradient("Ws", 3, "softplus"), "g1"),
        (lambda: sym.terms("Ws", 3, "tanh", "softmax"), "g2"),
        (lambda: sym.compare(3, g2="nope"), "g2"),
        (lambda: sym.compare(3, wrt=["Wq"]), "wrt"),
        (lambda: sym.compare(3, vals={"W_x": 1.0}), "vals"),
        (lambda: sym.evaluate([sym.gradient("Ws", 2)], {"W_x": 1.0}), "vals"),
        (lambda: sym.vector_case("swish"), "g1"),
        (lambda: sym.latex_seed("Wq"), "wrt"),
        (lambda: sym.latex_terms("Ws", -1), "N"),
        (lambda: sym.symbols(0), "N"),
        (lambda: sym.gradient("Ws", np.array(3)), "N"),
        (lambda: sym.gradient(np.array(["Ws"]), 3), "wrt"),
        (lambda: sym.gradient(["Ws"], 3), "wrt"),
        (lambda: sym.gradient(None), "wrt"),
        (lambda: sym.terms(None, 2), "wrt"),
        (lambda: sym.expansion(None), "wrt"),
        (lambda: sym.check_symbolic(None), "wrt"),
        (lambda: sym.gradient("Ws", 3, None), "g1"),
        (lambda: sym.model(3, "tanh", ["identity"]), "g2"),
        (lambda: sym.check_symbolic("Wq", 3), "wrt"),
        (lambda: sym.compare(3, wrt=()), "wrt"),
        (lambda: sym.compare(3, wrt=[["Ws"]]), "wrt"),
        (lambda: sym.compare(3, eps=0.0), "eps"),
        (lambda: sym.compare(3, seed=-1), "seed"),
        (lambda: sym.compare(3, seed="a"), "seed"),
        (lambda: sym.values(3, seed=1.5), "seed"),
        (lambda: sym.compare(2, vals=[1.0, 2.0]), "vals"),
        (lambda: sym.compare(2, vals={**sym.values(2), "W_x": "a"}), "vals"),
        (lambda: sym.compare(2, vals={**sym.values(2), "W_x": float("nan")}), "vals"),
        (lambda: sym.compare(2, vals={**sym.values(2), "W_x": 1j}), "vals"),
        (lambda: sym.evaluate([sym.gradient("Ws", 1)], None), "vals"),
        (lambda: sym.states({"W_x": 1.0}, 2), "vals"),
        (lambda: sym.evaluate(5, {}), "exprs"),
        (lambda: sym.evaluate(["W_x +"], {"W_x": 1.0}), "exprs"),
        (lambda: sym.evaluate([sp.Matrix([1])], {}), "exprs"),
        (lambda: sym.evaluate([sp.sqrt(sym.W_x)], {"W_x": -1.0}), "exprs"),
        (lambda: sym.lambdify(None, 2), "exprs"),
        (lambda: sym.evaluate([1 / sym.W_x], {"W_x": 0.0}), "exprs"),
        (lambda: sym.evaluate([sym.W_x / sym.W_x], {"W_x": float("inf")}), "vals"),
        (lambda: sym.compare(2, vals=sym.values(2), seed=-1), "seed"),
        (lambda: sym.latex_seed("Ws", general="no"), "general"),
        (lambda: sym.latex_seed("Ws", reading="both"), "reading"),
        (lambda: sym.latex_seed("Ws", reading=["total"]), "reading"),
        (lambda: sym.latex_seed("Wy", general=True), "general"),
        (lambda: sym.latex_concrete("Ws", 2, explicit=1), "explicit"),
        (lambda: sym.latex_general(None), "wrt"),
        (lambda: sym.vector_case(None), "g1"),
        (lambda: sym.vector_case().check_numeric(T=0), "T"),
        (lambda: sym.vector_case().check_numeric(seed=-2), "seed"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=f"^{match}:"):
        call()


LIMITED = [
    lambda N: sym.symbols(N),
    lambda N: sym.model(N),
    lambda N: sym.expansion("Ws", N),
    lambda N: sym.terms("Wx", N),
    lambda N: sym.gradient("Ws", N),
    lambda N: sym.check_symbolic("Wy", N),
    lambda N: sym.values(N),
    lambda N: sym.states({}, N),
    lambda N: sym.lambdify([], N),
    lambda N: sym.compare(N),
    lambda N: sym.latex_terms("Ws", N),
    lambda N: sym.latex_factors("Ws", N),
    lambda N: sym.latex_expansion("Ws", N),
    lambda N: sym.latex_concrete("Ws", N),
]


@pytest.mark.parametrize("call", LIMITED)
@pytest.mark.parametrize("N", [scalar.MAX_N + 1, 10**6, 0])
def test_every_function_enforces_the_documented_limit(call, N):
    with pytest.raises(ValueError, match=rf"^N: .*1 to MAX_N = {scalar.MAX_N}"):
        call(N)


def test_the_limit_itself_works():
    N = scalar.MAX_N
    g = sym.gradient("Ws", N)
    assert {str(s) for s in g.free_symbols} == {str(s) for s in sym.symbols(N).inputs}
    assert sym.check_symbolic("Ws", N)
    c = sym.compare(N, wrt="Ws", seed=2)
    assert c.passed, str(c)


@pytest.mark.parametrize("g1, g2", PAIRS)
def test_iterative_diff_is_sympys_diff(g1, g2):
    for N in NS:
        E = sym.model(N, g1, g2).E
        for wrt, W in zip(sym.WRT, (sym.W_x, sym.W_s, sym.W_y), strict=True):
            got, want = sym.gradient(wrt, N, g1, g2), sp.diff(E, W)
            assert sp.srepr(got) == sp.srepr(want), (wrt, N)


def test_iterative_diff_on_other_expressions():
    x, y = sp.symbols("x y")
    for e in [x**y, sp.exp(x) * sp.sin(x * y), sp.Piecewise((x, x > 0), (0, True)), 3 * x + 2]:
        assert _diff.diff(e, x) == sp.diff(e, x)


@pytest.mark.parametrize(
    "call",
    [
        lambda N: sym.gradient("Ws", N, "identity", "tanh"),
        lambda N: sym.model(N, "identity", "tanh"),
        lambda N: sym.compare(N, "identity", "tanh"),
        lambda N: sym.latex_concrete("Wx", N, "identity", "tanh"),
    ],
)
def test_slow_pairs_have_their_own_limit(call):
    limit = scalar.SLOW_PAIRS[("identity", "tanh")]
    with pytest.raises(ValueError, match=rf"^N: .*1 to {limit} for g1 = 'identity', g2 = 'tanh'"):
        call(limit + 1)
