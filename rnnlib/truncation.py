"""The backward recursion through time, with truncation and per-step clipping.

Both :func:`rnnlib.rnn.bptt` and :func:`rnnlib.lstm.bptt` reduce to the same
loop.  Given the *local* error each loss term sends into the state it reads,
``e_t = dE_t/dS_t`` (through the output only), and the transposed Jacobian
of one step, ``v -> v @ dS_t/dS_{t-1}``, the total error signal obeys
(book: {ref}`eq-backward-recursion`)

.. math::  \\frac{\\partial E}{\\partial S_{t-1}} = e_{t-1}
           + \\frac{\\partial E}{\\partial S_t}\\,\\frac{\\partial S_t}{\\partial S_{t-1}},

which costs one Jacobian-vector product per step instead of the O(T^2) work
of summing every chain of the explicit formula.

Truncation to ``k`` steps keeps, for every loss term ``E_t``, only the states
``S_i`` with ``t - i < k``.  For a loss at the last step that is the full
recursion stopped after ``k`` steps; for a loss at every step each ``E_t``
has its own window, so the loop carries the ``k`` youngest contributions
side by side (one batched product per step, O(kT) work in all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Backward:
    """Result of :func:`backward`.

    Attributes
    ----------
    dS : ndarray, (T+1, [B,] H)
        ``dS[t] = dE/dS_t`` (after truncation and per-step clipping);
        ``dS[0]`` is the gradient with respect to the initial state.
    norms : ndarray, (T, [B])
        ``norms[t-1] = ||dE/dS_t||`` per sequence *before* per-step clipping.
    clipped : ndarray of bool, (T, [B])
        Where per-step clipping rescaled the signal.
    """

    dS: np.ndarray
    norms: np.ndarray
    clipped: np.ndarray


def backward(e, vjp, truncate=None, clip_step=None, last_only=False) -> Backward:
    """Run the backward recursion from ``t = T`` down to ``t = 1``.

    Parameters
    ----------
    e : ndarray, (T, [B,] H)
        ``e[t-1] = dE_t/dS_t`` through the output at step ``t`` only.
    vjp : callable
        ``vjp(t, v)`` with ``v`` of shape ``(k, [B,] H)`` returns
        ``v @ dS_t/dS_{t-1}``, same shape.
    truncate : int or None
        Keep only the terms with ``t - i < truncate``; None is full BPTT.
    clip_step : float or None
        Rescale ``dE/dS_t`` to norm ``clip_step`` (per sequence) whenever it
        is larger, before it flows further back.
    last_only : bool
        ``e`` is zero except at ``t = T`` (the loss ``E_T``): truncation is
        then a plain early stop.
    """
    T = e.shape[0]
    dS = np.zeros((T + 1,) + e.shape[1:])
    norms = np.zeros(e.shape[:-1])
    clipped = np.zeros(e.shape[:-1], dtype=bool)
    windowed = truncate is not None and truncate < T and not last_only
    stop = 0 if truncate is None or last_only is False else max(T - truncate, 0)
    # buf[j] holds the contribution of E_{t+j} to dE/dS_t; without windows, j = 0 carries the sum
    buf = np.zeros((truncate if windowed else 1,) + e.shape[1:])
    buf[0] = e[T - 1]
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T, stop, -1):
            total = buf.sum(axis=0) if windowed else buf[0]
            n = np.linalg.norm(total, axis=-1)
            norms[t - 1] = n
            if clip_step is not None:
                over = n > clip_step
                if np.any(over):
                    scale = np.where(over, clip_step / np.where(over, n, 1.0), 1.0)[..., None]
                    buf = buf * scale
                    total = total * scale
                    clipped[t - 1] = over
            dS[t] = total
            prev = vjp(t, buf)
            if windowed:
                buf = np.concatenate([np.zeros_like(prev[:1]), prev[:-1]])
            else:
                buf = prev
            if t > 1:
                buf[0] = buf[0] + e[t - 2]
        if stop == 0:
            dS[0] = buf.sum(axis=0) if windowed else buf[0]
    return Backward(dS, norms, clipped)
