"""The single-unit "cliff" of Pascanu, Mikolov & Bengio (2013, their Fig. 6).

One recurrent unit with a sigmoid feedback and two parameters::

    x_t = w * sigmoid(x_{t-1}) + b,      t = 1..T,   x_0 = 0.5
    E   = (x_T - target)^2                           T = 50, target = 0.7

For ``w > 4`` the map has two stable fixed points.  Where the basin boundary
crosses ``x_0`` a tiny change of ``(w, b)`` sends the orbit to the other
attractor: ``E`` jumps and its gradient is orders of magnitude larger than
anywhere else, a narrow *wall* in the error surface.  Everything here is
vectorized: ``w`` and ``b`` may be arrays (a grid), and gradients come from
BPTT on the scalar chain (book: :eq:`eq-cliff-grad`), with the adjoint
``xbar_t = dE/dx_t`` (a total derivative)::

    xbar_T = 2 (x_T - target),   xbar_{t-1} = xbar_t * w * sigmoid'(x_{t-1})
    dE/dw = sum_t xbar_t sigmoid(x_{t-1}),   dE/db = sum_t xbar_t

where ``sigmoid(x_{t-1})`` and ``1`` are the immediate partials ``d+x_t/dw`` and ``d+x_t/db``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as check
from .activations import ACTIVATIONS

_sigmoid = ACTIVATIONS["sigmoid"].f  # trusted float64 arrays: no conversion in the loop

T = 50
X0 = 0.5
TARGET = 0.7
CLIP_MODES = ("norm", "value")


@dataclass
class Grads:
    """Loss and gradient of the cliff model, broadcast over the grid of ``(w, b)``.

    Attributes
    ----------
    E : ndarray
        ``(x_T - target)^2``.
    w, b : ndarray
        ``dE/dw`` and ``dE/db`` (inf or NaN where the backward product overflowed).
    names = ("w", "b")
    """

    E: np.ndarray
    w: np.ndarray
    b: np.ndarray
    names = ("w", "b")

    @property
    def norm(self) -> np.ndarray:
        """``||(dE/dw, dE/db)||_2``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return np.hypot(self.w, self.b)


def _inputs(w, b, T, x0, target, names=("w", "b")):
    w = check.array(w, names[0])
    b = check.array(b, names[1])
    try:
        shape = np.broadcast_shapes(w.shape, b.shape)
    except ValueError:
        raise ValueError(
            f"{names[1]}: shape {b.shape} does not broadcast with {names[0]} {w.shape}"
        ) from None
    T = check.positive_int(T, "T")
    x0 = float(check.array(x0, "x0", ndim=(0,)))
    target = float(check.array(target, "target", ndim=(0,)))
    return np.broadcast_to(w, shape), np.broadcast_to(b, shape), T, x0, target


def forward(w, b, T: int = T, x0: float = X0) -> np.ndarray:
    """The orbit ``x_0, x_1, ..., x_T`` for every ``(w, b)``.

    Parameters
    ----------
    w, b : float or ndarray
        Broadcast together to a grid shape ``G``.
    T : int
        Number of steps.
    x0 : float
        Initial state.

    Returns
    -------
    ndarray, (T+1,) + G
    """
    w, b, T, x0, _ = _inputs(w, b, T, x0, TARGET)
    xs = np.empty((T + 1,) + w.shape)
    xs[0] = x0
    for t in range(1, T + 1):  # |x_t| <= |w| + |b|: no overflow possible here
        xs[t] = w * _sigmoid(xs[t - 1]) + b
    return xs


def loss(w, b, T: int = T, x0: float = X0, target: float = TARGET) -> np.ndarray:
    """``E(w, b) = (x_T - target)^2``, same shape as ``w`` and ``b`` broadcast."""
    w, b, T, x0, target = _inputs(w, b, T, x0, target)
    return (forward(w, b, T, x0)[-1] - target) ** 2


def grad(w, b, T: int = T, x0: float = X0, target: float = TARGET) -> Grads:
    """Loss and exact gradient by backpropagation through the ``T`` steps.

    Parameters
    ----------
    w, b : float or ndarray
        Broadcast together; one gradient per grid point.
    T, x0, target : see :func:`forward` and :func:`loss`.

    Returns
    -------
    Grads
        Overflow in the backward product (``|w| / 4 > 1`` for many steps) gives
        inf silently; check ``np.isfinite(g.norm)``.
    """
    w, b, T, x0, target = _inputs(w, b, T, x0, target)
    xs = forward(w, b, T, x0)
    xbar = 2.0 * (xs[-1] - target)  # dE/dx_T
    gw = np.zeros(w.shape)
    gb = np.zeros(w.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T, 0, -1):
            s = _sigmoid(xs[t - 1])
            gw += xbar * s  # immediate partial d+x_t/dw = sigmoid(x_{t-1})
            gb += xbar  # immediate partial d+x_t/db = 1
            xbar = xbar * w * s * (1.0 - s)  # dE/dx_{t-1} = dE/dx_t * w sigmoid'(x_{t-1})
    return Grads((xs[-1] - target) ** 2, gw, gb)


@dataclass
class Surface:
    """The error surface on a grid.

    Attributes
    ----------
    W, B : ndarray, (nb, nw)
        Grid coordinates (``np.meshgrid`` order: rows follow ``b``).
    E : ndarray, (nb, nw)
    grad_norm : ndarray, (nb, nw)
    """

    W: np.ndarray
    B: np.ndarray
    E: np.ndarray
    grad_norm: np.ndarray


def surface(w_range=(3.0, 7.0), b_range=(-5.0, -1.0), n=(161, 161), **kwargs) -> Surface:
    """Loss and gradient norm on an ``n = (nw, nb)`` grid over ``w_range`` x ``b_range``.

    Extra keyword arguments (``T``, ``x0``, ``target``) go to :func:`grad`.
    """
    w_lo, w_hi = _pair(w_range, "w_range")
    b_lo, b_hi = _pair(b_range, "b_range")
    if not (w_lo < w_hi and b_lo < b_hi):
        raise ValueError(f"w_range, b_range: expected (low, high), got {w_range}, {b_range}")
    if isinstance(n, (str, bytes)) or not hasattr(n, "__len__") or len(n) != 2:
        raise ValueError(f"n: expected (nw, nb), got {n!r}")
    nw, nb = (check.positive_int(k, "n") for k in n)
    W, B = np.meshgrid(np.linspace(w_lo, w_hi, nw), np.linspace(b_lo, b_hi, nb))
    g = grad(W, B, **kwargs)
    return Surface(W, B, g.E, g.norm)


def _pair(x, name):
    a = check.array(x, name, ndim=(1,))
    if a.shape != (2,):
        raise ValueError(f"{name}: expected (low, high), got {x!r}")
    return a


@dataclass
class Path:
    """An SGD trajectory on the cliff.

    Attributes
    ----------
    w, b : ndarray, (n+1,) + G
        Parameters before each step and after the last one (``G`` is the
        shape of the starting points, ``()`` for a single run).
    E, grad_norm : ndarray, (n,) + G
        Loss and gradient norm (before clipping) at each step.
    clipped : ndarray of bool, (n,) + G
    stopped : str or None
        Why the run ended early (a non-finite gradient), else None.
    """

    w: np.ndarray
    b: np.ndarray
    E: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    stopped: str | None = None


def sgd(
    w0,
    b0,
    lr: float = 0.005,
    steps: int = 60,
    clip=None,
    threshold: float | None = None,
    **kwargs,
) -> Path:
    """Plain gradient descent from ``(w0, b0)``, optionally with clipping.

    Several runs go side by side when ``w0`` and ``b0`` are arrays (one run
    per starting point, all advanced together).

    Parameters
    ----------
    w0, b0 : float or ndarray
        Starting points, broadcast together to a shape ``G``.
    lr : float > 0
    steps : int >= 1
    clip : {None, "norm", "value"}
        ``"norm"`` rescales ``g`` to norm ``threshold`` when it is larger
        (direction kept, book: :eq:`eq-clip-norm`); ``"value"`` clamps each
        component to ``[-threshold, threshold]`` (direction may change).
    threshold : float > 0
        Required when ``clip`` is given.
    **kwargs
        ``T``, ``x0``, ``target`` for :func:`grad`.

    Returns
    -------
    Path
        Arrays of shape ``(n+1,) + G`` and ``(n,) + G``; all runs stop at the
        first step where any gradient is not finite.
    """
    w, b, *_ = _inputs(w0, b0, T, X0, TARGET, names=("w0", "b0"))
    w, b = check.nonempty(w.copy(), "w0", "the grid of starting points"), b.copy()
    lr = check.positive(lr, "lr")
    steps = check.positive_int(steps, "steps")
    if clip is not None:
        check.choice(clip, CLIP_MODES, "clip")
    threshold = check.positive(threshold, "threshold", allow_none=clip is None)
    ws, bs, Es, norms, clipped = [w], [b], [], [], []
    stopped = None
    for k in range(steps):
        g = grad(w, b, **kwargs)
        n = g.norm
        if not np.all(np.isfinite(n)):
            stopped = f"non-finite gradient at step {k}"
            break
        scale = np.ones_like(n)
        if clip == "norm":
            over = n > threshold
            scale[over] = threshold / n[over]
            gw, gb, hit = g.w * scale, g.b * scale, over
        elif clip == "value":
            gw, gb = np.clip(g.w, -threshold, threshold), np.clip(g.b, -threshold, threshold)
            hit = (gw != g.w) | (gb != g.b)
        else:
            gw, gb, hit = g.w, g.b, np.zeros(n.shape, dtype=bool)
        w, b = w - lr * gw, b - lr * gb
        Es.append(g.E)
        norms.append(n)
        clipped.append(hit)
        ws.append(w)
        bs.append(b)
    shape = (0,) + np.shape(w)
    return Path(
        np.array(ws),
        np.array(bs),
        np.array(Es).reshape((-1,) + shape[1:]),
        np.array(norms).reshape((-1,) + shape[1:]),
        np.array(clipped, dtype=bool).reshape((-1,) + shape[1:]),
        stopped,
    )
