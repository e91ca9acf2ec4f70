"""Activation functions g and their derivatives g', looked up by name.

The book writes the hidden activation as ``g1`` and the output activation as
``g2``; both are chosen by name from :data:`ACTIVATIONS`.  Each derivative
takes the *pre-activation* ``a`` (not the output), so that
``dS_t/da_t = diag(g1'(a_t))`` reads the same in code as on the page.
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
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in ACTIVATIONS)
        raise ValueError(f"{argument}: unknown activation {name!r}; known: {known}") from None


def sigmoid(a):
    """Logistic function ``1 / (1 + exp(-a))``, overflow-free for large ``|a|``."""
    return _sigmoid(check.array(a, "a", finite=False))
