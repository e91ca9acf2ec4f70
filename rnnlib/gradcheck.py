"""Checking gradients against central finite differences, in float64.

The derivative of a scalar ``f`` with respect to one weight ``w`` is
approximated by the central difference::

    df/dw ~ (f(w + eps) - f(w - eps)) / (2 eps),

Nudging ``w`` changes it at every step where it is used, so the quotient
measures the total derivative ``df/dw`` (every path), the quantity BPTT must
reproduce.  Its error is ``O(eps^2)`` from the Taylor series plus about
``machine_eps * |f| / eps`` from rounding.  An analytic gradient ``a`` and a
numeric one ``n`` are compared entry by entry through the relative error::

    r = |a - n| / max(|a|, |n|, floor),

where ``floor = atol / rtol``: entries that are both far below what the
difference quotient can resolve are judged by the absolute error ``atol``
instead of dividing rounding noise by almost nothing.  By default ``atol`` is
that rounding noise, ``10 * machine_eps * |f| / eps`` (about ``2e-9 |f|`` for
``eps = 1e-6``), so a long sequence with a large loss is not failed for noise.

``params`` is a parameter dataclass with a ``names`` attribute (such as
:class:`rnnlib.rnn.Params`) or a dict of arrays; gradients are an object with
the same attribute names (a ``Grads``) or a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import _validate as valid

#: Rounding noise of a difference quotient, in units of ``machine_eps * |f| / eps``
#: (measured: about 1 for rnn and lstm losses; 10 leaves a margin).
NOISE = 10.0


def _names(obj) -> tuple[str, ...]:
    return tuple(obj) if isinstance(obj, Mapping) else tuple(obj.names)


def _params(params, name: str = "params"):
    """Raise unless ``params`` is a dict of arrays or a dataclass with ``names`` and ``copy``."""
    if isinstance(params, Mapping) and not params:
        raise ValueError(f"{name}: no parameters to check (an empty dict)")
    if isinstance(params, Mapping):
        for n, v in params.items():
            valid.array(v, f"{name}[{n!r}]")
        return params
    if not (hasattr(params, "names") and hasattr(params, "copy")):
        raise ValueError(
            f"{name}: expected a parameter dataclass (with .names and .copy()) or a dict "
            f"name -> array, got {type(params).__name__}"
        )
    for n in params.names:
        valid.array(getattr(params, n), f"{name}.{n}")
    return params


def _get(obj, name: str, what: str = "grads") -> np.ndarray:
    try:
        value = obj[name] if isinstance(obj, Mapping) else getattr(obj, name)
    except (KeyError, AttributeError):
        raise ValueError(f"{what}: no gradient for {name!r}, which params has") from None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {name!r} is not an array of numbers") from None


def _float64_copy(params):
    """A copy of ``params`` whose arrays are float64 and safe to perturb in place."""
    if isinstance(params, Mapping):
        return {n: valid.array(params[n], f"params[{n!r}]") for n in params}
    q = params.copy()
    for n in q.names:
        setattr(q, n, np.array(getattr(q, n), dtype=np.float64))
    return q


def _step(eps) -> float:
    eps = valid.positive(eps, "eps")
    return eps


#: Central-difference stencils ``f'(w) ~ sum_k c_k (f(w + k eps) - f(w - k eps)) / eps``.
STENCILS = {2: ((1, 1 / 2),), 4: ((1, 2 / 3), (2, -1 / 12))}


def _partial(f, q, w, idx, eps, stencil) -> float:
    """Central difference of ``f(q)`` in the single entry ``w[idx]``; restores it."""
    old = w[idx]
    total = 0.0
    for k, c in stencil:
        w[idx] = old + k * eps
        up = float(f(q))
        w[idx] = old - k * eps
        total += c * (up - float(f(q)))
    w[idx] = old
    return total / eps


def numeric_grad(f, params, eps: float = 1e-6, order: int = 2) -> dict[str, np.ndarray]:
    """Central-difference gradient of ``f`` with respect to every entry of ``params``.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``, the loss.
    params : parameter dataclass with ``names``, or dict of arrays
        Not modified.
    eps : float
        Step of the difference quotient.
    order : {2, 4}
        2: ``(f(w+eps) - f(w-eps)) / (2 eps)``, error ``O(eps^2)``.
        4: the five-point stencil, error ``O(eps^4)``; with ``eps ~ 1e-3`` its
        rounding error is ~1000 times smaller, for entries that must be
        checked to ``rtol = 1e-7`` even when they are small.

    Returns
    -------
    dict
        ``name -> ndarray`` of the parameter's shape.
    """
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or order not in STENCILS:
        raise ValueError(f"order: expected one of {sorted(STENCILS)}, got {order!r}")
    eps = _step(eps)
    _callable(f)
    q = _float64_copy(_params(params))
    grads = {}
    for name in _names(q):
        w = q[name] if isinstance(q, Mapping) else getattr(q, name)
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            g[idx] = _partial(f, q, w, idx, eps, STENCILS[order])
        grads[name] = g
    return grads


def _callable(f) -> None:
    if not callable(f):
        raise ValueError(f"f: expected a callable f(params) -> float, got {type(f).__name__}")


def rel_error(a, n, floor: float = np.finfo(float).tiny) -> np.ndarray:
    """Entry-wise ``|a - n| / max(|a|, |n|, floor)``; symmetric in ``a`` and ``n``."""
    a, n = valid.array(a, "a", finite=False), valid.array(n, "n", finite=False)
    with np.errstate(invalid="ignore"):
        r = np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return np.where(np.isnan(r), np.inf, r)  # a NaN anywhere never passes


@dataclass
class Result:
    """Outcome of :func:`check`.

    Attributes
    ----------
    max_rel : dict
        ``name ->`` the largest relative error over the parameter's entries.
    passed : bool
        Every entry passes: relative error ``<= rtol``, or absolute error
        ``<= atol`` where both values are below ``floor = atol / rtol``
        (everywhere when ``rtol = 0``).
    analytic, numeric : dict
        ``name -> ndarray``, the two gradients compared.
    """

    max_rel: dict
    passed: bool
    rtol: float
    atol: float
    floor: float
    analytic: dict = field(repr=False)
    numeric: dict = field(repr=False)
    ok: dict = field(default_factory=dict, repr=False)

    def report(self, worst: int = 3) -> str:
        """A table per parameter: its ``worst`` entries, analytic beside numeric."""
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"gradient check ({verdict}, rtol={self.rtol:g}, atol={self.atol:.1e})"]
        for name, m in self.max_rel.items():
            a, n = self.analytic[name], self.numeric[name]
            flag = "ok " if self.ok.get(name, m <= self.rtol) else "BAD"
            lines.append(f"  {flag} {name} {a.shape}: max relative error {m:.2e}")
            floor = self.floor if np.isfinite(self.floor) else np.finfo(float).tiny
            r = rel_error(a, n, floor).ravel()
            for k in np.argsort(-r, kind="stable")[: min(worst, r.size)]:
                idx = np.unravel_index(k, a.shape)
                lines.append(
                    f"      {name}{[int(i) for i in idx]}: analytic {a[idx]: .12e}  "
                    f"numeric {n[idx]: .12e}  rel {r[k]:.1e}"
                )
        return "\n".join(lines)


def check(
    f,
    params,
    grads,
    rtol: float = 1e-7,
    eps: float = 1e-6,
    atol: float | None = None,
    order: int = 2,
) -> Result:
    """Compare analytic gradients with central finite differences.

    Parameters
    ----------
    f : callable
        ``f(params) -> float``.
    params : parameter dataclass or dict
    grads : Grads-like object or dict
        Analytic gradients, one per name in ``params``.
    rtol : float >= 0
        Largest accepted relative error.
    eps : float > 0
        Finite-difference step.
    atol : float >= 0, optional
        Absolute error accepted where both values are below ``atol / rtol``
        (everywhere if ``rtol = 0``); default: the rounding noise
        ``NOISE * machine_eps * |f(params)| / eps``.
    order : {2, 4}
        Stencil of :func:`numeric_grad`.

    Returns
    -------
    Result
    """
    rtol = _tolerance(rtol, "rtol")
    atol = None if atol is None else _tolerance(atol, "atol")
    numeric = numeric_grad(f, params, eps, order)
    if not isinstance(grads, Mapping) and not hasattr(grads, "names"):
        raise ValueError(f"grads: expected a Grads object or a dict, got {type(grads).__name__}")
    analytic, max_rel, ok = {}, {}, {}
    if atol is None:
        atol = NOISE * np.finfo(float).eps * abs(float(f(_float64_copy(params)))) / eps
    tiny = np.finfo(float).tiny
    # with rtol = 0 every entry is judged by the absolute error alone (the floor is infinite);
    # max_rel is then the plain relative error, for the report
    floor = max(float(atol) / rtol, tiny) if rtol > 0 else float("inf")
    for name, n in numeric.items():
        a = _get(grads, name)
        if a.shape != n.shape:
            raise ValueError(f"grads: {name} has shape {a.shape}, the parameter {n.shape}")
        analytic[name] = a
        if rtol > 0:
            max_rel[name] = float(np.max(rel_error(a, n, floor), initial=0.0))
            ok[name] = max_rel[name] <= rtol
        else:
            max_rel[name] = float(np.max(rel_error(a, n, tiny), initial=0.0))
            with np.errstate(invalid="ignore"):
                ok[name] = bool(np.all(np.abs(a - n) <= atol))  # NaN never passes
    passed = all(ok.values())
    return Result(max_rel, passed, rtol, atol, floor, analytic, numeric, ok)


def _tolerance(x, name: str) -> float:
    x = valid.real(x, name)
    if x < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {x!r}")
    return x


def assert_grads(f, params, grads, rtol=1e-7, eps=1e-6, atol=None, order=2) -> Result:
    """Raise ``AssertionError`` (with analytic beside numeric) unless :func:`check` passes."""
    result = check(f, params, grads, rtol=rtol, eps=eps, atol=atol, order=order)
    if not result.passed:
        raise AssertionError(result.report())
    return result


def directional(f, params, grads, n: int = 5, seed: int = 0, eps: float = 1e-6):
    """Directional derivatives along ``n`` random unit directions ``u`` in parameter space.

    Analytic: ``sum_W <dE/dW, u_W>``; numeric: ``(f(p + eps u) - f(p - eps u)) / (2 eps)``.
    Two evaluations of ``f`` per direction, so it scales to large models.

    Returns
    -------
    analytic, numeric : ndarray, (n,)
    """
    n = valid.positive_int(n, "n")
    eps = _step(eps)
    _callable(f)
    rng = np.random.default_rng(valid.seed(seed))
    names = _names(_params(params))
    base = _float64_copy(params)
    q = _float64_copy(params)
    analytic, numeric = np.empty(n), np.empty(n)

    def put(scale, us):
        for name, u in zip(names, us, strict=True):
            w = _get(base, name) + scale * u
            if isinstance(q, Mapping):
                q[name] = w
            else:
                setattr(q, name, w)
        return float(f(q))

    for k in range(n):
        us = [rng.standard_normal(_get(base, name).shape) for name in names]
        norm = np.sqrt(sum(float(np.sum(u * u)) for u in us))
        us = [u / norm for u in us]
        analytic[k] = sum(
            float(np.sum(_get(grads, nm) * u)) for nm, u in zip(names, us, strict=True)
        )
        numeric[k] = (put(eps, us) - put(-eps, us)) / (2.0 * eps)
    return analytic, numeric
