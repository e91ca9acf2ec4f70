"""The long short-term memory network (LSTM) and its backpropagation through time.

Model (book: :eq:`eq-lstm-cell`), every gate reading ``[x_t; S_{t-1}]``::

    f_t = sigmoid(Wf [x_t; S_{t-1}] + bf)      forget gate
    i_t = sigmoid(Wi [x_t; S_{t-1}] + bi)      input gate
    o_t = sigmoid(Wo [x_t; S_{t-1}] + bo)      output gate
    g_t = tanh(Wg [x_t; S_{t-1}] + bg)         candidate
    C_t = f_t * C_{t-1} + i_t * g_t            cell state
    S_t = o_t * tanh(C_t)                      hidden state (often written h_t)
    Y_t = g2(Wy S_t)                           output

The state carried from step to step is the pair ``(S_t, C_t)``; the backward
pass runs :func:`rnnlib.engine.backward` on the stacked state
``[S_t; C_t]`` of size ``2H``, so truncation and per-step clipping mean the
same as for :mod:`rnnlib.rnn`.  Shapes are time-major, ``xs`` is ``(T, D)``
or ``(T, B, D)``.

:func:`recall_profile` compares how far back the gradient reaches in an LSTM
and in a simple RNN on the same recall task.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _scenario, rnn, tasks
from . import _validate as check
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
GATES = ("f", "i", "o", "g")
#: Gate weights (acting on ``[x_t; S_{t-1}]``) and gate biases, in the order of ``GATES``.
WEIGHTS = tuple(f"W{g}" for g in GATES)
BIASES = tuple(f"b{g}" for g in GATES)
#: The state carried from step to step: ``forward``'s argument -> the Trace array holding it.
STATE = {"s0": "S", "c0": "C"}
#: The activations ``forward`` lets a caller choose (the gates' are fixed).
ACTIVATION_ARGS = ("g2",)


@dataclass
class Params(GatedParams):
    """Weights of the LSTM.

    Lists and integer or float arrays are converted to new float64 arrays
    when the dataclass is built or a field is assigned (keeping its shape);
    complex, str, bool, object, NaN or inf entries, or shapes that do not fit
    together, raise ``ValueError`` naming the field.

    Attributes
    ----------
    Wf, Wi, Wo, Wg : ndarray, (H, D+H)   gate weights acting on ``[x_t; S_{t-1}]``
    bf, bi, bo, bg : ndarray, (H,)       gate biases
    Wy : ndarray, (O, H)                 state to output
    """

    Wf: np.ndarray
    Wi: np.ndarray
    Wo: np.ndarray
    Wg: np.ndarray
    bf: np.ndarray
    bi: np.ndarray
    bo: np.ndarray
    bg: np.ndarray
    Wy: np.ndarray
    names = (*WEIGHTS, *BIASES, "Wy")
    weights, biases = WEIGHTS, BIASES


def init(n_in: int, n_hidden: int, n_out: int, seed: int = 0, forget_bias: float = 1.0) -> Params:
    """Gate weights ``N(0, 1/(D+H))``, ``Wy ~ N(0, 1/H)``, biases zero except ``bf = forget_bias``.

    A positive forget bias starts the cell near ``C_t = C_{t-1} + ...``: it remembers by default.
    """
    D = check.positive_int(n_in, "n_in")
    H = check.positive_int(n_hidden, "n_hidden")
    O = check.positive_int(n_out, "n_out")
    forget_bias = check.real(forget_bias, "forget_bias")
    rng = np.random.default_rng(check.seed(seed))
    W = [rng.normal(0.0, 1.0 / np.sqrt(D + H), (H, D + H)) for _ in GATES]
    b = [np.full(H, forget_bias)] + [np.zeros(H) for _ in GATES[1:]]
    return Params(*W, *b, rng.normal(0.0, 1.0 / np.sqrt(H), (O, H)))


@dataclass
class Trace(TraceBase):
    """The forward pass, kept for the backward pass.

    Attributes
    ----------
    xs : ndarray, (T, [B,] D)    a copy of the input
    S, C : ndarray, (T+1, [B,] H)   hidden and cell states; index 0 is the initial state
    F, I, O, G : ndarray, (T, [B,] H)   gate activations, ``F[t-1] = f_t``
    Z, Y : ndarray, (T, [B,] O)     ``Z[t-1] = Wy S_t``, ``Y[t-1] = g2(Z[t-1])``
    g2 : str
    """

    xs: np.ndarray
    S: np.ndarray
    C: np.ndarray
    F: np.ndarray
    I: np.ndarray
    O: np.ndarray
    G: np.ndarray
    Z: np.ndarray
    Y: np.ndarray
    g2: str = "identity"
    checked = ("S", "C", "Y")


def _params(p) -> tuple[int, int, int]:
    return params_of(p, Params, "lstm")


def _trace(tr, p=None) -> Trace:
    return trace_of(tr, Trace, "lstm", p)


def _state(v, shape, name):
    if v is None:
        return 0.0
    v = check.array(v, name, ndim=(len(shape),))
    check.shape(v, shape, name)
    return v


def forward(p: Params, xs, s0=None, c0=None, g2: str = "identity") -> Trace:
    """Run the LSTM over a sequence (or a batch of them).

    Parameters
    ----------
    p : Params
    xs : array, (T, D) or (T, B, D)
    s0, c0 : array, (H,) or (B, H), optional
        Initial hidden and cell state; zeros by default.
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
    S, C = np.empty((2, T + 1) + batch + (H,))
    S[0], C[0] = _state(s0, batch + (H,), "s0"), _state(c0, batch + (H,), "c0")
    W = np.concatenate([getattr(p, n) for n in WEIGHTS])  # (4H, D+H): all gates in one product
    gates = np.empty((T,) + batch + (4 * H,))
    with np.errstate(over="ignore", invalid="ignore"):
        A = xs @ W[:, :D].T + np.concatenate(
            [getattr(p, n) for n in BIASES]
        )  # input part, all steps
        WsT = W[:, D:].T
        for t in range(T):  # only the recurrence is sequential
            A[t] += S[t] @ WsT
            gates[t, ..., : 3 * H] = _sigmoid(A[t, ..., : 3 * H])
            gates[t, ..., 3 * H :] = np.tanh(A[t, ..., 3 * H :])
            f, i, o, g = np.split(gates[t], 4, axis=-1)
            C[t + 1] = f * C[t] + i * g
            S[t + 1] = o * np.tanh(C[t + 1])
        Z = S[1:] @ p.Wy.T
        Y = f2.f(Z)
    F, I, O, G = np.split(gates, 4, axis=-1)
    tr = Trace(xs, S, C, F, I, O, G, Z, Y, f2.name)
    warn_forward(tr, "lstm")
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
    return rnn.squared_error(_trace(tr), ds, at, "lstm", kind=kind)


def _undo_step(F, I, O, G, C_prev, C, dS, dC):
    """Backward through one step (or all steps at once: the arguments broadcast over time).

    ``dS = dE/dS_t`` and ``dC = dE/dC_t`` through the *next* step only.
    Returns ``dA = dE/da_t`` for the four stacked gate pre-activations
    ``(..., 4H)`` and the total ``dE/dC_t``.
    """
    tc = np.tanh(C)
    dC = dC + dS * O * (1.0 - tc * tc)  # S_t = o_t * tanh(C_t)
    dA = np.concatenate(
        [
            dC * C_prev * F * (1.0 - F),  # C_t = f_t * C_{t-1} + ..., f_t = sigmoid(a^f_t)
            dC * G * I * (1.0 - I),  # ... + i_t * g_t, i_t = sigmoid(a^i_t)
            dS * tc * O * (1.0 - O),  # S_t = o_t * ..., o_t = sigmoid(a^o_t)
            dC * I * (1.0 - G * G),  # g_t = tanh(a^g_t)
        ],
        axis=-1,
    )
    return dA, dC


@dataclass
class Grads(GradsReport):
    """Gradients of the loss with their per-step decomposition.

    Attributes
    ----------
    Wf, Wi, Wo, Wg, bf, bi, bo, bg, Wy : ndarray
        ``dE/dW``, shaped like the parameters.
    terms : rnnlib.engine.Terms
        ``terms[name][i-1]``: the term entering through step ``i``; sums to the total.
    dS, dC : ndarray, (T+1, [B,] H)
        ``dE/dS_i`` and ``dE/dC_i`` (``dC`` includes the path through
        ``S_i = o_i tanh(C_i)``), after truncation and per-step clipping.
    step_norms : ndarray, (T, [B])
        Norm of the stacked signal ``[dE/dS_i; dE/dC_i]`` (``dC_i`` through
        ``C_{i+1}`` only, as the recursion carries it) before clipping.
    step_clipped : ndarray of bool, (T, [B])
    """

    Wf: np.ndarray
    Wi: np.ndarray
    Wo: np.ndarray
    Wg: np.ndarray
    bf: np.ndarray
    bi: np.ndarray
    bo: np.ndarray
    bg: np.ndarray
    Wy: np.ndarray
    terms: Terms = field(repr=False)
    dS: np.ndarray = field(repr=False)
    dC: np.ndarray = field(repr=False)
    step_norms: np.ndarray = field(repr=False)
    step_clipped: np.ndarray = field(repr=False)
    names = Params.names


def bptt(
    p: Params, tr: Trace, ds, at: str = "last", truncate: int | None = None,
    clip_step: float | None = None, kind: str = "squared",
) -> Grads:  # fmt: skip
    """Backpropagation through time for the LSTM.

    One step back maps ``(dE/dS_t, dE/dC_t)`` to ``(dE/dS_{t-1}, dE/dC_{t-1})``::

        dC_t  <- dC_t + dS_t * o_t * (1 - tanh(C_t)^2)
        da_t   = gate errors (f, i, o, g) from dC_t and dS_t
        dS_{t-1} = e_{t-1} + da_t @ Ws      (Ws: the S_{t-1} columns of the gate weights)
        dC_{t-1} = dC_t * f_t

    and each weight gradient is one product over all steps, e.g.
    ``dE/dWf = sum_t da^f_t [x_t; S_{t-1}]^T``.

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
        Rescale the stacked signal ``[dE/dS_t; dE/dC_t]`` to this norm whenever it exceeds it.

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
        Ws = np.concatenate([getattr(p, n) for n in WEIGHTS])[:, D:]  # (4H, H)
        e = dZ @ p.Wy  # dE_t/dS_t through Y_t alone
        e = np.concatenate([e, np.zeros_like(e)], axis=-1)  # ... and nothing into C_t directly

        def vjp(t, v):  # (dS_t, dC_t) -> (dS_{t-1}, dC_{t-1}) through step t
            k = t - 1
            dA, dC = _undo_step(tr.F[k], tr.I[k], tr.O[k], tr.G[k], tr.C[k], tr.C[t],
                                v[..., :H], v[..., H:])  # fmt: skip
            return np.concatenate([dA @ Ws, dC * tr.F[k]], axis=-1)

        back = backward(e, vjp, truncate, clip_step, last_only=(at == "last"))
        dA, dC = _undo_step(tr.F, tr.I, tr.O, tr.G, tr.C[:-1], tr.C[1:],
                            back.dS[1:, ..., :H], back.dS[1:, ..., H:])  # fmt: skip
        X = np.concatenate([tr.xs, tr.S[:-1]], axis=-1)  # [x_t; S_{t-1}] for every step
        flat = dA.reshape(-1, 4 * H)
        dW = np.split(flat.T @ X.reshape(-1, D + H), 4)
        db = np.split(flat.sum(axis=0), 4)
        dY = dZ.reshape(-1, dZ.shape[-1]).T @ tr.S[1:].reshape(-1, H)
    gate_errors = np.split(dA, 4, axis=-1)
    pairs = {n: (d, X) for n, d in zip(WEIGHTS, gate_errors, strict=True)}
    pairs.update({n: (d, None) for n, d in zip(BIASES, gate_errors, strict=True)})
    pairs["Wy"] = (dZ, tr.S[1:])
    dC_all = np.concatenate([back.dS[:1, ..., H:], dC])
    g = Grads(*dW, *db, dY, Terms(pairs), back.dS[..., :H], dC_all, back.norms, back.clipped)
    warn_backward(g, back.dS, "lstm")
    return g


@dataclass(frozen=True, eq=False)
class RecallProfile:
    """Result of :func:`recall_profile`; ``N = lag + 1`` steps, ``H`` units.

    Attributes
    ----------
    rnn_norm : ndarray, (N,)
        Simple RNN: ``rnn_norm[i-1] = ||dE_N/dS_i||``.
    lstm_norm : ndarray, (N,)
        LSTM: ``lstm_norm[i-1] = ||dE_N/dS_i||`` (hidden state).
    cell_norm : ndarray, (N,)
        LSTM: ``cell_norm[i-1] = ||dE_N/dC_i||`` (cell state).
    F, I, O : ndarray, (N, H)
        The LSTM's forget, input and output gates, ``F[t-1] = f_t``.
    rnn_reach, lstm_reach, cell_reach : float
        How much of its step-``N`` size each gradient keeps at step 1, e.g.
        ``cell_reach = cell_norm[0] / cell_norm[N-1]`` (NaN if that is 0).
    finite : bool
        False if either model's gradients or the norms overflowed.
    """

    rnn_norm: np.ndarray
    lstm_norm: np.ndarray
    cell_norm: np.ndarray
    F: np.ndarray
    I: np.ndarray
    O: np.ndarray
    rnn_reach: float
    lstm_reach: float
    cell_reach: float
    finite: bool


def recall_profile(lag, forget_bias=1.0, seed: int = 0, H: int = 8) -> RecallProfile:
    """The same recall task for a simple RNN and an LSTM: how far back the gradient reaches.

    One sequence of ``rnnlib.tasks.recall(lag, batch=1, seed=seed)`` (the value
    at step 1 is asked for at step ``N = lag + 1``), the RNN
    ``rnnlib.rnn.init(2, H, 1, seed=seed)`` and the LSTM
    :func:`init` ``(2, H, 1, seed=seed, forget_bias=forget_bias)``.  Along the
    cell the gradient is multiplied by the forget gates alone
    (book: :eq:`eq-lstm-cell-path`)::

        dE_N/dC_{i-1} = dE_N/dC_i * f_i + (the path through S_{i-1})

    Cached: the same arguments return the same object, whose arrays are read-only.

    Parameters
    ----------
    lag : int >= 1
    forget_bias : float
        ``bf`` of the LSTM.
    seed : int >= 0
        For the task and both models.
    H : int >= 1

    Returns
    -------
    RecallProfile
    """
    return _recall_profile(
        check.positive_int(lag, "lag"),
        _scenario.real(forget_bias, "forget_bias"),
        _scenario.seed(seed),
        check.positive_int(H, "H"),
    )


@_scenario.cached
def _recall_profile(lag, forget_bias, seed, H):
    task = tasks.recall(lag, batch=1, seed=seed)
    xs, ds = task.xs[:, 0], task.ds[:, 0]
    D = xs.shape[-1]
    pr = rnn.init(D, H, 1, seed=seed)
    gr = rnn.bptt(pr, rnn.forward(pr, xs), ds)
    pl = init(D, H, 1, seed=seed, forget_bias=forget_bias)
    tl = forward(pl, xs)
    gl = bptt(pl, tl, ds)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = [np.linalg.norm(d[1:], axis=-1) for d in (gr.dS, gl.dS, gl.dC)]
        reach = [float(v[0] / v[-1]) if v[-1] > 0 else np.nan for v in norms]
    finite = gl.finite and gr.finite and all(bool(np.all(np.isfinite(n))) for n in norms)
    return RecallProfile(*norms, tl.F, tl.I, tl.O, *reach, bool(finite))
