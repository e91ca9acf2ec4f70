"""How rnnlib fares with the other core busy: default BLAS threads against one, in one run.

A reader runs a chapter while a browser or another kernel works; `make test` builds the
book beside a test process. On 2 cores, an OpenBLAS call that spreads a few microseconds
of work over two threads must then wait for a core another process holds. This script
times, quiet and beside a busy process (a second Python process spinning on one core):

- chapter 6's training run: the adding task (T = 40, B = 32), H = 16, 200 steps of SGD;
- one forward + BPTT call at (T, B, D, H) = (100, 32, 64, 64) and (200, 64, 256, 256), loss
  at every step (the middle and the large size of ``benchmarks/bptt.py``);

each as rnnlib runs it with the default BLAS threads (it runs calls of 2**24 to 2**26
multiply-adds on one thread: ``rnnlib.engine.blas_threads``), with that rule switched off
(the default threads for every call), and with one thread throughout
(``OPENBLAS_NUM_THREADS=1``); the training run also with the finiteness check rnnlib used
before, a BLAS dot product (OpenBLAS spreads a dot product of more than 10,000 entries over
its threads).

Each variant runs in a fresh Python process of its own, the processes in turns: changing
the thread count inside one process (threadpoolctl) left OpenBLAS's threads in a state
that made the next turns slower, which an earlier version of this script mistook for
contention. Prints milliseconds (the median over the turns of each process's median) and
each variant's ratio to the one-thread time of its condition.

    .venv/bin/python benchmarks/contention.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager

TURNS = 3  # processes per variant and condition
CALLS = {"training": 5, "middle": 20, "large": 5}  # timed calls in each process
CASES = {
    "training": "chapter 6's training run (200 steps)",
    "middle": "forward + BPTT at (T, B, D, H) = (100, 32, 64, 64)",
    "large": "forward + BPTT at (T, B, D, H) = (200, 64, 256, 256)",
}
RULE_OFF = "default threads, no size rule"
VARIANTS = {
    "training": ("default threads", RULE_OFF, "one thread", "default threads, BLAS dot check"),
    "middle": ("default threads", RULE_OFF, "one thread"),
    "large": ("default threads", RULE_OFF, "one thread"),
}


def worker(case: str, variant: str) -> None:
    """Time ``CALLS[case]`` calls of ``case`` (after one untimed call); print their median."""
    import numpy as np

    import rnnlib as rl
    from rnnlib import engine, rnn

    if variant.endswith("BLAS dot check"):

        def dot_all_finite(*arrays) -> bool:
            """The check as it was: one BLAS dot product (a sum of squares) per array."""
            total = 0.0
            for a in arrays:
                v = a.reshape(-1)
                total += float(v.dot(v))
            if np.isfinite(total):
                return True
            return all(bool(np.isfinite(a).all()) for a in arrays)

        engine.all_finite = rnn.all_finite = dot_all_finite
    if variant in (RULE_OFF, "default threads, BLAS dot check"):
        engine.ONE_THREAD_WORK = (0, 0)  # every call with the threads the environment sets
    if case == "training":
        task = rl.tasks.adding(40, batch=32, seed=0)
        p = rl.rnn.init(2, 16, 1, seed=0, scale=3.0)

        def f():
            return rl.train.sgd(rl.rnn, p, task, steps=200, lr=0.05)
    else:
        T, B, H = (100, 32, 64) if case == "middle" else (200, 64, 256)
        rng = np.random.default_rng(0)
        p = rl.rnn.init(H, H, H, seed=0)
        xs, ds = rng.normal(size=(T, B, H)), rng.normal(size=(T, B, H))

        def f():
            return rl.rnn.bptt(p, rl.rnn.forward(p, xs), ds, at="all")

    f()
    ts = []
    for _ in range(CALLS[case]):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    print(json.dumps(float(np.median(ts))))


# glibc returns freed memory to the system unless its thresholds have grown (they grow
# when a process frees a large array); a fresh process of middle-sized calls then takes a
# page fault for every page of every new array, and these faults (about 40 % of the middle
# case's time) hide what the threads change. The workers start with the thresholds grown.
WARM_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**25), "MALLOC_TRIM_THRESHOLD_": str(2**26)}


def run(case: str, variant: str) -> float:
    env = dict(os.environ, **WARM_MALLOC)
    if variant == "one thread":
        env["OPENBLAS_NUM_THREADS"] = "1"
    out = subprocess.run(
        [sys.executable, __file__, "--worker", case, variant],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


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


def timed(case: str) -> dict:
    """Median seconds per call of each variant of ``case``, its processes taken in turns."""
    ts = {v: [] for v in VARIANTS[case]}
    for _ in range(TURNS):
        for v in ts:
            ts[v].append(run(case, v))
    return {v: sorted(x)[len(x) // 2] for v, x in ts.items()}


def main():
    import numpy as np

    print(f"numpy {np.__version__}, CPUs: {os.cpu_count()}; {TURNS} processes per variant")
    for case, name in CASES.items():
        print(name)
        for condition in ("quiet", "beside a busy core"):
            if condition == "quiet":
                t = timed(case)
            else:
                with busy_core():
                    t = timed(case)
            base = t["one thread"]
            for k, secs in t.items():
                print(f"    {condition:<19} {k:<33} {1e3 * secs:9.1f} ms  {secs / base:5.2f} x")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
