"""How fast is rnnlib's BPTT?  Every number a ratio measured within one run.

(1) The table of the performance goals: forward + BPTT with the loss at every
    step (float64, tanh, identity output, squared error) at five sizes
    (T, B, D, H), output size O = D.  Beside rnnlib's time per call:
    - PyTorch CPU ``nn.RNN`` + a linear output + autograd in float64, the
      same computation (``ratio`` = rnnlib / torch), when torch is importable
      (``pip install -r benchmarks/requirements.txt`` in a separate venv);
    - the numpy floor: :func:`numpy_floor`, the same recursion in 40 lines of
      plain numpy with no checks, no per-step terms and no report
      (``floor`` = rnnlib / floor);
    - for the large case, rnnlib's matrix-product rate as a fraction of this
      run's 1024 x 1024 float64 GEMM rate (only matrix-product FLOPs are
      counted, 2 m n k each; tanh and the loss are work the count does not credit),
      and of the one-thread GEMM rate (on a busy machine two BLAS threads
      can be slower than one).
    Goals: <= 0.10 x torch at the textbook sizes (about 60 us a call),
    <= 0.70 x torch at the middle sizes, >= 0.70 of the GEMM rate at the largest.
(1b) At the textbook size: the whole call, the call without its argument
    checks, and the same array operations with nothing around them.
(1c) The middle and large cases' matrix products alone, numpy's BLAS against
    torch's: what the products cost at best, whatever the arrangement.
(2) rnnlib against a literal implementation of the explicit chain-rule sum
    the seed texts write down (O(T^2) work for the loss at the last step).
(3) Scaling of rnnlib forward + BPTT from T = 100 to T = 1000 (linear: ~10x).

Usage: ``python benchmarks/bptt.py [--threads N] [--quick]``.  ``--threads``
sets the BLAS thread count before numpy loads (the default leaves the
environment alone: the default threads).  Times are the median of repeats
taken in turns (rnnlib, torch, floor, GEMM), so all see the same background load,
each turn after a pause that lets the other library's threads go idle (``settle``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__":
    _ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    _ap.add_argument("--quick", action="store_true", help="only the table (1)")
    ARGS = _ap.parse_args()
    if ARGS.threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

import rnnlib as rl  # noqa: E402


def warm_allocator() -> None:
    """Free one 30 MB array, so that glibc keeps freed memory for reuse from here on.

    glibc hands memory back to the system unless its thresholds have grown, and
    they grow when a process frees a large block (up to 32 MB).  Until then, every
    new array of a middle-sized call comes on fresh pages, one page fault each: in
    a fresh process, forward + BPTT at (100, 32, 64, 64) took 8.4 ms, and 5.4 ms
    after this.  torch's first calls grow the thresholds as a side effect, so
    without this the numpy timings would depend on whether torch ran first.
    """
    block = np.ones(30 * 2**20 // 8)
    del block


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
    print("(2) rnnlib forward+BPTT vs the literal explicit sum (one sequence, D=4, H=16, E_T)")
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
    print("(3) scaling of rnnlib forward+BPTT with T (B=32, D=H=O=64, loss at every step)")
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


SIZES = ((10, 1, 3, 8), (50, 1, 3, 16), (100, 32, 64, 64), (100, 32, 128, 128), (200, 64, 256, 256))


def numpy_floor(Wx, Ws, Wy, xs, ds):
    """Forward + full BPTT for ``E = sum_t ||d_t - Y_t||^2``, tanh, in plain numpy.

    ``xs`` (T, N, D), ``ds`` (T, N, O); returns ``dE/dWx, dE/dWs, dE/dWy``.
    The floor for what any numpy implementation of the recursion costs.
    """
    T, N, D = xs.shape
    H = Ws.shape[0]
    A = (xs.reshape(T * N, D) @ Wx.T).reshape(T, N, H)
    S = np.zeros((T + 1, N, H))
    WsT = Ws.T
    for t in range(T):
        A[t] += S[t] @ WsT
        S[t + 1] = np.tanh(A[t])
    Y = S[1:] @ Wy.T
    dZ = 2.0 * (Y - ds)
    e = dZ @ Wy
    D1 = 1.0 - S[1:] ** 2
    delta = np.empty((T, N, H))
    v = e[T - 1]
    for t in range(T, 0, -1):
        delta[t - 1] = v * D1[t - 1]
        v = delta[t - 1] @ Ws
        if t > 1:
            v = v + e[t - 2]
    f, fz = delta.reshape(T * N, H), dZ.reshape(T * N, -1)
    return (
        f.T @ xs.reshape(T * N, D),
        f.T @ S[:-1].reshape(T * N, H),
        fz.T @ S[1:].reshape(T * N, H),
    )


def torch_case(p, xs, ds):
    """A callable running torch's forward + autograd backward for the same problem, or None."""
    try:
        import torch
    except ImportError:
        return None
    T, N, D = xs.shape
    H, O = p.Ws.shape[0], p.Wy.shape[0]
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", bias=False).double()
    out = torch.nn.Linear(H, O, bias=False).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(p.Wx))
        rnn.weight_hh_l0.copy_(torch.from_numpy(p.Ws))
        out.weight.copy_(torch.from_numpy(p.Wy))
    x, d = torch.from_numpy(xs), torch.from_numpy(ds)
    params = [rnn.weight_ih_l0, rnn.weight_hh_l0, out.weight]

    def call():
        for w in params:
            w.grad = None
        h, _ = rnn(x)
        E = ((out(h) - d) ** 2).sum()
        E.backward()
        return [w.grad.numpy() for w in params]

    return call


def gemm_flops(T, B, D, H, O):
    """Matrix-product FLOPs of forward + BPTT (2 m n k per product)."""
    forward = 2 * T * B * (D * H + H * H + H * O)  # input projection, recurrence, output
    backward = 2 * T * B * (O * H + H * H + H * D + H * H + O * H)  # e, recurrence, dWx, dWs, dWy
    return forward + backward


def table():
    import rnnlib as rl

    try:
        import torch

        have_torch = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        have_torch = "torch not importable: ratios to torch skipped (numpy floor only)"
    print("(1) forward + BPTT, loss at every step (float64; us per call, median of repeats)")
    print(f"    {have_torch}")
    cols = ("T", "B", "D", "H", "rnnlib us", "torch us", "ratio", "floor us", "/floor", "max diff")
    print("    {:>4} {:>3} {:>4} {:>4} {:>11} {:>11} {:>6} {:>11} {:>7} {:>9}".format(*cols))
    rng = np.random.default_rng(0)
    N = 1024
    M = rng.normal(size=(N, N))
    gemm = None
    for T, B, D, H in SIZES:
        p = rl.rnn.init(D, H, D, seed=0)
        xs, ds = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, D))
        # a textbook call passes one sequence as (T, D)
        x1, d1 = (xs[:, 0], ds[:, 0]) if B == 1 else (xs, ds)
        fs = {
            "lib": lambda p=p, x1=x1, d1=d1: rl.rnn.bptt(p, rl.rnn.forward(p, x1), d1, at="all"),
            "floor": lambda p=p, xs=xs, ds=ds: numpy_floor(p.Wx, p.Ws, p.Wy, xs, ds),
        }
        tc = torch_case(p, xs, ds)
        if tc is not None:
            fs["torch"] = tc
        large = (T, B, D, H) == SIZES[-1]
        if large:
            fs["gemm"] = lambda: M @ M
            fs["gemm1"] = lambda: one_thread(lambda: M @ M)
        g = fs["lib"]()
        ref = tc() if tc is not None else fs["floor"]()
        diff = max(
            float(np.max(np.abs(getattr(g, n) - r)) / np.max(np.abs(r)))
            for n, r in zip(("Wx", "Ws", "Wy"), ref, strict=True)
        )
        inner = max(1, int(0.02 / max(per_call(fs["lib"]), 1e-6)))
        t = interleaved_calls(fs, repeats=9 if B == 1 else 3, inner=inner)
        lib, floor = t["lib"], t["floor"]
        tt = t.get("torch")
        ratio = f"{lib / tt:6.2f}" if tt else f"{'-':>6}"
        torch_us = f"{1e6 * tt:11.1f}" if tt else f"{'-':>11}"
        print(
            f"    {T:>4} {B:>3} {D:>4} {H:>4} {1e6 * lib:>11.1f} {torch_us} {ratio} "
            f"{1e6 * floor:>11.1f} {lib / floor:>7.2f} {diff:>9.1e}"
        )
        if large:
            gemm = (T, B, D, H, lib, t["gemm"], t["gemm1"], tt, floor)
    T, B, D, H, lib, mm, mm1, tt, floor = gemm
    flops, rate, rate1 = gemm_flops(T, B, D, H, D), 2 * N**3 / mm / 1e9, 2 * N**3 / mm1 / 1e9
    print(
        f"    GEMM {N}^3 float64 in this run: {rate:.1f} GFLOP/s with the default threads "
        f"(the goal's yardstick), {rate1:.1f} GFLOP/s on one thread"
    )
    print(f"    (T, B, D, H) = {(T, B, D, H)}: {flops / 1e9:.2f} GFLOP of matrix products")
    for name, secs in (("rnnlib", lib), ("torch", tt), ("numpy floor", floor)):
        if secs:
            r = flops / secs / 1e9
            print(
                f"      {name:<12} {r:6.1f} GFLOP/s = {r / rate:.2f} of the GEMM rate "
                f"({r / rate1:.2f} of the one-thread rate)"
            )
    print(
        f"    rnnlib leaves the BLAS threads as set: {threads_now()} "
        f"(1-minute load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


def threads_now() -> str:
    """The BLAS libraries numpy loaded and their thread counts, as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "(threadpoolctl not installed)"
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    return ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in blas)


def one_thread(f):
    """``f()`` with BLAS on one thread (threadpoolctl), or as it is without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return f()
    with threadpool_limits(limits=1, user_api="blas"):
        return f()


def per_call(f):
    f()
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


SETTLE = 0.25  # seconds between turns (see settle)


def settle(seconds: float = SETTLE) -> None:
    """Spin this thread for ``seconds`` before a turn, so that the turn runs alone.

    After a call, OpenMP's threads (torch) and OpenBLAS's threads (numpy) keep
    spinning for a while, waiting for more work; on 2 cores they take a core
    from whatever runs next.  Measured in one run on this benchmark's large
    case, torch took 113-122 ms alone and 184-238 ms right after an rnnlib
    call, and a 1024^3 GEMM 10.5-11.5 ms alone and 14.6-19.1 ms right after
    torch; with this pause before every turn, each took its time alone.
    The pause spins rather than sleeps, so that the clock does not drop.
    """
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def interleaved_calls(fs, repeats, inner):
    """Median time per call of each function, ``inner`` calls per repeat, repeats in turns.

    Each turn starts with :func:`settle` (the other library's threads go idle)
    and one untimed call (the function's own threads wake, as they are in
    repeated calls), so that each is timed in its own steady state.
    """
    for f in fs.values():
        f()  # warm up
    ts = {k: [] for k in fs}
    for _ in range(repeats):
        for k, f in fs.items():
            n = 1 if k.startswith("gemm") else inner
            settle()
            f()  # untimed: this library's own threads, caches and clock as in repeated calls
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            ts[k].append((time.perf_counter() - t0) / n)
    return {k: float(np.median(v)) for k, v in ts.items()}


def same_ops(p, xs, ds):
    """rnnlib's own array operations for one sequence ``(T, D)``, tanh, loss at every step,
    with nothing around them: no checks, no Trace or Grads, no finiteness sums.

    One product a step on ``[S_{t-1}; x_t]`` forward; three operations a step backward;
    gives the same bits as ``rl.rnn`` (checked by the caller).
    """
    T, D = xs.shape
    H = p.Ws.shape[0]
    W = np.concatenate([p.Ws, p.Wx], axis=1).T
    U = np.zeros((T + 1, H + D))
    U[:T, H:] = xs
    A = np.empty((T, H))
    for u, a, s in zip(U[:T], A, U[1:, :H], strict=True):
        u.dot(W, a)
        np.tanh(a, s)
    S = np.ascontiguousarray(U[:, :H])
    dZ = S[1:].dot(p.Wy.T) - ds
    dZ *= 2.0
    D1 = np.multiply(S[1:], S[1:])
    np.subtract(1.0, D1, D1)
    e = dZ.dot(p.Wy)
    dS, delta = np.empty((T + 1, H)), np.empty((T, H))
    dS[T] = e[T - 1]
    rows = list(dS)
    ev = [None, *e[:-1]]
    steps = zip(D1[::-1], delta[::-1], rows[:0:-1], rows[-2::-1], ev[::-1], strict=True)
    for g, d, s, s_prev, e_prev in steps:
        np.multiply(s, g, d)
        d.dot(p.Ws, s_prev)
        if e_prev is not None:
            np.add(s_prev, e_prev, s_prev)
    return delta.T.dot(xs), delta.T.dot(S[:-1]), dZ.T.dot(S[1:])


def textbook_split():
    """Where a textbook call's time goes: the whole call, the same without argument checks
    (rnnlib's private ``_forward`` and ``_bptt``), and the bare array operations; each also
    as a ratio to torch when torch is importable."""
    import rnnlib as rl
    from rnnlib.activations import get, output

    print("(1b) the textbook calls, one sequence: where the time goes (us per call; x torch)")
    f1, f2 = get("tanh"), output("identity")
    for T, D, H in ((10, 3, 8), (50, 3, 16)):
        rng = np.random.default_rng(0)
        p = rl.rnn.init(D, H, D, seed=0)
        xs, ds = rng.normal(size=(T, D)), rng.normal(size=(T, D))

        def unchecked(p=p, xs=xs, ds=ds):
            tr, _ = rl.rnn._forward(p, xs, None, f1, f2)
            return rl.rnn._bptt(p, tr, ds, False, None, None, "squared")[0]

        fs = {
            "whole call": lambda p=p, xs=xs, ds=ds: rl.rnn.bptt(
                p, rl.rnn.forward(p, xs), ds, at="all"
            ),
            "without the argument checks": unchecked,
            "the array operations alone": lambda p=p, xs=xs, ds=ds: same_ops(p, xs, ds),
        }
        tc = torch_case(p, xs[:, None], ds[:, None])
        if tc is not None:
            fs["torch"] = tc
        g, bare = fs["whole call"](), same_ops(p, xs, ds)
        pairs = zip(("Wx", "Ws", "Wy"), bare, strict=True)
        same = all(np.array_equal(getattr(g, n), b) for n, b in pairs)
        t = interleaved_calls(fs, repeats=9, inner=max(200, 20000 // T))
        print(f"    (T, B, D, H) = {(T, 1, D, H)}; the operations alone give rnnlib's bits: {same}")
        for name, secs in t.items():
            ratio = f"{secs / t['torch']:6.3f}" if "torch" in t and name != "torch" else ""
            print(f"      {name:<30} {1e6 * secs:8.1f} {ratio}")


def products_alone():
    """The matrix products of the middle and large cases alone, each timed apart.

    Forward + BPTT of any arrangement of this recursion runs these products
    (the recurrence's 2 T per-step products are sequential; the others span all
    steps).  Their summed time at numpy's measured rates is what the products
    alone cost, with the elementwise work (tanh, the loss, g1') free: a bound
    on any numpy arrangement, printed against torch's whole call and, for the
    large case, as a fraction of the GEMM rate.  torch's own BLAS rates for
    the same products are printed beside numpy's.
    """
    print("(1c) the matrix products alone, each timed apart: a bound on any numpy arrangement")
    try:
        import torch
    except ImportError:
        torch = None
    rng = np.random.default_rng(3)
    head = ("product", "(m x k)(k x n)", "count", "numpy GFLOP/s", "torch GFLOP/s")
    for T, B, D, H in SIZES[2:]:
        O, M = D, T * B
        print(f"    (T, B, D, H) = {(T, B, D, H)}")
        print("      {:<18} {:>22} {:>5} {:>14} {:>14}".format(*head))
        products = (  # name, (m, k, n), how many per call
            ("input projection", (M, D, H), 1),
            ("recurrence step", (B, H, H), 2 * T),
            ("output", (M, H, O), 1),
            ("error into states", (M, O, H), 1),
            ("dE/dWx", (H, M, D), 1),
            ("dE/dWs", (H, M, H), 1),
            ("dE/dWy", (O, M, H), 1),
        )
        total = {"numpy": 0.0, "torch": 0.0}
        flops_all = 0
        for name, (m, k, n), count in products:
            # the weight gradients multiply a transposed (T B)-row array, as rnnlib does
            a = rng.normal(size=(k, m)).T if m < k else rng.normal(size=(m, k))
            b, out = rng.normal(size=(k, n)), np.empty((m, n))
            fs = {"numpy": lambda a=a, b=b, out=out: a.dot(b, out)}
            if torch is not None:
                ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                to = torch.empty(m, n, dtype=torch.float64)
                fs["torch"] = lambda ta=ta, tb=tb, to=to: torch.mm(ta, tb, out=to)
            flops = 2 * m * k * n
            t = interleaved_calls(fs, repeats=5, inner=max(1, int(2e8 // flops)))
            rates = {lib: flops / secs / 1e9 for lib, secs in t.items()}
            for lib, secs in t.items():
                total[lib] += count * secs
            flops_all += count * flops
            torch_rate = f"{rates['torch']:14.0f}" if "torch" in rates else f"{'-':>14}"
            shape = f"({m}x{k})({k}x{n})"
            print(f"      {name:<18} {shape:>22} {count:>5} {rates['numpy']:14.0f} {torch_rate}")
        p = rl.rnn.init(D, H, O, seed=0)
        xs, ds = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, O))
        tc = torch_case(p, xs, ds)
        whole = interleaved_calls({"torch": tc}, repeats=3, inner=1)["torch"] if tc else None
        line = f"      the products alone at numpy's rates: {1e3 * total['numpy']:.1f} ms"
        if whole:
            line += (
                f" = {total['numpy'] / whole:.2f} x torch's whole call ({1e3 * whole:.1f} ms); "
                f"at torch's rates: {1e3 * total['torch']:.1f} ms"
            )
        print(line)
        if (T, B, D, H) == SIZES[-1]:
            mm = rng.normal(size=(1024, 1024))
            gemm = interleaved_calls({"gemm": lambda mm=mm: mm @ mm}, repeats=5, inner=1)["gemm"]
            rate, r = 2 * 1024**3 / gemm / 1e9, flops_all / total["numpy"] / 1e9
            print(
                f"      at numpy's rates the products alone run at {r:.1f} GFLOP/s = "
                f"{r / rate:.2f} of this run's GEMM rate ({rate:.1f} GFLOP/s)"
            )


def main():
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"numpy {np.__version__}, BLAS threads: {threads}, CPUs: {os.cpu_count()}, "
        f"1-minute load average {load:.1f}"
    )
    warm_allocator()
    t0 = time.perf_counter()
    quick = (table, textbook_split, products_alone)
    parts = quick if ARGS.quick else (*quick, part_a, part_b)
    for part in parts:
        part()
        sys.stdout.flush()
    print(f"total benchmark time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
