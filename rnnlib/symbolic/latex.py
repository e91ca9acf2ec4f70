r"""The formulas for display: the seed's, the corrected general one, and the model's terms.

Every function returns a :class:`Latex` string, which a notebook shows as math.
"""

from __future__ import annotations

import sympy as sp

from .scalar import _W, WRT, _choice, _dfrac, _frac, expansion


class Latex(str):
    """A LaTeX string that a notebook displays as math (``\\ipartial`` defined inline)."""

    def _repr_latex_(self):
        return rf"$$\def\ipartial{{\partial^{{+}}}} {self}$$"


_READINGS = (None, "immediate", "total")


def _stacked(lhs: str, parts: list, rel: str = "=") -> str:
    """``lhs = parts[0] + parts[1] + ...``, one summand a line when there are several."""
    if len(parts) == 1:
        return f"{lhs} {rel} {parts[0]}"
    rows = [f"{lhs} {rel}{{}}& {parts[0]}", *(f"&+ {x}" for x in parts[1:])]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _seed_sum(N, w, general, reading=None):
    last = {
        None: lambda i: _frac(f"S_{i}", w),
        "immediate": lambda i: _frac(f"S_{i}", w, immediate=True),
        "total": lambda i: _dfrac(f"S_{i}", w),
    }[reading]
    if general:
        # Y_N reaches S_i through the chain S_{i+1}..S_N: read, it is the total dY_N/dS_i
        middle = _frac("Y_N", "S_i") if reading is None else _dfrac("Y_N", "S_i")
        body = " \\cdot ".join([_frac("E_N", "Y_N"), middle, last("i")])
        return [rf"\sum_{{i=1}}^{{N}} {body}"]
    parts = []
    for i in range(N, 0, -1):
        chain = [_frac(f"S_{k}", f"S_{k - 1}") for k in range(N, i, -1)]
        f = [_frac(f"E_{N}", f"Y_{N}"), _frac(f"Y_{N}", f"S_{N}"), *chain, last(i)]
        parts.append(r"\left(" + " \\cdot ".join(f) + r"\right)")
    return parts


def latex_seed(wrt: str, general: bool = False, reading: str | None = None) -> Latex:
    """The seed tutorial's formula: as printed, or in one of its two readings.

    ``reading=None``: as printed, a quotation in the tutorial's own notation
    (``∂`` throughout, even on the left where the book writes the total ``d``,
    and capital subscripts ``W_S``, ``W_X``, ``W_Y``).  ``general=False`` gives
    the ``t = 3`` sum, ``general=True`` its general formula, which hides the
    Jacobian product inside ``∂Y_N/∂S_i`` and, for ``"Wx"``, is labelled
    ``∂E_N/∂W_S``.  The seed gives ``"Wy"`` at ``t = 3`` only.

    The printed last factor ``∂S_i/∂W`` of each product is ambiguous, and
    ``reading`` writes the formula in the book's notation under one of its two
    readings (left side ``dE/dW``, the weight's own name; in the general
    formula the middle factor becomes the total ``dY_N/dS_i``, the Jacobian
    chain it hides):

    - ``"immediate"``: the partial of step ``i``'s formula, its input
      ``S_{i-1}`` an argument held fixed, ``∂⁺S_i/∂W``.  This reading is the
      correct gradient (book: :eq:`eq-dE3-dWs`).
    - ``"total"``: the total derivative ``dS_i/dW`` (every path).  This reading
      counts the paths through earlier steps more than once, so the equation it
      claims is false in general: it is written with ``\\overset{?}{=}``.
    """
    _choice(wrt, WRT, "wrt")
    if not isinstance(general, bool):
        raise ValueError(f"general: expected True or False, got {general!r}")
    if reading is not None and (not isinstance(reading, str) or reading not in _READINGS):
        raise ValueError(f"reading: expected one of {list(_READINGS)}, got {reading!r}")
    if wrt == "Wy":
        if general:
            raise ValueError("general: the seed gives no general formula for wrt = 'Wy'")
        if reading is None:
            return Latex(
                f"{_frac('E_3', 'W_y')} = {_frac('E_3', 'Y_3')} \\cdot {_frac('Y_3', 'W_Y')}"
            )
        # W_y is used once and no state depends on it: both readings coincide
        return Latex(f"{_dfrac('E_3', 'W_y')} = {_frac('E_3', 'Y_3')} \\cdot {_frac('Y_3', 'W_y')}")
    if reading is None:
        w = {"Ws": "W_S", "Wx": "W_X"}[wrt]
        lhs = _frac("E_N", "W_S") if general else _frac("E_3", w)
        return Latex(_stacked(lhs, _seed_sum(3, w, general)))
    w = _W[wrt].name
    lhs = _dfrac("E_N" if general else "E_3", w)
    rel = r"\overset{?}{=}" if reading == "total" else "="
    return Latex(_stacked(lhs, _seed_sum(3, w, general, reading), rel))


def latex_general(wrt: str) -> Latex:
    """The corrected general formula for ``dE_N/dW`` (book: :eq:`eq-bptt-general`)::

        dE_N/dW_s = sum_{i=1}^N ∂E_N/∂Y_N ∂Y_N/∂S_N (prod_{k=i+1}^N ∂S_k/∂S_{k-1}) ∂⁺S_i/∂W_s

    ``d`` on the left is the total derivative, ``∂⁺`` the immediate partial,
    and the product runs upward with the latest factor on the left
    (``∂S_N/∂S_{N-1} ... ∂S_{i+1}/∂S_i``).
    """
    _choice(wrt, WRT, "wrt")
    w = _W[wrt].name
    if wrt == "Wy":
        return Latex(f"{_dfrac('E_N', w)} = {_frac('E_N', 'Y_N')} {_frac('Y_N', w)}")
    chain = rf"\left(\prod_{{k=i+1}}^{{N}} {_frac('S_k', 'S_{k-1}')}\right)"
    body = f"{_frac('E_N', 'Y_N')} {_frac('Y_N', 'S_N')} {chain} {_frac('S_i', w, True)}"
    return Latex(rf"{_dfrac('E_N', w)} = \sum_{{i=1}}^{{N}} {body}")


def latex_terms(wrt: str, N: int = 3) -> Latex:
    """``dE_N/dW = term_1 + ... + term_N`` in abstract notation, longest path first.

    One term a line (``aligned``) when there are several.

    The left side is the total derivative (ordinary ``d``); each term is a
    product of one-step partials ``∂`` ending in an immediate partial ``∂⁺``.
    """
    e = expansion(wrt, N, "identity", "identity")
    return Latex(_stacked(e.lhs, [t.latex for t in e.terms]))


def _paren(expr) -> str:
    return rf"\left({sp.latex(expr)}\right)" if expr.is_Add else sp.latex(expr)


def latex_factors(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> Latex:
    """Each distinct factor, ``abstract = concrete``, one per line (``aligned``)."""
    e = expansion(wrt, N, g1, g2)
    rows = [f"{f.latex} &= {sp.latex(f.expr)}" for f in e.factors()]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def latex_expansion(wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity") -> Latex:
    """Every term as its abstract product ``=`` the product of its concrete factors."""
    e = expansion(wrt, N, g1, g2)
    rows = [
        rf"i = {t.i}:\quad {t.latex} &= " + r" \cdot ".join(_paren(f.expr) for f in t.factors)
        for t in e.terms
    ]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")


def latex_concrete(
    wrt: str, N: int = 3, g1: str = "tanh", g2: str = "identity", explicit: bool = False
) -> Latex:
    """The gradient as the sum of concrete terms, with the states it abbreviates.

    ``explicit=False``: terms in ``S_k`` and ``Y_N``, followed by their
    definitions (``S_k = tanh(W_x x_k + W_s S_{k-1})`` for ``g1 = "tanh"``).
    ``explicit=True``: every term in the inputs ``W_x, W_s, W_y, x_k, S_0, d_N`` only.
    """
    if not isinstance(explicit, bool):
        raise ValueError(f"explicit: expected True or False, got {explicit!r}")
    e = expansion(wrt, N, g1, g2)
    body = " + ".join(sp.latex(t.explicit if explicit else t.expr) for t in e.terms)
    rows = [f"{e.lhs} &= {body}"]
    if not explicit:
        rows += [f"{sp.latex(k)} &= {sp.latex(v)}" for k, v in e.model.defs.items()]
    return Latex(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
