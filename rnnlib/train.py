"""Plain stochastic gradient descent on a task, with optional momentum,
clipping and truncation, that stops cleanly when numbers stop being finite.

One step, with ``g`` the (possibly clipped) gradient of the mean loss per
term (per sequence, and per step when the loss is at every step)::

    v <- momentum * v - lr * g
    W <- W + v

:func:`clipping_runs` trains one seeded model on the adding problem with and
without clipping, the comparison the clipping chapter and its explorer show.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from . import _scenario, jacobians, rnn, tasks
from . import _validate as check
from .clipping import ClipReport, clip_by_norm, clip_by_value, global_norm
from .engine import NonFiniteWarning, blas_threads, blas_work, hidden_activation, model_module

CLIP_MODES = (None, "norm", "value")
CLIP_METHODS = ("norm", "value", "per-step")  # clipping_runs: per-step is bptt(clip_step=...)


@dataclass
class History:
    """What :func:`sgd` recorded, one entry per completed update.

    Attributes
    ----------
    loss : ndarray, (n,)
        Mean loss per term before each update: ``model.loss`` divided by ``B``
        (and by ``T`` when ``task.at == "all"``), so ``lr`` does not scale with either.
    grad_norm : ndarray, (n,)
        Global gradient norm before clipping.
    clipped : ndarray of bool, (n,)
        Whether clipping (global or per-step) changed the gradient.
    update_norm : ndarray, (n,)
        ``||W_new - W_old||`` over all parameters.
    stopped : str or None
        Why training ended early (e.g. ``"non-finite gradient at step 17"``);
        None if it ran all ``steps``.
    params : model.Params
        The last finite parameters (never NaN or inf).
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    update_norm: np.ndarray
    stopped: str | None
    params: object


def sgd(
    model,
    params,
    task,
    steps: int = 200,
    lr: float = 0.05,
    momentum: float = 0.0,
    clip: str | None = None,
    threshold: float | None = None,
    truncate: int | None = None,
    clip_step: float | None = None,
    g1: str = "tanh",
) -> History:
    """Train ``params`` on ``task`` with SGD; the input ``params`` are not mutated.

    Parameters
    ----------
    model : module
        :mod:`rnnlib.rnn` or :mod:`rnnlib.lstm` (anything with ``forward``,
        ``loss``, ``bptt`` and a ``Params`` with ``.names`` and ``.copy()``).
    params : model.Params
    task : rnnlib.tasks.Task
        ``xs (T, B, D)``, ``ds (T, B, O)`` and the loss mode ``at``.
    steps : int >= 1
    lr : float > 0
    momentum : float in [0, 1)
    clip : {None, "norm", "value"}
        Clip the whole gradient by global norm, or each entry by value.
    threshold : float > 0
        ``theta`` for ``clip``; required when ``clip`` is set.
    truncate : int >= 1, optional
        Passed to ``model.bptt``: each loss term backpropagates at most this far.
    clip_step : float > 0, optional
        Passed to ``model.bptt``: per-step clipping of ``dE/dS_i``.
    g1 : str
        Hidden activation (for :mod:`rnnlib.rnn`).

    Returns
    -------
    History
        Overflow ends the run with ``History.stopped`` naming the step, instead
        of a :class:`rnnlib.engine.NonFiniteWarning` from every pass.
    """
    steps = check.positive_int(steps, "steps")
    lr = check.positive(lr, "lr")
    try:
        momentum = check.real(momentum, "momentum")  # numpy scalars are real numbers too
    except ValueError:
        momentum = -1.0
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum: expected a number in [0, 1), got {momentum!r}")
    if clip is not None and not (isinstance(clip, str) and clip in CLIP_MODES):
        raise ValueError(f"clip: expected None, 'norm' or 'value', got {clip!r}")
    if clip is not None:
        threshold = check.positive(threshold, "threshold")
    model_module(model, params)
    if not isinstance(task, tasks.Task):
        raise ValueError(f"task: expected an rnnlib.tasks.Task, got {type(task).__name__}")
    kw = hidden_activation(model, g1)
    # mean over the sequences and the loss terms, so lr does not scale with B or T
    T, N = task.xs.shape[0], (task.xs.shape[1] if task.xs.ndim == 3 else 1)
    n_terms = N * (T if task.at == "all" else 1)
    p = params.copy()
    names = p.names
    v = {n: np.zeros_like(getattr(p, n)) for n in names}
    rec = {"loss": [], "grad_norm": [], "clipped": [], "update_norm": []}
    stopped = None
    with (
        warnings.catch_warnings(),
        np.errstate(over="ignore", invalid="ignore", divide="ignore"),
        blas_threads(blas_work(T, N, p), low=0),  # one thread for the run, unless large
    ):
        warnings.simplefilter("ignore", NonFiniteWarning)  # reported in History.stopped
        for step in range(steps):
            tr = model.forward(p, task.xs, **kw)
            E = model.loss(tr, task.ds, at=task.at) / n_terms
            if not np.isfinite(E):
                stopped = f"non-finite loss at step {step}"
                break
            g = model.bptt(p, tr, task.ds, at=task.at, truncate=truncate, clip_step=clip_step)
            grads = {n: getattr(g, n) / n_terms for n in names}
            if clip == "norm":
                grads, rep = clip_by_norm(grads, threshold)
            elif clip == "value":
                grads, rep = clip_by_value(grads, threshold)
            else:
                n = global_norm(grads)
                rep = ClipReport(False, n, float("inf"), bool(np.isfinite(n)))
            if not rep.finite:
                stopped = f"non-finite gradient at step {step}"
                break
            new = {n: momentum * v[n] - lr * grads[n] for n in names}
            stepped = {n: getattr(p, n) + new[n] for n in names}
            if not all(np.all(np.isfinite(a)) for a in stepped.values()):
                stopped = f"non-finite parameters after step {step}"
                break
            v = new
            for n in names:
                setattr(p, n, stepped[n])
            rec["loss"].append(E)
            rec["grad_norm"].append(rep.norm)
            rec["clipped"].append(rep.clipped or bool(g.clipped))
            rec["update_norm"].append(global_norm(new))
    return History(
        loss=np.array(rec["loss"], dtype=float),
        grad_norm=np.array(rec["grad_norm"], dtype=float),
        clipped=np.array(rec["clipped"], dtype=bool),
        update_norm=np.array(rec["update_norm"], dtype=float),
        stopped=stopped,
        params=p,
    )


@dataclass(frozen=True, eq=False)
class Run:
    """The curves of one :func:`sgd` run, without the trained parameters (see :class:`History`).

    Attributes
    ----------
    loss, grad_norm, update_norm : ndarray, (n,)
    clipped : ndarray of bool, (n,)
    stopped : str or None
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    clipped: np.ndarray
    update_norm: np.ndarray
    stopped: str | None


@dataclass(frozen=True, eq=False)
class ClippingRuns:
    """Result of :func:`clipping_runs`.

    Attributes
    ----------
    free : Run
        SGD without clipping.
    clip : Run
        SGD with the chosen clipping.
    before : ndarray, (P,)
        The gradient at the initial weights, all parameters flattened in the
        order ``Wx, Ws, Wy``, divided by the batch size.
    after : ndarray, (P,)
        The same gradient after clipping.
    norm_before, norm_after : float
        ``||before||`` and ``||after||``.
    along, ortho : float
        ``after`` split along the direction of ``before`` and orthogonal to it:
        ``along = after . before / ||before||``, ``ortho = ||after - along before / ||before||||``.
    cos : float
        ``along / ||after||``, the cosine of the angle clipping turned ``g`` by
        (NaN if ``after = 0``).
    """

    free: Run
    clip: Run
    before: np.ndarray
    after: np.ndarray
    norm_before: float
    norm_after: float
    along: float
    ortho: float
    cos: float


def clipping_runs(
    scale,
    method: str = "norm",
    threshold=1.0,
    H: int = 8,
    T: int = 15,
    batch: int = 4,
    steps: int = 20,
    lr=0.3,
    seed: int = 0,
) -> ClippingRuns:
    """Train on the adding problem with and without clipping; the gradient before and after.

    The model is ``rnnlib.rnn.init(2, H, 1, seed=seed)`` with ``||Ws||_2 = scale``
    (:func:`rnnlib.jacobians.scaled_to_spectral_norm`), the task
    ``rnnlib.tasks.adding(T, batch, seed)``.  ``method`` is clipping by
    global norm (book: :eq:`eq-clip-norm`), by value (:eq:`eq-clip-value`) or
    per step of the backward signal (:eq:`eq-clip-step`), with threshold
    ``theta``.  The run without clipping depends on ``scale`` alone and is
    cached on its own.

    Cached: the same arguments return the same object, whose arrays are read-only.

    Parameters
    ----------
    scale : float > 0
        ``lambda1``, the largest singular value of ``Ws``.
    method : {"norm", "value", "per-step"}
    threshold : float > 0
        ``theta``.
    H, T, batch, steps : int
        Hidden units, sequence length (>= 2), batch size, SGD steps.
    lr : float > 0
    seed : int >= 0
        For the weights and the task.

    Returns
    -------
    ClippingRuns
    """
    return _clipping_runs(
        check.positive(scale, "scale"),
        check.choice(method, CLIP_METHODS, "method"),
        check.positive(threshold, "threshold"),
        check.positive_int(H, "H"),
        check.positive_int(T, "T"),
        check.positive_int(batch, "batch"),
        check.positive_int(steps, "steps"),
        check.positive(lr, "lr"),
        _scenario.seed(seed),
    )


def _adding_setup(scale, H, T, batch, seed):
    task = tasks.adding(T, batch=batch, seed=seed)
    p = rnn.init(task.xs.shape[-1], H, 1, seed=seed)
    p.Ws = jacobians.scaled_to_spectral_norm(p.Ws, scale)
    return p, task


@_scenario.cached
def _adding_run(scale, method, threshold, H, T, batch, steps, lr, seed):
    """One SGD run; ``method`` None is no clipping."""
    p, task = _adding_setup(scale, H, T, batch, seed)
    kw = {}
    if method == "per-step":
        kw = {"clip_step": threshold}
    elif method is not None:
        kw = {"clip": method, "threshold": threshold}
    h = sgd(rnn, p, task, steps=steps, lr=lr, **kw)
    return Run(h.loss, h.grad_norm, h.clipped, h.update_norm, h.stopped)


@_scenario.cached
def _clipping_runs(scale, method, threshold, H, T, batch, steps, lr, seed):
    p, task = _adding_setup(scale, H, T, batch, seed)
    tr = rnn.forward(p, task.xs)
    n = task.xs.shape[1]
    g = rnn.bptt(p, tr, task.ds, at=task.at)
    before = {k: getattr(g, k) / n for k in p.names}
    if method == "norm":
        after, _ = clip_by_norm(before, threshold)
    elif method == "value":
        after, _ = clip_by_value(before, threshold)
    else:
        gs = rnn.bptt(p, tr, task.ds, at=task.at, clip_step=threshold)
        after = {k: getattr(gs, k) / n for k in p.names}
    b, a = (np.concatenate([d[k].ravel() for k in p.names]) for d in (before, after))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        nb, na = np.linalg.norm(b), np.linalg.norm(a)
        e1 = b / nb
        along = a @ e1
        ortho = np.linalg.norm(a - along * e1)
        cos = along / na if na > 0 else np.nan
    const = (H, T, batch, steps, lr, seed)
    return ClippingRuns(
        free=_adding_run(scale, None, None, *const),
        clip=_adding_run(scale, method, threshold, *const),
        before=b,
        after=a,
        norm_before=float(nb),
        norm_after=float(na),
        along=float(along),
        ortho=float(ortho),
        cos=float(cos),
    )


def r_squared(Y, d) -> float:
    """The fraction of the target's variance a prediction explains (book: :eq:`eq-experiment-r2`).

    .. math::  R^2 = 1 - \\frac{\\sum_b (d^{(b)} - Y^{(b)})^2}{\\sum_b (d^{(b)} - \\bar d)^2}

    Parameters
    ----------
    Y, d : array, (B,) or (B, 1)
        Predictions and targets, the same shape, at least two distinct targets.

    Returns
    -------
    float
        1 for a perfect prediction, 0 for predicting the mean ``bar d``, below 0 for worse.
    """
    Y = check.array(Y, "Y")
    d = check.array(d, "d")
    check.shape(Y, d.shape, "Y")
    spread = float(np.sum((d - d.mean()) ** 2))
    if spread == 0.0:
        raise ValueError("d: expected targets that vary, got a constant")
    return 1.0 - float(np.sum((d - Y) ** 2)) / spread


def recall_r2(
    model,
    params,
    lag: int,
    seed: int = 0,
    steps: int = 200,
    lr: float = 0.1,
    threshold: float = 1.0,
    batch: int = 32,
    test_batch: int = 256,
) -> float:
    """Train on :func:`rnnlib.tasks.recall` at one lag; :func:`r_squared` on fresh sequences.

    SGD with clipping by global norm at ``threshold`` on one fixed training
    batch; the score is taken on ``test_batch`` unseen sequences at the last
    step.  The two batches are drawn with seeds from
    ``numpy.random.default_rng([seed, lag])``, so each ``(seed, lag)`` has its
    own data and the training and test sequences never share a seed.

    Parameters
    ----------
    model : module
        :mod:`rnnlib.rnn` or :mod:`rnnlib.lstm`.
    params : model.Params
        Initial weights for 2 inputs (value, cue) and 1 output; not mutated.
    lag : int >= 1
    seed : int >= 0
    steps, batch, test_batch : int >= 1
    lr, threshold : float > 0

    Returns
    -------
    float
        ``R^2`` of the trained network (if training stopped on overflow, of the
        last finite weights, which :func:`sgd` keeps).
    """
    lag = check.positive_int(lag, "lag")
    seed = check.seed(seed)
    test_batch = check.positive_int(test_batch, "test_batch")
    train_seed, test_seed = np.random.default_rng([seed, lag]).integers(0, 2**31, size=2)
    train = tasks.recall(lag, batch=batch, seed=int(train_seed))
    test = tasks.recall(lag, batch=test_batch, seed=int(test_seed))
    h = sgd(model, params, train, steps=steps, lr=lr, clip="norm", threshold=threshold)
    Y = model.forward(h.params, test.xs).Y[-1]
    return r_squared(Y, test.ds[-1])


@dataclass(frozen=True, eq=False)
class RecallSpread:
    """Result of :func:`recall_spread`: ``R^2`` per network, lag and seed, and its spread.

    Attributes
    ----------
    names : tuple of str, (M,)
    lags : ndarray of int, (L,)
    seeds : ndarray of int, (K,)
    r2 : ndarray, (M, L, K)
        ``r2[m, l, k]``: network ``names[m]`` at lag ``lags[l]`` with seed ``seeds[k]``.
    mean, std : ndarray, (M, L)
        Mean over the seeds and sample standard deviation (``ddof=1``; 0 for one seed).
    low, high : ndarray, (M, L)
        Smallest and largest ``R^2`` over the seeds.
    """

    names: tuple
    lags: np.ndarray
    seeds: np.ndarray
    r2: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def learned(self, level: float = 0.8) -> np.ndarray:
        """``(M, L)`` fraction of seeds with ``R^2 >= level``."""
        return np.mean(self.r2 >= check.real(level, "level"), axis=-1)


def recall_spread(
    contestants,
    lags,
    seeds,
    H: int = 8,
    steps: int = 200,
    lr: float = 0.1,
    threshold: float = 1.0,
    batch: int = 32,
    test_batch: int = 256,
) -> RecallSpread:
    """:func:`recall_r2` for several networks, lags and seeds (book: :ref:`ch-experiment`).

    For seed ``k`` every network starts from ``model.init(2, H, 1, seed=k, **kw)``,
    and every network sees the same training and test sequences at a given
    ``(k, lag)``: networks differ only in what ``kw`` sets.

    Parameters
    ----------
    contestants : mapping of str to (module, dict)
        Name to ``(model, init keyword arguments)``, e.g.
        ``{"RNN": (rnnlib.rnn, {"scale": 0.5}), "LSTM": (rnnlib.lstm, {"forget_bias": 3.0})}``.
    lags : sequence of int >= 1, (L,)
    seeds : sequence of int >= 0, (K,)
    H : int >= 1
        Hidden units.
    steps, lr, threshold, batch, test_batch : see :func:`recall_r2`.

    Returns
    -------
    RecallSpread
    """
    if not hasattr(contestants, "items") or not contestants:
        raise ValueError(
            f"contestants: expected a non-empty mapping name -> (model, kwargs), "
            f"got {contestants!r}"
        )
    lags = [check.positive_int(v, "lags") for v in np.atleast_1d(lags).tolist()]
    seeds = [check.seed(v, "seeds") for v in np.atleast_1d(seeds).tolist()]
    if not lags or not seeds:
        raise ValueError("lags, seeds: expected at least one of each")
    H = check.positive_int(H, "H")
    r2 = np.empty((len(contestants), len(lags), len(seeds)))
    for m, (name, spec) in enumerate(contestants.items()):
        try:
            model, kw = spec
            dict(kw)
        except (TypeError, ValueError):
            raise ValueError(
                f"contestants[{name!r}]: expected (model, init kwargs), got {spec!r}"
            ) from None
        for k, s in enumerate(seeds):
            p0 = model.init(2, H, 1, seed=s, **kw)
            for i, lag in enumerate(lags):
                r2[m, i, k] = recall_r2(model, p0, lag, s, steps, lr, threshold, batch, test_batch)
    std = r2.std(axis=-1, ddof=1) if len(seeds) > 1 else np.zeros(r2.shape[:2])
    return RecallSpread(
        names=tuple(contestants),
        lags=np.array(lags),
        seeds=np.array(seeds),
        r2=r2,
        mean=r2.mean(axis=-1),
        std=std,
        low=r2.min(axis=-1),
        high=r2.max(axis=-1),
    )
