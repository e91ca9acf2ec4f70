"""Time rnnlib.symbolic: expand the chain-rule terms and verify them, for N = 1..10.

"Expand + verify" is what a chapter cell does: build the terms of every gradient
(``expansion`` for Wx, Ws, Wy), differentiate the loss (``gradient``) and evaluate
both against ``rnn.bptt`` and finite differences (``compare``).  Caches are cleared
before each build, so every time is a cold build (best of 3).  The ratio column is t(N) / t(N-1);
the proof ``check_symbolic`` (exponential for tanh, 2^N monomials) is timed separately.

    .venv/bin/python benchmarks/symbolic.py
"""

import time

t0 = time.perf_counter()
from sympy.core.cache import clear_cache  # noqa: E402

from rnnlib import symbolic as sym  # noqa: E402

IMPORT = time.perf_counter() - t0


def _clear():
    for f in (sym._model, sym._expansion, sym._gradient):
        f.cache_clear()
    clear_cache()  # SymPy's own memo of constructed expressions


def expand_and_verify(N, g1="tanh", g2="identity", repeat=3):
    best = float("inf")
    for _ in range(repeat):  # best of a few cold builds: the machine is shared
        _clear()
        t = time.perf_counter()
        c = sym.compare(N, g1, g2, seed=0)
        best = min(best, time.perf_counter() - t)
        assert c.passed, str(c)
    return best


def prove(N, g1="tanh", g2="identity"):
    _clear()
    t = time.perf_counter()
    assert all(sym.check_symbolic(w, N, g1, g2) for w in sym.WRT)
    return time.perf_counter() - t


def main():
    print(f"import rnnlib.symbolic (with sympy): {IMPORT:.2f} s")
    print(f"first call in a fresh process, N = 3: {expand_and_verify(3, repeat=1):.2f} s")
    for g1 in ("tanh", "relu"):
        print(f"\ng1 = {g1}, g2 = identity: expand + verify (compare), proof (check_symbolic)")
        print(f"{'N':>3} {'expand+verify s':>16} {'ratio':>7} {'proof s':>9} {'ratio':>7}")
        prev_v = prev_p = None
        for N in range(1, 11):
            v = expand_and_verify(N, g1)
            p = prove(N, g1) if N <= 8 else float("nan")
            rv = f"{v / prev_v:7.2f}" if prev_v else f"{'':>7}"
            rp = f"{p / prev_p:7.2f}" if prev_p and p == p else f"{'':>7}"
            print(f"{N:>3} {v:>16.3f} {rv} {p:>9.3f} {rp}")
            prev_v, prev_p = v, p
    t10 = expand_and_verify(10)
    t3 = expand_and_verify(3)
    print(f"\nN = 10 / N = 3 (tanh): {t10 / t3:.1f}x  (N = 3: {t3:.3f} s, N = 10: {t10:.3f} s)")


if __name__ == "__main__":
    main()
