"""Training on symbol sequences: softmax outputs, cross-entropy, and the embedded Reber grammar.

Every model here reads one-hot symbols and predicts the next symbol with a
softmax output, ``Y_t = softmax(z_t)``, trained on the cross-entropy
``E = sum_t -log Y_t[d_t]`` (book: :eq:`eq-cross-entropy`), whose error at the
output is ``dE/dz_t = Y_t - onehot(d_t)`` (:eq:`eq-softmax-error`).

Strings of different lengths share one padded batch (:meth:`rnnlib.tasks.Reber.padded`).
The mask enters through the target: at a padded step the target row is the
output itself, ``d_t = Y_t``, so the step sends back ``Y_t - Y_t = 0`` and
the gradient is exactly that of the unpadded strings (a step after a string's
end cannot change the steps before it).

The optimiser is Adam (Kingma & Ba 2015), the default a reader of d2l or of
any framework's tutorial expects, at step ``k``::

    m <- 0.9 m + 0.1 g      v <- 0.999 v + 0.001 g * g
    W <- W - lr * (m / (1 - 0.9^k)) / (sqrt(v / (1 - 0.999^k)) + 1e-8)

with optional clipping of ``g`` first: by value (Karpathy's min-char-rnn,
2015, clips every entry to [-5, 5]) or by global norm (:mod:`rnnlib.clipping`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as check
from . import gru, lstm, rnn, tasks
from .activations import log_softmax, softmax
from .clipping import clip_by_norm, clip_by_value, global_norm
from .engine import blas_threads, blas_work

#: The models :func:`train` can train, by name.
MODELS = {"rnn": rnn, "lstm": lstm, "gru": gru}
CLIP_MODES = (None, "norm", "value")
N_SYMBOLS = len(tasks.REBER_SYMBOLS)


def _model(model):
    check.choice(model, tuple(MODELS), "model")
    return MODELS[model]


def init(model: str, n_hidden: int, seed: int = 0):
    """Parameters of ``model`` for 7 symbols in and 7 out (the RNN with its biases)."""
    m = _model(model)
    if m is rnn:
        return rnn.init(N_SYMBOLS, n_hidden, N_SYMBOLS, seed=seed, bias=True)
    return m.init(N_SYMBOLS, n_hidden, N_SYMBOLS, seed=seed)


def cross_entropy_check(O: int = 7, seed: int = 0, eps: float = 1e-6):
    """``dE/dz = softmax(z) - onehot(d)`` against central differences, for one random ``z``.

    ``E(z) = -log softmax(z)[d]`` for a random ``z ~ N(0, 1)`` of ``O`` entries
    and a random class ``d``.

    Returns
    -------
    analytic, numeric : ndarray, (O,)
    """
    O = check.positive_int(O, "O")
    eps = check.positive(eps, "eps")
    rng = np.random.default_rng(check.seed(seed))
    z, d = rng.normal(size=O), int(rng.integers(O))
    analytic = softmax(z) - np.eye(O)[d]
    numeric = np.empty(O)
    for k in range(O):
        h = np.eye(O)[k] * eps
        numeric[k] = (-log_softmax(z + h)[d] + log_softmax(z - h)[d]) / (2 * eps)
    return analytic, numeric


def _batch(data):
    check.instance(data, tasks.Reber, "data", "an rnnlib.tasks.Reber (from rnnlib.tasks.reber)")
    return data.padded()


def loss_and_grads(model: str, p, xs, ds, mask) -> tuple[float, dict[str, np.ndarray]]:
    """Cross-entropy per string and its gradient on a padded batch (from ``Reber.padded``).

    ``E = (1/B) sum_b sum_t mask[t, b] * (-log Y_t[d_t])``.  At a padded step
    the target row is the output itself, ``d_t = Y_t``, so by
    :eq:`eq-softmax-error` it sends back ``Y_t - Y_t = 0``.

    Parameters
    ----------
    model : {"rnn", "lstm", "gru"}
    p : model.Params
    xs : ndarray, (T, B, 7)
    ds : ndarray of int, (T, B)
        Next-symbol indices (any value on the padding).
    mask : ndarray of bool, (T, B)

    Returns
    -------
    E : float
    grads : dict name -> ndarray
        ``dE/dW`` for every parameter ``p`` holds.
    """
    m = _model(model)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim != 2:
        raise ValueError(f"mask: expected a (T, B) bool array, got {mask.dtype} {mask.shape}")
    ds = np.asarray(ds)
    if ds.dtype.kind not in "iu":
        raise ValueError(f"ds: expected integer class indices, got dtype {ds.dtype}")
    check.shape(ds, mask.shape, "ds")
    tr = m.forward(p, xs, g2="softmax")
    check.shape(tr.Y, mask.shape + (N_SYMBOLS,), "xs")
    d = np.where(mask, ds, 0)
    rows = np.where(mask[..., None], np.eye(N_SYMBOLS)[d], tr.Y)  # d_t = Y_t on the padding
    B = mask.shape[1]
    logp = np.take_along_axis(log_softmax(tr.Z), d[..., None], axis=-1)[..., 0]
    E = -float(np.sum(logp * mask)) / B
    g = m.bptt(p, tr, rows, at="all", kind="cross_entropy")
    return E, {n: getattr(g, n) / B for n in p.names}


@dataclass(frozen=True)
class Scores:
    """How well a network predicts a set of Reber strings.

    Attributes
    ----------
    correct : float
        Fraction of strings predicted correctly at every step
        (:func:`rnnlib.tasks.reber_correct`, Hochreiter & Schmidhuber's criterion).
    long_range : float
        Fraction of strings whose second-to-last symbol (the T or P that repeats
        the second) gets the highest output: the long-range dependency.
    steps : float
        Fraction of all steps where the valid successors get the highest outputs.
    string_correct, long_ok : ndarray of bool, (n,)
        Per string: predicted correctly at every step; right at the second-to-last symbol.
    lag : ndarray of int, (n,)
        Per string: steps from reading the second symbol to predicting its repeat,
        ``len(string) - 3``.
    """

    correct: float
    long_range: float
    steps: float
    string_correct: np.ndarray
    long_ok: np.ndarray
    lag: np.ndarray


def evaluate(model: str, p, data) -> Scores:
    """Score the trained parameters ``p`` of ``model`` on the strings ``data`` (a Reber)."""
    m = _model(model)
    xs, ds, valid, mask = _batch(data)
    Y = m.forward(p, xs, g2="softmax").Y
    correct = tasks.reber_correct(Y, valid, mask)
    T = mask.sum(axis=0)  # steps per string: len(string) - 1
    cols = np.arange(xs.shape[1])
    long_ok = Y[T - 2, cols].argmax(axis=-1) == ds[T - 2, cols]  # target: second-to-last symbol
    lowest_valid = np.where(valid, Y, np.inf).min(axis=-1)
    highest_invalid = np.where(valid, -np.inf, Y).max(axis=-1)
    step_ok = (lowest_valid > highest_invalid)[mask]
    return Scores(
        correct=float(np.mean(correct)),
        long_range=float(np.mean(long_ok)),
        steps=float(np.mean(step_ok)),
        string_correct=correct,
        long_ok=long_ok,
        lag=T - 2,
    )


def by_lag(scores: Scores, edges=(6, 9, 12, 16)) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Accuracy at the second-to-last symbol, grouped by the lag it must be remembered over.

    Parameters
    ----------
    scores : Scores
        From :func:`evaluate`.
    edges : increasing sequence of int
        Bin ``i`` holds the lags ``edges[i] <= lag < edges[i+1]``; the last bin is open.

    Returns
    -------
    labels : list of str
        ``"6-8"``, ..., ``"16+"``.
    accuracy : ndarray, (n_bins,)
        NaN for an empty bin.
    count : ndarray of int, (n_bins,)
    """
    check.instance(scores, Scores, "scores", "rnnlib.sequences.Scores (from evaluate)")
    edges = [check.positive_int(e, "edges") for e in edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"edges: expected a non-empty increasing sequence, got {edges!r}")
    hi = [*edges[1:], np.inf]
    labels = [f"{a}-{b - 1}" if np.isfinite(b) else f"{a}+" for a, b in zip(edges, hi, strict=True)]
    inside = [(scores.lag >= a) & (scores.lag < b) for a, b in zip(edges, hi, strict=True)]
    count = np.array([int(i.sum()) for i in inside])
    with np.errstate(invalid="ignore"):
        acc = np.array([scores.long_ok[i].mean() if i.any() else np.nan for i in inside])
    return labels, acc, count


@dataclass(frozen=True, eq=False)
class Run:
    """What :func:`train` recorded: per update (``loss`` ... ``clipped``) or per evaluation.

    Attributes
    ----------
    model : str
    loss : ndarray, (steps,)
        Mean cross-entropy per training string, before each update.
    grad_norm : ndarray, (steps,)
        Global gradient norm before clipping.
    grad_max : ndarray, (steps,)
        Largest gradient entry ``max |g_j|`` before clipping (what clipping by value sees).
    clipped : ndarray of bool, (steps,)
    at : ndarray of int, (n_eval,)
        Updates done when each evaluation ran (0 = the initial weights).
    correct, long_range : ndarray, (n_eval,)
        :class:`Scores` on the test strings at those moments.
    params : model.Params
        The trained parameters.
    """

    model: str
    loss: np.ndarray
    grad_norm: np.ndarray
    grad_max: np.ndarray
    clipped: np.ndarray
    at: np.ndarray
    correct: np.ndarray
    long_range: np.ndarray
    params: object


def train(model: str, data, test=None, n_hidden: int = 16, steps: int = 100, lr: float = 0.1,
          clip: str | None = None, threshold: float | None = None, seed: int = 0,
          eval_every: int = 10) -> Run:  # fmt: skip
    """Train ``model`` on the padded batch of ``data`` with full-batch Adam.

    Parameters
    ----------
    model : {"rnn", "lstm", "gru"}
    data : rnnlib.tasks.Reber
        Training strings (one batch).
    test : rnnlib.tasks.Reber, optional
        Strings to score every ``eval_every`` updates (``data`` if None).
    n_hidden : int >= 1
    steps : int >= 1
        Updates.
    lr : float > 0
        Adam's step size.
    clip : {None, "value", "norm"}
        Clip each gradient entry to ``[-threshold, threshold]`` or the global
        norm to ``threshold`` before the update.
    threshold : float > 0
        Required with ``clip``.
    seed : int >= 0
        For the initial weights.
    eval_every : int >= 1

    Returns
    -------
    Run
    """
    _model(model)
    xs, ds, _, mask = _batch(data)
    test = data if test is None else test
    _batch(test)
    H = check.positive_int(n_hidden, "n_hidden")
    steps = check.positive_int(steps, "steps")
    lr = check.positive(lr, "lr")
    check.choice(clip, CLIP_MODES, "clip")
    if clip is not None:
        threshold = check.positive(threshold, "threshold")
    eval_every = check.positive_int(eval_every, "eval_every")
    p = init(model, H, seed)
    names = [n for n in p.names if getattr(p, n) is not None]
    m1 = {n: np.zeros_like(getattr(p, n)) for n in names}  # Adam's running mean of g
    m2 = {n: np.zeros_like(getattr(p, n)) for n in names}  # ... and of g * g
    rec = {k: [] for k in ("loss", "grad_norm", "grad_max", "clipped", "at", "correct", "long")}

    def score(step):
        s = evaluate(model, p, test)
        rec["at"].append(step)
        rec["correct"].append(s.correct)
        rec["long"].append(s.long_range)

    # one BLAS thread for the whole run, unless it is large (rnnlib.engine.blas_threads)
    with blas_threads(blas_work(xs.shape[0], xs.shape[1], p), low=0):
        for step in range(steps):
            if step % eval_every == 0:
                score(step)
            E, g = loss_and_grads(model, p, xs, ds, mask)
            rec["loss"].append(E)
            rec["grad_norm"].append(global_norm(g))
            rec["grad_max"].append(max(float(np.max(np.abs(a))) for a in g.values()))
            if clip == "value":
                g, report = clip_by_value(g, threshold)
            elif clip == "norm":
                g, report = clip_by_norm(g, threshold)
            rec["clipped"].append(clip is not None and report.clipped)
            k = step + 1
            for n in names:
                m1[n] = 0.9 * m1[n] + 0.1 * g[n]
                m2[n] = 0.999 * m2[n] + 0.001 * g[n] * g[n]
                mean, var = m1[n] / (1 - 0.9**k), m2[n] / (1 - 0.999**k)
                setattr(p, n, getattr(p, n) - lr * mean / (np.sqrt(var) + 1e-8))
        score(steps)
    return Run(
        model=model,
        loss=np.array(rec["loss"]),
        grad_norm=np.array(rec["grad_norm"]),
        grad_max=np.array(rec["grad_max"]),
        clipped=np.array(rec["clipped"], dtype=bool),
        at=np.array(rec["at"]),
        correct=np.array(rec["correct"]),
        long_range=np.array(rec["long"]),
        params=p,
    )


@dataclass(frozen=True, eq=False)
class Curves:
    """Learning curves of one model over several seeds (:func:`learning_curves`).

    Attributes
    ----------
    model : str
    seeds : tuple of int
    runs : tuple of Run
        One :func:`train` run per seed, with its trained parameters.
    """

    model: str
    seeds: tuple
    runs: tuple

    @property
    def at(self) -> np.ndarray:
        """Updates done at each evaluation, ``(n_eval,)``."""
        return self.runs[0].at

    @property
    def correct(self) -> np.ndarray:
        """Fraction of test strings predicted correctly, ``(n_seeds, n_eval)``."""
        return np.array([r.correct for r in self.runs])

    @property
    def long_range(self) -> np.ndarray:
        """Accuracy at the second-to-last symbol, ``(n_seeds, n_eval)``."""
        return np.array([r.long_range for r in self.runs])

    @property
    def loss(self) -> np.ndarray:
        """Training loss per update, ``(n_seeds, steps)``."""
        return np.array([r.loss for r in self.runs])

    @property
    def params(self) -> tuple:
        """The trained parameters, one per seed."""
        return tuple(r.params for r in self.runs)

    @property
    def final(self) -> np.ndarray:
        """Fraction of test strings predicted correctly after training, per seed."""
        return self.correct[:, -1]

    @property
    def final_long_range(self) -> np.ndarray:
        """Accuracy at the second-to-last symbol after training, per seed."""
        return self.long_range[:, -1]


def learning_curves(
    models=("rnn", "lstm", "gru"),
    seeds=(0, 1, 2),
    n_train: int = 64,
    n_test: int = 200,
    data_seed: int = 0,
    **train_kw,
) -> dict[str, Curves]:
    """Train every model from every seed on the same embedded Reber strings.

    Parameters
    ----------
    models : sequence of {"rnn", "lstm", "gru"}
    seeds : sequence of int >= 0
        Initial weights.
    n_train, n_test : int >= 1
        Training strings ``reber(n_train, seed=data_seed)`` and test strings
        ``reber(n_test, seed=data_seed + 1)``.
    data_seed : int >= 0
    **train_kw
        Passed to :func:`train` (``n_hidden``, ``steps``, ``lr``, ``clip``, ...).

    Returns
    -------
    dict model -> Curves
    """
    if isinstance(models, str) or not len(models):
        raise ValueError(f"models: expected a non-empty sequence of model names, got {models!r}")
    for m in models:
        _model(m)
    if isinstance(seeds, (int, np.integer)) or not len(seeds):
        raise ValueError(f"seeds: expected a non-empty sequence of seeds, got {seeds!r}")
    seeds = tuple(check.seed(s, "seeds") for s in seeds)
    data_seed = check.seed(data_seed, "data_seed")
    data = tasks.reber(check.positive_int(n_train, "n_train"), seed=data_seed)
    test = tasks.reber(check.positive_int(n_test, "n_test"), seed=data_seed + 1)
    out = {}
    for model in models:
        runs = tuple(train(model, data, test, seed=s, **train_kw) for s in seeds)
        out[model] = Curves(model=model, seeds=seeds, runs=runs)
    return out
