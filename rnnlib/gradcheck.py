"""Checking gradients against central finite differences, in float64.

The derivative of a scalar ``f`` with respect to one weight ``w`` is
approximated by the central difference::

    df/dw ~ (f(w + eps) - f(w - eps)) / (2 eps),

whose error is ``O(eps^2)`` from the Taylor series plus about
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

#: Rounding noise of a difference quotient, in units of ``machine_eps * |f| / eps``
#: (measured: about 1 for rnn and lstm losses; 10 leaves a margin).
NOISE = 10.0


def _names(obj) -> tuple[str, ...]:
    return tuple(obj) if isinstance(obj, Mapping) else tuple(obj.names)


def _get(obj, name: str) -> np.ndarray:
    return np.asarray(obj[name] if isinstance(obj, Mapping) else getattr(obj, name), dtype=float)


def _float64_copy(params):
    """A copy of ``params`` whose arrays are float64 and safe to perturb in place."""
    if isinstance(params, Mapping):
        return {n: np.array(params[n], dtype=np.float64) for n in params}
    q = params.copy()
    for n in q.names:
        setattr(q, n, np.array(getattr(q, n), dtype=np.float64))
    return q


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
    if order not in STENCILS:
        raise ValueError(f"order: expected one of {sorted(STENCILS)}, got {order!r}")
    q = _float64_copy(params)
    grads = {}
    for name in _names(q):
        w = q[name] if isinstance(q, Mapping) else getattr(q, name)
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            g[idx] = _partial(f, q, w, idx, eps, STENCILS[order])
        grads[name] = g
    return grads


def rel_error(a, n, floor: float = np.finfo(float).tiny) -> np.ndarray:
    """Entry-wise ``|a - n| / max(|a|, |n|, floor)``; symmetric in ``a`` and ``n``."""
    a, n = np.asarray(a, dtype=float), np.asarray(n, dtype=float)
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
        Every ``max_rel`` is ``<= rtol``.
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

    def report(self, worst: int = 3) -> str:
        """A table per parameter: its ``worst`` entries, analytic beside numeric."""
        verdict = "passed" if self.passed else "FAILED"
        lines = [f"gradient check ({verdict}, rtol={self.rtol:g}, atol={self.atol:.1e})"]
        for name, m in self.max_rel.items():
            a, n = self.analytic[name], self.numeric[name]
            flag = "ok " if m <= self.rtol else "BAD"
            lines.append(f"  {flag} {name} {a.shape}: max relative error {m:.2e}")
            r = rel_error(a, n, self.floor).ravel()
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
    rtol : float
        Largest accepted relative error.
    eps : float
        Finite-difference step.
    atol : float, optional
        Absolute error accepted where both values are below ``atol / rtol``;
        default: the rounding noise ``NOISE * machine_eps * |f(params)| / eps``.
    order : {2, 4}
        Stencil of :func:`numeric_grad`.

    Returns
    -------
    Result
    """
    numeric = numeric_grad(f, params, eps, order)
    analytic, max_rel = {}, {}
    if atol is None:
        atol = NOISE * np.finfo(float).eps * abs(float(f(_float64_copy(params)))) / eps
    floor = max(atol / rtol, np.finfo(float).tiny)
    for name, n in numeric.items():
        a = _get(grads, name)
        if a.shape != n.shape:
            raise ValueError(f"grads: {name} has shape {a.shape}, the parameter {n.shape}")
        analytic[name] = a
        max_rel[name] = float(np.max(rel_error(a, n, floor), initial=0.0))
    passed = all(m <= rtol for m in max_rel.values())
    return Result(max_rel, passed, rtol, atol, floor, analytic, numeric)


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
    rng = np.random.default_rng(seed)
    names = _names(params)
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
