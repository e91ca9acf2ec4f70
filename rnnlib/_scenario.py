"""What every explorer scenario shares: checks of its scalar arguments, one cache, frozen results.

A *scenario* (``rnnlib.jacobians.decay_profile``, ``rnnlib.train.clipping_runs``, ...)
is a public function of a few hashable scalars that builds a seeded model and
returns the numbers an explorer shows.  The public function validates and
normalizes its arguments, then calls a private computation decorated with
:func:`cached`, so that ``1`` and ``1.0``, or a keyword and a positional
argument, share one cache entry and a bad value never reaches the cache.

Cached results are shared by every caller, so :func:`cached` hands out
read-only copies of their arrays: ``result.norm[0] = 1`` raises instead of
corrupting the next caller's numbers.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import warnings

import numpy as np

from . import _validate as check
from .engine import NonFiniteWarning

CACHE_SIZE = 256  # per scenario; an explorer's frames and a reader's recent settings fit
_CACHES = []


def frozen(x):
    """``x`` with every array (also inside nested dataclasses) a read-only copy."""
    if isinstance(x, np.ndarray):
        a = x.copy()  # a view would leave its base writable
        a.setflags(write=False)
        return a
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return dataclasses.replace(
            x, **{f.name: frozen(getattr(x, f.name)) for f in dataclasses.fields(x)}
        )
    return x


def cached(compute):
    """Decorator: ``functools.lru_cache`` over ``compute``, whose result is :func:`frozen`.

    ``compute`` takes validated, hashable scalars; a second call with the
    same arguments returns the same object.  Overflow is part of what an
    explorer shows (every scenario reports it in its result), so
    :class:`rnnlib.engine.NonFiniteWarning` is silenced inside ``compute``.
    """

    @functools.lru_cache(maxsize=CACHE_SIZE)
    @functools.wraps(compute)
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonFiniteWarning)
            return frozen(compute(*args))

    _CACHES.append(run)
    return run


def clear() -> None:
    """Empty every scenario cache (e.g. after a test patches a function a scenario calls)."""
    for c in _CACHES:
        c.cache_clear()


def seed(x, name: str = "seed") -> int:
    """An integer >= 0, as ``numpy.random.default_rng`` takes it."""
    return check.seed(x, name)


def real(x, name: str) -> float:
    """A finite number (of any sign)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or not np.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {x!r}")
    return float(x)
