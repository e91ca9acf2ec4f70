"""How rnnlib fares with the other core busy: default BLAS threads against one, in one run.

A reader runs a chapter while a browser or another kernel works; `make test` builds the
book beside a test process. On 2 cores, an OpenBLAS call that spreads a few microseconds
of work over two threads must then wait for a core another process holds. This script
times, quiet and beside a busy process (a second Python process spinning on one core):

- chapter 6's training run: the adding task (T = 40, B = 32), H = 16, 200 steps of SGD;
- one forward + BPTT call at (T, B, D, H) = (100, 32, 64, 64) and (200, 64, 256, 256), loss
  at every step (the middle and the large size of ``benchmarks/bptt.py``);

each with the default BLAS threads and with one thread (threadpoolctl), and the training
run also with the finiteness check rnnlib used before, a BLAS dot product (OpenBLAS spreads
a dot product of more than 10,000 entries over its threads). Prints milliseconds (median
of repeats taken in turns) and each variant's ratio to the one-thread time of its condition.

    .venv/bin/python benchmarks/contention.py
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

import rnnlib as rl
from rnnlib import engine, rnn

REPEATS = 5


def dot_all_finite(*arrays) -> bool:
    """The check as it was: one BLAS dot product (a sum of squares) per array."""
    total = 0.0
    for a in arrays:
        v = a.reshape(-1)
        total += float(v.dot(v))
    if math.isfinite(total):
        return True
    return all(bool(np.isfinite(a).all()) for a in arrays)


@contextmanager
def dot_check():
    """rnnlib with the BLAS dot-product check in place of its own."""
    saved = engine.all_finite
    engine.all_finite = rnn.all_finite = dot_all_finite
    try:
        yield
    finally:
        engine.all_finite = rnn.all_finite = saved


@contextmanager
def busy_core():
    """A second process spinning on one core for as long as the block runs."""
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start
        yield
    finally:
        spin.kill()
        spin.wait()


def training():
    task = rl.tasks.adding(40, batch=32, seed=0)
    p = rl.rnn.init(2, 16, 1, seed=0, scale=3.0)
    return lambda: rl.train.sgd(rl.rnn, p, task, steps=200, lr=0.05)


def one_call(T, B, H):
    rng = np.random.default_rng(0)
    p = rl.rnn.init(H, H, H, seed=0)
    xs, ds = rng.normal(size=(T, B, H)), rng.normal(size=(T, B, H))
    return lambda: rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="all")


def variants(f, with_dot: bool):
    def one_thread():
        with threadpool_limits(limits=1, user_api="blas"):
            f()

    def dot():
        with dot_check():
            f()

    out = {"default threads": f, "one thread": one_thread}
    if with_dot:
        out["default threads, BLAS dot check"] = dot
    return out


def timed(fs: dict) -> dict:
    """Median seconds of each function, the repeats taken in turns."""
    for f in fs.values():
        f()
    ts = {k: [] for k in fs}
    for _ in range(REPEATS):
        for k, f in fs.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in ts.items()}


def main():
    print(f"numpy {np.__version__}, CPUs: {os.cpu_count()}, median of {REPEATS} repeats")
    cases = [("chapter 6's training run (200 steps)", training(), True)]
    for T, B, H in ((100, 32, 64), (200, 64, 256)):
        cases.append((f"forward + BPTT at (T, B, D, H) = {(T, B, H, H)}", one_call(T, B, H), False))
    for name, f, with_dot in cases:
        print(name)
        for condition in ("quiet", "beside a busy core"):
            if condition == "quiet":
                t = timed(variants(f, with_dot))
            else:
                with busy_core():
                    t = timed(variants(f, with_dot))
            base = t["one thread"]
            for k, secs in t.items():
                print(f"    {condition:<19} {k:<32} {1e3 * secs:9.1f} ms  {secs / base:5.2f} x")


if __name__ == "__main__":
    main()
