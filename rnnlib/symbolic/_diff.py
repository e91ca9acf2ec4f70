"""``sympy.diff`` without recursion: the same expression, built from the leaves up.

Why this exists: ``sympy.diff`` recurses once per level of the expression, and
the scalar model's loss nests ``N`` states, so ``gradient("Ws", 36)`` overflowed
Python's stack (and spent its time re-walking subtrees: free symbols, zero
tests).  :func:`diff` walks the tree once with an explicit stack and, at each
node, applies the rule that node's ``_eval_derivative`` applies in SymPy, with
the same operations in the same order, so the result is the identical
expression.  That mirrors SymPy internals (the rules of ``Add``, ``Mul``,
``Pow`` and ``Function``, and ``Function._eval_derivative`` as the marker of
the standard chain rule), so ``tests/test_symbolic.py`` compares it with
``sympy.diff`` for every activation pair and fails loudly if SymPy changes.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef


def _combined(e) -> bool:
    """Whether ``diff`` combines ``e``'s derivative from its arguments' (else SymPy does)."""
    if type(e) in (sp.Add, sp.Mul, sp.Pow):
        return True
    return (  # g(a) with the chain rule of sympy.Function: tanh, sigmoid, relu, step
        isinstance(e, sp.Function)
        and not isinstance(e, AppliedUndef)
        and type(e)._eval_derivative is sp.Function._eval_derivative
    )


def diff(expr: sp.Expr, s: sp.Symbol) -> sp.Expr:
    """``d expr / d s`` as ``sympy.diff`` gives it, built from the leaves up, without recursion.

    Each node's derivative combines its arguments' derivatives by the rule
    SymPy's ``_eval_derivative`` applies (same operations, same order), so the
    result is the same expression; an explicit stack replaces the recursion,
    which overflowed Python's stack near ``N = 36``.
    """
    done: dict[int, sp.Expr] = {}  # id(node) -> its derivative; the tree keeps nodes alive
    stack = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in done:
            continue
        if e.is_Symbol:
            done[id(e)] = sp.S.One if e == s else sp.S.Zero
            continue
        if not e.args or not _combined(e):  # numbers, and nodes with rules of their own
            done[id(e)] = sp.diff(e, s)
            continue
        if not ready:  # the arguments first, then e
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if id(a) not in done)
            continue
        da = [done[id(a)] for a in e.args]
        if all(x is sp.S.Zero for x in da):
            d = sp.S.Zero
        elif e.is_Add:
            d = sp.Add(*da)
        elif e.is_Mul:  # product rule (Leibniz), one term per factor
            a = list(e.args)
            d = sp.Add(*[sp.Mul(*(a[:i] + [da[i]] + a[i + 1 :])) for i in range(len(a))])
        elif e.is_Pow:
            dbase, dexp = da
            inner = dbase * e.exp / e.base
            if dexp is not sp.S.Zero:
                inner = dexp * sp.log(e.base) + inner
            d = e * inner
        else:  # chain rule g(a)' = g'(a) a'
            d = sp.Add(*[e.fdiff(i + 1) * x for i, x in enumerate(da) if x is not sp.S.Zero])
        done[id(e)] = d
    return done[id(expr)]
