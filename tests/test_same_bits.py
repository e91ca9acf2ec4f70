"""The fast paths give the same bits as the code the book's text was checked against.

The chapters train chaotic networks, so a changed last bit changes the
printed numbers.  These tests load ``rnnlib`` as it was at
:data:`REFERENCE` (extracted with ``git archive`` into a temporary package)
and compare forward passes, losses, gradients, per-step terms and whole
training runs with ``np.array_equal``, at the sizes the book uses
(H <= 64, B <= 64).
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import tarfile
import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest

import rnnlib as rl

#: The commit whose bits the chapters' text was last checked against.
REFERENCE = "34e3d94"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """``rnnlib`` at :data:`REFERENCE`, imported as the package ``rnnlib_ref``."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the project's git history (a git checkout)")
    have = subprocess.run(["git", "cat-file", "-e", f"{REFERENCE}^{{commit}}"], cwd=ROOT)
    if have.returncode != 0:  # a shallow clone
        pytest.skip(f"needs commit {REFERENCE} in the git history (a full clone)")
    blob = subprocess.run(
        ["git", "archive", "--format=tar", REFERENCE, "rnnlib"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    where = tmp_path_factory.mktemp("ref")
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(where, filter="data")
    (where / "rnnlib").rename(where / "rnnlib_ref")
    sys.path.insert(0, str(where))
    try:
        pkg = importlib.import_module("rnnlib_ref")
    finally:
        sys.path.remove(str(where))
    return pkg


def same(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _pair(lib, D, H, O, bias, seed):
    return lib.rnn.init(D, H, O, seed=seed, scale=1.5, bias=bias)


SIZES = [  # (T, B or None, D, H, O)
    (1, None, 1, 1, 1),
    (3, None, 1, 4, 1),
    (10, None, 3, 8, 3),
    (10, 1, 3, 8, 3),
    (40, 32, 2, 16, 1),
    (50, None, 3, 16, 3),
    (25, 8, 5, 32, 4),
    (20, 64, 64, 64, 64),
    (12, 3, 7, 64, 2),
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("size", SIZES)
def test_forward_and_bptt_same_bits(ref, size, bias):
    T, B, D, H, O = size
    rng = np.random.default_rng(T * 1000 + H)
    lead = (T,) if B is None else (T, B)
    xs, ds = rng.normal(size=lead + (D,)), rng.normal(size=lead + (O,))
    s0 = rng.normal(size=lead[1:] + (H,))
    for lib_kw in ({}, {"s0": s0}, {"g1": "relu", "g2": "sigmoid"}):
        new_p, old_p = _pair(rl, D, H, O, bias, 3), _pair(ref, D, H, O, bias, 3)
        tr, tr0 = rl.rnn.forward(new_p, xs, **lib_kw), ref.rnn.forward(old_p, xs, **lib_kw)
        for name in ("xs", "A", "S", "Z", "Y"):
            assert same(getattr(tr, name), getattr(tr0, name)), name
        for at in ("all", "last"):
            assert rl.rnn.loss(tr, ds, at) == ref.rnn.loss(tr0, ds, at)
            for kw in ({}, {"truncate": 3}, {"clip_step": 0.5}):
                g, g0 = rl.rnn.bptt(new_p, tr, ds, at, **kw), ref.rnn.bptt(old_p, tr0, ds, at, **kw)
                assert g.names == g0.names
                for name in g.names:
                    assert same(getattr(g, name), getattr(g0, name)), (at, kw, name)
                    assert same(g.terms[name], g0.terms[name]), (at, kw, name)
                assert same(g.dS, g0.dS)
                assert same(g.step_norms, g0.step_norms)
                assert same(g.step_clipped, g0.step_clipped)
                assert g.finite == g0.finite and g.clipped == g0.clipped


@pytest.mark.parametrize("B", [None, 16])
def test_softmax_cross_entropy_same_bits(ref, B):
    T, D, H, O = 15, 4, 12, 5
    rng = np.random.default_rng(7)
    lead = (T,) if B is None else (T, B)
    xs, cls = rng.normal(size=lead + (D,)), rng.integers(0, O, size=lead)
    for bias in (False, True):
        p, p0 = _pair(rl, D, H, O, bias, 1), _pair(ref, D, H, O, bias, 1)
        tr, tr0 = rl.rnn.forward(p, xs, g2="softmax"), ref.rnn.forward(p0, xs, g2="softmax")
        assert same(tr.Y, tr0.Y)
        for at in ("all", "last"):
            k = "cross_entropy"
            assert rl.rnn.loss(tr, cls, at, kind=k) == ref.rnn.loss(tr0, cls, at, kind=k)
            g, g0 = rl.rnn.bptt(p, tr, cls, at, kind=k), ref.rnn.bptt(p0, tr0, cls, at, kind=k)
            for name in g.names:
                assert same(getattr(g, name), getattr(g0, name)), (at, name)


def test_overflowing_network_same_bits(ref):
    """A network driven to overflow: the inf and NaN land in the same places."""
    rng = np.random.default_rng(2)
    xs, ds = 1e200 * rng.normal(size=(6, 2, 3)), rng.normal(size=(6, 2, 2))
    p, p0 = rl.rnn.init(3, 5, 2, seed=0, scale=1e200), ref.rnn.init(3, 5, 2, seed=0, scale=1e200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = rl.rnn.bptt(p, rl.rnn.forward(p, xs, g1="relu"), ds, "all")
        g0 = ref.rnn.bptt(p0, ref.rnn.forward(p0, xs, g1="relu"), ds, "all")
    for name in g.names:
        assert same(getattr(g, name), getattr(g0, name)), name
    assert same(g.dS, g0.dS)


@pytest.mark.parametrize(
    "kw",
    [{}, {"clip": "norm", "threshold": 5.0}, {"clip_step": 5.0}, {"truncate": 10},
     {"momentum": 0.9}],
)  # fmt: skip
def test_training_on_the_adding_problem_same_bits(ref, kw):
    """Chapter 6's runs: a chaotic network (scale 3) trained on the adding problem."""
    task, task0 = rl.tasks.adding(40, batch=32, seed=0), ref.tasks.adding(40, batch=32, seed=0)
    p, p0 = rl.rnn.init(2, 16, 1, seed=0, scale=3.0), ref.rnn.init(2, 16, 1, seed=0, scale=3.0)
    h = rl.train.sgd(rl.rnn, p, task, steps=60, lr=0.05, **kw)
    h0 = ref.train.sgd(ref.rnn, p0, task0, steps=60, lr=0.05, **kw)
    for name in ("loss", "grad_norm", "clipped", "update_norm"):
        assert same(getattr(h, name), getattr(h0, name)), name
    assert h.stopped == h0.stopped
    for name in h.params.names:
        assert same(getattr(h.params, name), getattr(h0.params, name)), name


def test_lstm_training_same_bits(ref):
    task, task0 = rl.tasks.adding(20, batch=8, seed=1), ref.tasks.adding(20, batch=8, seed=1)
    p, p0 = rl.lstm.init(2, 8, 1, seed=0), ref.lstm.init(2, 8, 1, seed=0)
    h = rl.train.sgd(rl.lstm, p, task, steps=20, lr=0.1)
    h0 = ref.train.sgd(ref.lstm, p0, task0, steps=20, lr=0.1)
    assert same(h.loss, h0.loss) and same(h.grad_norm, h0.grad_norm)
