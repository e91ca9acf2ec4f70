"""The chain-rule sum of the scalar model, one term and one factor at a time.

For the loss ``E_N`` each weight gradient, a total derivative, is a sum over
the steps ``i`` where the weight is used (book: :eq:`eq-bptt-general`)::

    dE_N/dW = sum_i  ∂E_N/∂Y_N  ∂Y_N/∂S_N  (prod_{k=i+1}^{N} ∂S_k/∂S_{k-1})  ∂⁺S_i/∂W

``d`` is the total derivative, ``∂`` a one-step partial and ``∂⁺S_i/∂W`` the
immediate partial (``S_{i-1}`` held fixed); the product puts the latest factor
on the left.

:func:`backward_walk` runs the scalar model (``H = D = O = 1``) that the
chapters walk through by hand and returns every term; :func:`term_factors`
splits one term into its factors, whose product is the term.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import _scenario, rnn
from . import _validate as check
from .activations import get as activation

WX, WS, WY = 0.8, 1.2, 0.9  # the scalar model's weights
SEED = 3  # x_t ~ N(0, 1) from default_rng(SEED); the target is d_N = 1
WRT = ("Ws", "Wx", "Wy")


@dataclass(frozen=True, eq=False)
class BackwardWalk:
    """Result of :func:`backward_walk`: the scalar model's trace and the terms of ``dE_N/dW``.

    Attributes
    ----------
    N : int
    wrt : {"Ws", "Wx", "Wy"}
    Wx, Ws, Wy : float
        The weights.
    xs : ndarray, (N,)
        ``xs[i-1] = x_i``.
    S : ndarray, (N+1,)
        ``S[i] = S_i``; ``S[0] = 0``.
    dE_dY : float
        ``∂E_N/∂Y_N = 2 (Y_N - d_N)``.
    dg1 : ndarray, (N,)
        ``dg1[k-1] = g1'(a_k)``.
    jacobians : ndarray, (N,)
        ``jacobians[k-1] = ∂S_k/∂S_{k-1} = g1'(a_k) Ws``.
    terms : ndarray, (N,)
        ``terms[i-1]``: term ``i`` of ``dE_N/dW``; for ``Wy`` only term ``N`` is nonzero.
    running : ndarray, (N,)
        ``running[i-1]``: the sum of terms ``i..N``, walking back from ``i = N``;
        ``running[0]`` is the total up to rounding.
    total : float
        ``dE_N/dW``, the sum of ``terms``.
    finite : bool
        False if a term or the total overflowed.
    """

    N: int
    wrt: str
    Wx: float
    Ws: float
    Wy: float
    xs: np.ndarray
    S: np.ndarray
    dE_dY: float
    dg1: np.ndarray
    jacobians: np.ndarray
    terms: np.ndarray
    running: np.ndarray
    total: float
    finite: bool


def backward_walk(N, wrt: str = "Ws") -> BackwardWalk:
    """Every term of ``dE_N/dW`` for the scalar model ``Wx = 0.8, Ws = 1.2, Wy = 0.9``.

    ``S_t = tanh(Wx x_t + Ws S_{t-1})``, ``Y_t = Wy S_t``, ``E_N = (d_N - Y_N)^2``
    with ``x_t ~ N(0, 1)`` from ``default_rng(3)`` (the same ``x_1..x_N`` prefix
    for every ``N``) and ``d_N = 1``.

    Cached: the same arguments return the same object, whose arrays are read-only.

    Parameters
    ----------
    N : int >= 1
        Sequence length.
    wrt : {"Ws", "Wx", "Wy"}
        The weight ``W``.

    Returns
    -------
    BackwardWalk
    """
    return _backward_walk(check.positive_int(N, "N"), check.choice(wrt, WRT, "wrt"))


@_scenario.cached
def _backward_walk(N, wrt):
    p = rnn.Params(Wx=np.array([[WX]]), Ws=np.array([[WS]]), Wy=np.array([[WY]]))
    xs = np.random.default_rng(SEED).normal(0.0, 1.0, (N, 1))
    ds = np.zeros((N, 1))
    ds[-1] = 1.0
    tr = rnn.forward(p, xs)
    g = rnn.bptt(p, tr, ds)
    terms = g.terms[wrt][:, 0, 0]
    total = float(getattr(g, wrt)[0, 0])
    dg1 = activation(tr.g1).df(tr.A[:, 0])
    return BackwardWalk(
        N=N,
        wrt=wrt,
        Wx=WX,
        Ws=WS,
        Wy=WY,
        xs=tr.xs[:, 0],
        S=tr.S[:, 0],
        dE_dY=float(2.0 * (tr.Y[-1, 0] - ds[-1, 0])),
        dg1=dg1,
        jacobians=dg1 * WS,
        terms=terms,
        running=np.cumsum(terms[::-1])[::-1],
        total=total,
        finite=bool(np.all(np.isfinite(terms)) and np.isfinite(total)),
    )


def term_factors(walk: BackwardWalk, i: int) -> tuple[tuple[str, float], ...]:
    """The factors of term ``i`` of ``dE_N/dW`` as ``(latex name, value)`` pairs.

    Their product is ``walk.terms[i-1]`` (book: :eq:`eq-bptt-general`)::

        ∂E_N/∂Y_N * ∂Y_N/∂S_N * prod_{k=i+1}^{N} ∂S_k/∂S_{k-1} * ∂⁺S_i/∂W

    with ``∂⁺S_i/∂Ws = g1'(a_i) S_{i-1}`` and ``∂⁺S_i/∂Wx = g1'(a_i) x_i``; the
    product factor is left out when ``i = N`` (it is 1).  ``dE_N/dWy`` has the
    single term ``∂E_N/∂Y_N * ∂Y_N/∂Wy = ∂E_N/∂Y_N * S_N`` (``Wy`` is used in
    step ``N``'s output only, so the one-step partial is the whole story).  The
    names use the symbol ``i``, so they form a small fixed set of strings.

    Parameters
    ----------
    walk : BackwardWalk
        From :func:`backward_walk`.
    i : int
        The step, ``1 <= i <= walk.N``; ``i = N`` for ``Wy``.

    Returns
    -------
    tuple of (str, float)
        Two to four factors, in the order of the formula.
    """
    if not isinstance(walk, BackwardWalk):
        raise ValueError(f"walk: expected a BackwardWalk, got {type(walk).__name__}")
    N = walk.N
    if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 1 <= i <= N:
        raise ValueError(f"i: expected an integer in [1, {N}], got {i!r}")
    i = int(i)
    if walk.wrt == "Wy":
        if i != N:
            raise ValueError(f"i: dE_N/dWy has one term, i = N = {N}; got {i}")
        return (
            (r"\partial E_N/\partial Y_N", walk.dE_dY),
            (r"\partial Y_N/\partial W_y", float(walk.S[N])),
        )
    out = [(r"\partial E_N/\partial Y_N", walk.dE_dY), (r"\partial Y_N/\partial S_N", walk.Wy)]
    if i < N:
        jac = np.prod(walk.dg1[i:N] * walk.Ws)  # dS_N/dS_i = prod_{k=i+1}^{N} ∂S_k/∂S_{k-1}
        out.append((r"\prod_{k=i+1}^{N}\partial S_k/\partial S_{k-1}", float(jac)))
    own = walk.S[i - 1] if walk.wrt == "Ws" else walk.xs[i - 1]
    w = "W_s" if walk.wrt == "Ws" else "W_x"
    out.append((rf"\partial^+ S_i/\partial {w}", float(walk.dg1[i - 1] * own)))
    return tuple(out)
