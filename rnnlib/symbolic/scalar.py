r"""The scalar model, its chain-rule expansion and its gradient.

``S_k = g1(W_x x_k + W_s S_{k-1})`` for ``k = 1..N``, ``Y_N = g2(W_y S_N)``,
``E_N = (d_N - Y_N)^2``, in symbols named ``W_x, W_s, W_y, x_1..x_N, S_0, d_N``.
:func:`expansion` and :func:`terms` build the chain-rule sum term by term;
:func:`gradient` differentiates the explicit loss, independently of them.
Every function accepts ``1 <= N <= MAX_N`` (lower for the :data:`SLOW_PAIRS`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp

from ._diff import diff
from .activations import ACTIVATIONS, FORMS

#: The largest sequence length accepted.  Measured cold at ``N = 25`` on a 2-core
#: machine, over the activation pairs: ``gradient`` under 1 s, ``compare`` and
#: ``check_symbolic`` under 2 s, ``latex_concrete(..., explicit=True)`` 0.2 to 4 s,
#: the slowest; SymPy's own recursion over the nested states (construction,
#: printing) fails beyond ``N`` = 60.
MAX_N = 25

#: Lower limits for pairs ``(g1, g2)`` that SymPy makes slow.  With a linear
#: state, ``tanh`` of the output acts on a polynomial, and SymPy's assumptions
#: about it (asked whenever the loss is built or differentiated) cost about
#: ``2^N``: a call takes about 3 s at ``N = 7``, 8 s at ``N = 10``.
SLOW_PAIRS = {("identity", "tanh"): 7}

WRT = ("Wx", "Ws", "Wy")
W_x, W_s, W_y = sp.symbols("W_x W_s W_y")
S_0 = sp.Symbol("S_0")
_W = {"Wx": W_x, "Ws": W_s, "Wy": W_y}


def _choice(x, options, name: str) -> str:
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {x!r}")
    return x


def _length(N) -> int:
    if isinstance(N, bool) or not isinstance(N, numbers.Integral) or not 1 <= N <= MAX_N:
        raise ValueError(f"N: expected an integer from 1 to MAX_N = {MAX_N}, got {N!r}")
    return int(N)


def _model_args(N, g1, g2) -> tuple:
    N, g1, g2 = _length(N), _choice(g1, ACTIVATIONS, "g1"), _choice(g2, ACTIVATIONS, "g2")
    limit = SLOW_PAIRS.get((g1, g2))
    if limit is not None and N > limit:
        raise ValueError(
            f"N: expected an integer from 1 to {limit} for g1 = {g1!r}, g2 = {g2!r} "
            f"(SLOW_PAIRS), got {N!r}"
        )
    return N, g1, g2


def _args(wrt, N, g1, g2) -> tuple:
    return (_choice(wrt, WRT, "wrt"), *_model_args(N, g1, g2))


def _frac(num, den, immediate=False):
    """``∂num/∂den``; with ``immediate``, ``∂⁺`` (``\\ipartial``) in the numerator only."""
    return rf"\frac{{\{'ipartial' if immediate else 'partial'} {num}}}{{\partial {den}}}"


def _dfrac(num, den):
    """The total derivative ``d num/d den`` (every path), written with an ordinary d."""
    return rf"\frac{{d {num}}}{{d {den}}}"


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
    N = _length(N)
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
    f1, f2, Sh = FORMS[g1], FORMS[g2], sym.S
    S, defs, dg1 = [S_0], {}, [None]
    for k in range(1, N + 1):  # carry S_k forward: each state is built once
        a_k = W_x * sym.x[k - 1] + W_s * Sh[k - 1]
        defs[Sh[k]] = f1.f(a_k)
        dg1.append(f1.df(a_k, Sh[k]))
        S.append(f1.f(W_x * sym.x[k - 1] + W_s * S[k - 1]))
    defs[sym.Y] = f2.f(W_y * Sh[N])
    Y = f2.f(W_y * S[N])
    explicit = {**{Sh[k]: S[k] for k in range(1, N + 1)}, sym.Y: Y}
    dg2 = f2.df(W_y * Sh[N], sym.Y)
    return Model(sym, S, Y, (sym.d - Y) ** 2, defs, explicit, dg1, dg2)


def model(N: int = 3, g1: str = "tanh", g2: str = "identity") -> Model:
    """The scalar RNN of length ``N`` as SymPy expressions (see :class:`Model`)."""
    return _model(*_model_args(N, g1, g2))


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
    """Term ``i`` of the total derivative ``dE_N/dW``: a product of :class:`Factor`."""

    wrt: str
    i: int
    factors: tuple
    explicit: sp.Expr = field(repr=False)  # in the inputs only

    @property
    def latex(self) -> str:
        """The abstract product, e.g. ``∂E_3/∂Y_3 ∂Y_3/∂S_3 ∂S_3/∂S_2 ∂⁺S_2/∂W_s``."""
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
        """The total derivative ``dE_N/dW`` as LaTeX (ordinary d: every path)."""
        return _dfrac(f"E_{{{self.N}}}", _W[self.wrt])

    def _repr_latex_(self):
        from .latex import latex_expansion  # display builds on this module, not the reverse

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
    """The chain-rule terms of the total derivative ``dE_N/dW`` factor by factor.

    Term ``i`` (``i = 1..N`` for ``"Ws"``, ``"Wx"``) has the factors
    ``∂E_N/∂Y_N, ∂Y_N/∂S_N, ∂S_N/∂S_{N-1}, ..., ∂S_{i+1}/∂S_i, ∂⁺S_i/∂W``:
    the partials of one step's formula with respect to an explicit argument,
    latest step first, then the immediate partial ``∂⁺`` of step ``i`` (its
    input ``S_{i-1}`` held fixed).  ``"Wy"`` has one term
    ``∂E_N/∂Y_N ∂Y_N/∂W_y``.  For ``N = 3``, ``tanh``::

        ∂E_3/∂Y_3 = 2 (Y_3 - d_3)        ∂Y_3/∂S_3  = W_y
        ∂S_3/∂S_2 = W_s (1 - S_3^2)      ∂⁺S_3/∂W_s = S_2 (1 - S_3^2)

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
    return diff(_model(N, g1, g2).E, _W[wrt])


def gradient(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> sp.Expr:
    """``dE_N/dW`` by differentiating the explicit loss (independent of :func:`terms`).

    For ``N = 1``, ``tanh``/``identity``::

        >>> gradient("Ws", 1)
        -2*S_0*W_y*(1 - tanh(S_0*W_s + W_x*x_1)**2)*(-W_y*tanh(S_0*W_s + W_x*x_1) + d_1)

    The result is the expression ``sympy.diff`` returns, built without
    recursion, so every ``N <= MAX_N`` works.
    """
    return _gradient(*_args(wrt, N, g1, g2))
