"""Truncated backpropagation through time, and what truncation costs.

Truncation to ``k`` steps keeps, for every loss term ``E_t``, only the states
``S_i`` with ``t - i < k``; :func:`rnnlib.rnn.bptt` and
:func:`rnnlib.lstm.bptt` do it inside the shared recursion
(:func:`rnnlib.engine.backward`, ``truncate=k``).  This module holds the two
views of truncation built on them:

- :func:`tbptt`, the streaming TBPTT(k1, k2) of Williams & Peng (1990), for
  any model that declares its state (``model.STATE``);
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

    The forward pass runs ``k1`` steps at a time, carrying the state.  At
    the end ``t`` of each segment (``t = k1, 2 k1, ...`` and ``t = T``) the
    errors of the segment's own steps, ``E_tau`` for ``t - k1 < tau <= t``,
    backpropagate through the last ``k2`` steps only:

    .. math::  \\Delta W(t) = \\sum_{\\tau=t-k_1+1}^{t}\\;\\sum_{i=t-k_2+1}^{\\tau}
               \\frac{\\partial E_\\tau}{\\partial S_i}\\,\\frac{\\partial^+ S_i}{\\partial W},

    and the estimate is ``sum_t Delta W(t)``.  With ``k1 = k2 = T`` it is
    full BPTT; with ``k1 = 1`` it equals ``bptt(..., at="all", truncate=k2)``.

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
