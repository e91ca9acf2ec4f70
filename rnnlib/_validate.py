"""Argument checks shared by the public functions: every failure is a
``ValueError`` whose message starts with the argument's name.

Arrays are converted the way a numpy user expects: Python lists and integer
or float arrays of any width become float64; what would lose information or
guess is refused (complex numbers would drop their imaginary part, strings
would be parsed, booleans and objects are not numbers to compute with).
"""

from __future__ import annotations

import numbers

import numpy as np

_REFUSED = {"c": "complex", "U": "str", "S": "bytes", "O": "object", "b": "bool", "V": "void",
            "M": "datetime", "m": "timedelta"}  # fmt: skip


def array(
    x, name: str, ndim: tuple[int, ...] | None = None, finite: bool = True, copy: bool = True
) -> np.ndarray:
    """``x`` as a float64 array with one of the allowed ``ndim``.

    Integers and floats of any width, and nested lists of them, are converted;
    complex, str, bytes, bool and object data raise, and so do NaN and inf
    unless ``finite`` is False.  The result is a new array, unless ``copy``
    is False and ``x`` already is a float64 array (for arguments that are
    only read, never kept).
    """
    if type(x) is np.ndarray and x.dtype == np.float64:  # the common case, without conversions
        a = x.copy(order="K") if copy else x  # the layout kept, as np.array keeps it
    else:
        a = _converted(x, name, copy)
    if ndim is not None and a.ndim not in ndim:
        want = " or ".join(str(n) for n in ndim)
        raise ValueError(f"{name}: expected {want} dimensions, got shape {a.shape}")
    if finite and np.count_nonzero(np.isfinite(a)) != a.size:  # faster than .all()
        raise ValueError(f"{name}: contains NaN or inf")
    return a


def _converted(x, name: str, copy: bool) -> np.ndarray:
    """``x`` as a float64 array (a new one if ``copy``); raises for what :func:`array` refuses."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise ValueError(f"{name}: expected an array of numbers, got {type(x).__name__}")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError):  # ragged nested lists
        raise ValueError(f"{name}: expected a (rectangular) array of numbers") from None
    kind = _REFUSED.get(raw.dtype.kind)
    if kind is not None:
        raise ValueError(f"{name}: expected real numbers (int or float), got {kind} data")
    return np.array(raw, dtype=np.float64, copy=copy or None)  # kept arrays are copies


def nonempty(a: np.ndarray, name: str, what: str = "every dimension") -> np.ndarray:
    """Raise if any dimension of ``a`` is 0 (an empty batch, zero units, ...)."""
    if 0 in a.shape:
        raise ValueError(f"{name}: {what} must be >= 1, got shape {a.shape}")
    return a


def shape(a: np.ndarray, expected: tuple, name: str) -> None:
    """Raise unless ``a.shape == expected``."""
    if a.shape != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got {a.shape}")


def real(x, name: str) -> float:
    """A finite real number (Python or numpy scalar, or a 0-d array; not bool)."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        x = x[()]
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or not np.isfinite(x):
        raise ValueError(f"{name}: expected a finite real number, got {x!r}")
    return float(x)


def positive(x, name: str, allow_none: bool = False) -> float | None:
    """A finite number > 0 (or None when allowed)."""
    if x is None and allow_none:
        return None
    try:
        v = real(x, name)
    except ValueError:
        v = 0.0
    if v <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {x!r}")
    return v


def integer(x, name: str, lo: int = 0) -> int:
    """A Python or numpy integer (not bool) ``>= lo``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral) or x < lo:
        raise ValueError(f"{name}: expected an integer >= {lo}, got {x!r}")
    return int(x)


def positive_int(x, name: str, allow_none: bool = False) -> int | None:
    """An integer >= 1 (or None when allowed)."""
    if x is None and allow_none:
        return None
    return integer(x, name, 1)


def seed(x, name: str = "seed") -> int:
    """A seed for ``numpy.random.default_rng``: an integer >= 0."""
    return integer(x, name, 0)


def choice(x, options, name: str):
    """One of ``options``."""
    try:
        hash(x)  # an option is a plain value: arrays and lists are not
        ok = bool(x in options)
    except (TypeError, ValueError):  # unhashable, or an array compared element-wise
        ok = False
    if not ok:
        raise ValueError(f"{name}: expected one of {list(options)}, got {x!r}")
    return x


def instance(x, cls, name: str, what: str):
    """Raise unless ``x`` is a ``cls``; ``what`` describes it (``"rnnlib.rnn.Params"``)."""
    if not isinstance(x, cls):
        raise ValueError(f"{name}: expected {what}, got {type(x).__module__}.{type(x).__name__}")
    return x
