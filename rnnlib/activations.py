"""Activation functions g and their derivatives g', looked up by name.

The book writes the hidden activation as ``g1`` and the output activation as
``g2``; both are chosen by name from :data:`ACTIVATIONS`.  Each derivative
takes the *pre-activation* ``a`` (not the output), so that
``dS_t/da_t = diag(g1'(a_t))`` reads the same in code as on the page.

The softmax is the one output activation that is not element-wise: each
output depends on every pre-activation of its step, so its Jacobian is a
full matrix, ``dY_t/dz_t = diag(Y_t) - Y_t Y_t^T``.  It is therefore not in
:data:`ACTIVATIONS` (whose members act entry by entry, as ``g1`` must) but
in ``OUTPUTS``, the names ``g2`` may take; :func:`output_backward`
applies either kind of Jacobian.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as check


class Activation(NamedTuple):
    """An element-wise nonlinearity with its derivative and its bound.

    Attributes
    ----------
    name : str
    f : callable
        ``g(a)``, applied element-wise.
    df : callable
        ``g'(a)``, the derivative with respect to the pre-activation ``a``.
    gamma : float
        ``sup |g'(a)|``, the constant in the vanishing-gradient bound
        (1 for tanh, 1/4 for sigmoid).
    """

    name: str
    f: object
    df: object
    gamma: float


def _sigmoid(a):
    # exp of a non-positive number only, so large |a| neither overflows nor warns
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _dsigmoid(a):
    s = _sigmoid(a)
    return s * (1.0 - s)


def _dtanh(a):
    return 1.0 - np.tanh(a) ** 2


#: The known activations by name: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``.
ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, _dtanh, 1.0),
    "sigmoid": Activation("sigmoid", _sigmoid, _dsigmoid, 0.25),
    "relu": Activation("relu", lambda a: np.maximum(a, 0.0), lambda a: (a > 0) * 1.0, 1.0),
    "identity": Activation("identity", lambda a: a, np.ones_like, 1.0),
}


def softmax(z):
    """``softmax(z)_k = exp(z_k) / sum_j exp(z_j)`` over the last axis, without overflow.

    Parameters
    ----------
    z : ndarray, (..., O)

    Returns
    -------
    ndarray, (..., O)
        Non-negative, each row summing to 1.
    """
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))  # the largest exponent is 0
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(z):
    """``log softmax(z)`` over the last axis, finite for every finite ``z``."""
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def _no_elementwise_derivative(a):  # pragma: no cover - output_backward never calls it
    raise TypeError("softmax has no element-wise derivative; use output_backward")


# The softmax output.  ``gamma = 1/2`` bounds the spectral norm of its Jacobian
# ``diag(Y) - Y Y^T``; ``df`` is absent because that Jacobian is not diagonal.
SOFTMAX = Activation("softmax", softmax, _no_elementwise_derivative, 0.5)

# The names the output activation ``g2`` may take: :data:`ACTIVATIONS` and ``"softmax"``.
OUTPUTS: dict[str, Activation] = {**ACTIVATIONS, "softmax": SOFTMAX}


def output_backward(g2: str, Z, Y, dY):
    """``dE/dz_t`` from ``dE/dY_t`` through ``Y_t = g2(z_t)`` (rows are steps and sequences).

    Element-wise ``g2``: ``dY * g2'(Z)``.  Softmax: ``dY (diag(Y) - Y Y^T)``,
    that is ``Y * (dY - sum_k dY_k Y_k)``.

    Parameters
    ----------
    g2 : str
        A name in ``OUTPUTS`` (trusted: the trace's own).
    Z, Y, dY : ndarray, (..., O)
    """
    if g2 == "softmax":
        return Y * (dY - np.sum(dY * Y, axis=-1, keepdims=True))
    if g2 == "identity":  # g2' = 1
        return dY
    return dY * ACTIVATIONS[g2].df(Z)


def output(name: str, argument: str = "g2") -> Activation:
    """Return the output activation called ``name``: one of :data:`ACTIVATIONS` or ``"softmax"``.

    Raises
    ------
    ValueError
        If ``name`` is not in ``OUTPUTS``; the message names ``argument``.
    """
    if isinstance(name, Activation):
        return name
    try:
        return OUTPUTS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in OUTPUTS)
        raise ValueError(f"{argument}: unknown activation {name!r}; known: {known}") from None


def get(name: str, argument: str = "activation") -> Activation:
    """Return the activation called ``name``.

    Parameters
    ----------
    name : str
        One of ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"identity"``.
    argument : str
        The caller's argument name, used in the error message (``"g1"``, ``"g2"``).

    Raises
    ------
    ValueError
        If ``name`` is not a known activation; the message lists the known ones.
    """
    if isinstance(name, Activation):
        return name
    if isinstance(name, str) and name == "softmax":
        raise ValueError(
            f"{argument}: 'softmax' is not element-wise (each output depends on the whole "
            f"vector); it is allowed only as an output activation g2"
        )
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"{argument}: unknown activation {name!r}; known: {known}") from None


def sigmoid(a):
    """Logistic function ``1 / (1 + exp(-a))``, overflow-free for large ``|a|``."""
    return _sigmoid(check.array(a, "a", finite=False))
