"""Small synthetic sequence tasks with a known memory horizon, all seeded.

Every task returns a :class:`Task` with time-major arrays ``xs : (T, B, D)``
and ``ds : (T, B, O)``, the loss mode ``at`` to train with, and ``lag``: how
many steps back the input that decides a target lies, i.e. how far the
gradient must travel for the network to learn the task.

:func:`reber` is the symbol-sequence task: strings of the (embedded) Reber
grammar for next-symbol prediction, with :func:`reber_grammatical` to check a
string and :func:`reber_correct` to score a network's predictions.
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


#: The alphabet of the Reber grammar, in the order of the one-hot code.
REBER_SYMBOLS = "BTSXPVE"
# The Reber grammar's graph (Reber 1967; in the form of Fahlman 1991 and Hochreiter &
# Schmidhuber 1997): node -> ((symbol, next node), ...).  Node 0 is reached by reading B;
# node 6 is the end; at every fork both edges have probability 1/2.
_REBER_GRAPH = {
    0: (("T", 1), ("P", 2)),
    1: (("S", 1), ("X", 3)),
    2: (("T", 2), ("V", 4)),
    3: (("X", 2), ("S", 5)),
    4: (("P", 3), ("V", 5)),
    5: (("E", 6),),
}


class Reber(NamedTuple):
    """Reber-grammar strings encoded for next-symbol prediction.

    Strings have different lengths, so the fields are lists with one entry per
    string; :meth:`groups` stacks the strings of equal length into time-major
    batches that :func:`rnnlib.rnn.bptt` (and the LSTM and GRU) take as they
    are: no masking anywhere, and the gradient over the whole set is the sum of
    the groups' gradients.  :meth:`padded` instead stacks all strings into one
    batch, padded to the longest with a mask: one forward and backward pass
    per update instead of one per length, and exact too, because a step
    after a string's end cannot change any step before it.

    A string of ``L`` symbols gives ``T = L - 1`` steps: the input at step ``t``
    is the ``t``-th symbol, its target the ``(t+1)``-th.

    Attributes
    ----------
    strings : list of str
        E.g. ``"BTBPVVETE"``.
    xs : list of ndarray, (T, 7)
        One-hot inputs over :data:`REBER_SYMBOLS` (every symbol but the last).
    ds : list of ndarray of int, (T,)
        Class index of the next symbol (every symbol but the first).
    valid : list of ndarray of bool, (T, 7)
        ``valid[t-1, j]``: symbol ``j`` is a grammatical successor of the first ``t`` symbols.
    embedded : bool
    """

    strings: list
    xs: list
    ds: list
    valid: list
    embedded: bool

    def groups(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The strings grouped by length, shortest first.

        Returns
        -------
        list of (index, xs, ds, valid)
            ``index``: positions in :attr:`strings` of the group's ``B`` strings;
            ``xs (T, B, 7)``, ``ds (T, B)`` int, ``valid (T, B, 7)`` bool.
        """
        lengths = np.array([len(s) for s in self.strings])
        out = []
        for L in np.unique(lengths):
            index = np.flatnonzero(lengths == L)
            stack = [
                np.stack([f[i] for i in index], axis=1) for f in (self.xs, self.ds, self.valid)
            ]
            out.append((index, *stack))
        return out

    def padded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All strings in one batch, padded after their end to the longest.

        Returns
        -------
        xs : ndarray, (T, B, 7)
            One-hot inputs; zero vectors after a string's end.
        ds : ndarray of int, (T, B)
            Class index of the next symbol; ``-1`` after a string's end.
        valid : ndarray of bool, (T, B, 7)
            Grammatical successors; all False after a string's end.
        mask : ndarray of bool, (T, B)
            True on the steps of a string, False on the padding.
        """
        T, B = max(len(d) for d in self.ds), len(self.ds)
        xs = np.zeros((T, B, len(REBER_SYMBOLS)))
        ds = np.full((T, B), -1)
        valid = np.zeros((T, B, len(REBER_SYMBOLS)), dtype=bool)
        mask = np.zeros((T, B), dtype=bool)
        for b, (x, d, v) in enumerate(zip(self.xs, self.ds, self.valid, strict=True)):
            xs[: len(d), b], ds[: len(d), b], valid[: len(d), b], mask[: len(d), b] = x, d, v, True
        return xs, ds, valid, mask


def _reber_walk(string: str, embedded: bool):
    """Yield, after each prefix of ``string``, the set of grammatical next symbols.

    Stops (yielding nothing more) at the first ungrammatical symbol.
    """
    if not string or string[0] != "B":
        return
    rest = string[1:]
    if embedded:
        yield "TP"  # after the outer B
        if not rest or rest[0] not in "TP":
            return
        outer, rest = rest[0], rest[1:]
        yield "B"
        if not rest or rest[0] != "B":
            return
        rest = rest[1:]
    node = 0
    yield "".join(s for s, _ in _REBER_GRAPH[node])
    for k, c in enumerate(rest):
        step = dict(_REBER_GRAPH[node])
        if c not in step:
            return
        node = step[c]
        if node == 6:  # the inner E was read
            if not embedded:
                if k == len(rest) - 1:
                    yield ""  # complete
                return
            tail = rest[k + 1 :]
            yield outer
            if tail[:1] != outer:
                return
            yield "E"
            if tail[1:2] != "E":
                return
            if len(tail) == 2:
                yield ""
            return
        yield "".join(s for s, _ in _REBER_GRAPH[node])


def reber_grammatical(string: str, embedded: bool = True) -> bool:
    """Whether ``string`` is a complete string of the (embedded) Reber grammar.

    Parameters
    ----------
    string : str
        Symbols from :data:`REBER_SYMBOLS`, e.g. ``"BTBTXSETE"``.
    embedded : bool
        The embedded grammar ``B T <Reber> T E | B P <Reber> P E``, or the plain one.
    """
    if not isinstance(string, str):
        raise ValueError(f"string: expected a str, got {type(string).__name__}")
    successors = list(_reber_walk(string, bool(embedded)))
    # one successor set per prefix (len(string) of them), the last empty: the string is complete
    return 0 < len(successors) == len(string) and successors[-1] == ""


def _reber_string(rng, embedded: bool) -> str:
    out, node = ["B"], 0
    while node != 6:
        symbol, node = _REBER_GRAPH[node][rng.integers(len(_REBER_GRAPH[node]))]
        out.append(symbol)
    inner = "".join(out)
    if not embedded:
        return inner
    outer = "TP"[rng.integers(2)]
    return f"B{outer}{inner}{outer}E"


def reber(n: int, embedded: bool = True, seed: int = 0) -> Reber:
    """``n`` random strings of the (embedded) Reber grammar, encoded for next-symbol prediction.

    The Reber grammar walks a small graph from ``B`` to ``E``, taking either
    edge of each fork with probability 1/2 (``BTXSE``, ``BPVPXVVE``, ...).  In
    the embedded grammar (Cleeremans, Servan-Schreiber & McClelland 1989;
    Hochreiter & Schmidhuber 1997) a Reber string sits between ``BT`` and
    ``TE`` or between ``BP`` and ``PE``: the second-to-last symbol repeats the
    second, across the whole inner string.  That symbol is the only one a
    network cannot predict without a memory that long.

    Parameters
    ----------
    n : int >= 1
        Number of strings.
    embedded : bool
    seed : int >= 0

    Returns
    -------
    Reber
        Use :meth:`Reber.groups` for batches of equal length.
    """
    n = check.positive_int(n, "n")
    if not isinstance(embedded, (bool, np.bool_)):
        raise ValueError(f"embedded: expected True or False, got {embedded!r}")
    rng = np.random.default_rng(check.seed(seed))
    eye = np.eye(len(REBER_SYMBOLS))
    strings, xs, ds, valid = [], [], [], []
    for _ in range(n):
        s = _reber_string(rng, bool(embedded))
        idx = np.array([REBER_SYMBOLS.index(c) for c in s])
        follow = list(_reber_walk(s, bool(embedded)))[:-1]  # the last prefix is the whole string
        strings.append(s)
        xs.append(eye[idx[:-1]])
        ds.append(idx[1:])
        valid.append(np.array([[c in f for c in REBER_SYMBOLS] for f in follow]))
    return Reber(strings, xs, ds, valid, bool(embedded))


def reber_correct(Y, valid, mask=None) -> np.ndarray:
    """Which strings a network predicts correctly, by Hochreiter & Schmidhuber's (1997) criterion.

    A string counts as correctly predicted when at every step the outputs of
    the grammatical next symbols are the most active ones: each valid
    successor scores higher than every invalid symbol.

    Parameters
    ----------
    Y : array, (T, 7) or (T, B, 7)
        The network's outputs (e.g. softmax probabilities) at each step.
    valid : array of bool, same shape
        From :class:`Reber` (``valid``, a group of :meth:`Reber.groups`, or :meth:`Reber.padded`).
    mask : array of bool, (T, [B]), optional
        Steps that count (from :meth:`Reber.padded`); all of them by default.

    Returns
    -------
    bool or ndarray of bool, ([B])
    """
    Y = check.array(Y, "Y", ndim=(2, 3))
    if Y.shape[-1] != len(REBER_SYMBOLS):
        raise ValueError(f"Y: last dimension must be {len(REBER_SYMBOLS)}, got shape {Y.shape}")
    valid = np.asarray(valid)
    if valid.dtype != bool:
        raise ValueError(f"valid: expected a bool array, got dtype {valid.dtype}")
    check.shape(valid, Y.shape, "valid")
    if mask is None:
        mask = np.ones(Y.shape[:-1], dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ValueError(f"mask: expected a bool array, got dtype {mask.dtype}")
    check.shape(mask, Y.shape[:-1], "mask")
    if not np.all(valid.any(axis=-1)[mask]):
        raise ValueError("valid: every step needs at least one valid successor")
    lowest_valid = np.where(valid, Y, np.inf).min(axis=-1)
    highest_invalid = np.where(valid, -np.inf, Y).max(axis=-1)
    ok = np.all((lowest_valid > highest_invalid) | ~mask, axis=0)
    return ok if ok.ndim else bool(ok)
