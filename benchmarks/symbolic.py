"""Time rnnlib.symbolic: the gradient and the proof, before and after, and a chapter's cell.

Before/after, measured in this run on the same expressions (tanh/identity, wrt W_s):

- gradient: ``sympy.diff`` of the explicit loss (recursive; what ``gradient``
  did before, RecursionError from N = 36) against ``symbolic._diff.diff`` (iterative,
  the same expression);
- proof: expanding ``sum(terms) - gradient`` in full (what ``check_symbolic``
  did before, 2^N monomials) against ``check_symbolic`` (each ``g1'(a_k)``
  held as one symbol, O(N^2) monomials).

Then "expand + verify", what a chapter cell does: build every gradient's terms
and compare them with ``rnn.bptt`` and finite differences (``compare``).
Caches are cleared before each build, so every time is a cold build (best of 3).

    .venv/bin/python benchmarks/symbolic.py
"""

import time

t0 = time.perf_counter()
import sympy as sp  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

from rnnlib import symbolic as sym  # noqa: E402
from rnnlib.symbolic import _diff, scalar  # noqa: E402

IMPORT = time.perf_counter() - t0


def _clear():
    for f in (scalar._model, scalar._expansion, scalar._gradient):
        f.cache_clear()
    clear_cache()  # SymPy's own memo of constructed expressions


def best(f, repeat=3):
    out = float("inf")
    for _ in range(repeat):  # best of a few cold runs: the machine is shared
        _clear()
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def gradient_before_after(N):
    def before():
        E = scalar._model(N, "tanh", "identity").E
        return sp.diff(E, sym.W_s)

    def after():
        E = scalar._model(N, "tanh", "identity").E
        return _diff.diff(E, sym.W_s)

    _clear()
    assert before() == after()
    return best(before), best(after)


def proof_before_after(N):
    def before():
        E = scalar._model(N, "tanh", "identity").E
        assert sp.expand(sp.Add(*sym.terms("Ws", N)) - sp.diff(E, sym.W_s)) == 0

    def after():
        assert sym.check_symbolic("Ws", N)

    return best(before, 1), best(after)


def main():
    print(f"import rnnlib.symbolic (with sympy): {IMPORT:.2f} s;  MAX_N = {scalar.MAX_N}")
    print('\ngradient("Ws", N), tanh/identity: sympy.diff (before) vs iterative (after)')
    print(f"{'N':>3} {'before s':>9} {'after s':>9} {'before/after':>13}")
    for N in (5, 10, 15, 20, scalar.MAX_N):
        b, a = gradient_before_after(N)
        print(f"{N:>3} {b:>9.3f} {a:>9.3f} {b / a:>13.1f}")
    print('\ncheck_symbolic("Ws", N): full expansion (before) vs symbols for g1\' (after)')
    print(f"{'N':>3} {'before s':>9} {'after s':>9} {'before/after':>13}")
    for N in (4, 6, 8, 10):
        b, a = proof_before_after(N)
        print(f"{N:>3} {b:>9.3f} {a:>9.3f} {b / a:>13.1f}")
    for N in (15, 20, scalar.MAX_N):
        print(f"{N:>3} {'(2^N)':>9} {best(lambda: sym.check_symbolic('Ws', N), 1):>9.3f}")  # noqa: B023

    print("\nexpand + verify (compare, every gradient), cold build, best of 3")
    print(f"{'N':>3} {'tanh s':>9} {'ratio':>7} {'relu s':>9} {'ratio':>7}")
    prev = None
    for N in (1, 2, 3, 5, 10, 15, 20, scalar.MAX_N):
        t = [best(lambda g1=g1: sym.compare(N, g1, "identity", seed=0)) for g1 in ("tanh", "relu")]  # noqa: B023
        r = [f"{x / p:7.2f}" for x, p in zip(t, prev, strict=True)] if prev else [f"{'':>7}"] * 2
        print(f"{N:>3} {t[0]:>9.3f} {r[0]} {t[1]:>9.3f} {r[1]}")
        prev = t
    t3 = best(lambda: sym.compare(3))
    tmax = best(lambda: sym.compare(scalar.MAX_N))
    print(f"\nN = {scalar.MAX_N} / N = 3 (tanh): {tmax / t3:.1f}x  (N = 3: {t3:.3f} s)")


if __name__ == "__main__":
    main()
