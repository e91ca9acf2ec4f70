"""The gated recurrent unit (GRU) and its backpropagation through time.

Model (book: :eq:`eq-gru-cell`), in the form of ``torch.nn.GRU``; the gates
read ``[x_t; S_{t-1}]`` and ``W_q = [W_qx  W_qs]`` splits a gate matrix into
its input and recurrent columns::

    r_t = sigmoid(Wr [x_t; S_{t-1}] + br)                     reset gate
    z_t = sigmoid(Wz [x_t; S_{t-1}] + bz)                     update gate
    m_t = W_ns S_{t-1} + bsn                                  recurrent part of the candidate
    n_t = tanh(W_nx x_t + bxn + r_t * m_t)                    candidate
    S_t = (1 - z_t) * n_t + z_t * S_{t-1}                     hidden state
    Y_t = g2(Wy S_t)                                          output

The state is ``S_t`` alone, so :func:`rnnlib.engine.backward` runs on it
exactly as for :mod:`rnnlib.rnn`: truncation and per-step clipping mean the
same.  Along the direct path ``S_{t-1} -> S_t`` the gradient is multiplied by
the update gate alone, ``diag(z_t)``, the GRU's counterpart of the LSTM's
forget gate.  Shapes are time-major, ``xs`` is ``(T, D)`` or ``(T, B, D)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validate as check
from . import rnn
from .activations import ACTIVATIONS
from .activations import output as output_activation
from .engine import (
    GatedParams,
    GradsReport,
    Terms,
    TraceBase,
    backward,
    inputs,
    params_of,
    trace_of,
    warn_backward,
    warn_forward,
)

_sigmoid = ACTIVATIONS["sigmoid"].f  # trusted float64 arrays: no conversion in the loop
GATES = ("r", "z", "n")
#: Gate weights acting on ``[x_t; S_{t-1}]``, in the order of ``GATES``.
WEIGHTS = tuple(f"W{g}" for g in GATES)
#: Biases: reset, update, and the candidate's two (outside and inside the reset gate).
BIASES = ("br", "bz", "bxn", "bsn")
#: The state carried from step to step: ``forward``'s argument -> the Trace array holding it.
STATE = {"s0": "S"}
#: The activations ``forward`` lets a caller choose (the gates' are fixed).
ACTIVATION_ARGS = ("g2",)


@dataclass
class Params(GatedParams):
    """Weights of the GRU.

    Converted and checked like :class:`rnnlib.lstm.Params`: lists and integer
    or float arrays become new float64 arrays; complex, str, bool, object,
    NaN or inf entries, or shapes that do not fit together, raise
    ``ValueError`` naming the field.

    Attributes
    ----------
    Wr, Wz, Wn : ndarray, (H, D+H)   gate weights acting on ``[x_t; S_{t-1}]``
    br, bz : ndarray, (H,)           reset and update gate biases
    bxn, bsn : ndarray, (H,)         candidate biases, outside and inside the reset gate
    Wy : ndarray, (O, H)             state to output
    """

    Wr: np.ndarray
    Wz: np.ndarray
    Wn: np.ndarray
    br: np.ndarray
    bz: np.ndarray
    bxn: np.ndarray
    bsn: np.ndarray
    Wy: np.ndarray
    names = (*WEIGHTS, *BIASES, "Wy")
    weights, biases = WEIGHTS, BIASES


def init(n_in: int, n_hidden: int, n_out: int, seed: int = 0, update_bias: float = 0.0) -> Params:
    """Gate weights ``N(0, 1/(D+H))``, ``Wy ~ N(0, 1/H)``, biases zero except ``bz = update_bias``.

    A positive update bias starts the state near ``S_t = S_{t-1}``: it remembers by default.
    """
    D = check.positive_int(n_in, "n_in")
    H = check.positive_int(n_hidden, "n_hidden")
    O = check.positive_int(n_out, "n_out")
    update_bias = check.real(update_bias, "update_bias")
    rng = np.random.default_rng(check.seed(seed))
    W = [rng.normal(0.0, 1.0 / np.sqrt(D + H), (H, D + H)) for _ in GATES]
    b = [np.zeros(H), np.full(H, update_bias), np.zeros(H), np.zeros(H)]
    return Params(*W, *b, rng.normal(0.0, 1.0 / np.sqrt(H), (O, H)))


@dataclass
class Trace(TraceBase):
    """The forward pass, kept for the backward pass.

    Attributes
    ----------
    xs : ndarray, (T, [B,] D)       a copy of the input
    S : ndarray, (T+1, [B,] H)      hidden states; ``S[0]`` is the initial state
    R, Zg, N : ndarray, (T, [B,] H)  reset gate, update gate, candidate: ``Zg[t-1] = z_t``
        (``Zg``, because ``Z`` is the output's pre-activation in every Trace)
    M : ndarray, (T, [B,] H)        ``M[t-1] = m_t = W_ns S_{t-1} + bsn``
    Z, Y : ndarray, (T, [B,] O)     ``Z[t-1] = Wy S_t``, ``Y[t-1] = g2(Z[t-1])``
    g2 : str
    """

    xs: np.ndarray
    S: np.ndarray
    R: np.ndarray
    Zg: np.ndarray
    N: np.ndarray
    M: np.ndarray
    Z: np.ndarray
    Y: np.ndarray
    g2: str = "identity"
    checked = ("S", "Y")


def _params(p) -> tuple[int, int, int]:
    return params_of(p, Params, "gru")


def _trace(tr, p=None) -> Trace:
    return trace_of(tr, Trace, "gru", p)


def forward(p: Params, xs, s0=None, g2: str = "identity") -> Trace:
    """Run the GRU over a sequence (or a batch of them).

    Parameters
    ----------
    p : Params
    xs : array, (T, D) or (T, B, D)
    s0 : array, (H,) or (B, H), optional
        Initial state; zeros by default.
    g2 : str
        Output activation: an element-wise one (``"identity"``, ``"tanh"``, ...) or
        ``"softmax"`` over the output axis.

    Returns
    -------
    Trace
    """
    D, H, _ = _params(p)
    f2 = output_activation(g2, "g2")
    xs = inputs(xs, D)
    T, batch = xs.shape[0], xs.shape[1:-1]
    S = np.empty((T + 1,) + batch + (H,))
    if s0 is None:
        S[0] = 0.0
    else:
        s0 = check.array(s0, "s0", ndim=(len(batch) + 1,))
        check.shape(s0, batch + (H,), "s0")
        S[0] = s0
    W = np.concatenate([getattr(p, n) for n in WEIGHTS])  # (3H, D+H): all gates in one product
    R, Zg, N, M = np.empty((4, T) + batch + (H,))
    with np.errstate(over="ignore", invalid="ignore"):
        A = xs @ W[:, :D].T + np.concatenate([p.br, p.bz, p.bxn])  # input part, all steps
        WsT = W[:, D:].T
        for t in range(T):  # only the recurrence is sequential
            rec = S[t] @ WsT  # (..., 3H): W_rs S, W_zs S, W_ns S
            R[t] = _sigmoid(A[t, ..., :H] + rec[..., :H])
            Zg[t] = _sigmoid(A[t, ..., H : 2 * H] + rec[..., H : 2 * H])
            M[t] = rec[..., 2 * H :] + p.bsn
            N[t] = np.tanh(A[t, ..., 2 * H :] + R[t] * M[t])
            S[t + 1] = (1.0 - Zg[t]) * N[t] + Zg[t] * S[t]
        Z = S[1:] @ p.Wy.T
        Y = f2.f(Z)
    tr = Trace(xs, S, R, Zg, N, M, Z, Y, f2.name)
    warn_forward(tr, "gru")
    return tr


def loss(tr: Trace, ds, at: str = "last", kind: str = "squared") -> float:
    """The loss of :func:`rnnlib.rnn.loss`: ``kind="squared"``, ``E_t = ||d_t - Y_t||^2``, or
    ``kind="cross_entropy"`` (with ``g2="softmax"``), ``E_t = -log Y_t[d_t]``; ``at="last"``
    keeps ``E_T`` only, ``at="all"`` sums over the steps.

    Parameters
    ----------
    tr : Trace
    ds : array
        ``"squared"``: desired outputs ``(T, [B,] O)``; ``"cross_entropy"``: class indices
        ``(T, [B])`` or one-hot rows ``(T, [B,] O)``.
    at : {"last", "all"}
    kind : {"squared", "cross_entropy"}
    """
    return rnn.squared_error(_trace(tr), ds, at, "gru", kind=kind)


def _undo_step(R, Zg, N, M, S_prev, dS):
    """Backward through one step (or all steps at once: the arguments broadcast over time).

    ``dS = dE/dS_t`` (total).  Returns the pre-activation errors
    ``(delta_r, delta_z, delta_n)``, the error ``r_t * delta_n`` at ``m_t``, and
    ``z_t * dS``, the part of ``dE/dS_{t-1}`` along the direct path.
    """
    dN = dS * (1.0 - Zg) * (1.0 - N * N)  # S_t = (1 - z_t) n_t + ..., n_t = tanh(a^n_t)
    dZg = dS * (S_prev - N) * Zg * (1.0 - Zg)  # ... + z_t (S_{t-1} - n_t), z_t = sigmoid(a^z_t)
    dR = dN * M * R * (1.0 - R)  # a^n_t = ... + r_t m_t, r_t = sigmoid(a^r_t)
    dM = dN * R  # m_t = W_ns S_{t-1} + bsn
    return dR, dZg, dN, dM, dS * Zg


class _Terms(Terms):
    """:class:`rnnlib.engine.Terms` where ``Wn``'s input and recurrent columns have different
    errors (``delta_n`` and ``r * delta_n``): its term is the two outer products side by side."""

    def __init__(self, pairs, split):
        super().__init__(pairs)
        self._split = split  # name -> (pairs of the x columns, pairs of the S columns)

    def __getitem__(self, name):
        if name in self._split and name not in self._cache:
            parts = Terms(dict(enumerate(self._split[name])))
            self._cache[name] = np.concatenate([parts[0], parts[1]], axis=-1)
        return super().__getitem__(name)


@dataclass
class Grads(GradsReport):
    """Gradients of the loss with their per-step decomposition.

    Attributes
    ----------
    Wr, Wz, Wn, br, bz, bxn, bsn, Wy : ndarray
        ``dE/dW``, shaped like the parameters.
    terms : rnnlib.engine.Terms
        ``terms[name][i-1]``: the term entering through step ``i``; sums to the total.
    dS : ndarray, (T+1, [B,] H)
        ``dS[i] = dE/dS_i`` (after truncation and per-step clipping).
    step_norms : ndarray, (T, [B])
        ``||dE/dS_i||`` before per-step clipping.
    step_clipped : ndarray of bool, (T, [B])
    """

    Wr: np.ndarray
    Wz: np.ndarray
    Wn: np.ndarray
    br: np.ndarray
    bz: np.ndarray
    bxn: np.ndarray
    bsn: np.ndarray
    Wy: np.ndarray
    terms: Terms = field(repr=False)
    dS: np.ndarray = field(repr=False)
    step_norms: np.ndarray = field(repr=False)
    step_clipped: np.ndarray = field(repr=False)
    names = Params.names


def bptt(
    p: Params, tr: Trace, ds, at: str = "last", truncate: int | None = None,
    clip_step: float | None = None, kind: str = "squared",
) -> Grads:  # fmt: skip
    """Backpropagation through time for the GRU (book: :eq:`eq-gru-backward`).

    One step back, from the total ``dS_t = dE/dS_t``::

        delta_n = dS_t * (1 - z_t) * (1 - n_t^2)
        delta_z = dS_t * (S_{t-1} - n_t) * z_t (1 - z_t)
        delta_r = delta_n * m_t * r_t (1 - r_t)
        dS_{t-1} = e_{t-1} + dS_t * z_t + W_rs^T delta_r + W_zs^T delta_z + W_ns^T (r_t * delta_n)

    and each weight gradient is one product over all steps, e.g.
    ``dE/dWz = sum_t delta_z [x_t; S_{t-1}]^T``.

    Parameters
    ----------
    p : Params
    tr : Trace
        From :func:`forward` with ``p``.
    ds : array
        Targets as :func:`loss` takes them for ``kind``.
    at : {"last", "all"}
    truncate : int >= 1, optional
        Every ``E_t`` backpropagates through at most ``truncate`` steps.
    clip_step : float > 0, optional
        Rescale ``dE/dS_t`` to this norm whenever it exceeds it.

    kind : {"squared", "cross_entropy"}
        The loss, as in :func:`loss`.

    Returns
    -------
    Grads
    """
    D, H, _ = _params(p)
    _trace(tr, p)
    dZ = rnn.output_error(tr, ds, at, kind)
    truncate = check.positive_int(truncate, "truncate", allow_none=True)
    clip_step = check.positive(clip_step, "clip_step", allow_none=True)
    with np.errstate(over="ignore", invalid="ignore"):
        Ws = np.concatenate([getattr(p, n)[:, D:] for n in WEIGHTS])  # (3H, H)
        e = dZ @ p.Wy  # dE_t/dS_t through Y_t alone

        def vjp(t, v):  # dS_t -> dS_{t-1} through step t
            k = t - 1
            dR, dZg, _, dM, direct = _undo_step(tr.R[k], tr.Zg[k], tr.N[k], tr.M[k], tr.S[k], v)
            return direct + np.concatenate([dR, dZg, dM], axis=-1) @ Ws

        back = backward(e, vjp, truncate, clip_step, last_only=(at == "last"))
        dR, dZg, dN, dM, _ = _undo_step(tr.R, tr.Zg, tr.N, tr.M, tr.S[:-1], back.dS[1:])
        X = np.concatenate([tr.xs, tr.S[:-1]], axis=-1)  # [x_t; S_{t-1}] for every step
        Xf, Sf = X.reshape(-1, D + H), tr.S[:-1].reshape(-1, H)
        flat = {n: d.reshape(-1, H) for n, d in (("r", dR), ("z", dZg), ("n", dN), ("m", dM))}
        dWn = np.concatenate([flat["n"].T @ Xf[:, :D], flat["m"].T @ Sf], axis=1)
        dY = dZ.reshape(-1, dZ.shape[-1]).T @ tr.S[1:].reshape(-1, H)
        grads = [flat["r"].T @ Xf, flat["z"].T @ Xf, dWn]
        grads += [flat[k].sum(axis=0) for k in ("r", "z", "n", "m")]
    pairs = {"Wr": (dR, X), "Wz": (dZg, X), "Wn": None}
    pairs.update({"br": (dR, None), "bz": (dZg, None), "bxn": (dN, None), "bsn": (dM, None)})
    pairs["Wy"] = (dZ, tr.S[1:])
    terms = _Terms(pairs, {"Wn": ((dN, tr.xs), (dM, tr.S[:-1]))})
    g = Grads(*grads, dY, terms, back.dS, back.norms, back.clipped)
    warn_backward(g, back.dS, "gru")
    return g
