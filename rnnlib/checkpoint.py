"""Gradient checkpointing: BPTT that stores every k-th state and recomputes the rest.

:func:`rnnlib.rnn.bptt` needs the whole trace of the forward pass, ``T + 1``
states and ``T`` pre-activations, so its memory grows like ``O(T)``.
Checkpointing (Chen, Xu, Zhang & Guestrin 2016) cuts the sequence into
segments of ``k`` steps.  The forward pass keeps only the state at the start
of each segment (the *checkpoints*).  The backward pass visits the segments
from last to first: it recomputes the segment's states from its checkpoint,
runs the backward recursion (book: :eq:`eq-backward-recursion`) through
those ``k`` steps and hands ``dE/dS`` at the segment's start to the segment
before it::

    memory   O(T / k + k) states      (k ~ sqrt(T): O(sqrt(T)))
    time     one extra forward pass

The weight gradients are those of :func:`rnnlib.rnn.bptt`, to rounding.
:func:`memory_profile` measures both sides with ``tracemalloc``.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _validate as check
from . import rnn
from .activations import get as activation
from .engine import Names, inputs, params_of


@dataclass
class Grads:
    """Weight gradients from :func:`bptt` (no per-step terms: they would be ``O(T)``).

    Attributes
    ----------
    Wx, Ws, Wy : ndarray
        ``dE/dW``, same shapes as the parameters; equal to :func:`rnnlib.rnn.bptt`'s.
    bs, by : ndarray or None
        ``dE/dbs``, ``dE/dby`` when the parameters have biases.
    dS0 : ndarray, ([B,] H)
        ``dE/dS_0``, the gradient with respect to the initial state.
    E : float
        The loss, as :func:`rnnlib.rnn.loss` computes it.
    every : int
        The segment length ``k`` used.
    stored : int
        How many states the forward pass kept (``ceil(T / k)``).
    """

    Wx: np.ndarray
    Ws: np.ndarray
    Wy: np.ndarray
    dS0: np.ndarray
    E: float
    every: int
    stored: int
    bs: np.ndarray | None = None
    by: np.ndarray | None = None
    names = Names(rnn.WEIGHT_NAMES, rnn.BIAS_NAMES)


def default_every(T: int) -> int:
    """The segment length that balances ``T / k`` checkpoints against ``k`` recomputed states."""
    return max(1, round(np.sqrt(check.positive_int(T, "T"))))


def bptt(p, xs, ds, at: str = "all", every: int | None = None, s0=None,
         g1: str = "tanh", g2: str = "identity", kind: str = "squared") -> Grads:  # fmt: skip
    """Checkpointed backpropagation through time for :mod:`rnnlib.rnn`.

    Forward: ``S_t = g1(Wx x_t + Ws S_{t-1})``, keeping ``S_0, S_k, S_2k, ...``
    only.  Backward, segment by segment from the last: recompute the
    segment's trace from its checkpoint, then
    ``dE/dS_{t-1} = e_{t-1} + dE/dS_t diag(g1'(a_t)) Ws`` through it.

    Parameters
    ----------
    p : rnnlib.rnn.Params
    xs : array, (T, D) or (T, B, D)
    ds : array
        Targets as :func:`rnnlib.rnn.loss` takes them for ``kind``: desired
        outputs ``(T, [B,] O)``, or class indices ``(T, [B])`` for cross-entropy.
    at : {"last", "all"}
        As in :func:`rnnlib.rnn.loss`.
    every : int >= 1, optional
        Segment length ``k``; None chooses ``round(sqrt(T))``.
    s0 : array, ([B,] H), optional
        Initial state; zeros by default.
    g1, g2 : str
        Hidden and output activations (``g2`` may be ``"softmax"``).
    kind : {"squared", "cross_entropy"}
        The loss, as in :func:`rnnlib.rnn.loss`.

    Returns
    -------
    Grads
        Equal to ``rnn.bptt(p, rnn.forward(p, xs, s0, g1, g2), ds, at, kind=kind)``'s
        weight (and bias) gradients, with memory ``O(T / k + k)`` states instead of ``O(T)``.
    """
    D, H, O = params_of(p, rnn.Params, "rnn")
    xs = inputs(xs, D)
    T = xs.shape[0]
    check.choice(at, rnn.LOSS_MODES, "at")
    check.choice(kind, rnn.LOSS_KINDS, "kind")
    if kind == "squared":
        ds = check.array(ds, "ds", ndim=(xs.ndim,))
        check.shape(ds, xs.shape[:-1] + (O,), "ds")
    elif g2 != "softmax":
        raise ValueError(f"kind: 'cross_entropy' needs g2='softmax', got g2={g2!r}")
    else:  # class indices or one-hot, as rows (T, [B,] O)
        ds = rnn._class_targets(ds, xs.shape[:-1] + (O,))
    k = default_every(T) if every is None else check.positive_int(every, "every")
    df = activation(g1, "g1").df
    starts = range(0, T, k)

    checkpoints = []  # S at the start of every segment: the only states kept
    state = s0
    for a in starts:
        tr = rnn.forward(p, xs[a : a + k], state, g1, g2)
        checkpoints.append(tr.S[0].copy())  # a copy: a view would keep the segment's S alive
        state = tr.S[-1].copy()

    gW = {n: np.zeros_like(getattr(p, n)) for n in p.names}
    carry = np.zeros(xs.shape[1:-1] + (H,))  # dE/dS at the end of the segment being visited
    E = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for a, S_a in zip(reversed(starts), reversed(checkpoints), strict=True):
            b = min(a + k, T)
            tr = rnn.forward(p, xs[a:b], S_a, g1, g2)  # the recomputation
            final = b == T
            if at == "all" or final:
                dZ = rnn.output_error(tr, ds[a:b], at, kind)
                E += rnn.loss(tr, ds[a:b], at, kind)
            else:  # E_T only, and this segment ends before T
                dZ = np.zeros_like(tr.Y)
            e = dZ @ p.Wy
            D1 = df(tr.A)
            delta = np.empty_like(tr.A)
            for t in range(b - a, 0, -1):  # local step t is global step a + t
                carry = carry + e[t - 1]  # dE/dS_t
                delta[t - 1] = carry * D1[t - 1]  # dE/da_t
                carry = delta[t - 1] @ p.Ws  # dE/dS_{t-1} through step t
            flat = delta.reshape(-1, H)
            gW["Wx"] += flat.T @ tr.xs.reshape(-1, D)
            gW["Ws"] += flat.T @ tr.S[:-1].reshape(-1, H)
            gW["Wy"] += dZ.reshape(-1, O).T @ tr.S[1:].reshape(-1, H)
            if "bs" in gW:
                gW["bs"] += flat.sum(axis=0)
            if "by" in gW:
                gW["by"] += dZ.reshape(-1, O).sum(axis=0)
    return Grads(**gW, dS0=carry, E=E, every=k, stored=len(checkpoints))


class Profile(NamedTuple):
    """Measured peak memory and time of full and checkpointed BPTT, per sequence length.

    Attributes
    ----------
    T : ndarray of int, (n,)
    every : ndarray of int, (n,)       segment length ``k`` used at each ``T``
    full_bytes, checkpoint_bytes : ndarray, (n,)
        Peak bytes allocated (``tracemalloc``) during forward + backward.
    full_seconds, checkpoint_seconds : ndarray, (n,)
        Best wall-clock time of ``repeat`` runs (measured without tracemalloc).
    """

    T: np.ndarray
    every: np.ndarray
    full_bytes: np.ndarray
    checkpoint_bytes: np.ndarray
    full_seconds: np.ndarray
    checkpoint_seconds: np.ndarray

    @property
    def memory_ratio(self) -> np.ndarray:
        """``checkpoint_bytes / full_bytes`` per ``T``."""
        return self.checkpoint_bytes / self.full_bytes

    @property
    def time_ratio(self) -> np.ndarray:
        """``checkpoint_seconds / full_seconds`` per ``T``."""
        return self.checkpoint_seconds / self.full_seconds


def _peak(run) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _best_time(run, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t0)
    return best


def memory_profile(Ts, every: int | None = None, n_hidden: int = 32, batch: int = 8,
                   seed: int = 0, repeat: int = 3) -> Profile:  # fmt: skip
    """Measure :func:`rnnlib.rnn.bptt` (forward + backward) against :func:`bptt` over ``T``.

    Both compute the gradient of ``E = sum_t ||d_t - Y_t||^2`` for one random
    batch of ``batch`` sequences (``D = O = 1``, ``H = n_hidden``).

    Parameters
    ----------
    Ts : sequence of int >= 1
        Sequence lengths.
    every : int >= 1, optional
        Segment length; None uses ``round(sqrt(T))`` at each ``T``.
    n_hidden, batch : int >= 1
    seed : int >= 0
    repeat : int >= 1
        Timed runs per measurement (the best counts).

    Returns
    -------
    Profile
    """
    Ts = [check.positive_int(T, "Ts") for T in np.atleast_1d(np.asarray(Ts, dtype=object))]
    if not Ts:
        raise ValueError("Ts: expected at least one sequence length")
    every = check.positive_int(every, "every", allow_none=True)
    H = check.positive_int(n_hidden, "n_hidden")
    B = check.positive_int(batch, "batch")
    repeat = check.positive_int(repeat, "repeat")
    rng = np.random.default_rng(check.seed(seed))
    p = rnn.init(1, H, 1, seed=seed, scale=0.9)
    rows = []
    for T in Ts:
        xs, ds = rng.normal(size=(T, B, 1)), rng.normal(size=(T, B, 1))
        k = default_every(T) if every is None else every
        runs = (
            lambda xs=xs, ds=ds: rnn.bptt(p, rnn.forward(p, xs), ds, at="all"),
            lambda xs=xs, ds=ds, k=k: bptt(p, xs, ds, at="all", every=k),
        )
        rows.append((T, k, *(_peak(r) for r in runs), *(_best_time(r, repeat) for r in runs)))
    return Profile(*(np.array(c) for c in zip(*rows, strict=True)))
