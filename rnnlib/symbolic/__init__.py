r"""The scalar RNN in SymPy: the chain-rule sums of BPTT written out and checked.

Model with one input, one hidden unit and one output (``D = H = O = 1``),
book: :eq:`eq-rnn-state`, :eq:`eq-rnn-output`, :eq:`eq-error`::

    S_k = g1(W_x x_k + W_s S_{k-1})     (k = 1..N)
    Y_N = g2(W_y S_N)                   E_N = (d_N - Y_N)^2

in symbols named ``W_x, W_s, W_y, x_1..x_N, S_0, d_N``.  The gradient of
``E_N`` with respect to ``W_s`` (book: :eq:`eq-bptt-general`) is a sum of
``N`` chain-rule terms, one per step ``i`` that uses the weight,

.. math::  \frac{dE_N}{dW_s} = \sum_{i=1}^{N}
           \frac{\partial E_N}{\partial Y_N}\frac{\partial Y_N}{\partial S_N}
           \Bigl(\prod_{k=i+1}^{N}\frac{\partial S_k}{\partial S_{k-1}}\Bigr)
           \frac{\ipartial S_i}{\partial W_s},

in the book's notation: ``d`` for the total derivative (every path), plain
``\partial`` for the partial of one step's formula with respect to an
explicit argument, and ``\ipartial`` (the book's macro for ``\partial^{+}``,
after Pascanu, Mikolov and Bengio 2013) for the immediate partial, which holds
``S_{i-1}`` fixed.  The product runs upward with the latest factor on the
left, ``\prod_{k=i+1}^{N} A_k = A_N A_{N-1} \cdots A_{i+1}``.  At ``t = N = 3``
with ``g1 = tanh``, ``g2 = identity`` the three terms are, with ``S_k`` short
for the state::

    >>> for t in expansion("Ws", 3).terms: print(t.i, t.expr)
    1 2*S_0*W_s**2*W_y*(1 - S_1**2)*(1 - S_2**2)*(1 - S_3**2)*(Y_3 - d_3)
    2 2*S_1*W_s*W_y*(1 - S_2**2)*(1 - S_3**2)*(Y_3 - d_3)
    3 2*S_2*W_y*(1 - S_3**2)*(Y_3 - d_3)

One module per job, every name below importable from ``rnnlib.symbolic``:

- :mod:`rnnlib.symbolic.scalar`: the model and its expansion (``symbols``,
  ``model``, ``expansion``, ``terms``, ``gradient``);
- :mod:`rnnlib.symbolic.latex`: the formulas for display (``Latex``, ``latex_*``);
- :mod:`rnnlib.symbolic.checks`: the checks (``check_symbolic``, ``compare``,
  ``evaluate``, ``states``, ``values``, ``lambdify``);
- :mod:`rnnlib.symbolic.vector`: the two-unit case (``vector_case``), where
  ``diag(g1')`` and the transpose come from;
- :mod:`rnnlib.symbolic.activations`: the SymPy forms of the activations of
  :mod:`rnnlib.activations`.

Expressions are built once per ``(N, g1, g2)`` and cached.  ``N`` runs from 1
to :data:`rnnlib.symbolic.scalar.MAX_N` (lower for the pairs in
:data:`rnnlib.symbolic.scalar.SLOW_PAIRS`), where the slowest call takes a few
seconds; a larger ``N``, a non-integer, or an unknown name raises ``ValueError``
naming the argument and the limit.
"""

from .activations import ACTIVATIONS, relu, sigmoid, step
from .checks import Comparison, check_symbolic, compare, evaluate, lambdify, states, values
from .latex import (
    Latex,
    latex_concrete,
    latex_expansion,
    latex_factors,
    latex_general,
    latex_seed,
    latex_terms,
)
from .scalar import (
    S_0,
    WRT,
    Expansion,
    Factor,
    Model,
    Symbols,
    Term,
    W_s,
    W_x,
    W_y,
    expansion,
    gradient,
    model,
    symbols,
    terms,
)
from .vector import VectorCase, vector_case

__all__ = [
    "WRT", "ACTIVATIONS", "W_x", "W_s", "W_y", "S_0",
    "sigmoid", "step", "relu",
    "Symbols", "symbols", "Model", "model", "Factor", "Term", "Expansion", "expansion",
    "terms", "gradient",
    "check_symbolic", "values", "evaluate", "states", "lambdify", "Comparison", "compare",
    "Latex", "latex_seed", "latex_general", "latex_terms", "latex_factors", "latex_expansion",
    "latex_concrete",
    "VectorCase", "vector_case",
]  # fmt: skip
