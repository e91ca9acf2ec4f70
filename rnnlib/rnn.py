"""The simple recurrent network and backpropagation through time.

Model (book: :eq:`eq-rnn-state`, :eq:`eq-rnn-output`, :eq:`eq-error`)::

    a_t = Wx x_t + Ws S_{t-1} [+ bs]     S_t = g1(a_t)
    z_t = Wy S_t [+ by]                  Y_t = g2(z_t)
    E_t = ||d_t - Y_t||^2                (kind="squared", the book's loss)
    E_t = -log Y_t[d_t]                  (kind="cross_entropy", with g2="softmax")

The biases ``bs`` and ``by`` are optional (``init(..., bias=True)``); the
book's network has none.  With the softmax output and the cross-entropy
loss the error at the output is ``dE_t/dz_t = Y_t - onehot(d_t)``.

Shapes are time-major: ``xs`` is ``(T, D)`` for one sequence or ``(T, B, D)``
for a batch of ``B``; ``S`` is ``(T+1, [B,] H)`` with ``S[0] = S_0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validate as check
from .activations import get as activation
from .activations import log_softmax, output_backward
from .activations import output as output_activation
from .engine import (
    GradsReport,
    Names,
    ParamsBase,
    Terms,
    TraceBase,
    all_finite,
    backward,
    blas_threads,
    inputs,
    params_of,
    trace_of,
    warn_backward,
    warn_forward,
    warn_nonfinite,
)

LOSS_MODES = ("last", "all")
#: The losses: ``"squared"`` (the book's) and ``"cross_entropy"`` (needs ``g2="softmax"``).
LOSS_KINDS = ("squared", "cross_entropy")
WEIGHT_NAMES = ("Wx", "Ws", "Wy")
BIAS_NAMES = ("bs", "by")
#: The state carried from step to step: ``forward``'s argument -> the Trace array holding it.
STATE = {"s0": "S"}
#: The activations ``forward`` lets a caller choose.
ACTIVATION_ARGS = ("g1", "g2")
#: Below this many multiply-adds a step (``N H (H + D)``), :func:`forward` runs one
#: product a step on ``[S_{t-1}; x_t]``; above it, the input projection of all steps
#: is one product and each step multiplies by ``Ws`` alone.
SMALL_STEP = 65536


@dataclass
class Params(ParamsBase):
    """Weights of the simple RNN, and optionally its biases (the book's network has none).

    Lists and integer or float arrays are converted to new float64 arrays
    when the dataclass is built or a field is assigned (keeping its shape);
    complex, str, bool, object, NaN or inf entries, or shapes that do not fit
    together, raise ``ValueError`` naming the field.

    Attributes
    ----------
    Wx : ndarray, (H, D)   input to state
    Ws : ndarray, (H, H)   state to state
    Wy : ndarray, (O, H)   state to output
    bs : ndarray, (H,) or None   state bias, in ``a_t = Wx x_t + Ws S_{t-1} + bs``
    by : ndarray, (O,) or None   output bias, in ``z_t = Wy S_t + by``
    names : tuple of str
        The fields present: ``("Wx", "Ws", "Wy")``, then ``"bs"`` and ``"by"`` if set.
    """

    Wx: np.ndarray
    Ws: np.ndarray
    Wy: np.ndarray
    bs: np.ndarray | None = None
    by: np.ndarray | None = None
    names = Names(WEIGHT_NAMES, BIAS_NAMES)
    biases = BIAS_NAMES
    optional = BIAS_NAMES

    def _check_shapes(self) -> None:
        check.nonempty(self.Wx, "Wx", "H and D")
        H = self.Wx.shape[0]
        check.shape(self.Ws, (H, H), "Ws")
        if self.Wy.shape[1] != H or self.Wy.shape[0] == 0:
            raise ValueError(f"Wy: expected shape (O, {H}) with O >= 1, got {self.Wy.shape}")
        if self.bs is not None:
            check.shape(self.bs, (H,), "bs")
        if self.by is not None:
            check.shape(self.by, (self.Wy.shape[0],), "by")

    @property
    def dims(self) -> tuple[int, int, int]:
        """``(D, H, O)``."""
        return self.Wx.shape[1], self.Wx.shape[0], self.Wy.shape[0]


def init(
    n_in: int, n_hidden: int, n_out: int, seed: int = 0, scale: float = 1.0, bias: bool = False
) -> Params:
    """Random weights ``N(0, scale^2 / fan_in)``; ``scale`` sets the spectral radius of Ws near it.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        ``D``, ``H`` and ``O``.
    seed : int >= 0
    scale : float
        Multiplies every weight; for large ``H`` the spectral radius of ``Ws``
        is close to ``scale`` (circular law).
    bias : bool
        Add the biases ``bs`` (H,) and ``by`` (O,), both starting at zero.
        The weights are the same as without them (same seed, same draws).
    """
    D = check.positive_int(n_in, "n_in")
    H = check.positive_int(n_hidden, "n_hidden")
    O = check.positive_int(n_out, "n_out")
    scale = check.positive(scale, "scale")
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"bias: expected True or False, got {bias!r}")
    rng = np.random.default_rng(check.seed(seed))
    return Params(
        Wx=rng.normal(0.0, scale / np.sqrt(D), (H, D)),
        Ws=rng.normal(0.0, scale / np.sqrt(H), (H, H)),
        Wy=rng.normal(0.0, scale / np.sqrt(H), (O, H)),
        bs=np.zeros(H) if bias else None,
        by=np.zeros(O) if bias else None,
    )


@dataclass
class Trace(TraceBase):
    """Everything the forward pass computed, kept for the backward pass.

    Attributes
    ----------
    xs : ndarray, (T, [B,] D)     a copy of the input
    A : ndarray, (T, [B,] H)      ``A[t-1] = a_t``, the state pre-activation
    S : ndarray, (T+1, [B,] H)    ``S[t] = S_t``; ``S[0]`` is the initial state
    Z : ndarray, (T, [B,] O)      ``Z[t-1] = z_t = Wy S_t (+ by)``
    Y : ndarray, (T, [B,] O)      ``Y[t-1] = Y_t = g2(z_t)``
    g1, g2 : str                  ``g2`` may be ``"softmax"``
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

    ``S_t = g1(Wx x_t + Ws S_{t-1} + bs)``, ``Y_t = g2(Wy S_t + by)`` (the
    biases only if ``p`` has them).

    Parameters
    ----------
    p : Params
    xs : array, (T, D) or (T, B, D)
    s0 : array, (H,) or (B, H), optional
        Initial state ``S_0``; zeros by default.
    g1 : str
        Hidden activation, element-wise: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``.
    g2 : str
        Output activation: one of those, or ``"softmax"``
        (``Y_t = exp(z_t) / sum_k exp(z_t)_k`` over the output axis).

    Returns
    -------
    Trace
    """
    D, H, O = _params(p)
    f1, f2 = activation(g1, "g1"), output_activation(g2, "g2")
    xs = inputs(xs, D)
    batch = xs.shape[1:-1]
    N = batch[0] if batch else 1  # sequences side by side: every step is an (N, H) matrix
    s0 = None if s0 is None else _initial_state(s0, batch + (H,)).reshape(N, H)
    # blas_work(T, N, p), T N H (D + H + O), without its loop over the fields
    with blas_threads(xs.shape[0] * N * H * (D + H + O)):  # one thread for mid sizes
        tr, finite = _forward(p, xs, s0, f1, f2)
    if not finite:
        warn_forward(tr, "rnn")
    return tr


@np.errstate(over="ignore", invalid="ignore")  # overflow is reported once, by the caller
def _forward(p, xs, s0, f1, f2) -> tuple[Trace, bool]:
    """:func:`forward` on checked arguments, and whether the states and outputs are finite."""
    D, H, O = p.dims
    T, batch = xs.shape[0], xs.shape[1:-1]
    N = batch[0] if batch else 1
    # the states and z_t in one buffer, so that one sum tells whether both are finite
    k = (T + 1) * N * H
    buf = np.empty(k + T * N * O)
    S, Z = buf[:k].reshape(T + 1, N, H), buf[k:].reshape(T * N, O)
    if N * H * (H + D) < SMALL_STEP:  # small: the fewer array operations the better
        A = _recur_small(p, xs.reshape(T, N, D), s0, f1, S)
    else:  # the input projection of all steps in one product; only the recurrence is sequential
        S[0] = 0.0 if s0 is None else s0
        A = np.dot(xs.reshape(T * N, D), p.Wx.T).reshape(T, N, H)
        if p.bs is not None:
            A += p.bs
        _recur(A, S, p.Ws.T, f1)
    S[1:].reshape(T * N, H).dot(p.Wy.T, Z)  # z_t for every step in one product
    Z = Z.reshape((T,) + batch + (O,))
    if p.by is not None:
        Z += p.by
    Y = f2.f(Z)  # the identity returns Z itself
    shape = (T,) + batch + (H,)
    tr = Trace(xs, A.reshape(shape), S.reshape((T + 1,) + batch + (H,)), Z, Y, f1.name, f2.name)
    return tr, (all_finite(buf) if Y is Z else all_finite(S, Y))


def _recur(A, S, WsT, f1) -> None:
    """``a_t += Ws S_{t-1}``, ``S_t = g1(a_t)`` for t = 1..T, in place on ``A`` and ``S``.

    ``A`` is ``(T, N, H)`` and holds the input projections on entry; ``S`` is
    ``(T+1, N, H)`` with ``S[0]`` set.
    """
    tmp = np.empty(S.shape[1:])
    Av, Sv = list(A), list(S)  # each step's slice, taken once
    tanh = f1.name == "tanh"  # the common case, without temporaries
    for t in range(A.shape[0]):
        Sv[t].dot(WsT, tmp)  # the method: np.dot's C function without the dispatch
        np.add(Av[t], tmp, Av[t])
        if tanh:
            np.tanh(Av[t], Sv[t + 1])
        else:
            Sv[t + 1][...] = f1.f(Av[t])


def _recur_small(p, xs, s0, f1, S):
    """The recurrence with one product a step, ``a_t = [Ws Wx bs] [S_{t-1}; x_t; 1]``.

    ``xs`` is ``(T, N, D)``.  A buffer holds each ``S_{t-1}`` beside ``x_t``
    (and a 1 for the bias), so a step is one product and one activation: for
    small sizes the count of array operations, not arithmetic, sets the time.
    Writes the states into ``S`` (T+1, N, H) and returns ``A`` (T, N, H).
    """
    T, N, D = xs.shape
    H = p.Ws.shape[0]
    parts = [p.Ws, p.Wx] if p.bs is None else [p.Ws, p.Wx, p.bs[:, None]]
    W = np.concatenate(parts, axis=1).T  # (H + D [+ 1], H)
    U = np.zeros((T + 1, N, W.shape[0]))  # S_0 = 0 unless s0 is given
    if s0 is not None:
        U[0, :, :H] = s0
    U[:T, :, H : H + D] = xs
    if p.bs is not None:
        U[:, :, -1] = 1.0
    A = np.empty((T, N, H))
    # each step's slices, taken once: (U_t, a_t, S_t), where S_t is written into U_{t+1};
    # one sequence steps with vectors (H,), cheaper to call than (1, H) matrices
    U_, A_ = (U[:, 0], A[:, 0]) if N == 1 else (U, A)
    steps = zip(U_[:T], A_, U_[1:, ..., :H], strict=True)
    if f1.name == "tanh":  # the common case, without temporaries
        tanh = np.tanh
        for u, a, s in steps:
            u.dot(W, a)  # np.dot without its dispatch; out= given by position
            tanh(a, s)
    else:
        for u, a, s in steps:
            u.dot(W, a)
            s[...] = f1.f(a)
    np.copyto(S, U[:, :, :H])
    return A


def _initial_state(s0, shape):
    s0 = check.array(s0, "s0", ndim=(len(shape),))
    check.shape(s0, shape, "s0")
    return s0


def _targets(tr, ds, kind: str = "squared") -> np.ndarray:
    """``ds`` checked against ``tr.Y``; for cross-entropy, as probability rows ``(T, [B,] O)``."""
    check.instance(tr, TraceBase, "tr", "a Trace (from rnnlib.rnn.forward or rnnlib.lstm.forward)")
    check.choice(kind, LOSS_KINDS, "kind")
    if kind == "squared":
        ds = check.array(ds, "ds", ndim=(tr.Y.ndim,), copy=False)  # read, never kept
        check.shape(ds, tr.Y.shape, "ds")
        return ds
    if tr.g2 != "softmax":
        raise ValueError(
            f"kind: 'cross_entropy' needs the softmax output (forward(..., g2='softmax')); "
            f"this trace has g2={tr.g2!r}"
        )
    return _class_targets(ds, tr.Y.shape)


def _class_targets(ds, shape) -> np.ndarray:
    """Class indices ``(T, [B])`` or one-hot rows ``(T, [B,] O)`` as rows ``(T, [B,] O)``."""
    try:
        raw = np.asarray(ds) if not isinstance(ds, (str, bytes)) else None
    except (TypeError, ValueError):  # ragged nested lists
        raw = None
    if raw is not None and raw.dtype.kind in "iu":  # integers: indices, or integer one-hot rows
        if raw.ndim == len(shape):
            raw = raw.astype(np.float64)
    else:
        raw = check.array(ds, "ds")  # refuses str, bool, complex, NaN ...
        if raw.ndim != len(shape):
            raise ValueError(
                f"ds: class indices must be integers (got {raw.dtype} data of shape "
                f"{raw.shape}), or give one-hot rows of shape {shape}"
            )
    O = shape[-1]
    if raw.ndim == len(shape) - 1:  # class indices d_t
        check.shape(raw, shape[:-1], "ds")
        if raw.size and (raw.min() < 0 or raw.max() >= O):
            bad = raw[(raw < 0) | (raw >= O)].flat[0]
            raise ValueError(f"ds: class index {bad} out of range for O = {O} classes")
        return (raw[..., None] == np.arange(O)).astype(np.float64)
    check.shape(raw, shape, "ds")
    if np.any(raw < 0) or np.any(np.abs(raw.sum(axis=-1) - 1.0) > 1e-9):
        raise ValueError("ds: one-hot rows must be >= 0 and sum to 1 over the O classes")
    return raw


def loss(tr: Trace, ds, at: str = "last", kind: str = "squared") -> float:
    """The loss ``E = sum_t E_t`` over the steps ``at`` selects (summed over the batch too).

    ``kind="squared"`` (the book's): ``E_t = ||d_t - Y_t||^2``.
    ``kind="cross_entropy"`` (needs ``g2="softmax"``): ``E_t = -log Y_t[d_t]``.

    Parameters
    ----------
    tr : Trace
    ds : array
        ``"squared"``: desired outputs ``d_t``, shape ``(T, [B,] O)``.
        ``"cross_entropy"``: class indices, integers ``0 <= d_t < O`` of
        shape ``(T, [B])``, or one-hot rows ``(T, [B,] O)``.
    at : {"last", "all"}
        ``"last"``: only ``E_T`` (the book's ``E_3`` for ``T = 3``);
        ``"all"``: ``E = E_1 + ... + E_T``.
    kind : {"squared", "cross_entropy"}
    """
    return squared_error(_trace(tr), ds, at, "rnn", kind=kind)


def squared_error(tr, ds, at: str, model: str, kind: str = "squared") -> float:
    """:func:`loss` of any model's trace (either ``kind``); warns if ``E`` is not finite."""
    ds = _targets(tr, ds, kind)
    check.choice(at, LOSS_MODES, "at")
    sel = slice(-1, None) if at == "last" else slice(None)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "squared":
            r = ds[sel] - tr.Y[sel]
            E = float(np.sum(r * r))
        else:  # -sum_k d_k log Y_k, with log Y from z_t directly (finite even where Y_k = 0)
            E = -float(np.sum(ds[sel] * log_softmax(tr.Z[sel])))
    if not np.isfinite(E):
        t = tr.first_nonfinite_step()
        why = f"the trace is not finite from step t = {t}" if t else "the loss overflowed"
        warn_nonfinite(f"{model}.loss: E = {E}: {why}", stacklevel=4)
    return E


@dataclass
class Grads(GradsReport):
    """Gradients of the loss, with their per-step decomposition.

    Attributes
    ----------
    Wx, Ws, Wy : ndarray
        ``dE/dW``, same shapes as the parameters.
    bs, by : ndarray or None
        ``dE/dbs`` (H,) and ``dE/dby`` (O,) when the parameters have biases.
    terms : Terms
        ``terms[name][i-1]``: the term entering through step ``i``; sums to the total.
    dS : ndarray, (T+1, [B,] H)
        ``dS[i] = dE/dS_i`` (after truncation and per-step clipping).
    step_norms : ndarray, (T, [B])
        ``||dE/dS_i||`` before per-step clipping (without ``clip_step``, the
        norms of ``dS[1:]``, computed when first read).
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
    bs: np.ndarray | None = None
    by: np.ndarray | None = None
    names = Names(WEIGHT_NAMES, BIAS_NAMES)


def _step_norms(g: Grads) -> np.ndarray:
    n = g.__dict__.get("_step_norms")
    if n is None:  # no per-step clipping: the norms before clipping are those of dS
        with np.errstate(over="ignore", invalid="ignore"):
            n = np.sqrt(np.sum(g.dS[1:] * g.dS[1:], axis=-1))
        g.__dict__["_step_norms"] = n
    return n


def _set_step_norms(g: Grads, value) -> None:
    g.__dict__["_step_norms"] = value


def _step_clipped(g: Grads) -> np.ndarray:
    c = g.__dict__.get("_step_clipped")
    if c is None:  # no per-step clipping: nothing was clipped
        c = g.__dict__["_step_clipped"] = np.zeros((g.dS.shape[0] - 1, *g.dS.shape[1:-1]), bool)
    return c


def _set_step_clipped(g: Grads, value) -> None:
    g.__dict__["_step_clipped"] = value


# read on demand: the full-BPTT path does not spend a norm per step that nobody asked for
Grads.step_norms = property(_step_norms, _set_step_norms, doc="``||dE/dS_i||``, (T, [B])")
Grads.step_clipped = property(
    _step_clipped, _set_step_clipped, doc="where ``clip_step`` rescaled, (T, [B])"
)


def output_error(tr: Trace, ds, at: str = "last", kind: str = "squared") -> np.ndarray:
    """``dE/dz_t`` for the loss terms ``at`` selects, zero elsewhere.

    ``kind="squared"``: ``dE_t/dY_t = 2 (Y_t - d_t)`` through ``Y_t = g2(z_t)``,
    that is ``2 (Y_t - d_t) * g2'(z_t)`` for an element-wise ``g2``.
    ``kind="cross_entropy"`` with the softmax: ``Y_t - onehot(d_t)``.

    Returns
    -------
    ndarray, (T, [B,] O)
    """
    ds = _targets(tr, ds, kind)
    check.choice(at, LOSS_MODES, "at")
    with np.errstate(over="ignore", invalid="ignore"):
        return _output_error(tr, ds, at == "last", kind)


def _output_error(tr, ds, last_only: bool, kind: str) -> np.ndarray:
    if kind == "squared":
        dY = np.subtract(tr.Y, ds)
        dY *= 2.0  # dE_t/dY_t = 2 (Y_t - d_t), in place
        dZ = output_backward(tr.g2, tr.Z, tr.Y, dY)
    else:
        dZ = tr.Y - ds
    if last_only:
        dZ[:-1] = 0.0
    return dZ


def bptt(
    p: Params,
    tr: Trace,
    ds,
    at: str = "last",
    truncate: int | None = None,
    clip_step: float | None = None,
    kind: str = "squared",
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
    ds : array
        Targets as :func:`loss` takes them for ``kind``.
    at : {"last", "all"}
        Loss at the last step only, or summed over all steps.
    truncate : int >= 1, optional
        Every ``E_t`` backpropagates through at most ``truncate`` steps: the
        term for ``S_i`` is dropped when ``t - i >= truncate``.
    clip_step : float > 0, optional
        Per-step clipping of the backward signal: ``dE/dS_i`` is rescaled to
        norm ``clip_step`` whenever it exceeds it.
    kind : {"squared", "cross_entropy"}
        The loss, as in :func:`loss`.

    Returns
    -------
    Grads

    Notes
    -----
    Full BPTT (no ``truncate``, no ``clip_step``) runs a loop of three array
    operations per step; the other settings run :func:`rnnlib.engine.backward`
    with the same products, so equal settings give equal bits.  Each step
    treats the ``B`` sequences as one ``(B, H)`` matrix; the products over
    all steps at once (the input projection, the output, every weight
    gradient) are single matrix products.
    """
    D, H, O = _params(p)
    _trace(tr, p)
    if truncate is not None:
        truncate = check.positive_int(truncate, "truncate")
    if clip_step is not None:
        clip_step = check.positive(clip_step, "clip_step")
    ds = _targets(tr, ds, kind)
    check.choice(at, LOSS_MODES, "at")
    with blas_threads(tr.A.size * (D + H + O)):  # T N H (D + H + O), as in the forward pass
        g, finite = _bptt(p, tr, ds, at == "last", truncate, clip_step, kind)
    if not finite:
        warn_backward(g, g.dS, "rnn")
    return g


@np.errstate(over="ignore", invalid="ignore")  # overflow is reported once, by the caller
def _bptt(p, tr, ds, last_only, truncate, clip_step, kind) -> tuple[Grads, bool]:
    """:func:`bptt` on checked arguments; also returns whether every gradient is finite."""
    A = tr.A
    T, H, O = A.shape[0], A.shape[-1], tr.Y.shape[-1]
    batch = A.shape[1:-1]
    N = batch[0] if batch else 1  # sequences in the batch
    # every step as an (N, H) matrix, so that each product is one 2-D BLAS call
    dZ = _output_error(tr, ds, last_only, kind).reshape(T * N, O)  # dE/dz_t
    D1 = _dg1(tr)  # g1'(a_t) for every step at once
    e = dZ.dot(p.Wy)  # e_t = dE_t/dS_t through Y_t, (T N, H)
    if truncate is None and clip_step is None:  # full BPTT: the recursion, nothing else
        # dS after the gradients in one buffer, so that one sum tells whether all are finite
        size = _grads_size(p)
        buf = np.empty(size + (T + 1) * N * H)
        # one sequence steps with vectors (H,), cheaper to call than (1, H) matrices
        rows = (T, H) if N == 1 else (T, N, H)
        dS, delta = _full_backward(e.reshape(rows), D1.reshape(rows), p.Ws, last_only, buf[size:])
        flat, checked, norms, clipped = buf[:size], (buf,), None, None
    else:
        D1 = D1.reshape(T, N, H)

        def vjp(t, v):  # v @ dS_t/dS_{t-1} = (v * g1'(a_t)) @ Ws, one 2-D product
            return np.dot((v * D1[t - 1]).reshape(-1, H), p.Ws).reshape(v.shape)

        back = backward(e.reshape(T, N, H), vjp, truncate, clip_step, last_only=last_only)
        dS, delta = back.dS, back.dS[1:] * D1  # delta_t = dE/da_t
        norms, clipped = back.norms.reshape((T,) + batch), back.clipped.reshape((T,) + batch)
        flat = np.empty(_grads_size(p))
        checked = (dS, flat)
    grads = _weight_grads(p, tr, delta.reshape(T * N, H), dZ, flat)
    dS, delta, dZ = dS.reshape(tr.S.shape), delta.reshape(A.shape), dZ.reshape(tr.Y.shape)
    pairs = {"Wx": (delta, tr.xs), "Ws": (delta, tr.S[:-1]), "Wy": (dZ, tr.S[1:])}
    if len(grads) > 3:  # the biases' terms
        pairs.update({n: (delta if n == "bs" else dZ, None) for n in grads if n in BIAS_NAMES})
    g = Grads(**grads, terms=Terms(pairs), dS=dS, step_norms=norms, step_clipped=clipped)
    return g, all_finite(*checked)


def _grads_size(p) -> int:
    """How many numbers every gradient of ``p`` holds together."""
    (H, D), O = p.Wx.shape, p.Wy.shape[0]
    return H * (D + H + O) + (0 if p.bs is None else H) + (0 if p.by is None else O)


def _weight_grads(p, tr, delta, dZ, flat):
    """Every gradient as one product (or sum) over all steps and sequences.

    Book: :eq:`eq-weight-gradients`.
    ``dE/dWs = sum_i delta_i S_{i-1}^T``, ``dE/dWx = sum_i delta_i x_i^T``,
    ``dE/dWy = sum_i dE/dz_i S_i^T``, ``dE/dbs = sum_i delta_i``,
    ``dE/dby = sum_i dE/dz_i``, with ``delta`` (T N, H) and ``dZ`` (T N, O).
    The arrays returned (``name -> array``) are views of ``flat``, a buffer
    of :func:`_grads_size` numbers, so that a single sum can tell whether
    they are finite.
    """
    (H, D), O = p.Wx.shape, p.Wy.shape[0]
    S = tr.S.reshape(-1, H)  # (T+1) N rows: S_0 of every sequence, then S_1, ...
    M = delta.shape[0]  # T N
    i, j, k = H * D, H * (D + H), H * (D + H + O)
    nbs, nby = (0 if p.bs is None else H), (0 if p.by is None else O)
    out = {"Wx": flat[:i].reshape(H, D), "Ws": flat[i:j].reshape(H, H)}
    out["Wy"] = flat[j:k].reshape(O, H)
    dT = delta.T
    dT.dot(tr.xs.reshape(M, D), out["Wx"])  # ndarray.dot: np.dot without the dispatch
    dT.dot(S[:M], out["Ws"])
    dZ.T.dot(S[-M:], out["Wy"])
    if nbs:
        out["bs"] = np.add.reduce(delta, axis=0, out=flat[k : k + H])
    if nby:
        out["by"] = np.add.reduce(dZ, axis=0, out=flat[k + nbs :])
    return out


def _dg1(tr) -> np.ndarray:
    """``g1'(a_t)`` for every step; for tanh from the stored state, ``1 - S_t^2`` (no new tanh)."""
    if tr.g1 == "tanh":
        D1 = np.multiply(tr.S[1:], tr.S[1:])
        return np.subtract(1.0, D1, out=D1)  # in place: one array of T N H, not two
    return activation(tr.g1).df(tr.A)


def _full_backward(e, D1, Ws, last_only, out=None):
    """Full BPTT: :func:`rnnlib.engine.backward` without truncation or clipping, specialised.

    ``e``, ``D1`` are ``(T, N, H)``; returns ``dS`` (T+1, N, H) with
    ``dS[t] = dE/dS_t`` and ``delta`` (T, N, H) with ``delta[t-1] = dE/da_t``.
    The products are the engine's (same shapes, same order), so the result is
    the same to the last bit.  ``out``, if given, is a flat buffer for ``dS``.
    """
    T = e.shape[0]
    shape = (T + 1,) + e.shape[1:]
    dS = np.empty(shape) if out is None else out.reshape(shape)
    delta = np.empty_like(e)
    dS[T] = e[T - 1]
    # each step's (N, H) slices, taken once: in this loop indexing costs as much as arithmetic;
    # step t reads dE/dS_t, g1'(a_t) and e_{t-1}, and writes delta_t and dE/dS_{t-1}
    dSv = list(dS)
    ev = [None] * T if last_only else [None] + list(e[:-1])  # e_{t-1} (none for t = 1)
    steps = zip(dSv[:0:-1], D1[::-1], ev[::-1], delta[::-1], dSv[-2::-1], strict=True)
    multiply, add = np.multiply, np.add
    for dS_t, g_t, e_prev, d, s in steps:
        multiply(dS_t, g_t, d)  # delta_t = dE/dS_t * g1'(a_t)
        d.dot(Ws, s)  # through Ws into S_{t-1} (np.dot's C function, without the dispatch) ...
        if e_prev is not None:
            add(s, e_prev, s)  # ... plus E_{t-1}'s own error
    return dS, delta
