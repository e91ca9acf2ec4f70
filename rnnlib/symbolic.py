r"""The scalar RNN in SymPy: the chain-rule sums of BPTT written out and checked.

Model with one input, one hidden unit and one output (``D = H = O = 1``),
book: :eq:`eq-rnn-state`, :eq:`eq-rnn-output`, :eq:`eq-error`::

    S_k = g1(W_x x_k + W_s S_{k-1})     (k = 1..N)
    Y_N = g2(W_y S_N)                   E_N = (d_N - Y_N)^2

in symbols named ``W_x, W_s, W_y, x_1..x_N, S_0, d_N``.  The gradient of
``E_N`` with respect to ``W_s`` (book: :eq:`eq-bptt-general`) is a sum of
``N`` chain-rule terms, one per step ``i`` that uses the weight,

.. math::  \frac{\partial E_N}{\partial W_s} = \sum_{i=1}^{N}
           \frac{\partial E_N}{\partial Y_N}\frac{\partial Y_N}{\partial S_N}
           \Bigl(\prod_{k=i+1}^{N}\frac{\partial S_k}{\partial S_{k-1}}\Bigr)
           \frac{\ipartial S_i}{\partial W_s},

where ``\ipartial`` (the book's macro for ``\partial^{+}``) is the immediate
partial that holds ``S_{i-1}`` fixed.  At ``t = N = 3`` with ``g1 = tanh``,
``g2 = identity`` the three terms are, with ``S_k`` short for the state::

    >>> for t in expansion("Ws", 3).terms: print(t.i, t.expr)
    1 2*S_0*W_s**2*W_y*(1 - S_1**2)*(1 - S_2**2)*(1 - S_3**2)*(Y_3 - d_3)
    2 2*S_1*W_s*W_y*(1 - S_2**2)*(1 - S_3**2)*(Y_3 - d_3)
    3 2*S_2*W_y*(1 - S_3**2)*(Y_3 - d_3)

:func:`gradient` differentiates the explicit loss directly; :func:`terms`
builds the sum above; :func:`check_symbolic` proves them equal and
:func:`compare` evaluates both against :func:`rnnlib.rnn.bptt` and finite
differences.  The ``latex_*`` functions give the formulas for display and
:func:`vector_case` shows where ``diag(g1')`` and the transpose come from.
Expressions are built once per ``(N, g1, g2)`` and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp

from . import _validate as check
from .activations import sigmoid as _np_sigmoid

WRT = ("Wx", "Ws", "Wy")
ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
W_x, W_s, W_y = sp.symbols("W_x W_s W_y")
S_0 = sp.Symbol("S_0")
_W = {"Wx": W_x, "Ws": W_s, "Wy": W_y}


class sigmoid(sp.Function):
    r"""Logistic ``sigma(a) = 1/(1 + e^{-a})`` with ``sigma' = sigma (1 - sigma)``."""

    nargs = 1
    _imp_ = staticmethod(_np_sigmoid)

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.S.Half
        if a.is_Float:
            return 1 / (1 + sp.exp(-a))

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return 1 / (1 + sp.exp(-a))

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class step(sp.Function):
    r"""``theta(a) = 1`` for ``a > 0`` else ``0``: relu's derivative, as in rnnlib."""

    nargs = 1
    _imp_ = staticmethod(lambda a: np.greater(a, 0) * 1.0)

    @classmethod
    def eval(cls, a):
        if a.is_Number and a.is_extended_real:
            return sp.S.One if a > 0 else sp.S.Zero

    def _eval_rewrite_as_Piecewise(self, a, **kwargs):
        return sp.Piecewise((1, a > 0), (0, True))

    def _latex(self, printer):
        return rf"\theta\left({printer._print(self.args[0])}\right)"


class relu(sp.Function):
    r"""``relu(a) = max(a, 0)``, piecewise linear, with ``relu' = theta``."""

    nargs = 1
    _imp_ = staticmethod(lambda a: np.maximum(a, 0.0))

    @classmethod
    def eval(cls, a):
        if a.is_Number and a.is_extended_real:
            return a if a > 0 else sp.S.Zero

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_rewrite_as_Piecewise(self, a, **kwargs):
        return sp.Piecewise((a, a > 0), (0, True))

    def _latex(self, printer):
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"


_F = {"tanh": sp.tanh, "sigmoid": sigmoid, "relu": relu, "identity": lambda a: a}
_NP = [{"sigmoid": sigmoid._imp_, "step": step._imp_, "relu": relu._imp_}, "numpy"]


def _dg(g: str, a, out):
    """``g'(a)`` through the output ``out = g(a)`` (tanh, sigmoid) or through ``a`` (relu)."""
    return {"tanh": 1 - out**2, "sigmoid": out * (1 - out), "relu": step(a), "identity": 1}[g]


def _args(wrt=None, N=3, g1="tanh", g2="identity"):
    if wrt is not None:
        check.choice(wrt, WRT, "wrt")
    check.positive_int(N, "N")
    check.choice(g1, ACTIVATIONS, "g1")
    check.choice(g2, ACTIVATIONS, "g2")
    return (wrt, int(N), g1, g2) if wrt is not None else (int(N), g1, g2)


class Latex(str):
    """A LaTeX string that a notebook displays as math (``\\ipartial`` defined inline)."""

    def _repr_latex_(self):
        return rf"$$\def\ipartial{{\partial^{{+}}}} {self}$$"


@dataclass(frozen=True)
class Symbols:
    """The symbols of the length-``N`` model; ``S``, ``Y``, ``E`` are abstract names."""

    N: int
    x: tuple  # x_1..x_N
    d: sp.Symbol  # d_N
    S: tuple  # S_0..S_N  (S_0 is an input; S_1..S_N abbreviate the states)
    Y: sp.Symbol
    E: sp.Symbol
    Wx: sp.Symbol = W_x
    Ws: sp.Symbol = W_s
    Wy: sp.Symbol = W_y

    @property
    def inputs(self) -> tuple:
        """Every free symbol of the explicit loss, in a fixed order."""
        return (W_x, W_s, W_y, *self.x, S_0, self.d)


def symbols(N: int = 3) -> Symbols:
    """The symbols ``W_x, W_s, W_y, x_1..x_N, S_0, d_N`` plus ``S_1..S_N, Y_N, E_N``."""
    N = check.positive_int(N, "N")
    return Symbols(
        N, sp.symbols(f"x_1:{N + 1}"), sp.Symbol(f"d_{N}"),
        (S_0, *sp.symbols(f"S_1:{N + 1}")), sp.Symbol(f"Y_{N}"), sp.Symbol(f"E_{N}"),
    )  # fmt: skip


@dataclass(frozen=True)
class Model:
    """The model as expressions: ``short`` uses ``S_k``/``Y_N``, ``explicit`` only the inputs.

    Attributes
    ----------
    sym : Symbols
    S : list, N+1 explicit states (``S[0] = S_0``)
    Y, E : explicit output and loss
    defs : dict, ``S_k -> g1(W_x x_k + W_s S_{k-1})`` and ``Y_N -> g2(W_y S_N)`` (short form)
    explicit : dict, ``S_k`` and ``Y_N`` -> explicit expressions (for ``xreplace``)
    dg1 : list, ``dg1[k] = g1'(a_k)`` in short form (``dg1[0]`` unused)
    dg2 : ``g2'(W_y S_N)`` in short form
    """

    sym: Symbols
    S: list
    Y: sp.Expr
    E: sp.Expr
    defs: dict
    explicit: dict
    dg1: list
    dg2: sp.Expr


@lru_cache(maxsize=64)
def _model(N, g1, g2) -> Model:
    sym = symbols(N)
    f1, f2, Sh = _F[g1], _F[g2], sym.S
    S, defs, dg1 = [S_0], {}, [None]
    for k in range(1, N + 1):  # carry S_k forward: each state is built once
        a_k = W_x * sym.x[k - 1] + W_s * Sh[k - 1]
        defs[Sh[k]] = f1(a_k)
        dg1.append(_dg(g1, a_k, Sh[k]))
        S.append(f1(W_x * sym.x[k - 1] + W_s * S[k - 1]))
    defs[sym.Y] = f2(W_y * Sh[N])
    Y = f2(W_y * S[N])
    explicit = {**{Sh[k]: S[k] for k in range(1, N + 1)}, sym.Y: Y}
    return Model(sym, S, Y, (sym.d - Y) ** 2, defs, explicit, dg1, _dg(g2, W_y * Sh[N], sym.Y))


def model(N: int = 3, g1: str = "tanh", g2: str = "identity") -> Model:
    """The scalar RNN of length ``N`` as SymPy expressions (see :class:`Model`)."""
    return _model(*_args(None, N, g1, g2))


def _frac(num, den, immediate=False):
    return rf"\frac{{\{'ipartial' if immediate else 'partial'} {num}}}{{\partial {den}}}"


@dataclass(frozen=True)
class Factor:
    """One factor of a chain-rule term: its abstract symbol and its value (short form)."""

    latex: str
    expr: sp.Expr

    def equation(self) -> str:
        """``abstract = concrete`` as LaTeX."""
        return f"{self.latex} = {sp.latex(self.expr)}"


@dataclass(frozen=True)
class Term:
    """Term ``i`` of ``dE_N/dW``: a product of :class:`Factor`."""

    wrt: str
    i: int
    factors: tuple
    explicit: sp.Expr = field(repr=False)  # in the inputs only

    @property
    def latex(self) -> str:
        """The abstract product, e.g. ``dE_3/dY_3 dY_3/dS_3 dS_3/dS_2 d+S_2/dW_s``."""
        return " ".join(f.latex for f in self.factors)

    @property
    def expr(self) -> sp.Expr:
        """The product in short form (``S_k``, ``Y_N``)."""
        return sp.Mul(*(f.expr for f in self.factors))


@dataclass(frozen=True)
class Expansion:
    """Every chain-rule term of ``dE_N/dW`` with its factors (from :func:`expansion`)."""

    wrt: str
    N: int
    g1: str
    g2: str
    terms: tuple
    model: Model = field(repr=False)

    @property
    def lhs(self) -> str:
        return _frac(f"E_{{{self.N}}}", _W[self.wrt])

    def _repr_latex_(self):
        return latex_expansion(self.wrt, self.N, self.g1, self.g2)._repr_latex_()

    def factors(self) -> list:
        """The distinct factors, in order of first appearance."""
        seen = {}
        for t in self.terms:
            for f in t.factors:
                seen.setdefault(f.latex, f)
        return list(seen.values())


@lru_cache(maxsize=64)
def _expansion(wrt, N, g1, g2) -> Expansion:
    m = _model(N, g1, g2)
    sym, Sh = m.sym, m.sym.S
    Ys, Ns = sym.Y, f"{{{N}}}"
    dEdY = Factor(_frac(f"E_{Ns}", f"Y_{Ns}"), sp.factor_terms(2 * (Ys - sym.d)))
    if wrt == "Wy":
        f = (dEdY, Factor(_frac(f"Y_{Ns}", "W_y"), m.dg2 * Sh[N]))
        return Expansion(wrt, N, g1, g2, (Term(wrt, N, f, _explicit(f, m)),), m)
    common = [dEdY, Factor(_frac(f"Y_{Ns}", f"S_{Ns}"), m.dg2 * W_y)]
    chain, out = [], []
    for i in range(N, 0, -1):  # extend the Jacobian chain by one step per term
        last = Sh[i - 1] if wrt == "Ws" else sym.x[i - 1]
        imm = Factor(_frac(f"S_{{{i}}}", _W[wrt], immediate=True), m.dg1[i] * last)
        f = tuple(common + chain + [imm])
        out.append(Term(wrt, i, f, _explicit(f, m)))
        chain.append(Factor(_frac(f"S_{{{i}}}", f"S_{{{i - 1}}}"), m.dg1[i] * W_s))
    return Expansion(wrt, N, g1, g2, tuple(reversed(out)), m)


def _explicit(factors, m):
    return sp.Mul(*(f.expr for f in factors)).xreplace(m.explicit)


def expansion(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> Expansion:
    """The chain-rule terms of ``dE_N/dW`` factor by factor.

    Term ``i`` (``i = 1..N`` for ``"Ws"``, ``"Wx"``) has the factors
    ``dE_N/dY_N, dY_N/dS_N, dS_N/dS_{N-1}, ..., dS_{i+1}/dS_i, d+S_i/dW``;
    ``"Wy"`` has one term ``dE_N/dY_N dY_N/dW_y``.  For ``N = 3``, ``tanh``::

        dE_3/dY_3 = 2 (Y_3 - d_3)        dY_3/dS_3  = W_y
        dS_3/dS_2 = W_s (1 - S_3^2)      d+S_3/dW_s = S_2 (1 - S_3^2)

    Returns
    -------
    Expansion
        ``.terms[i-1]`` is a :class:`Term` with ``.factors``, ``.latex``,
        ``.expr`` (short form in ``S_k, Y_N``) and ``.explicit`` (inputs only).
    """
    return _expansion(*_args(wrt, N, g1, g2))


def terms(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> list:
    """The chain-rule terms of ``dE_N/dW`` in the inputs only; their sum is :func:`gradient`.

    ``N`` terms for ``"Ws"`` and ``"Wx"`` (term ``i`` enters through step
    ``i``'s own use of the weight, as ``rnn.bptt``'s ``terms[name][i-1]``),
    one for ``"Wy"``.  For ``N = 3``, ``tanh``/``identity``, the third
    ``"Ws"`` term is ``2 S_2 W_y (1 - S_3^2) (Y_3 - d_3)`` with
    ``S_3 = tanh(W_x x_3 + W_s S_2)`` and so on written out.
    """
    return [t.explicit for t in expansion(wrt, N, g1, g2).terms]


@lru_cache(maxsize=64)
def _gradient(wrt, N, g1, g2):
    return sp.diff(_model(N, g1, g2).E, _W[wrt])


def gradient(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> sp.Expr:
    """``dE_N/dW`` by differentiating the explicit loss (independent of :func:`terms`).

    For ``N = 1``, ``tanh``/``identity``::

        >>> gradient("Ws", 1)
        -2*S_0*W_y*(1 - tanh(S_0*W_s + W_x*x_1)**2)*(-W_y*tanh(S_0*W_s + W_x*x_1) + d_1)
    """
    return _gradient(*_args(wrt, N, g1, g2))


def check_symbolic(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> bool:
    """Prove ``sum(terms) == gradient`` by expanding the difference to 0.

    Exact for every activation (the derivatives are written in the same atoms
    ``tanh(a_k)``, ``sigma(a_k)``, ``theta(a_k)``); the cost grows like
    ``2^N`` for tanh and sigmoid, so keep ``N <= 6``.
    """
    diff = sp.Add(*terms(wrt, N, g1, g2)) - gradient(wrt, N, g1, g2)
    return sp.expand(diff) == 0


def values(N: int = 3, seed: int = 0) -> dict:
    """Random inputs ``{symbol: float}`` for every symbol of the loss (seeded)."""
    sym = symbols(N)
    v = np.random.default_rng(seed).uniform(-1.0, 1.0, len(sym.inputs))
    return dict(zip(sym.inputs, v.tolist(), strict=True))


def _subs(vals) -> dict:
    return {(sp.Symbol(k) if isinstance(k, str) else k): sp.Float(v) for k, v in vals.items()}


def evaluate(exprs, vals) -> np.ndarray:
    """Evaluate expressions at one point ``vals = {symbol or name: number}`` in float64 steps.

    Uses ``xreplace`` (SymPy evaluates each node as it is rebuilt); the values
    must cover every free symbol.
    """
    rep = _subs(vals)
    out = [sp.sympify(e).xreplace(rep) for e in exprs]
    bad = [e for e in out if not e.is_Number]
    if bad:
        raise ValueError(f"vals: no value for {sorted(map(str, bad[0].free_symbols))}")
    return np.array([float(e) for e in out])


def states(vals, N: int = 3, g1: str = "tanh", g2: str = "identity") -> dict:
    """``vals`` plus the forward pass ``S_1..S_N, Y_N``, so short forms can be evaluated.

    ``evaluate([t.expr for t in expansion("Ws", 3).terms], states(vals, 3))``
    gives the same numbers as the explicit :func:`terms`.
    """
    m = model(N, g1, g2)
    keys = list(m.explicit)
    nums = evaluate([m.explicit[k] for k in keys], vals)
    return {**_subs(vals), **dict(zip(keys, map(float, nums), strict=True))}


def lambdify(exprs, N: int = 3):
    """A numpy function ``f(W_x, W_s, W_y, x_1..x_N, S_0, d_N)`` of expressions (vectorized)."""
    return sp.lambdify(symbols(N).inputs, list(exprs), modules=_NP, cse=True)


# --- formulas for display -------------------------------------------------------------------


def _seed_sum(N, w, general):
    if general:
        body = " \\cdot ".join([_frac("E_N", "Y_N"), _frac("Y_N", "S_i"), _frac("S_i", w)])
        return rf"\sum_{{i=1}}^{{N}} {body}"
    parts = []
    for i in range(N, 0, -1):
        chain = [_frac(f"S_{k}", f"S_{k - 1}") for k in range(N, i, -1)]
        f = [_frac(f"E_{N}", f"Y_{N}"), _frac(f"Y_{N}", f"S_{N}"), *chain, _frac(f"S_{i}", w)]
        parts.append(r"\left(" + " \\cdot ".join(f) + r"\right)")
    return " + ".join(parts)


def latex_seed(wrt: str, general: bool = False) -> Latex:
    """The seed tutorial's formula as printed (capital subscripts, its errors kept).

    ``general=False``: the ``t = 3`` sum, whose last factors ``dS_i/dW`` are
    meant as immediate partials.  ``general=True``: its general formula, which
    hides the Jacobian product inside ``dY_N/dS_i`` and, for ``"Wx"``, is
    labelled ``dE_N/dW_S``.  The seed gives ``"Wy"`` at ``t = 3`` only.
    """
    check.choice(wrt, WRT, "wrt")
    if wrt == "Wy":
        return Latex(f"{_frac('E_3', 'W_y')} = {_frac('E_3', 'Y_3')} \\cdot {_frac('Y_3', 'W_Y')}")
    w = {"Ws": "W_S", "Wx": "W_X"}[wrt]
    lhs = _frac("E_N", "W_S") if general else _frac("E_3", w)
    return Latex(f"{lhs} = {_seed_sum(3, w, general)}")


def latex_general(wrt: str) -> Latex:
    """The corrected general formula for ``dE_N/dW`` (book: :eq:`eq-bptt-general`)::

        dE_N/dW_s = sum_{i=1}^N dE_N/dY_N dY_N/dS_N (prod_{k=i+1}^N dS_k/dS_{k-1}) d+S_i/dW_s

    ``d+`` marks the immediate partial.
    """
    check.choice(wrt, WRT, "wrt")
    w = _W[wrt].name
    if wrt == "Wy":
        return Latex(f"{_frac('E_N', w)} = {_frac('E_N', 'Y_N')} {_frac('Y_N', w)}")
    chain = rf"\left(\prod_{{k=i+1}}^{{N}} {_frac('S_k', 'S_{k-1}')}\right)"
    body = f"{_frac('E_N', 'Y_N')} {_frac('Y_N', 'S_N')} {chain} {_frac('S_i', w, True)}"
    return Latex(rf"{_frac('E_N', w)} = \sum_{{i=1}}^{{N}} {body}")


def latex_terms(wrt: str, N: int = 3) -> Latex:
    """``dE_N/dW = term_1 + ... + term_N`` in abstract notation (``\\ipartial`` last)."""
    e = expansion(wrt, N, "identity", "identity")
    return Latex(f"{e.lhs} = " + " + ".join(t.latex for t in e.terms))


def _paren(expr) -> str:
    return rf"\left({sp.latex(expr)}\right)" if expr.is_Add else sp.latex(expr)


def latex_factors(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> Latex:
    """Each distinct factor, ``abstract = concrete``, one per line (``aligned``)."""
    e = expansion(wrt, N, g1, g2)
    rows = [f"{f.latex} &= {sp.latex(f.expr)}" for f in e.factors()]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def latex_expansion(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> Latex:
    """Every term as its abstract product ``=`` the product of its concrete factors."""
    e = expansion(wrt, N, g1, g2)
    rows = [
        rf"i = {t.i}:\quad {t.latex} &= " + r" \cdot ".join(_paren(f.expr) for f in t.factors)
        for t in e.terms
    ]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def latex_concrete(
    wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity", explicit: bool = False
) -> Latex:
    """The gradient as the sum of concrete terms, with the states it abbreviates.

    ``explicit=False``: terms in ``S_k`` and ``Y_N``, followed by their
    definitions (``S_k = tanh(W_x x_k + W_s S_{k-1})`` for ``g1 = "tanh"``).
    ``explicit=True``: every term in the inputs ``W_x, W_s, W_y, x_k, S_0, d_N`` only.
    """
    e = expansion(wrt, N, g1, g2)
    body = " + ".join(sp.latex(t.explicit if explicit else t.expr) for t in e.terms)
    rows = [f"{e.lhs} &= {body}"]
    if not explicit:
        rows += [f"{sp.latex(k)} &= {sp.latex(v)}" for k, v in e.model.defs.items()]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


# --- numbers: SymPy against rnn.bptt and finite differences ---------------------------------


@dataclass
class Comparison:
    """Result of :func:`compare`; ``str()`` is the table a chapter's check cell prints.

    Attributes
    ----------
    rows : list of (wrt, i, sympy_term, bptt_term)
    totals : dict wrt -> dict with "terms" (sum), "gradient", "bptt", "fd"
    term_err : float   ``max |SymPy term - bptt term| / max(1, |bptt term|)``
    total_err : float  same for sum(terms), gradient() and bptt totals
    fd_err : float     ``max |gradient - finite difference| / max(1, |gradient|)``
    """

    N: int
    g1: str
    g2: str
    vals: dict = field(repr=False)
    rows: list = field(repr=False)
    totals: dict = field(repr=False)
    term_err: float
    total_err: float
    fd_err: float
    rtol: float = 1e-12
    fd_rtol: float = 1e-6

    @property
    def passed(self) -> bool:
        return max(self.term_err, self.total_err) <= self.rtol and self.fd_err <= self.fd_rtol

    def __str__(self) -> str:
        head = (
            f"SymPy vs rnn.bptt vs finite differences, N = {self.N}, g1 = {self.g1}, g2 = {self.g2}"
        )
        lines = [head, f"{'term':<12}{'SymPy':>20}{'rnn.bptt':>20}{'|diff|':>10}"]
        for w, i, a, b in self.rows:
            lines.append(f"{f'dE/d{w} i={i}':<12}{a:>20.12e}{b:>20.12e}{abs(a - b):>10.1e}")
        lines.append(f"{'total':<12}{'sum(terms)':>20}{'gradient()':>20}{'rnn.bptt':>20}"
                     f"{'finite diff':>20}")  # fmt: skip
        for w, t in self.totals.items():
            nums = "".join(f"{t[k]:>20.12e}" for k in ("terms", "gradient", "bptt", "fd"))
            lines.append(f"{f'dE/d{w}':<12}{nums}")
        verdict = "agree" if self.passed else "DISAGREE"
        lines.append(
            f"max error: terms {self.term_err:.1e}, totals {self.total_err:.1e} "
            f"(tol {self.rtol:g}); finite differences {self.fd_err:.1e} (tol {self.fd_rtol:g})"
            f" -> {verdict}"
        )
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def _err(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))


def compare(
    N: int = 3, g1: str = "tanh", g2: str = "identity", vals: dict | None = None,
    seed: int = 0, wrt=WRT, eps: float = 1e-6,
) -> Comparison:  # fmt: skip
    """Evaluate every term and the total, and compare with ``rnn.bptt`` and finite differences.

    Parameters
    ----------
    N : int
        Sequence length (the loss is ``E_N``, ``at="last"``).
    g1, g2 : str
    vals : dict, optional
        ``{symbol or name: number}`` for ``W_x, W_s, W_y, x_1..x_N, S_0, d_N``;
        default :func:`values` ``(N, seed)``.
    wrt : sequence of str
        Which gradients to compare.
    eps : float
        Step of the central differences (:func:`rnnlib.gradcheck.numeric_grad`).

    Returns
    -------
    Comparison
        For ``N = 3``: three ``Ws`` and three ``Wx`` terms, one ``Wy`` term,
        each beside ``bptt(...).terms[name][i-1]``; ``.passed`` is True when
        terms and totals agree to 1e-12 and finite differences to 1e-6.
    """
    from . import gradcheck, rnn

    N, g1, g2 = _args(None, N, g1, g2)
    wrt = [check.choice(w, WRT, "wrt") for w in ([wrt] if isinstance(wrt, str) else wrt)]
    sym = symbols(N)
    v = _subs(values(N, seed) if vals is None else vals)
    missing = [str(s) for s in sym.inputs if s not in v]
    if missing:
        raise ValueError(f"vals: missing values for {missing}")
    num = {s: float(v[s]) for s in sym.inputs}
    p = rnn.Params(*(np.array([[num[s]]]) for s in (W_x, W_s, W_y)))
    xs = np.array([[num[x]] for x in sym.x])
    ds = np.zeros((N, 1))
    ds[-1] = num[sym.d]
    tr = rnn.forward(p, xs, s0=[num[S_0]], g1=g1, g2=g2)
    g = rnn.bptt(p, tr, ds, at="last")
    fd = gradcheck.numeric_grad(
        lambda q: rnn.loss(rnn.forward(q, xs, [num[S_0]], g1, g2), ds), p, eps=eps
    )
    rows, totals, t_err, s_err, f_err = [], {}, 0.0, 0.0, 0.0
    for w in wrt:
        exp = _expansion(w, N, g1, g2)
        vals_w = evaluate([t.explicit for t in exp.terms] + [_gradient(w, N, g1, g2)], v)
        tv, grad = vals_w[:-1], vals_w[-1]
        bt = g.terms[w][:, 0, 0][[t.i - 1 for t in exp.terms]]
        rows += [(w, t.i, a, b) for t, a, b in zip(exp.terms, tv, bt, strict=True)]
        total = float(getattr(g, w)[0, 0])
        totals[w] = {"terms": float(tv.sum()), "gradient": grad, "bptt": total,
                     "fd": float(fd[w][0, 0])}  # fmt: skip
        t_err = max(t_err, _err(tv, bt))
        s_err = max(s_err, _err([tv.sum(), grad], [total, total]))
        f_err = max(f_err, _err(grad, fd[w][0, 0]))
    return Comparison(N, g1, g2, num, rows, totals, t_err, s_err, f_err)


# --- the vector case H = 2: where diag(g1') and the transpose come from --------------------


@dataclass(frozen=True)
class VectorCase:
    """One step ``S_t = g1(W_x x_t + W_s S_{t-1})`` with ``H = 2``, entry by entry.

    Attributes
    ----------
    Ws : Matrix (2, 2)   entries ``W_{s,ij}``
    a : Matrix (2, 1)    ``a_t = W_x x_t + W_s S_{t-1}``
    S : Matrix (2, 1)    ``g1(a_t)`` element-wise
    J : Matrix (2, 2)  ``dS_t/dS_{t-1}``: ``J[i, j] = dS_{t,i}/dS_{t-1,j} = g1'(a_{t,i}) W_{s,ij}``
    D : Matrix (2, 2)    ``diag(g1'(a_t))``
    v : Matrix (2, 1)    ``dE/dS_t`` (symbols)
    back : Matrix (2, 1) ``dE/dS_{t-1} = J^T v``, entry ``j = sum_i v_i g1'(a_{t,i}) W_{s,ij}``
    short : dict         ``a_t`` entries -> symbols ``a_{t,i}`` (for display)
    """

    g1: str
    Ws: sp.Matrix
    S_prev: sp.Matrix
    a: sp.Matrix
    S: sp.Matrix
    J: sp.Matrix
    D: sp.Matrix
    v: sp.Matrix
    back: sp.Matrix
    short: dict = field(repr=False)

    def check(self) -> bool:
        """Prove ``J == diag(g1'(a)) W_s`` and ``d(v.S_t)/dS_{t-1} == J^T v == W_s^T D v``."""
        chain = sp.Matrix([sp.diff((self.v.T * self.S)[0], s) for s in self.S_prev])
        zero = [
            self.J - self.D * self.Ws,
            chain - self.back,
            self.back - self.Ws.T * self.D * self.v,
        ]
        return all(sp.expand(m) == sp.zeros(*m.shape) for m in zero)

    def latex(self) -> Latex:
        """``dS_t/dS_{t-1}`` entry-wise and the backward step, as ``aligned`` LaTeX."""
        L = lambda m: sp.latex(m.xreplace(self.short))  # noqa: E731
        parts = sp.Matrix(2, 2, lambda i, j: sp.Symbol(
            rf"\frac{{\partial S_{{t,{i + 1}}}}}{{\partial S_{{t-1,{j + 1}}}}}"))  # fmt: skip
        dE = r"\frac{\partial E}{\partial S_t}"
        D = r"\diag\bigl(g_1'(a_t)\bigr)"
        rows = [
            rf"\frac{{\partial S_t}}{{\partial S_{{t-1}}}} &= {sp.latex(parts)}",
            rf"&= {L(self.J)}",
            rf"&= {L(self.D)} {sp.latex(self.Ws)} = {D} W_s",
            rf"\frac{{\partial E}}{{\partial S_{{t-1}}}} &= \left(\frac{{\partial S_t}}"
            rf"{{\partial S_{{t-1}}}}\right)^{{\top}} {dE} = W_s^{{\top}} {D} {dE}",
            rf"&= {L(self.back)}",
            *(rf"{sp.latex(k)} &= {sp.latex(v)}" for v, k in self.short.items()),
        ]
        return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")

    def check_numeric(self, T: int = 4, seed: int = 0) -> float:
        """Max error of ``rnn.bptt``'s ``dS[t-1]`` against ``J_t^T dS[t]`` at random numbers."""
        from . import rnn

        rng = np.random.default_rng(seed)
        p = rnn.init(1, 2, 1, seed=seed)
        xs, ds, s0 = rng.normal(size=(T, 1)), rng.normal(size=(T, 1)), rng.normal(size=2)
        tr = rnn.forward(p, xs, s0=s0, g1=self.g1)
        g = rnn.bptt(p, tr, ds, at="last")
        f = sp.lambdify([*self.Ws, *self.S_prev, _XT, *_WX], self.J, modules=_NP)
        err = 0.0
        for t in range(1, T + 1):
            J = np.asarray(f(*p.Ws.ravel(), *tr.S[t - 1], xs[t - 1, 0], *p.Wx.ravel()), float)
            err = max(err, float(np.max(np.abs(J.T @ g.dS[t] - g.dS[t - 1]))))
        return err


_XT = sp.Symbol("x_t")
_WX = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"W_{{x,{i + 1}}}"))


def vector_case(g1: str = "tanh") -> VectorCase:
    """The ``H = 2`` step written out; see :class:`VectorCase`.  For ``tanh``::

        dS_t/dS_{t-1} = [[(1 - tanh^2 a_{t,1}) W_{s,11}, (1 - tanh^2 a_{t,1}) W_{s,12}],
                         [(1 - tanh^2 a_{t,2}) W_{s,21}, (1 - tanh^2 a_{t,2}) W_{s,22}]]
                      = diag(g1'(a_t)) W_s
        dE/dS_{t-1}   = (dS_t/dS_{t-1})^T dE/dS_t = W_s^T diag(g1'(a_t)) dE/dS_t

    Row ``i`` of the Jacobian belongs to output ``S_{t,i}``, so ``g1'(a_{t,i})``
    scales row ``i`` (``diag`` on the left); the backward step sums over ``i``,
    down a column, which is the transpose.
    """
    check.choice(g1, ACTIVATIONS, "g1")
    Ws = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{{s,{i + 1}{j + 1}}}"))
    S_prev = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"S_{{t-1,{i + 1}}}"))
    a = _WX * _XT + Ws * S_prev
    S = a.applyfunc(_F[g1])
    J = S.jacobian(S_prev)
    D = sp.diag(*[_dg(g1, a[i], _F[g1](a[i])) for i in range(2)])
    v = sp.Matrix(2, 1, lambda i, j: sp.Symbol(rf"\frac{{\partial E}}{{\partial S_{{t,{i + 1}}}}}"))
    short = {a[i]: sp.Symbol(f"a_{{t,{i + 1}}}") for i in range(2)}
    return VectorCase(g1, Ws, S_prev, a, S, J, D, v, J.T * v, short)
