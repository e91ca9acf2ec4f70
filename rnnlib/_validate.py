"""Argument checks shared by the public functions: every failure is a
``ValueError`` whose message starts with the argument's name."""

from __future__ import annotations

import numbers

import numpy as np


def array(x, name: str, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """``x`` as a finite float64 array with one of the allowed ``ndim``."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers, got {type(x).__name__}") from None
    if ndim is not None and a.ndim not in ndim:
        want = " or ".join(str(n) for n in ndim)
        raise ValueError(f"{name}: expected {want} dimensions, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or inf")
    return a


def shape(a: np.ndarray, expected: tuple, name: str) -> None:
    """Raise unless ``a.shape == expected``."""
    if a.shape != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got {a.shape}")


def positive(x, name: str, allow_none: bool = False) -> float | None:
    """A finite number > 0 (or None when allowed)."""
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {x!r}")
    return float(x)


def positive_int(x, name: str, allow_none: bool = False) -> int | None:
    """An integer >= 1 (or None when allowed)."""
    if x is None and allow_none:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {x!r}")
    return int(x)


def choice(x, options, name: str):
    """One of ``options``."""
    if x not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {x!r}")
    return x
