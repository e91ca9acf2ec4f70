"""The backward recursion through time, and what the model modules share.

Both :func:`rnnlib.rnn.bptt` and :func:`rnnlib.lstm.bptt` reduce to the same
loop, :func:`backward`.  Given the *local* error each loss term sends into the
state it reads, ``e_t`` (the gradient of ``E_t`` with respect to ``S_t``
through the output only), and the transposed Jacobian of one step,
``v -> v @ dS_t/dS_{t-1}``, the total error signal obeys
(book: :eq:`eq-backward-recursion`)

.. math::  \\nabla_{S_{t-1}} E = e_{t-1}
           + \\Bigl(\\frac{\\partial S_t}{\\partial S_{t-1}}\\Bigr)^{\\top} \\nabla_{S_t} E,

which costs one Jacobian-vector product per step instead of the O(T^2) work
of summing every chain of the explicit formula.  Truncation to ``k`` steps
keeps, for every ``E_t``, only the states ``S_i`` with ``t - i < k``: for a
loss at the last step that is the recursion stopped after ``k`` steps; for a
loss at every step each ``E_t`` has its own window, so the loop carries the
``k`` youngest contributions side by side (O(kT) work in all).

What the models share besides: :class:`ParamsBase` converts and checks every
parameter array once, when it is set; :class:`TraceBase` locates the first
non-finite step of a forward pass; :class:`Terms` holds the per-step terms of
each weight gradient; :class:`GradsReport` what training checks on gradients;
and :class:`NonFiniteWarning` is what a forward pass, a loss or a backward
pass emits when it overflows.  :class:`Names` lists the parameters an
instance holds when some are optional (the simple RNN's biases).

BLAS threads by problem size (:func:`blas_threads`), on a machine of 2 cores
or fewer: a call of :func:`rnnlib.rnn.forward` or :func:`rnnlib.rnn.bptt`
whose products come to between ``2**24`` and ``2**26`` multiply-adds, and a
whole training run (:func:`rnnlib.train.sgd`, :func:`rnnlib.sequences.train`)
below ``2**26`` a step, run their BLAS calls on one thread; larger ones, and
every call on a machine with more cores, keep the thread count the
environment sets (``OPENBLAS_NUM_THREADS``).  This trades a little speed on a
quiet machine for much more beside a busy core (a browser, another kernel).
Measured with ``benchmarks/contention.py`` on 2 cores, each variant in a
fresh process: forward + BPTT at (T, B, D, H) = (100, 32, 64, 64), 39
million multiply-adds, took 1.13 times as long on one thread as on two on a
quiet machine, and 0.63 times as long beside a busy core (with two threads,
1.62 times the one-thread time); at 10 million multiply-adds the two
counts were within 5 % of each other, quiet or busy.  At (200, 64, 256, 256)
two threads took 0.69 of the one-thread time on a quiet machine, and 1.60
times it beside a busy core, which rnnlib cannot foresee.  rnnlib's own checks make no BLAS call
that OpenBLAS would spread over threads for a few microseconds of work
(:func:`all_finite`).
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from . import _validate as check


class NonFiniteWarning(RuntimeWarning):
    """A forward or backward pass (or a loss) overflowed to inf or NaN.

    The message names the first step where it happened.  Functions that
    report overflow themselves (the explorers' scenarios, :func:`rnnlib.train.sgd`)
    silence it; silence it yourself with ``warnings.simplefilter("ignore", NonFiniteWarning)``.
    """


def first_nonfinite(*arrays, reverse: bool = False) -> int | None:
    """The first index along axis 0 (the last with ``reverse``) where any array is not finite."""
    bad = np.zeros(arrays[0].shape[0], dtype=bool)
    for a in arrays:
        bad |= ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
    idx = np.flatnonzero(bad)
    if idx.size == 0:
        return None
    return int(idx[-1] if reverse else idx[0])


def all_finite(*arrays) -> bool:
    """Whether every entry of every array is finite (the quick test before :func:`first_nonfinite`).

    One sum per array (numpy's own, without a temporary): a sum that stays
    finite proves every entry finite; only a sum that is not (an inf or NaN
    entry, or mere overflow past 1e308) is followed by the entry-by-entry
    test.  Not a BLAS dot product: OpenBLAS spreads a dot product of more
    than 10,000 entries over its threads, and with the other core busy (a
    test run beside the book build) those few microseconds of work waited on
    the scheduler: chapter 6, run beside one busy core, took 62 s with the
    dot product and 7.3 s with this sum.  Call it under
    ``np.errstate(over="ignore", invalid="ignore")``: the sums may overflow.
    """
    total = 0.0
    for a in arrays:
        total += float(np.add.reduce(a.reshape(-1)))
    if math.isfinite(total):
        return True
    return all(bool(np.isfinite(a).all()) for a in arrays)


def one_thread_range(cpus: int) -> tuple[int, int]:
    """The multiply-adds (:func:`blas_work`) for which a call runs on one BLAS thread.

    On a machine of 2 cores or fewer, where it was measured: below the lower
    bound one thread or two made no difference, from the upper bound a second
    thread pays.  With more cores the count is left to the environment.
    """
    return (2**24, 2**26) if cpus <= 2 else (0, 0)


CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
ONE_THREAD_WORK = one_thread_range(CPUS)

_blas = {"controller": None, "limit": None, "depth": 0, "lock": threading.Lock()}


class _OneThread:
    """BLAS limited to one thread for the block (threadpoolctl); nested or concurrent blocks
    share one limit, set by the first to enter and restored by the last to leave."""

    def __enter__(self):
        with _blas["lock"]:
            if _blas["depth"] == 0:
                if _blas["controller"] is None:  # finds the BLAS numpy loaded (about 1 ms, once)
                    _blas["controller"] = ThreadpoolController()
                _blas["limit"] = _blas["controller"].limit(limits=1, user_api="blas")
            _blas["depth"] += 1
        return self

    def __exit__(self, *exc):
        with _blas["lock"]:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                _blas["limit"].restore_original_limits()
                _blas["limit"] = None
        return False


def blas_work(T: int, N: int, p) -> int:
    """Multiply-adds of one forward pass of ``p`` over ``N`` sequences of ``T`` steps."""
    return T * N * sum(getattr(p, n).size for n in p.names if getattr(p, n).ndim == 2)


def blas_threads(work: int, low: int | None = None):
    """A context: one BLAS thread if ``work`` (:func:`blas_work`) lies in ``ONE_THREAD_WORK``.

    On 2 cores, in the range, a second BLAS thread saved at most 13 % of the
    time on a quiet machine, and beside a busy core it made calls up to
    2.4 times as slow (it waits for a core another process holds).  Outside
    the range the thread count is left as the environment sets it.  The limit
    is process-wide while the block runs (threadpoolctl), and restored after
    it.  Single calls below
    the range, where the thread count made no measurable difference, skip the
    few microseconds that setting it costs; a training loop, which sets it
    once for the whole run, passes ``low=0`` to run small problems on one
    thread too.
    """
    start, high = ONE_THREAD_WORK
    start = start if low is None else low
    return _OneThread() if start <= work < high else nullcontext()


def warn_nonfinite(message: str, stacklevel: int = 3) -> None:
    """Emit :class:`NonFiniteWarning` with ``message``."""
    warnings.warn(message, NonFiniteWarning, stacklevel=stacklevel)


class Names:
    """The ``names`` of a dataclass with optional fields (such as biases).

    On the class it is every field the dataclass can hold, required first;
    on an instance it is the fields that instance holds (the optional ones
    that are not None), in the same order.  Code that iterates over
    parameters or gradients (``train.sgd``, the clipping and the gradient
    checker) reads ``obj.names`` and so sees exactly the arrays present.
    """

    def __init__(self, required: tuple[str, ...], optional: tuple[str, ...] = ()):
        self.required, self.optional = tuple(required), tuple(optional)
        self.every = self.required + self.optional

    def __get__(self, obj, cls=None):
        if obj is None:
            return self.every
        d = obj.__dict__
        return self.required + tuple(n for n in self.optional if d.get(n) is not None)


class ParamsBase:
    """Mixin for a model's parameter dataclass: every array is validated once, when set.

    Each field is converted to a new finite float64 array when the dataclass
    is built *and* whenever it is assigned later (``p.Ws = ...``, which must
    keep the shape); ``_check_shapes`` (per model) checks how the fields
    fit together.  The arrays stored are the arrays the model computes with,
    so the forward and backward passes trust them.  Fields listed in
    ``optional`` may be None (absent); whether one is present is fixed when
    the dataclass is built.
    """

    names: tuple[str, ...] = ()
    biases: tuple[str, ...] = ()  # 1-D fields; the others are matrices
    optional: tuple[str, ...] = ()  # fields that may be None

    def __setattr__(self, name, value):
        every = type(self).names
        if name not in every and not name.startswith("_"):  # a typo would be ignored silently
            fields = ", ".join(every)
            raise ValueError(f"{name}: {type(self).__name__} has no such field; fields: {fields}")
        if name in every:
            old = self.__dict__.get(name)
            ready = self.__dict__.get("_ready")
            if value is None and name in self.optional:
                if ready and old is not None:
                    raise ValueError(f"{name}: cannot be removed once the parameters are built")
                object.__setattr__(self, name, None)
                return
            value = check.array(value, name, ndim=(1,) if name in self.biases else (2,))
            if ready and old is None and name in self.optional:
                raise ValueError(
                    f"{name}: these parameters were built without it; build new ones instead"
                )
            if ready:
                check.shape(value, old.shape, name)
        object.__setattr__(self, name, value)

    def __post_init__(self):
        self._check_shapes()
        object.__setattr__(self, "_ready", True)

    def _check_shapes(self) -> None:  # pragma: no cover - every model defines it
        raise NotImplementedError

    def copy(self):
        """A deep copy (new arrays)."""
        return type(self)(**{n: getattr(self, n) for n in self.names})


class GatedParams(ParamsBase):
    """Mixin for a gated cell's parameters (:mod:`rnnlib.lstm`, :mod:`rnnlib.gru`).

    ``weights`` are the gate matrices, each ``(H, D+H)`` acting on
    ``[x_t; S_{t-1}]``; ``biases`` are ``(H,)``; ``Wy`` is ``(O, H)``.
    """

    weights: tuple[str, ...] = ()

    def _check_shapes(self) -> None:
        first = self.weights[0]
        W = getattr(self, first)
        check.nonempty(W, first, "H")
        H, DH = W.shape
        if DH <= H:
            raise ValueError(f"{first}: expected shape (H, D+H) with D >= 1, got {W.shape}")
        for n in self.weights[1:]:
            check.shape(getattr(self, n), (H, DH), n)
        for n in self.biases:
            check.shape(getattr(self, n), (H,), n)
        if self.Wy.shape[1] != H or self.Wy.shape[0] == 0:
            raise ValueError(f"Wy: expected shape (O, {H}) with O >= 1, got {self.Wy.shape}")

    @property
    def dims(self) -> tuple[int, int, int]:
        """``(D, H, O)``."""
        H, DH = getattr(self, self.weights[0]).shape
        return DH - H, H, self.Wy.shape[0]


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
            if clip_step is not None:  # without clipping the norms are taken after the loop
                n = np.linalg.norm(total, axis=-1)
                norms[t - 1] = n
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
        if clip_step is None:  # nothing was rescaled: the norms before clipping are dS's own
            norms = np.linalg.norm(dS[1:], axis=-1)
    return Backward(dS, norms, clipped)


class Terms(Mapping):
    """Per-step terms of each weight gradient, computed on first access.

    ``terms["Ws"][i-1] = dE/da_i  S_{i-1}^T``: the term of the chain-rule sum
    that enters through step ``i``'s own use of the weight (the immediate
    partial ``d+S_i/dWs`` of the book).  Shapes ``(T,) + W.shape``;
    ``terms[name].sum(axis=0)`` is the total gradient.

    Parameters
    ----------
    pairs : dict
        ``name -> (left, right)`` with ``left`` of shape ``(T, [B,] m)`` (the
        error at the weight's output) and ``right`` of shape ``(T, [B,] n)``
        (what the weight multiplies), or ``right = None`` for a bias.
    """

    def __init__(self, pairs):
        self._pairs, self._cache = pairs, {}

    def __getitem__(self, name):
        if name not in self._cache:
            left, right = self._pairs[name]  # KeyError for unknown names, as a Mapping should
            T = left.shape[0]
            L = left.reshape(T, -1, left.shape[-1])
            with np.errstate(over="ignore", invalid="ignore"):  # overflow was warned about once
                if right is None:  # a bias: its immediate partial is the identity
                    self._cache[name] = L.sum(axis=1)
                else:
                    R = right.reshape(T, -1, right.shape[-1])
                    self._cache[name] = np.matmul(L.transpose(0, 2, 1), R)
        return self._cache[name]

    def __iter__(self):
        return iter(self._pairs)

    def __len__(self):
        return len(self._pairs)


class GradsReport:
    """What training checks on any model's gradients."""

    @property
    def finite(self) -> bool:
        """False if any gradient overflowed; training must then stop, not step."""
        with np.errstate(over="ignore", invalid="ignore"):
            return all_finite(*(getattr(self, n) for n in self.names))

    @property
    def clipped(self) -> bool:
        """Whether per-step clipping changed anything."""
        return bool(np.any(self.step_clipped))


def warn_backward(g, dS: np.ndarray, model: str) -> None:
    """Warn (once) if the gradients ``g`` of ``model`` are not finite, naming the step."""
    with np.errstate(over="ignore", invalid="ignore"):
        if all_finite(dS, *(getattr(g, n) for n in g.names)):
            return
    t = first_nonfinite(dS, reverse=True)  # dS[t] = dE/dS_t, from t = T going back
    where = (
        f"dE/dS_t is first not finite at step t = {t} (going back from T = {dS.shape[0] - 1})"
        if t is not None
        else "a weight gradient is not finite"
    )
    warn_nonfinite(f"{model}.bptt: {where}; the gradients hold inf or NaN", stacklevel=4)


class TraceBase:
    """Mixin for a model's trace: what every loss needs (``Y``, ``Z``, ``S``, ``g2``)."""

    @property
    def finite(self) -> bool:
        """False once the states or outputs overflowed to inf or NaN."""
        with np.errstate(over="ignore", invalid="ignore"):
            return all_finite(*(getattr(self, n) for n in self.checked))

    def first_nonfinite_step(self) -> int | None:
        """The first step ``t`` (1..T) whose state or output is not finite; None if all are."""
        k = first_nonfinite(*(getattr(self, n)[1:] if n in ("S", "C") else getattr(self, n)
                              for n in self.checked))  # fmt: skip
        return None if k is None else k + 1


def params_of(p, cls, model: str) -> tuple[int, int, int]:
    """``p`` is a ``cls`` (the Params of ``rnnlib.<model>``); returns its ``(D, H, O)``."""
    check.instance(p, cls, "p", f"rnnlib.{model}.Params (from rnnlib.{model}.init)")
    return p.dims


def trace_of(tr, cls, model: str, p=None):
    """``tr`` is a ``cls`` (a ``rnnlib.<model>`` Trace), computed with weights shaped like ``p``."""
    check.instance(tr, cls, "tr", f"rnnlib.{model}.Trace (from rnnlib.{model}.forward)")
    if p is not None:
        have = (tr.xs.shape[-1], tr.S.shape[-1], tr.Y.shape[-1])
        if have != p.dims:
            raise ValueError(
                f"tr: computed with (D, H, O) = {have}, but p has {p.dims}; "
                f"pass the Params the trace was computed with"
            )
    return tr


def inputs(xs, D: int) -> np.ndarray:
    """``xs`` checked as ``(T, D)`` or ``(T, B, D)`` with ``T, B >= 1``; a float64 copy."""
    xs = check.array(xs, "xs", ndim=(2, 3))
    if xs.shape[0] == 0:
        raise ValueError("xs: the sequence is empty (T = 0)")
    if xs.ndim == 3 and xs.shape[1] == 0:
        raise ValueError(f"xs: the batch is empty (B = 0), shape {xs.shape}")
    if xs.shape[-1] != D:
        raise ValueError(f"xs: last dimension must be D = {D}, got shape {xs.shape}")
    return xs


def warn_forward(tr, model: str) -> None:
    """Warn if the trace overflowed, naming the first non-finite step."""
    with np.errstate(over="ignore", invalid="ignore"):
        if all_finite(*(getattr(tr, n) for n in tr.checked)):
            return
    t = tr.first_nonfinite_step()
    if t is not None:
        warn_nonfinite(
            f"{model}.forward: the state or output is not finite from step t = {t} "
            f"(of T = {tr.Y.shape[0]}); what follows holds inf or NaN",
            stacklevel=4,
        )


def model_module(model, params):
    """Raise unless ``model`` is a model module (it declares ``STATE`` and ``ACTIVATION_ARGS``)
    and ``params`` its ``Params``."""
    needed = ("STATE", "ACTIVATION_ARGS", "Params", "forward", "loss", "bptt")
    if not all(hasattr(model, a) for a in needed):
        raise ValueError(
            f"model: expected a model module such as rnnlib.rnn or rnnlib.lstm, got {model!r}"
        )
    if not isinstance(params, model.Params):
        raise ValueError(
            f"params: expected {model.__name__}.Params, got "
            f"{type(params).__module__}.{type(params).__name__}"
        )
    return model


def hidden_activation(model, g1) -> dict:
    """``{"g1": g1}`` if ``model`` lets the caller choose ``g1``; else ``g1`` must be ``"tanh"``."""
    if "g1" in model.ACTIVATION_ARGS:
        return {"g1": g1}
    if g1 != "tanh":
        raise ValueError(f"g1: {model.__name__} has a fixed hidden activation, got {g1!r}")
    return {}
