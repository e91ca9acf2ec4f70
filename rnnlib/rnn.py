"""The simple recurrent network and backpropagation through time.

Model (book: :eq:`eq-rnn-state`, :eq:`eq-rnn-output`, :eq:`eq-error`)::

    a_t = Wx x_t + Ws S_{t-1}        S_t = g1(a_t)
    z_t = Wy S_t                     Y_t = g2(z_t)
    E_t = ||d_t - Y_t||^2

Shapes are time-major: ``xs`` is ``(T, D)`` for one sequence or ``(T, B, D)``
for a batch of ``B``; ``S`` is ``(T+1, [B,] H)`` with ``S[0] = S_0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import _validate as check
from .activations import get as activation
from .truncation import backward

LOSS_MODES = ("last", "all")


@dataclass
class Params:
    """Weights of the simple RNN (no biases, as in the book).

    Attributes
    ----------
    Wx : ndarray, (H, D)   input to state
    Ws : ndarray, (H, H)   state to state
    Wy : ndarray, (O, H)   state to output
    """

    Wx: np.ndarray
    Ws: np.ndarray
    Wy: np.ndarray
    names = ("Wx", "Ws", "Wy")

    def copy(self) -> Params:
        return Params(*(getattr(self, n).copy() for n in self.names))


def init(n_in: int, n_hidden: int, n_out: int, seed: int = 0, scale: float = 1.0) -> Params:
    """Random weights ``N(0, scale^2 / fan_in)``; ``scale`` sets the spectral radius of Ws near it.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        ``D``, ``H`` and ``O``.
    seed : int
    scale : float
        Multiplies every weight; for large ``H`` the spectral radius of ``Ws``
        is close to ``scale`` (circular law).
    """
    D = check.positive_int(n_in, "n_in")
    H = check.positive_int(n_hidden, "n_hidden")
    O = check.positive_int(n_out, "n_out")
    scale = check.positive(scale, "scale")
    rng = np.random.default_rng(seed)
    return Params(
        Wx=rng.normal(0.0, scale / np.sqrt(D), (H, D)),
        Ws=rng.normal(0.0, scale / np.sqrt(H), (H, H)),
        Wy=rng.normal(0.0, scale / np.sqrt(H), (O, H)),
    )


@dataclass
class Trace:
    """Everything the forward pass computed, kept for the backward pass.

    Attributes
    ----------
    xs : ndarray, (T, [B,] D)
    A : ndarray, (T, [B,] H)      ``A[t-1] = a_t``, the state pre-activation
    S : ndarray, (T+1, [B,] H)    ``S[t] = S_t``; ``S[0]`` is the initial state
    Z : ndarray, (T, [B,] O)      ``Z[t-1] = z_t = Wy S_t``
    Y : ndarray, (T, [B,] O)      ``Y[t-1] = Y_t``
    g1, g2 : str
    """

    xs: np.ndarray
    A: np.ndarray
    S: np.ndarray
    Z: np.ndarray
    Y: np.ndarray
    g1: str
    g2: str

    @property
    def finite(self) -> bool:
        """False once the states or outputs overflowed to inf or NaN."""
        return bool(np.all(np.isfinite(self.S)) and np.all(np.isfinite(self.Y)))


def _check_params(p: Params) -> tuple[int, int, int]:
    for n in p.names:
        check.array(getattr(p, n), f"params.{n}", ndim=(2,))
    H, D = p.Wx.shape
    check.shape(p.Ws, (H, H), "params.Ws")
    if p.Wy.shape[1] != H:
        raise ValueError(f"params.Wy: expected shape (O, {H}), got {p.Wy.shape}")
    return D, H, p.Wy.shape[0]


def forward(p: Params, xs, s0=None, g1: str = "tanh", g2: str = "identity") -> Trace:
    """Run the network over a sequence (or a batch of them).

    ``S_t = g1(Wx x_t + Ws S_{t-1})``, ``Y_t = g2(Wy S_t)``.

    Parameters
    ----------
    p : Params
    xs : array, (T, D) or (T, B, D)
    s0 : array, (H,) or (B, H), optional
        Initial state ``S_0``; zeros by default.
    g1, g2 : str
        Hidden and output activation names.

    Returns
    -------
    Trace
    """
    D, H, _ = _check_params(p)
    f1, f2 = activation(g1, "g1"), activation(g2, "g2")
    xs = check.array(xs, "xs", ndim=(2, 3))
    if xs.shape[0] == 0:
        raise ValueError("xs: the sequence is empty (T = 0)")
    if xs.shape[-1] != D:
        raise ValueError(f"xs: last dimension must be D = {D}, got shape {xs.shape}")
    T, batch = xs.shape[0], xs.shape[1:-1]
    S = np.empty((T + 1,) + batch + (H,))
    S[0] = 0.0 if s0 is None else _initial_state(s0, batch + (H,))
    with np.errstate(over="ignore", invalid="ignore"):
        A = xs @ p.Wx.T  # the input projection of every step in one product
        WsT = p.Ws.T
        for t in range(T):  # only the recurrence itself is sequential
            A[t] += S[t] @ WsT
            S[t + 1] = f1.f(A[t])
        Z = S[1:] @ p.Wy.T
        Y = f2.f(Z)
    return Trace(xs, A, S, Z, Y, f1.name, f2.name)


def _initial_state(s0, shape):
    s0 = check.array(s0, "s0", ndim=(len(shape),))
    check.shape(s0, shape, "s0")
    return s0


def _targets(tr: Trace, ds) -> np.ndarray:
    ds = check.array(ds, "ds", ndim=(tr.Y.ndim,))
    check.shape(ds, tr.Y.shape, "ds")
    return ds


def loss(tr: Trace, ds, at: str = "last") -> float:
    """Squared error ``E = sum_t ||d_t - Y_t||^2`` (summed over the batch too).

    Parameters
    ----------
    tr : Trace
    ds : array, (T, [B,] O)
        Desired outputs ``d_t``.
    at : {"last", "all"}
        ``"last"``: only ``E_T`` (the book's ``E_3`` for ``T = 3``);
        ``"all"``: ``E = E_1 + ... + E_T``.
    """
    ds = _targets(tr, ds)
    check.choice(at, LOSS_MODES, "at")
    r = (ds - tr.Y)[-1:] if at == "last" else ds - tr.Y
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sum(r * r))


class Terms(Mapping):
    """Per-step terms of each weight gradient, computed on first access.

    ``terms["Ws"][i-1] = dE/da_i  S_{i-1}^T``: the term of the chain-rule sum
    that enters through step ``i``'s own use of the weight (the immediate
    partial ``d+S_i/dWs`` of the book).  Shapes ``(T,) + W.shape``;
    ``terms[name].sum(axis=0)`` is the total gradient.

    Parameters
    ----------
    pairs : dict
        ``name -> (left, right)`` with ``left`` of shape ``(T, [B,] m)`` (the
        error at the weight's output) and ``right`` of shape ``(T, [B,] n)``
        (what the weight multiplies), or ``right = None`` for a bias.
        Shared with :mod:`rnnlib.lstm`.
    """

    def __init__(self, pairs):
        self._pairs, self._cache = pairs, {}

    def __getitem__(self, name):
        if name not in self._cache:
            left, right = self._pairs[name]  # KeyError for unknown names, as a Mapping should
            T = left.shape[0]
            L = left.reshape(T, -1, left.shape[-1])
            with np.errstate(over="ignore", invalid="ignore"):  # overflowed runs report, not warn
                if right is None:  # a bias: its immediate partial is the identity
                    self._cache[name] = L.sum(axis=1)
                else:
                    R = right.reshape(T, -1, right.shape[-1])
                    self._cache[name] = np.matmul(L.transpose(0, 2, 1), R)
        return self._cache[name]

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)


class GradsReport:
    """What training checks on any model's gradients (shared with :mod:`rnnlib.lstm`)."""

    @property
    def finite(self) -> bool:
        """False if any gradient overflowed; training must then stop, not step."""
        return all(np.all(np.isfinite(getattr(self, n))) for n in self.names)

    @property
    def clipped(self) -> bool:
        """Whether per-step clipping changed anything."""
        return bool(np.any(self.step_clipped))


@dataclass
class Grads(GradsReport):
    """Gradients of the loss, with their per-step decomposition.

    Attributes
    ----------
    Wx, Ws, Wy : ndarray
        ``dE/dW``, same shapes as the parameters.
    terms : Terms
        ``terms[name][i-1]``: the term entering through step ``i``; sums to the total.
    dS : ndarray, (T+1, [B,] H)
        ``dS[i] = dE/dS_i`` (after truncation and per-step clipping).
    step_norms : ndarray, (T, [B])
        ``||dE/dS_i||`` before per-step clipping.
    step_clipped : ndarray of bool, (T, [B])
        Where ``clip_step`` rescaled the backward signal.
    """

    Wx: np.ndarray
    Ws: np.ndarray
    Wy: np.ndarray
    terms: Terms = field(repr=False)
    dS: np.ndarray = field(repr=False)
    step_norms: np.ndarray = field(repr=False)
    step_clipped: np.ndarray = field(repr=False)
    names = ("Wx", "Ws", "Wy")


def output_error(tr: Trace, ds, at: str = "last") -> np.ndarray:
    """``dE/dz_t = 2 (Y_t - d_t) g2'(z_t)`` for the loss terms ``at`` selects, zero elsewhere.

    Returns
    -------
    ndarray, (T, [B,] O)
    """
    ds = _targets(tr, ds)
    check.choice(at, LOSS_MODES, "at")
    with np.errstate(over="ignore", invalid="ignore"):
        dZ = 2.0 * (tr.Y - ds) * activation(tr.g2).df(tr.Z)
    if at == "last":
        dZ[:-1] = 0.0
    return dZ


def bptt(
    p: Params,
    tr: Trace,
    ds,
    at: str = "last",
    truncate: int | None = None,
    clip_step: float | None = None,
) -> Grads:
    """Backpropagation through time.

    Runs the recursion ``dE/dS_{t-1} = e_{t-1} + dE/dS_t diag(g1'(a_t)) Ws``
    (book: :eq:`eq-backward-recursion`) and then forms every weight gradient
    as one product over all steps, e.g. ``dE/dWs = sum_i dE/da_i S_{i-1}^T``.

    Parameters
    ----------
    p : Params
        The weights ``tr`` was computed with.
    tr : Trace
        From :func:`forward`.
    ds : array, (T, [B,] O)
    at : {"last", "all"}
        Loss at the last step only, or summed over all steps.
    truncate : int >= 1, optional
        Every ``E_t`` backpropagates through at most ``truncate`` steps: the
        term for ``S_i`` is dropped when ``t - i >= truncate``.
    clip_step : float > 0, optional
        Per-step clipping of the backward signal: ``dE/dS_i`` is rescaled to
        norm ``clip_step`` whenever it exceeds it.

    Returns
    -------
    Grads
    """
    _check_params(p)
    dZ = output_error(tr, ds, at)
    truncate = check.positive_int(truncate, "truncate", allow_none=True)
    clip_step = check.positive(clip_step, "clip_step", allow_none=True)
    with np.errstate(over="ignore", invalid="ignore"):
        D1 = activation(tr.g1).df(tr.A)  # g1'(a_t) for every step at once
        e = dZ @ p.Wy  # dE_t/dS_t through Y_t alone
        Ws = p.Ws

        def vjp(t, v):  # v @ dS_t/dS_{t-1} = (v * g1'(a_t)) @ Ws
            return (v * D1[t - 1]) @ Ws

        back = backward(e, vjp, truncate, clip_step, last_only=(at == "last"))
        delta = back.dS[1:] * D1  # dE/da_t
        H, O = Ws.shape[0], dZ.shape[-1]
        flat = delta.reshape(-1, H)
        g = Grads(
            Wx=flat.T @ tr.xs.reshape(-1, tr.xs.shape[-1]),
            Ws=flat.T @ tr.S[:-1].reshape(-1, H),
            Wy=dZ.reshape(-1, O).T @ tr.S[1:].reshape(-1, H),
            terms=Terms({"Wx": (delta, tr.xs), "Ws": (delta, tr.S[:-1]), "Wy": (dZ, tr.S[1:])}),
            dS=back.dS,
            step_norms=back.norms,
            step_clipped=back.clipped,
        )
    return g
