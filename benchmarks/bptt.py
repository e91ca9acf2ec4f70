"""How fast is rnnlib's BPTT?  Four measurements, all as ratios within one run.

(a) rnnlib forward + BPTT against a literal implementation of the explicit
    chain-rule sum the seed texts write down (every term recomputes its own
    chain of Jacobians: O(T^2) work for the loss at the last step).
(b) Scaling of rnnlib forward + BPTT from T = 100 to T = 1000 (linear: ~10x).
(c) Achieved GFLOP/s of forward + BPTT at T=200, B=64, D=H=O=256, as a
    fraction of this run's float64 matrix-multiply rate, measured (i) with
    the very matmuls of the same shapes the computation issues and (ii) with
    a large square matmul.  Only matrix-product FLOPs are counted (2 m n k
    each); the element-wise work (tanh, its derivative, the loss) is extra
    work the count does not credit.  Goal: >= 0.7 of (i).
(d) Per-call overhead at textbook sizes (T <= 50, B = 1, H <= 16): calls/s.

Usage: ``python benchmarks/bptt.py [--threads N]``.  ``--threads`` sets the
BLAS thread count before numpy loads (the default leaves the environment
alone).  Times are medians of repeats with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__":
    _ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    ARGS = _ap.parse_args()
    if ARGS.threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import rnnlib as rl  # noqa: E402


def median_time(f, repeats=5, inner=1):
    """Median over ``repeats`` of the (wall, CPU) time of ``inner`` calls of ``f``, per call."""
    f()  # warm up (allocations, lazy imports)
    ts = []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(inner):
            f()
        ts.append(((time.perf_counter() - w0) / inner, (time.process_time() - c0) / inner))
    return tuple(np.median(np.array(ts), axis=0))


def interleaved(fs, repeats=3):
    """Median (wall, CPU) time of each function in ``fs`` (name -> callable).

    The repeats are taken in turns, so every function sees the same
    background load.  Wall time is ``time.perf_counter``; CPU time
    (``time.process_time``, all threads of this process) is printed beside
    it because on a shared machine it is the fairer measure of the work done.
    """
    for f in fs.values():
        f()  # warm up
    ts = {k: [] for k in fs}
    for _ in range(repeats):
        for k, f in fs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            f()
            ts[k].append((time.perf_counter() - w0, time.process_time() - c0))
    return {k: tuple(np.median(np.array(v), axis=0)) for k, v in ts.items()}


def literal_bptt(p, xs, d):
    """The seeds' explicit sum for ``E_T = ||d_T - Y_T||^2``, one sequence, tanh/identity.

    ``dE_T/dW = sum_{i=1}^{T} dE_T/dY_T dY_T/dS_T (prod_{j=i+1}^{T} dS_j/dS_{j-1}) d+S_i/dW``,
    each term evaluated on its own, left to right, with every Jacobian
    ``dS_j/dS_{j-1} = diag(1 - S_j^2) Ws`` formed as a matrix.
    """
    T = xs.shape[0]
    S = [np.zeros(p.Ws.shape[0])]
    for t in range(T):
        S.append(np.tanh(p.Wx @ xs[t] + p.Ws @ S[t]))
    Y = p.Wy @ S[T]
    dE_dY = 2.0 * (Y - d)  # dE_T/dY_T
    gWy = np.outer(dE_dY, S[T])  # only the immediate term
    gWs = np.zeros_like(p.Ws)
    gWx = np.zeros_like(p.Wx)
    for i in range(1, T + 1):
        v = dE_dY @ p.Wy  # dE_T/dY_T dY_T/dS_T
        for j in range(T, i, -1):
            J = (1.0 - S[j] ** 2)[:, None] * p.Ws  # dS_j/dS_{j-1}
            v = v @ J
        delta = v * (1.0 - S[i] ** 2)  # through dS_i/da_i into the immediate partial
        gWs += np.outer(delta, S[i - 1])
        gWx += np.outer(delta, xs[i - 1])
    return {"Wx": gWx, "Ws": gWs, "Wy": gWy}


def forward_bptt(p, xs, ds, at):
    return rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at=at)


def part_a():
    print("(a) rnnlib forward+BPTT vs the literal explicit sum (one sequence, D=4, H=16, E_T)")
    head = ("T", "rnnlib ms", "literal ms", "literal/rnnlib", "(CPU time)", "max rel diff")
    print("    {:>5} {:>10} {:>11} {:>15} {:>11} {:>13}".format(*head))
    rng = np.random.default_rng(0)
    p = rl.rnn.init(4, 16, 2, seed=0)
    for T in (10, 50, 200):
        xs, ds = rng.normal(size=(T, 4)), rng.normal(size=(T, 2))
        t_lib = median_time(lambda xs=xs, ds=ds: forward_bptt(p, xs, ds, "last"), 5, inner=20)
        t_lit = median_time(lambda xs=xs, ds=ds: literal_bptt(p, xs, ds[-1]), repeats=3)
        g, lit = forward_bptt(p, xs, ds, "last"), literal_bptt(p, xs, ds[-1])
        err = max(np.max(np.abs(getattr(g, n) - lit[n])) / np.max(np.abs(lit[n])) for n in lit)
        ratio, cpu_ratio = t_lit[0] / t_lib[0], t_lit[1] / t_lib[1]
        row = f"{T:>5} {1e3 * t_lib[0]:>10.3f} {1e3 * t_lit[0]:>11.2f} {ratio:>14.1f}x"
        print(f"    {row} {cpu_ratio:>10.1f}x {err:>13.1e}")


def part_b():
    print("(b) scaling of rnnlib forward+BPTT with T (B=32, D=H=O=64, loss at every step)")
    rng = np.random.default_rng(1)
    p = rl.rnn.init(64, 64, 64, seed=1)
    data = {T: (rng.normal(size=(T, 32, 64)), rng.normal(size=(T, 32, 64))) for T in (100, 1000)}
    times = interleaved(
        {T: (lambda xs=xs, ds=ds: forward_bptt(p, xs, ds, "all")) for T, (xs, ds) in data.items()},
        repeats=5,
    )
    for T in (100, 1000):
        print(f"    T = {T:>4}: {1e3 * times[T][0]:8.2f} ms wall, {1e3 * times[T][1]:8.2f} ms CPU")
    wall, cpu = (times[1000][i] / times[100][i] for i in (0, 1))
    print(f"    T=1000 / T=100 = {wall:.1f}x wall, {cpu:.1f}x CPU   (linear in T: ~10x)")


def part_c():
    T, B, D, H, O = 200, 64, 256, 256, 256
    print(f"(c) throughput at T={T}, B={B}, D=H=O={H} (float64, loss at every step)")
    rng = np.random.default_rng(2)
    p = rl.rnn.init(D, H, O, seed=2)
    xs, ds = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, O))
    # forward: input projection, T recurrent steps, output projection;
    # backward: output error into the state, T recurrent steps, three weight gradients
    fwd = 2 * T * B * (D * H + H * H + H * O)
    flops = fwd + 2 * T * B * (O * H + H * H + H * D + H * H + O * H)
    WsT, WyT, WxT = p.Ws.T, p.Wy.T, p.Wx.T
    X, Sx = xs.reshape(-1, D), rng.normal(size=(T * B, H))
    Zf = rng.normal(size=(T * B, O))
    s = rng.normal(size=(B, H))

    def same_shapes():  # the same matrix products, nothing else
        X @ WxT
        for _ in range(T):
            s @ WsT
        Sx @ WyT
        Zf @ p.Wy
        for _ in range(T):
            s @ p.Ws
        Sx.T @ X
        Sx.T @ Sx
        Zf.T @ Sx

    N = 1024
    M = rng.normal(size=(N, N))
    t = interleaved(
        {"lib": lambda: forward_bptt(p, xs, ds, "all"), "mm": same_shapes, "sq": lambda: M @ M},
        repeats=3,
    )
    print(f"    matmul FLOPs counted: {flops / 1e9:.2f} GFLOP per forward+BPTT")
    line = "    {:<26} {:>9} {:>8} {:>9} {:>8}"
    print(line.format("", "wall ms", "GFLOP/s", "CPU ms", "GFLOP/s"))
    rows = {
        "lib": ("rnnlib forward+BPTT", flops),
        "mm": ("same-shape matmuls alone", flops),
        "sq": (f"square matmul {N}x{N}", 2 * N**3),
    }
    rate = {}
    for key, (name, n) in rows.items():
        wall, cpu = t[key]
        rate[key] = (n / wall / 1e9, n / cpu / 1e9)
        ms = (f"{1e3 * wall:.1f}", f"{rate[key][0]:.2f}", f"{1e3 * cpu:.1f}", f"{rate[key][1]:.2f}")
        print(line.format(name, *ms))
    for key, what in (("mm", "same-shape"), ("sq", "square-matmul")):
        wall, cpu = (rate["lib"][i] / rate[key][i] for i in (0, 1))
        print(f"    fraction of the {what} rate: {wall:.2f} wall, {cpu:.2f} CPU")
    print("    (goal: >= 0.7 of the same-shape rate)")


def part_d():
    print("(d) per-call overhead at textbook sizes (B=1, D=O=1): forward+BPTT calls per second")
    print(
        "    {:>4} {:>4} {:>9} {:>9} {:>12} {:>12}".format(
            "T", "H", "us/call", "calls/s", "CPU us/call", "CPU calls/s"
        )
    )
    rng = np.random.default_rng(3)
    for T in (10, 50):
        for H in (4, 16):
            p = rl.rnn.init(1, H, 1, seed=3)
            xs, ds = rng.normal(size=(T, 1)), rng.normal(size=(T, 1))
            t = median_time(lambda p=p, xs=xs, ds=ds: forward_bptt(p, xs, ds, "all"), 5, 200)
            w, c = t
            print(
                f"    {T:>4} {H:>4} {1e6 * w:>9.1f} {1 / w:>9.0f} {1e6 * c:>12.1f} {1 / c:>12.0f}"
            )


def main():
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__}, BLAS threads: {threads}, CPUs: {os.cpu_count()}")
    t0 = time.perf_counter()
    for part in (part_a, part_b, part_c, part_d):
        part()
        sys.stdout.flush()
    print(f"total benchmark time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
