"""Truncated backpropagation through time, and what truncation costs.

Truncation to ``k`` steps keeps, for every loss term ``E_t``, only the states
``S_i`` with ``t - i < k``; :func:`rnnlib.rnn.bptt` and
:func:`rnnlib.lstm.bptt` do it inside the shared recursion
(:func:`rnnlib.engine.backward`, ``truncate=k``).  This module holds the two
views of truncation built on them:

- :func:`tbptt`, the streaming TBPTT(k1, k2) of Williams & Peng (1990), for
  any model that declares its state (``model.STATE``);
- :func:`randomized_truncation`, truncation at a random length with the kept
  terms reweighted so that the estimate is unbiased (Tallec & Ollivier 2017);
- :func:`truncation_profile`, how well the ``k`` newest terms of ``dE_N/dWs``
  approximate the full gradient on a seeded model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _scenario, jacobians, rnn
from . import _validate as check
from .engine import hidden_activation, model_module


@dataclass
class TBPTT:
    """Result of :func:`tbptt`, with full BPTT on the same sequence beside it.

    Attributes
    ----------
    grads : dict name -> ndarray
        The TBPTT(k1, k2) gradient: the sum of every segment's update.
    segments : list of dict name -> ndarray
        The update made at each segment end, in order.
    windows : list of (int, int)
        ``(start, end)`` of each backward window: states ``S_{start+1}..S_end``
        receive error, ``S_start`` is where the backward pass stops.
    full : dict name -> ndarray
        Full BPTT of the same loss, for comparison.
    loss : float
        The loss of the whole sequence (``at`` as given).
    """

    grads: dict
    segments: list
    windows: list
    full: dict
    loss: float

    @property
    def finite(self) -> bool:
        return all(bool(np.all(np.isfinite(g))) for g in self.grads.values())

    @property
    def rel_error(self) -> float:
        """``||g_tbptt - g_full|| / ||g_full||`` over all parameters together."""
        diff = sum(float(np.sum((self.grads[n] - self.full[n]) ** 2)) for n in self.full)
        ref = sum(float(np.sum(self.full[n] ** 2)) for n in self.full)
        return float(np.sqrt(diff / ref)) if ref > 0 else float(np.sqrt(diff))

    @property
    def cosine(self) -> float:
        """Cosine of the angle between the TBPTT and the full gradient."""
        dot = sum(float(np.sum(self.grads[n] * self.full[n])) for n in self.full)
        a = np.sqrt(sum(float(np.sum(self.grads[n] ** 2)) for n in self.full))
        b = np.sqrt(sum(float(np.sum(self.full[n] ** 2)) for n in self.full))
        return float(dot / (a * b)) if a > 0 and b > 0 else float("nan")


def tbptt(model, params, xs, ds, k1, k2, at="all", g1="tanh", s0=None) -> TBPTT:
    """Truncated BPTT(k1, k2) of Williams & Peng (1990): the streaming estimate.

    The forward pass runs ``k1`` steps at a time, carrying the state.  The
    segment ends are ``t_m = min(m k1, T)``, ``m = 1..ceil(T / k1)`` (the last
    segment may be shorter), with ``t_0 = 0``.  At ``t_m`` the errors of the
    segment's own steps, ``E_tau`` for ``t_{m-1} < tau <= t_m``, backpropagate
    through the last ``k2`` steps only (book: :eq:`eq-tbptt`):

    .. math::  \\Delta W_m = \\sum_{\\tau=t_{m-1}+1}^{t_m}\\;
               \\sum_{i=\\max(1,\\,t_m-k_2+1)}^{\\tau}
               \\frac{\\partial E_\\tau}{\\partial S_\\tau}\\,\\frac{dS_\\tau}{dS_i}\\,
               \\frac{\\partial^+ S_i}{\\partial W},

    and the estimate is ``sum_m Delta W_m``.  With ``k1 = k2 = T`` it is
    full BPTT; with ``k1 = 1`` it equals ``bptt(..., at="all", truncate=k2)``.
    The usual framework loop, which runs ``k`` steps from a detached state and
    backpropagates their loss, is ``tbptt(..., k, k)``.

    Parameters
    ----------
    model : module
        :mod:`rnnlib.rnn` or :mod:`rnnlib.lstm`.
    params : model.Params
    xs : array, (T, [B,] D)
    ds : array, (T, [B,] O)
    k1 : int >= 1
        Steps between updates (the segment length).
    k2 : int >= k1
        Steps each backward pass covers.
    at : {"all", "last"}
        Loss terms: every step, or ``E_T`` only.
    g1 : str
        Hidden activation (:mod:`rnnlib.rnn` only).
    s0 : array, ([B,] H), optional
        Initial state.

    Returns
    -------
    TBPTT
    """
    k1 = check.positive_int(k1, "k1")
    k2 = check.positive_int(k2, "k2")
    if k2 < k1:
        raise ValueError(f"k2: must be >= k1 = {k1} (Williams & Peng), got {k2}")
    check.choice(at, ("all", "last"), "at")
    xs = check.array(xs, "xs", ndim=(2, 3))
    ds = check.array(ds, "ds", ndim=(xs.ndim,))
    model_module(model, params)
    kw = hidden_activation(model, g1)
    T = xs.shape[0]

    def run(lo, hi, state):  # the state as the model declares it, e.g. (s0, c0) for the LSTM
        return model.forward(params, xs[lo:hi], **dict(zip(model.STATE, state, strict=True)), **kw)

    def end(tr):
        return tuple(getattr(tr, a)[-1] for a in model.STATE.values())

    # forward, k1 steps at a time, keeping the state at each segment boundary
    ends = list(range(k1, T, k1)) + [T]
    bounds = list(zip([0] + ends[:-1], ends, strict=True))
    states = {0: (s0,) + (None,) * (len(model.STATE) - 1)}
    for lo, hi in bounds:
        states[hi] = end(run(lo, hi, states[lo]))
    full_tr = run(0, T, states[0])
    loss = model.loss(full_tr, ds, at=at)

    names = params.names
    grads = {n: np.zeros_like(getattr(params, n)) for n in names}
    segments, windows = [], []
    for lo, hi in bounds:
        w = max(hi - k2, 0)
        windows.append((w, hi))
        if at == "last" and hi < T:  # no loss term in this segment: a zero update
            segments.append({n: np.zeros_like(g) for n, g in grads.items()})
            continue
        # the window starts at a stored boundary state, or is re-run from one
        base = max(b for b in states if b <= w)
        state = states[base]
        if base < w:
            state = end(run(base, w, state))
        tr = run(w, hi, state)
        # errors enter only at this segment's own loss steps: elsewhere the target is
        # set to the output itself, so the residual and its gradient are zero
        mask = np.zeros(hi - w, dtype=bool)
        mask[lo - w :] = True
        if at == "last":
            mask[:-1] = False
        mask = mask.reshape((-1,) + (1,) * (ds.ndim - 1))
        with np.errstate(over="ignore", invalid="ignore"):
            target = np.where(mask, ds[w:hi], np.nan_to_num(tr.Y))
        g = model.bptt(params, tr, target, at="all")
        segments.append({n: getattr(g, n) for n in names})
        for n in names:
            grads[n] = grads[n] + segments[-1][n]
    fg = model.bptt(params, full_tr, ds, at=at)
    return TBPTT(grads, segments, windows, {n: getattr(fg, n) for n in names}, loss)


@dataclass(frozen=True, eq=False)
class RandomizedTruncation:
    """Result of :func:`randomized_truncation`: many random-length estimates of one gradient.

    Attributes
    ----------
    lengths : ndarray of int, (n,)
        The truncation length ``K`` drawn for each estimate.
    estimates : dict name -> ndarray, (n, ...)
        ``estimates[name][r]``: the reweighted estimate made with ``lengths[r]``.
    slices : dict name -> ndarray, (J, ...)
        ``slices[name][j]``: the part of the full gradient carried by paths that
        span exactly ``j`` Jacobians (``tau - i = j``), for ``j < J``, with
        ``J = min(T, lengths.max())``.
    survive : ndarray, (J,)
        ``survive[j] = P(K > j)``, the probability that distance ``j`` is kept.
    fixed : dict name -> ndarray
        Truncation at the fixed length ``k``: ``bptt(..., truncate=k)``.
    full : dict name -> ndarray
        Full BPTT of the same loss.
    """

    lengths: np.ndarray
    estimates: dict
    slices: dict
    survive: np.ndarray
    fixed: dict
    full: dict

    def _rel(self, g: dict) -> float:
        diff = sum(float(np.sum((g[n] - self.full[n]) ** 2)) for n in self.full)
        return float(np.sqrt(diff / sum(float(np.sum(f**2)) for f in self.full.values())))

    def mean(self, n: int | None = None) -> dict:
        """The average of the first ``n`` estimates (all by default)."""
        n = len(self.lengths) if n is None else check.positive_int(n, "n")
        return {name: e[:n].mean(axis=0) for name, e in self.estimates.items()}

    def rel_bias(self, n: int | None = None) -> float:
        """``||mean of the first n estimates - g_full|| / ||g_full||``."""
        return self._rel(self.mean(n))

    @property
    def fixed_rel_error(self) -> float:
        """``||g_k - g_full|| / ||g_full||`` for the fixed truncation at ``k``."""
        return self._rel(self.fixed)

    @property
    def rel_spread(self) -> float:
        """Root-mean-square distance of one estimate from the full gradient, over ``||g_full||``."""
        sq = sum(
            np.sum((e - self.full[n]) ** 2, axis=tuple(range(1, e.ndim)))
            for n, e in self.estimates.items()
        )
        return float(np.sqrt(np.mean(sq) / sum(float(np.sum(f**2)) for f in self.full.values())))


def randomized_truncation(model, params, xs, ds, k, q, n, seed=0, at="last", g1="tanh", s0=None):
    """Truncation at a random length, reweighted to be unbiased (Tallec & Ollivier 2017).

    Each estimate draws a length ``K = k + G`` with ``G`` geometric,
    ``P(G >= m) = q**m``, so that a path spanning ``j`` Jacobians survives with
    probability ``c_j = P(K > j)``: 1 for ``j < k`` and ``q**(j - k + 1)`` beyond.
    The kept paths are divided by their probability of surviving (book:
    :eq:`eq-randomized-truncation`):

    .. math::  \\hat g_K = \\sum_{j=0}^{K-1} \\frac{1}{c_j}\\, D_j,
               \\qquad \\mathbb{E}\\,\\hat g_K = \\sum_j D_j = \\frac{dE}{dW},

    where ``D_j`` is the part of the gradient carried by paths with
    ``tau - i = j``: ``D_j = g_{j+1} - g_j`` with ``g_m = bptt(..., truncate=m)``.
    With ``q = 0`` every estimate is the fixed truncation at ``k``.

    Parameters
    ----------
    model : module
        :mod:`rnnlib.rnn` or :mod:`rnnlib.lstm`.
    params : model.Params
    xs : array, (T, [B,] D)
    ds : array, (T, [B,] O)
    k : int >= 1
        The length every estimate keeps.
    q : float in [0, 1)
        Probability of going one step further back beyond ``k``; the mean
        length is ``k + q / (1 - q)``.
    n : int >= 1
        Number of estimates.
    seed : int >= 0
    at : {"all", "last"}
    g1 : str
        Hidden activation (:mod:`rnnlib.rnn` only).
    s0 : array, ([B,] H), optional

    Returns
    -------
    RandomizedTruncation
    """
    k = check.positive_int(k, "k")
    q = check.real(q, "q")
    if not 0.0 <= q < 1.0:
        raise ValueError(f"q: expected a probability in [0, 1), got {q!r}")
    n = check.positive_int(n, "n")
    rng = np.random.default_rng(check.seed(seed))
    check.choice(at, ("all", "last"), "at")
    xs = check.array(xs, "xs", ndim=(2, 3))
    ds = check.array(ds, "ds", ndim=(xs.ndim,))
    model_module(model, params)
    kw = hidden_activation(model, g1)
    tr = model.forward(params, xs, s0=s0, **kw)
    names = params.names
    T = xs.shape[0]
    lengths = k + rng.geometric(1.0 - q, size=n) - 1 if q > 0 else np.full(n, k)
    J = int(min(T, lengths.max()))

    def truncated(m):
        g = model.bptt(params, tr, ds, at=at, truncate=m)
        return {name: getattr(g, name) for name in names}

    g = [{name: np.zeros_like(getattr(params, name)) for name in names}]
    g += [truncated(m) for m in range(1, J + 1)]
    slices = {name: np.stack([g[j + 1][name] - g[j][name] for j in range(J)]) for name in names}
    j = np.arange(J)
    survive = np.where(j < k, 1.0, q ** np.maximum(j - k + 1, 0).astype(float))
    # running[m] = sum_{j<m} D_j / c_j, so an estimate with length K is running[min(K, J)]
    estimates = {}
    for name, s in slices.items():
        w = s / survive.reshape((-1,) + (1,) * (s.ndim - 1))
        running = np.concatenate([np.zeros((1,) + s.shape[1:]), np.cumsum(w, axis=0)])
        estimates[name] = running[np.minimum(lengths, J)]
    fixed = g[k] if k <= J else truncated(k)
    full = model.bptt(params, tr, ds, at=at)
    return RandomizedTruncation(
        lengths, estimates, slices, survive, fixed, {name: getattr(full, name) for name in names}
    )


@dataclass(frozen=True, eq=False)
class TruncationProfile:
    """Result of :func:`truncation_profile`.

    Attributes
    ----------
    term_norm : ndarray, (N,)
        ``term_norm[i-1]``: Frobenius norm of term ``i`` of ``dE_N/dWs``.
    cos : ndarray, (N,)
        ``cos[k-1]``: cosine between the ``k``-step truncated gradient and the full one.
    rel_error : ndarray, (N,)
        ``rel_error[k-1] = ||g_k - g|| / ||g||`` (0 at ``k = N``).
    finite : bool
        False if the forward pass or any term overflowed.
    """

    term_norm: np.ndarray
    cos: np.ndarray
    rel_error: np.ndarray
    finite: bool


def truncation_profile(N, scale, H: int = 8, seed: int = 0) -> TruncationProfile:
    """How close the ``k`` newest terms of ``dE_N/dWs`` come to the full gradient, ``k = 1..N``.

    For the loss at the last step, truncation to ``k`` steps keeps the
    terms entering through ``S_i`` with ``N - i < k`` (book: :eq:`eq-truncated-gradient`):

    .. math::  g_k = \\sum_{i=N-k+1}^{N}
               \\frac{\\partial E_N}{\\partial S_i}\\,\\frac{\\partial^+ S_i}{\\partial W_s},

    the same as ``rnnlib.rnn.bptt(..., truncate=k)``.  The model:
    ``rnnlib.rnn.init(1, H, 1, seed=seed)`` with ``||Ws||_2 = scale``
    (:func:`rnnlib.jacobians.scaled_to_spectral_norm`), ``x_t, d_t ~ N(0, 1)``
    from ``default_rng(seed)``, tanh hidden units.

    Cached: the same arguments return the same object, whose arrays are read-only.

    Parameters
    ----------
    N : int >= 1
        Sequence length.
    scale : float > 0
        ``lambda1``, the largest singular value of ``Ws``.
    H : int >= 1
    seed : int >= 0

    Returns
    -------
    TruncationProfile
    """
    return _truncation_profile(
        check.positive_int(N, "N"),
        check.positive(scale, "scale"),
        check.positive_int(H, "H"),
        _scenario.seed(seed),
    )


@_scenario.cached
def _truncation_profile(N, scale, H, seed):
    rng = np.random.default_rng(seed)
    p = rnn.init(1, H, 1, seed=seed)
    p.Ws = jacobians.scaled_to_spectral_norm(p.Ws, scale)
    xs, ds = rng.normal(size=(N, 1)), rng.normal(size=(N, 1))
    tr = rnn.forward(p, xs)
    terms = rnn.bptt(p, tr, ds).terms["Ws"].reshape(N, -1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        full = terms.sum(axis=0)
        trunc = np.cumsum(terms[::-1], axis=0)  # trunc[k-1]: the k newest terms
        nf = np.linalg.norm(full)
        cos = trunc @ full / (np.linalg.norm(trunc, axis=1) * nf)
        err = np.linalg.norm(trunc - full, axis=1) / nf
        size = np.linalg.norm(terms, axis=1)
    return TruncationProfile(size, cos, err, bool(np.all(np.isfinite(size)) and tr.finite))
