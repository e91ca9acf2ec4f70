"""Small synthetic sequence tasks with a known memory horizon, all seeded.

Every task returns a :class:`Task` with time-major arrays ``xs : (T, B, D)``
and ``ds : (T, B, O)``, the loss mode ``at`` to train with, and ``lag``: how
many steps back the input that decides a target lies, i.e. how far the
gradient must travel for the network to learn the task.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as check


class Task(NamedTuple):
    """A batch of input and target sequences.

    Attributes
    ----------
    name : str
    xs : ndarray, (T, B, D)
    ds : ndarray, (T, B, O)
    at : {"last", "all"}
        Which loss terms count (as in :func:`rnnlib.rnn.loss`).
    lag : int
        Steps between the deciding input and the target that needs it.
    """

    name: str
    xs: np.ndarray
    ds: np.ndarray
    at: str
    lag: int


def adding(T: int, batch: int = 32, seed: int = 0) -> Task:
    """The adding problem (Hochreiter & Schmidhuber 1997).

    Channel 0 of ``x_t`` is a random value ``u_t ~ U(0, 1)``, channel 1 a
    marker that is 1 at exactly two steps: ``m1`` in the first half and
    ``m2`` in the second half.  The target at the last step is
    ``d_T = u_{m1} + u_{m2}`` (zero elsewhere; ``at="last"``).

    Parameters
    ----------
    T : int >= 2
    batch : int >= 1
    seed : int >= 0

    Returns
    -------
    Task
        ``xs (T, B, 2)``, ``ds (T, B, 1)``, ``lag = T - T // 2``: the first
        marked value lies at least that many steps before the end.
    """
    T = check.positive_int(T, "T")
    if T < 2:
        raise ValueError(f"T: the adding problem needs T >= 2, got {T}")
    B = check.positive_int(batch, "batch")
    rng = np.random.default_rng(check.seed(seed))
    half = T // 2
    xs = np.zeros((T, B, 2))
    xs[:, :, 0] = rng.uniform(0.0, 1.0, (T, B))
    m1 = rng.integers(0, half, B)
    m2 = rng.integers(half, T, B)
    cols = np.arange(B)
    xs[m1, cols, 1] = 1.0
    xs[m2, cols, 1] = 1.0
    ds = np.zeros((T, B, 1))
    ds[-1, :, 0] = xs[m1, cols, 0] + xs[m2, cols, 0]
    return Task("adding", xs, ds, "last", T - half)


def recall(lag: int, batch: int = 32, seed: int = 0) -> Task:
    """Recall after a lag: remember the value shown at step 1 until step ``lag + 1``.

    Channel 0 of ``x_1`` is a value ``v ~ U(-1, 1)`` (zero at later steps);
    channel 1 is a cue that is 1 only at the last step ``T = lag + 1``.  The
    target is ``d_T = v`` (zero elsewhere; ``at="last"``).

    Parameters
    ----------
    lag : int >= 1
    batch : int >= 1
    seed : int >= 0

    Returns
    -------
    Task
        ``xs (lag+1, B, 2)``, ``ds (lag+1, B, 1)``.
    """
    lag = check.positive_int(lag, "lag")
    B = check.positive_int(batch, "batch")
    rng = np.random.default_rng(check.seed(seed))
    T = lag + 1
    xs = np.zeros((T, B, 2))
    xs[0, :, 0] = rng.uniform(-1.0, 1.0, B)
    xs[-1, :, 1] = 1.0
    ds = np.zeros((T, B, 1))
    ds[-1, :, 0] = xs[0, :, 0]
    return Task("recall", xs, ds, "last", lag)


def sine(T: int, batch: int = 32, seed: int = 0) -> Task:
    """Predict the next sample of a sine wave.

    Each sequence has its own angular frequency ``w ~ U(0.2, 0.6)`` rad/step
    and phase ``phi ~ U(0, 2 pi)``: ``x_t = sin(w t + phi)`` and the target
    is the next sample, ``d_t = x_{t+1}`` (loss at every step, ``at="all"``).
    Since ``x_{t+1} = 2 cos(w) x_t - x_{t-1}``, the next sample follows from
    ``x_t``, ``x_{t-1}`` and ``cos w``; and ``cos w = (x_t + x_{t-2}) / (2 x_{t-1})``
    needs ``x_{t-2}`` as well.  So a network that infers the frequency from
    the inputs alone must hold the two previous inputs (``lag = 2``): three
    consecutive samples fix the wave.

    Parameters
    ----------
    T : int >= 1
    batch : int >= 1
    seed : int >= 0

    Returns
    -------
    Task
        ``xs (T, B, 1)``, ``ds (T, B, 1)``.
    """
    T = check.positive_int(T, "T")
    B = check.positive_int(batch, "batch")
    rng = np.random.default_rng(check.seed(seed))
    w = rng.uniform(0.2, 0.6, B)
    phi = rng.uniform(0.0, 2 * np.pi, B)
    wave = np.sin(np.arange(1, T + 2)[:, None] * w + phi)  # x_1 .. x_{T+1}
    return Task("sine", wave[:-1, :, None], wave[1:, :, None], "all", 2)
