"""The simple recurrent network and backpropagation through time.

Model (book: :eq:`eq-rnn-state`, :eq:`eq-rnn-output`, :eq:`eq-error`)::

    a_t = Wx x_t + Ws S_{t-1}        S_t = g1(a_t)
    z_t = Wy S_t                     Y_t = g2(z_t)
    E_t = ||d_t - Y_t||^2

Shapes are time-major: ``xs`` is ``(T, D)`` for one sequence or ``(T, B, D)``
for a batch of ``B``; ``S`` is ``(T+1, [B,] H)`` with ``S[0] = S_0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validate as check
from .activations import get as activation
from .engine import (
    GradsReport,
    ParamsBase,
    Terms,
    TraceBase,
    backward,
    inputs,
    params_of,
    trace_of,
    warn_backward,
    warn_forward,
    warn_nonfinite,
)

LOSS_MODES = ("last", "all")
#: The state carried from step to step: ``forward``'s argument -> the Trace array holding it.
STATE = {"s0": "S"}
#: The activations ``forward`` lets a caller choose.
ACTIVATION_ARGS = ("g1", "g2")


@dataclass
class Params(ParamsBase):
    """Weights of the simple RNN (no biases, as in the book).

    Lists and integer or float arrays are converted to new float64 arrays
    when the dataclass is built or a field is assigned (keeping its shape);
    complex, str, bool, object, NaN or inf entries, or shapes that do not fit
    together, raise ``ValueError`` naming the field.

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
    biases = ()

    def _check_shapes(self) -> None:
        check.nonempty(self.Wx, "Wx", "H and D")
        H = self.Wx.shape[0]
        check.shape(self.Ws, (H, H), "Ws")
        if self.Wy.shape[1] != H or self.Wy.shape[0] == 0:
            raise ValueError(f"Wy: expected shape (O, {H}) with O >= 1, got {self.Wy.shape}")

    @property
    def dims(self) -> tuple[int, int, int]:
        """``(D, H, O)``."""
        return self.Wx.shape[1], self.Wx.shape[0], self.Wy.shape[0]


def init(n_in: int, n_hidden: int, n_out: int, seed: int = 0, scale: float = 1.0) -> Params:
    """Random weights ``N(0, scale^2 / fan_in)``; ``scale`` sets the spectral radius of Ws near it.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        ``D``, ``H`` and ``O``.
    seed : int >= 0
    scale : float
        Multiplies every weight; for large ``H`` the spectral radius of ``Ws``
        is close to ``scale`` (circular law).
    """
    D = check.positive_int(n_in, "n_in")
    H = check.positive_int(n_hidden, "n_hidden")
    O = check.positive_int(n_out, "n_out")
    scale = check.positive(scale, "scale")
    rng = np.random.default_rng(check.seed(seed))
    return Params(
        Wx=rng.normal(0.0, scale / np.sqrt(D), (H, D)),
        Ws=rng.normal(0.0, scale / np.sqrt(H), (H, H)),
        Wy=rng.normal(0.0, scale / np.sqrt(H), (O, H)),
    )


@dataclass
class Trace(TraceBase):
    """Everything the forward pass computed, kept for the backward pass.

    Attributes
    ----------
    xs : ndarray, (T, [B,] D)     a copy of the input
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
    checked = ("S", "Y")


def _params(p) -> tuple[int, int, int]:
    return params_of(p, Params, "rnn")


def _trace(tr, p=None) -> Trace:
    return trace_of(tr, Trace, "rnn", p)


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
    D, H, _ = _params(p)
    f1, f2 = activation(g1, "g1"), activation(g2, "g2")
    xs = inputs(xs, D)
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
    tr = Trace(xs, A, S, Z, Y, f1.name, f2.name)
    warn_forward(tr, "rnn")
    return tr


def _initial_state(s0, shape):
    s0 = check.array(s0, "s0", ndim=(len(shape),))
    check.shape(s0, shape, "s0")
    return s0


def _targets(tr, ds) -> np.ndarray:
    check.instance(tr, TraceBase, "tr", "a Trace (from rnnlib.rnn.forward or rnnlib.lstm.forward)")
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
    return squared_error(_trace(tr), ds, at, "rnn")


def squared_error(tr, ds, at: str, model: str) -> float:
    """:func:`loss` of either model's trace; warns if ``E`` is not finite."""
    ds = _targets(tr, ds)
    check.choice(at, LOSS_MODES, "at")
    r = (ds - tr.Y)[-1:] if at == "last" else ds - tr.Y
    with np.errstate(over="ignore", invalid="ignore"):
        E = float(np.sum(r * r))
    if not np.isfinite(E):
        t = tr.first_nonfinite_step()
        why = f"the trace is not finite from step t = {t}" if t else "the squared error overflowed"
        warn_nonfinite(f"{model}.loss: E = {E}: {why}", stacklevel=4)
    return E


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
    _params(p)
    _trace(tr, p)
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
    warn_backward(g, back.dS, "rnn")
    return g
