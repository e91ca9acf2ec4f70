r"""Checks: the sum of the terms against the gradient, exactly and in numbers.

:func:`check_symbolic` proves ``sum(terms) == gradient``; :func:`compare`
evaluates both beside :func:`rnnlib.rnn.bptt` and finite differences, and its
:class:`Comparison` prints the table a chapter's check cell shows.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .. import _validate as check
from .activations import NUMPY
from .scalar import (
    S_0,
    WRT,
    W_s,
    W_x,
    W_y,
    _args,
    _choice,
    _expansion,
    _gradient,
    _model,
    _model_args,
    symbols,
)


def _hidden(m) -> dict:
    """Each sum inside ``g1'(a_k)`` and ``g2'`` (explicit) -> a fresh symbol."""
    out = {}
    for dg in [*m.dg1[1:], m.dg2]:
        for f in sp.Mul.make_args(sp.sympify(dg).xreplace(m.explicit)):
            if f.is_Add:
                out.setdefault(f, sp.Dummy())
    return out


def check_symbolic(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> bool:
    """Prove ``sum(terms) == gradient`` by expanding the difference to 0.

    Exact for every activation: the derivatives are written in the same atoms
    ``tanh(a_k)``, ``sigma(a_k)``, ``theta(a_k)``.  Each ``g'(a_k)`` that is a
    sum (``1 - tanh(a_k)^2``) is first replaced by a fresh symbol on both
    sides, which keeps the expansion to ``O(N^2)`` monomials instead of
    ``2^N``; a difference that vanishes with those symbols vanishes without.
    Only if it does not is the difference expanded in full.
    """
    wrt, N, g1, g2 = _args(wrt, N, g1, g2)
    diff = sp.Add(*(t.explicit for t in _expansion(wrt, N, g1, g2).terms)) - _gradient(
        wrt, N, g1, g2
    )
    if sp.expand(diff.xreplace(_hidden(_model(N, g1, g2)))) == 0:
        return True
    return sp.expand(diff) == 0


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    return int(seed)


def values(N: int = 3, seed: int = 0) -> dict:
    """Random inputs ``{symbol: float}`` for every symbol of the loss (seeded)."""
    sym = symbols(N)
    v = np.random.default_rng(_seed(seed)).uniform(-1.0, 1.0, len(sym.inputs))
    return dict(zip(sym.inputs, v.tolist(), strict=True))


def _subs(vals) -> dict:
    if not isinstance(vals, dict):
        raise ValueError(f"vals: expected a dict {{symbol or name: number}}, got {vals!r}")
    out = {}
    for k, v in vals.items():
        if not isinstance(k, (str, sp.Symbol)):
            raise ValueError(f"vals: keys must be symbols or their names, got {k!r}")
        x = float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else np.nan
        if not np.isfinite(x):
            raise ValueError(f"vals: expected a finite real number for {k}, got {v!r}")
        out[sp.Symbol(k) if isinstance(k, str) else k] = sp.Float(x)
    return out


def evaluate(exprs, vals) -> np.ndarray:
    """Evaluate expressions at one point ``vals = {symbol or name: number}`` in float64 steps.

    Uses ``xreplace`` (SymPy evaluates each node as it is rebuilt); the values
    must cover every free symbol.
    """
    rep = _subs(vals)
    out = [e.xreplace(rep) for e in _exprs(exprs)]
    for e in out:
        if e.free_symbols:
            raise ValueError(f"vals: no value for {sorted(map(str, e.free_symbols))}")
        if not e.is_Number or not np.isfinite(float(e)):
            raise ValueError(f"exprs: {e} is not a finite real number at these vals")
    return np.array([float(e) for e in out])


def _exprs(exprs) -> list:
    try:
        out = [sp.sympify(e, strict=True) for e in exprs]
    except (TypeError, sp.SympifyError):
        out = None
    if out is None or not all(isinstance(e, sp.Expr) for e in out):
        raise ValueError(f"exprs: expected a list of SymPy expressions, got {exprs!r}")
    return out


def states(vals, N: int = 3, g1: str = "tanh", g2: str = "identity") -> dict:
    """``vals`` plus the forward pass ``S_1..S_N, Y_N``, so short forms can be evaluated.

    ``evaluate([t.expr for t in expansion("Ws", 3).terms], states(vals, 3))``
    gives the same numbers as the explicit :func:`~rnnlib.symbolic.scalar.terms`.
    """
    m = _model(*_model_args(N, g1, g2))
    keys = list(m.explicit)
    nums = evaluate([m.explicit[k] for k in keys], vals)
    return {**_subs(vals), **dict(zip(keys, map(float, nums), strict=True))}


def lambdify(exprs, N: int = 3):
    """A numpy function ``f(W_x, W_s, W_y, x_1..x_N, S_0, d_N)`` of expressions (vectorized)."""
    inputs = symbols(N).inputs
    return sp.lambdify(inputs, _exprs(exprs), modules=NUMPY, cse=True)


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
        Sequence length (the loss is ``E_N``, ``at="last"``), ``1 <= N <= MAX_N``.
    g1, g2 : str
    vals : dict, optional
        ``{symbol or name: number}`` for ``W_x, W_s, W_y, x_1..x_N, S_0, d_N``;
        default :func:`values` ``(N, seed)``.
    wrt : str or sequence of str
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
    from .. import gradcheck, rnn

    N, g1, g2 = _model_args(N, g1, g2)
    seed = _seed(seed)
    if isinstance(wrt, str):
        wrt = [wrt]
    try:
        wrt = [_choice(w, WRT, "wrt") for w in wrt]
    except TypeError:
        raise ValueError(f"wrt: expected a name or a list of names from {list(WRT)}") from None
    if not wrt:
        raise ValueError(f"wrt: expected at least one of {list(WRT)}, got none")
    eps = check.positive(eps, "eps")
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
