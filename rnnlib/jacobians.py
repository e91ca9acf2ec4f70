"""Jacobians of the state map and the vanishing/exploding-gradient bound.

One step of the simple RNN, ``S_t = g1(Wx x_t + Ws S_{t-1})``, has the
Jacobian (book: :eq:`eq-jacobian-matrix`)

.. math::  \\frac{\\partial S_t}{\\partial S_{t-1}} = \\operatorname{diag}(g_1'(a_t))\\, W_s,

and the long-range factor of every BPTT term is the total derivative
(book: :eq:`eq-jacobian-product`), a product with the latest factor on the left,

.. math::  \\frac{dS_t}{dS_k} = \\prod_{j=k+1}^{t}
           \\frac{\\partial S_j}{\\partial S_{j-1}}
           = \\frac{\\partial S_t}{\\partial S_{t-1}} \\cdots
             \\frac{\\partial S_{k+1}}{\\partial S_k},

whose norm Pascanu et al. (2013) bound by ``(gamma * lambda1) ** (t - k)``
with ``gamma = sup |g1'|`` and ``lambda1`` the largest singular value of
``Ws`` (book: :eq:`eq-pascanu-bound`).  The functions here work on the
trace of a *single* sequence (``xs`` of shape ``(T, D)``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import _scenario, engine, rnn
from . import _validate as check
from .activations import get as activation


def _single(tr, p) -> int:
    engine.params_of(p, rnn.Params, "rnn")
    engine.trace_of(tr, rnn.Trace, "rnn", p)
    if tr.S.ndim != 2:
        raise ValueError(
            f"tr: Jacobians need the trace of a single sequence (S of shape (T+1, H)), "
            f"got S of shape {tr.S.shape}; run forward on xs[:, b] for one batch member"
        )
    return tr.S.shape[0] - 1


def _time(x, name: str, lo: int, hi: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or not lo <= x <= hi:
        raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {x!r}")
    return int(x)


def _norm2(M: np.ndarray) -> float:
    """Spectral norm; inf once the product has overflowed."""
    if not np.all(np.isfinite(M)):
        return float("inf")
    return float(np.linalg.norm(M, 2))


def step_jacobians(p, tr) -> np.ndarray:
    """Every one-step Jacobian ``dS_t/dS_{t-1} = diag(g1'(a_t)) Ws``.

    Parameters
    ----------
    p : rnnlib.rnn.Params
        The weights ``tr`` was computed with.
    tr : rnnlib.rnn.Trace
        Trace of one sequence: ``tr.A`` of shape ``(T, H)``.

    Returns
    -------
    J : ndarray, (T, H, H)
        ``J[t-1] = dS_t/dS_{t-1}``; row ``r`` is ``g1'(a_t[r]) * Ws[r, :]``.
    """
    _single(tr, p)
    Ws = p.Ws
    with np.errstate(over="ignore", invalid="ignore"):
        D1 = activation(tr.g1, "g1").df(tr.A)  # (T, H)
        return D1[:, :, None] * Ws[None, :, :]


def product(p, tr, t: int, k: int) -> np.ndarray:
    """The Jacobian product ``dS_t/dS_k = J_t J_{t-1} ... J_{k+1}``.

    Parameters
    ----------
    p : rnnlib.rnn.Params
    tr : rnnlib.rnn.Trace
        Single-sequence trace of length ``T``.
    t, k : int
        ``0 <= k <= t <= T``; ``t == k`` gives the identity.

    Returns
    -------
    ndarray, (H, H)
    """
    T = _single(tr, p)
    t = _time(t, "t", 0, T)
    k = _time(k, "k", 0, t)
    J = step_jacobians(p, tr)
    M = np.eye(J.shape[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(t, k, -1):  # left to right: dS_t/dS_{t-1} first
            M = M @ J[j - 1]
    return M


def norms(p, tr, t: int | None = None) -> np.ndarray:
    """``||dS_t/dS_k||_2`` for every ``k = 0..t``, in one backward sweep.

    Parameters
    ----------
    p : rnnlib.rnn.Params
    tr : rnnlib.rnn.Trace
        Single-sequence trace of length ``T``.
    t : int, optional
        The later time step, ``0 <= t <= T``; defaults to ``T``.

    Returns
    -------
    ndarray, (t+1,)
        Entry ``k`` is the spectral norm of ``dS_t/dS_k`` (1 at ``k = t``;
        inf where the product overflowed).
    """
    T = _single(tr, p)
    t = T if t is None else _time(t, "t", 0, T)
    J = step_jacobians(p, tr)
    out = np.empty(t + 1)
    M = np.eye(J.shape[-1])
    out[t] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(t - 1, -1, -1):
            M = M @ J[k]  # dS_t/dS_k = dS_t/dS_{k+1} dS_{k+1}/dS_k
            out[k] = _norm2(M)
    return out


def spectral_radius(Ws) -> float:
    """``rho(Ws) = max |eigenvalue|``.

    Parameters
    ----------
    Ws : array, (H, H)
    """
    Ws = _square(Ws)
    return float(np.max(np.abs(np.linalg.eigvals(Ws))))


def largest_singular_value(Ws) -> float:
    """``lambda1 = ||Ws||_2``, the largest singular value.

    Parameters
    ----------
    Ws : array, (H, H)
    """
    return float(np.linalg.norm(_square(Ws), 2))


def gamma(g1: str = "tanh") -> float:
    """``gamma = sup_a |g1'(a)|``: 1 for tanh, relu and identity, 1/4 for sigmoid."""
    return float(activation(g1, "g1").gamma)


def bound(Ws, g1: str = "tanh", steps=1):
    """The Pascanu et al. bound ``||dS_t/dS_k||_2 <= (gamma * lambda1) ** (t - k)``.

    Parameters
    ----------
    Ws : array, (H, H)
    g1 : str
    steps : int or array-like of int >= 0
        ``t - k``.

    Returns
    -------
    float or ndarray, same shape as ``steps``
    """
    rate = gamma(g1) * largest_singular_value(Ws)
    s = check.array(steps, "steps")
    if np.any(s < 0):
        raise ValueError(f"steps: expected values >= 0, got {steps!r}")
    with np.errstate(over="ignore"):
        out = rate**s
    return float(out) if out.ndim == 0 else out


def horizon_from_rate(rate: float, eps: float = 1e-2) -> float:
    """Steps until ``rate ** n`` falls below ``eps``: ``n = ln(eps) / ln(rate)``.

    Parameters
    ----------
    rate : float >= 0
        The per-step factor ``gamma * lambda1``.
    eps : float in (0, 1)

    Returns
    -------
    float
        ``inf`` when ``rate >= 1`` (the bound never decays), 0 when ``rate == 0``.
    """
    if _scalar(rate) is None or not _scalar(rate) >= 0:
        raise ValueError(f"rate: expected a number >= 0, got {rate!r}")
    if _scalar(eps) is None or not 0 < _scalar(eps) < 1:
        raise ValueError(f"eps: expected a number in (0, 1), got {eps!r}")
    rate, eps = _scalar(rate), _scalar(eps)
    if rate >= 1:
        return float("inf")
    if rate == 0:
        return 0.0
    return float(np.log(eps) / np.log(rate))


def horizon(Ws_or_rate, g1: str = "tanh", eps: float = 1e-2) -> float:
    """The memory horizon the bound implies (book: :eq:`eq-horizon`).

    ``n = ln(eps) / ln(gamma * lambda1)``: after ``n`` steps the bound on
    ``||dS_t/dS_k||`` has fallen below ``eps``.

    Parameters
    ----------
    Ws_or_rate : array (H, H) or float
        The recurrent weights, or directly the rate ``gamma * lambda1``
        (then ``g1`` is ignored).
    g1 : str
    eps : float in (0, 1)

    Returns
    -------
    float
        ``inf`` when ``gamma * lambda1 >= 1``.
    """
    rate = _scalar(Ws_or_rate)  # a rate: a Python or numpy number, also np.array(0.5)
    if (rate is None and np.ndim(Ws_or_rate) == 0) or (rate is not None and not rate >= 0):
        raise ValueError(
            f"Ws_or_rate: expected an (H, H) matrix or a rate >= 0, got {Ws_or_rate!r}"
        )
    if rate is not None:
        return horizon_from_rate(rate, eps)
    rate = gamma(g1) * largest_singular_value(Ws_or_rate)
    return horizon_from_rate(rate, eps)


def scaled_to_spectral_norm(W, lam) -> np.ndarray:
    """``W`` rescaled so that its largest singular value is ``lam``.

    .. math::  W' = \\frac{\\lambda}{\\lVert W \\rVert_2}\\, W,
               \\qquad \\lVert W' \\rVert_2 = \\lambda .

    Every singular value is scaled by the same factor, so the singular
    vectors and the spectrum's shape are kept; only ``lambda1`` of the bound
    (book: :eq:`eq-pascanu-bound`) is set.

    Parameters
    ----------
    W : array, (m, n)
        Not all zeros.
    lam : float > 0

    Returns
    -------
    ndarray, (m, n)
        A new array.
    """
    W = check.array(W, "W", ndim=(2,))
    lam = check.positive(lam, "lam")
    if not np.any(W):
        raise ValueError(f"W: expected a nonzero matrix, got all zeros of shape {W.shape}")
    return W * (lam / np.linalg.norm(W, 2))


def state_gradient_norms(p, tr, ds) -> np.ndarray:
    """``||dE_t/dS_i||`` for the loss at every step ``t`` and every state ``S_i``.

    .. math::  \\frac{dE_t}{dS_i} = \\frac{\\partial E_t}{\\partial S_t}
               \\prod_{k=i+1}^{t} \\frac{\\partial S_k}{\\partial S_{k-1}}
               \\quad (i \\le t),

    zero for ``i > t`` (``E_t`` does not read later states).  One backward
    sweep carries all ``T`` rows ``dE_t/dS_i`` at once: ``O(T^2 H)``.

    Parameters
    ----------
    p : rnnlib.rnn.Params
        The weights ``tr`` was computed with.
    tr : rnnlib.rnn.Trace
        Trace of one sequence: ``tr.S`` of shape ``(T+1, H)``.
    ds : array, (T, O)
        Desired outputs ``d_t``.

    Returns
    -------
    M : ndarray, (T, T)
        ``M[t-1, i-1] = ||dE_t/dS_i||``: lower triangular; inf or NaN where
        the product overflowed.
    """
    T = _single(tr, p)
    H = tr.S.shape[1]
    Ws, Wy = p.Ws, p.Wy
    with np.errstate(over="ignore", invalid="ignore"):
        e = rnn.output_error(tr, ds, at="all") @ Wy  # e[t-1] = dE_t/dS_t
        d1 = activation(tr.g1).df(tr.A)
        M = np.zeros((T, T))
        V = np.zeros((T, H))  # row t-1: dE_t/dS_i for the current i
        for i in range(T, 0, -1):
            V[i - 1] = e[i - 1]
            M[:, i - 1] = np.linalg.norm(V, axis=-1)
            V = (V * d1[i - 1]) @ Ws  # dE_t/dS_{i-1} = dE_t/dS_i diag(g1'(a_i)) Ws
    return M


@dataclass(frozen=True, eq=False)
class DecayProfile:
    """Result of :func:`decay_profile`: how the gradient of ``E_N`` fades (or grows) going back.

    Attributes
    ----------
    norm : ndarray, (N,)
        ``norm[i-1] = ||dE_N/dS_i||``.
    term : ndarray, (N,)
        ``term[i-1]``: Frobenius norm of term ``i`` of ``dE_N/dWs``.
    bound : ndarray, (N,)
        ``||dE_N/dS_N|| (gamma lambda1) ** (N - i)``.
    gamma : float
        ``sup |g1'|``.
    rate : float
        ``gamma * lambda1``, the per-step factor of the bound.
    horizon : float
        Steps until the bound falls below 1e-2 (:func:`horizon_from_rate`); inf if ``rate >= 1``.
    heat : ndarray, (N, N)
        ``heat[t-1, i-1] = ||dE_t/dS_i||`` for the loss at every step
        (:func:`state_gradient_norms`).
    finite : bool
        False if the forward pass or ``norm`` or ``term`` overflowed.
    """

    norm: np.ndarray
    term: np.ndarray
    bound: np.ndarray
    gamma: float
    rate: float
    horizon: float
    heat: np.ndarray
    finite: bool


def decay_profile(scale, g1: str = "tanh", N: int = 30, seed: int = 0, H: int = 8) -> DecayProfile:
    """Vanishing or exploding: ``||dE_N/dS_i||`` against ``i``, with the bound and the horizon.

    The model: ``rnnlib.rnn.init(1, H, 1, seed=seed)`` with ``Ws`` rescaled to
    ``||Ws||_2 = scale`` (:func:`scaled_to_spectral_norm`), inputs and targets
    ``x_t, d_t ~ N(0, 1)`` drawn from ``default_rng(seed)``, loss ``E_N``.
    Along the backward pass (book: :eq:`eq-pascanu-bound`)

    .. math::  \\Big\\lVert \\frac{dE_N}{dS_i} \\Big\\rVert \\le
               \\Big\\lVert \\frac{\\partial E_N}{\\partial S_N} \\Big\\rVert
               (\\gamma \\lambda_1)^{N-i}.

    Cached: the same arguments return the same object, whose arrays are read-only.

    Parameters
    ----------
    scale : float > 0
        ``lambda1``, the largest singular value of ``Ws``.
    g1 : str
        Hidden activation.
    N : int >= 1
        Sequence length.
    seed : int >= 0
    H : int >= 1
        Hidden units.

    Returns
    -------
    DecayProfile
    """
    return _decay_profile(
        check.positive(scale, "scale"),
        activation(g1, "g1").name,
        check.positive_int(N, "N"),
        _scenario.seed(seed),
        check.positive_int(H, "H"),
    )


@_scenario.cached
def _decay_profile(scale, g1, N, seed, H):
    rng = np.random.default_rng(seed)
    p = rnn.init(1, H, 1, seed=seed)
    p.Ws = scaled_to_spectral_norm(p.Ws, scale)
    xs = rng.normal(0.0, 1.0, (N, 1))
    ds = rng.normal(0.0, 1.0, (N, 1))
    tr = rnn.forward(p, xs, g1=g1)
    g = rnn.bptt(p, tr, ds, at="last")
    i = np.arange(1, N + 1)
    gam = gamma(g1)
    rate = gam * scale
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.linalg.norm(g.dS[1:], axis=-1)
        term = np.linalg.norm(g.terms["Ws"].reshape(N, -1), axis=-1)
        bound = norm[-1] * rate ** (N - i).astype(float)
        heat = state_gradient_norms(p, tr, ds)
    finite = bool(tr.finite and np.all(np.isfinite(norm)) and np.all(np.isfinite(term)))
    return DecayProfile(norm, term, bound, gam, rate, horizon_from_rate(rate), heat, finite)


def _square(Ws) -> np.ndarray:
    Ws = check.array(Ws, "Ws", ndim=(2,))
    if Ws.shape[0] != Ws.shape[1]:
        raise ValueError(f"Ws: expected a square (H, H) matrix, got shape {Ws.shape}")
    check.nonempty(Ws, "Ws", "H")
    return Ws


def _scalar(x) -> float | None:
    """``x`` as a float if it is a real number (Python, numpy, or a 0-d array), else None."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        x = x[()]
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        return None
    return float(x)
