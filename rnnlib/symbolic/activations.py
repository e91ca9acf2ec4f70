r"""The activations of :mod:`rnnlib.activations` as SymPy functions, with their derivatives.

The names come from ``rnnlib.activations.ACTIVATIONS``; this module adds, for
each name, the SymPy form of ``g(a)`` and of ``g'(a)``.  ``g'`` is written
through the output ``out = g(a)`` where the book does (``1 - S^2`` for tanh,
``S (1 - S)`` for sigmoid), so a chain-rule factor reads as on the page.
:class:`sigmoid`, :class:`relu` and :class:`step` evaluate numerically with
the numpy functions of :mod:`rnnlib.activations`, so both agree to the bit.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

from .. import activations as _numeric


class sigmoid(sp.Function):
    r"""Logistic ``sigma(a) = 1/(1 + e^{-a})`` with ``sigma' = sigma (1 - sigma)``."""

    nargs = 1
    _imp_ = staticmethod(_numeric.sigmoid)

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.S.Half
        if a.is_Float:
            return 1 / (1 + sp.exp(-a))

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, a, **kwargs):
        return 1 / (1 + sp.exp(-a))

    def _latex(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class step(sp.Function):
    r"""``theta(a) = 1`` for ``a > 0`` else ``0``: relu's derivative, as in rnnlib."""

    nargs = 1
    _imp_ = staticmethod(_numeric.ACTIVATIONS["relu"].df)

    @classmethod
    def eval(cls, a):
        if a.is_Number and a.is_extended_real:
            return sp.S.One if a > 0 else sp.S.Zero

    def _eval_rewrite_as_Piecewise(self, a, **kwargs):
        return sp.Piecewise((1, a > 0), (0, True))

    def _latex(self, printer):
        return rf"\theta\left({printer._print(self.args[0])}\right)"


class relu(sp.Function):
    r"""``relu(a) = max(a, 0)``, piecewise linear, with ``relu' = theta``."""

    nargs = 1
    _imp_ = staticmethod(_numeric.ACTIVATIONS["relu"].f)

    @classmethod
    def eval(cls, a):
        if a.is_Number and a.is_extended_real:
            return a if a > 0 else sp.S.Zero

    def fdiff(self, argindex=1):
        return step(self.args[0])

    def _eval_rewrite_as_Piecewise(self, a, **kwargs):
        return sp.Piecewise((a, a > 0), (0, True))

    def _latex(self, printer):
        return rf"\operatorname{{relu}}\left({printer._print(self.args[0])}\right)"


class Form(NamedTuple):
    """One activation in SymPy beside its numeric twin.

    Attributes
    ----------
    name : str
    f : callable
        ``a -> g(a)``, a SymPy expression.
    df : callable
        ``(a, out) -> g'(a)``, written through ``out = g(a)`` where the book does.
    numeric : rnnlib.activations.Activation
        The numpy ``g`` and ``g'`` that :func:`rnnlib.rnn.forward` uses.
    """

    name: str
    f: object
    df: object
    numeric: _numeric.Activation


_SYMPY = {
    "tanh": (sp.tanh, lambda a, out: 1 - out**2),
    "sigmoid": (sigmoid, lambda a, out: out * (1 - out)),
    "relu": (relu, lambda a, out: step(a)),
    "identity": (lambda a: a, lambda a, out: 1),
}

#: ``name -> Form`` for every activation of :mod:`rnnlib.activations`, in its order.
FORMS: dict[str, Form] = {
    name: Form(name, *_SYMPY[name], act) for name, act in _numeric.ACTIVATIONS.items()
}
ACTIVATIONS = tuple(FORMS)

#: ``modules`` for ``sympy.lambdify``: the numeric twins of the functions above.
NUMPY = [{"sigmoid": sigmoid._imp_, "step": step._imp_, "relu": relu._imp_}, "numpy"]
