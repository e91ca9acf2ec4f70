"""Gradient clipping: by global norm (direction kept) and by value.

Clipping by norm (book: :eq:`eq-clip-norm`, Pascanu et al. 2013) rescales
the whole gradient ``g`` (every parameter's array, taken together) when its
norm exceeds a threshold ``theta``:

.. math::  g \\leftarrow \\frac{\\theta}{\\lVert g \\rVert}\\, g
           \\quad \\text{if } \\lVert g \\rVert > \\theta .

Clipping by value bounds each entry to ``[-theta, theta]`` instead, which
changes the direction of ``g``.  Per-step clipping of the backward signal,
the state adjoint ``Sbar_i = grad_{S_i} E`` (book: :eq:`eq-clip-step`), lives
in :func:`rnnlib.rnn.bptt` (``clip_step=theta``).

A non-finite gradient is never clipped into something that looks valid: the
arrays come back unchanged and ``ClipReport.finite`` is False, so that the
caller (e.g. :func:`rnnlib.train.sgd`) stops instead of stepping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import _validate as check


@dataclass(frozen=True)
class ClipReport:
    """What a clipping call did.

    Attributes
    ----------
    clipped : bool
        Whether any entry changed.
    norm : float
        Global norm of the gradient *before* clipping.
    threshold : float
    finite : bool
        False if the gradient held NaN or inf (then nothing was changed).
    """

    clipped: bool
    norm: float
    threshold: float
    finite: bool


def _as_dict(grads) -> dict[str, np.ndarray]:
    # copies: NaN and inf are allowed (they are reported), complex or str data are not
    if hasattr(grads, "names"):
        return {n: check.array(getattr(grads, n), f"grads.{n}", finite=False) for n in grads.names}
    if isinstance(grads, Mapping):
        return {n: check.array(v, f"grads[{n!r}]", finite=False) for n, v in grads.items()}
    raise ValueError(
        f"grads: expected a Grads object (with .names) or a dict name -> array, "
        f"got {type(grads).__name__}"
    )


def _norm(arrays: dict[str, np.ndarray]) -> float:
    # scale by the largest entry first, so finite gradients near 1e200 do not overflow
    with np.errstate(over="ignore", invalid="ignore"):
        m = float(np.max([np.max(np.abs(a)) if a.size else 0.0 for a in arrays.values()] + [0.0]))
        if m == 0.0 or not np.isfinite(m):
            return m  # 0, inf, or NaN (np.max propagates NaN)
        return m * float(np.sqrt(sum(np.sum((a / m) ** 2) for a in arrays.values())))


def global_norm(grads) -> float:
    """``||g|| = sqrt(sum over parameters of sum of squared entries)``.

    Parameters
    ----------
    grads : Grads-like (has ``.names``) or dict name -> ndarray

    Returns
    -------
    float
        NaN if any entry is NaN, inf if any is inf.
    """
    return _norm(_as_dict(grads))


def _finite(arrays) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays.values())


def clip_by_norm(grads, threshold: float) -> tuple[dict[str, np.ndarray], ClipReport]:
    """Rescale the whole gradient to norm ``threshold`` when it is larger.

    ``g <- (theta / ||g||) g`` if ``||g|| > theta``: every array is scaled by
    the same factor, so the direction is kept.

    Parameters
    ----------
    grads : Grads-like or dict name -> ndarray
    threshold : float > 0
        ``theta``.

    Returns
    -------
    clipped : dict name -> ndarray
        New arrays (copies), same shapes as the input.
    report : ClipReport
    """
    theta = check.positive(threshold, "threshold")
    g = _as_dict(grads)
    n = _norm(g)
    if not _finite(g):
        return {k: v.copy() for k, v in g.items()}, ClipReport(False, n, theta, False)
    if n <= theta:
        return {k: v.copy() for k, v in g.items()}, ClipReport(False, n, theta, True)
    scale = theta / n
    return {k: v * scale for k, v in g.items()}, ClipReport(True, n, theta, True)


def clip_by_value(grads, threshold: float) -> tuple[dict[str, np.ndarray], ClipReport]:
    """Clip every entry to ``[-threshold, threshold]``.

    ``g_j <- min(max(g_j, -theta), theta)`` element-wise: the norm falls to at
    most ``theta * sqrt(n_entries)`` but the direction generally changes.

    Parameters
    ----------
    grads : Grads-like or dict name -> ndarray
    threshold : float > 0

    Returns
    -------
    clipped : dict name -> ndarray
    report : ClipReport
        ``norm`` is the global norm before clipping.
    """
    theta = check.positive(threshold, "threshold")
    g = _as_dict(grads)
    n = _norm(g)
    if not _finite(g):
        return {k: v.copy() for k, v in g.items()}, ClipReport(False, n, theta, False)
    clipped = any(bool(np.any(np.abs(v) > theta)) for v in g.values())
    out = {k: np.clip(v, -theta, theta) for k, v in g.items()}
    return out, ClipReport(clipped, n, theta, True)
