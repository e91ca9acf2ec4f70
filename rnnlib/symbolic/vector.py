r"""The vector case ``H = 2``: where ``diag(g1')`` and the transpose come from.

One step ``S_t = g1(W_x x_t + W_s S_{t-1})`` with two hidden units, written
entry by entry, so the one-step Jacobian ``∂S_t/∂S_{t-1} = diag(g1'(a_t)) W_s``
and the backward step of the column gradient of ``E_N`` (``t <= N``),
``∇_{S_{t-1}} E_N = W_s^T diag(g1'(a_t)) ∇_{S_t} E_N``, can be read off.  The
loss at the last step reaches ``S_{t-1}`` only through ``S_t``; a loss with a
term at step ``t - 1`` adds its local error there (book: :eq:`eq-backward-recursion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .activations import FORMS, NUMPY
from .latex import Latex
from .scalar import _choice


@dataclass(frozen=True)
class VectorCase:
    """One step ``S_t = g1(W_x x_t + W_s S_{t-1})`` with ``H = 2``, entry by entry.

    Attributes
    ----------
    Ws : Matrix (2, 2)   entries ``W_{s,ij}``
    a : Matrix (2, 1)    ``a_t = W_x x_t + W_s S_{t-1}``
    S : Matrix (2, 1)    ``g1(a_t)`` element-wise
    J : Matrix (2, 2)  ``∂S_t/∂S_{t-1}``: ``J[i, j] = ∂S_{t,i}/∂S_{t-1,j} = g1'(a_{t,i}) W_{s,ij}``
    D : Matrix (2, 2)    ``diag(g1'(a_t))``
    v : Matrix (2, 1)    ``∇_{S_t} E_N``, the column of entries ``dE_N/dS_{t,i}`` (symbols)
    back : Matrix (2, 1) ``∇_{S_{t-1}} E_N = J^T v``, entry ``j = sum_i v_i g1'(a_{t,i}) W_{s,ij}``
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
        """Prove ``J == diag(g1'(a)) W_s`` and ``∇_{S_{t-1}}(v^T S_t) == J^T v == W_s^T D v``."""
        chain = sp.Matrix([sp.diff((self.v.T * self.S)[0], s) for s in self.S_prev])
        zero = [
            self.J - self.D * self.Ws,
            chain - self.back,
            self.back - self.Ws.T * self.D * self.v,
        ]
        return all(sp.expand(m) == sp.zeros(*m.shape) for m in zero)

    def latex(self) -> Latex:
        """``∂S_t/∂S_{t-1}`` entry-wise and the backward step of ``∇ E_N``, as ``aligned`` LaTeX."""
        L = lambda m: sp.latex(m.xreplace(self.short))  # noqa: E731
        parts = sp.Matrix(2, 2, lambda i, j: sp.Symbol(
            rf"\frac{{\partial S_{{t,{i + 1}}}}}{{\partial S_{{t-1,{j + 1}}}}}"))  # fmt: skip
        dE, dE_prev = r"\nabla_{S_t} E_N", r"\nabla_{S_{t-1}} E_N"
        D = r"\diag\bigl(g_1'(a_t)\bigr)"
        rows = [
            rf"\frac{{\partial S_t}}{{\partial S_{{t-1}}}} &= {sp.latex(parts)}",
            rf"&= {L(self.J)}",
            rf"&= {L(self.D)} {sp.latex(self.Ws)} = {D} W_s",
            rf"{dE} &= {sp.latex(self.v)}",
            rf"{dE_prev} &= \left(\frac{{\partial S_t}}"
            rf"{{\partial S_{{t-1}}}}\right)^{{\top}} {dE} = W_s^{{\top}} {D} {dE}",
            rf"&= {L(self.back)}",
            *(rf"{sp.latex(k)} &= {sp.latex(v)}" for v, k in self.short.items()),
        ]
        return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")

    def check_numeric(self, T: int = 4, seed: int = 0) -> float:
        """Max error of ``rnn.bptt``'s ``dS[t-1]`` against ``J_t^T dS[t]`` at random numbers.

        ``rnn.bptt(..., at="last")``: the loss ``E_T``, which reaches ``S_{t-1}``
        only through ``S_t``, so no local error enters.
        """
        from .. import rnn
        from .checks import _seed

        if isinstance(T, bool) or not isinstance(T, int | np.integer) or T < 1:
            raise ValueError(f"T: expected an integer >= 1, got {T!r}")
        rng = np.random.default_rng(_seed(seed))
        p = rnn.init(1, 2, 1, seed=int(seed))
        xs, ds, s0 = rng.normal(size=(T, 1)), rng.normal(size=(T, 1)), rng.normal(size=2)
        tr = rnn.forward(p, xs, s0=s0, g1=self.g1)
        g = rnn.bptt(p, tr, ds, at="last")
        f = sp.lambdify([*self.Ws, *self.S_prev, _XT, *_WX], self.J, modules=NUMPY)
        err = 0.0
        for t in range(1, T + 1):
            J = np.asarray(f(*p.Ws.ravel(), *tr.S[t - 1], xs[t - 1, 0], *p.Wx.ravel()), float)
            err = max(err, float(np.max(np.abs(J.T @ g.dS[t] - g.dS[t - 1]))))
        return err


_XT = sp.Symbol("x_t")
_WX = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"W_{{x,{i + 1}}}"))


def vector_case(g1: str = "tanh") -> VectorCase:
    """The ``H = 2`` step written out; see :class:`VectorCase`.  For ``tanh``::

        ∂S_t/∂S_{t-1}    = [[(1 - tanh^2 a_{t,1}) W_{s,11}, (1 - tanh^2 a_{t,1}) W_{s,12}],
                            [(1 - tanh^2 a_{t,2}) W_{s,21}, (1 - tanh^2 a_{t,2}) W_{s,22}]]
                         = diag(g1'(a_t)) W_s
        ∇_{S_{t-1}} E_N  = (∂S_t/∂S_{t-1})^T ∇_{S_t} E_N = W_s^T diag(g1'(a_t)) ∇_{S_t} E_N

    Row ``i`` of the Jacobian belongs to output ``S_{t,i}``, so ``g1'(a_{t,i})``
    scales row ``i`` (``diag`` on the left); the backward step sums over ``i``,
    down a column, which is the transpose.
    """
    g = FORMS[_choice(g1, FORMS, "g1")]
    Ws = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{{s,{i + 1}{j + 1}}}"))
    S_prev = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"S_{{t-1,{i + 1}}}"))
    a = _WX * _XT + Ws * S_prev
    S = a.applyfunc(g.f)
    J = S.jacobian(S_prev)
    D = sp.diag(*[g.df(a[i], g.f(a[i])) for i in range(2)])
    v = sp.Matrix(2, 1, lambda i, j: sp.Symbol(rf"\frac{{d E_N}}{{d S_{{t,{i + 1}}}}}"))
    short = {a[i]: sp.Symbol(f"a_{{t,{i + 1}}}") for i in range(2)}
    return VectorCase(g1, Ws, S_prev, a, S, J, D, v, J.T * v, short)
