"""What the fast paths of rnnlib.rnn and rnnlib.engine promise: the same numbers as the
general engine, finiteness checks that never miss, and the same bits on any BLAS thread count."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from rnnlib import engine, rnn, tasks, train


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


LOW, HIGH = 2**24, 2**26  # the range on 2 cores, set here whatever this machine has


@pytest.fixture(autouse=True)
def two_core_range(monkeypatch):
    monkeypatch.setattr(engine, "ONE_THREAD_WORK", (LOW, HIGH))


@pytest.mark.parametrize(
    "arrays, finite",
    [
        ([np.ones(3)], True),
        ([np.full(4, 1e308), np.full(2, -1e308)], True),  # the sums overflow, the entries do not
        ([np.ones(3), np.array([1.0, np.nan])], False),
        ([np.array([[np.inf, 0.0]])], False),
        ([np.array([np.inf, -np.inf])], False),  # inf - inf: a NaN sum
        ([np.zeros((0, 3))], True),
    ],
)
def test_all_finite_agrees_with_isfinite(arrays, finite):
    with np.errstate(over="ignore", invalid="ignore"):
        assert engine.all_finite(*arrays) is finite
    assert finite == all(np.isfinite(a).all() for a in arrays)


def test_one_thread_or_two_give_the_same_bits():
    rng = np.random.default_rng(2)
    p = rnn.init(8, 256, 4, seed=2)  # 64 * 256 * 256 a step: OpenBLAS would use every thread
    xs, ds = rng.normal(size=(16, 64, 8)), rng.normal(size=(16, 64, 4))
    assert engine.blas_work(16, 64, p) >= HIGH  # above the one-thread range: as the caller sets
    runs = []
    for threads in (2, 1):  # two even where the environment sets one (make test does)
        with threadpool_limits(limits=threads, user_api="blas"):
            before = blas_threads()
            tr = rnn.forward(p, xs)
            runs.append((tr, rnn.bptt(p, tr, ds, "all")))
            assert blas_threads() == before  # rnnlib leaves the thread count alone
    (tr, g), (tr2, g2) = runs
    np.testing.assert_array_equal(tr.S, tr2.S)
    for n in (*p.names, "dS"):
        np.testing.assert_array_equal(getattr(g, n), getattr(g2, n))


@pytest.mark.parametrize("work, inside", [(LOW - 1, 2), (LOW, 1), (HIGH - 1, 1), (HIGH, 2)])
def test_blas_threads_limits_mid_sizes_only(work, inside):
    with threadpool_limits(limits=2, user_api="blas"):
        with engine.blas_threads(work):
            assert set(blas_threads()) == {inside}
            with engine.blas_threads(LOW):  # nested: still one thread, restored once
                assert set(blas_threads()) <= {1, inside}
            assert set(blas_threads()) == {inside}
        assert set(blas_threads()) == {2}


def test_blas_threads_restores_after_an_error():
    with threadpool_limits(limits=2, user_api="blas"):
        with pytest.raises(ZeroDivisionError), engine.blas_threads(LOW):
            raise ZeroDivisionError
        assert set(blas_threads()) == {2}


def test_the_one_thread_range_applies_on_two_cores_only():
    assert engine.one_thread_range(1) == engine.one_thread_range(2) == (LOW, HIGH)
    assert engine.one_thread_range(4) == (0, 0)  # not measured there: the environment decides


def test_blas_work_counts_the_forward_products():
    p = rnn.init(3, 16, 2, seed=0, bias=True)  # the biases add no products
    assert engine.blas_work(40, 32, p) == 40 * 32 * 16 * (3 + 16 + 2)


def seen_threads(monkeypatch):
    """Record the BLAS thread count inside every rnn._forward and rnn._bptt."""
    seen = []
    for name in ("_forward", "_bptt"):
        original = getattr(rnn, name)

        def spy(*args, original=original):
            seen.append(tuple(blas_threads()))
            return original(*args)

        monkeypatch.setattr(rnn, name, spy)
    return seen


@pytest.mark.parametrize("B, H, inside", [(1, 8, 2), (32, 64, 1)])
def test_rnn_runs_mid_sizes_on_one_thread(monkeypatch, B, H, inside):
    seen = seen_threads(monkeypatch)
    rng = np.random.default_rng(0)
    p = rnn.init(H, H, H, seed=0)
    xs, ds = rng.normal(size=(100, B, H)), rng.normal(size=(100, B, H))
    with threadpool_limits(limits=2, user_api="blas"):
        rnn.bptt(p, rnn.forward(p, xs), ds, "all")
        assert set(blas_threads()) == {2}
    assert seen == [(inside,)] * 2


@pytest.mark.parametrize(
    "T, B, H, inside",
    [(40, 32, 16, 1), (100, 64, 64, 1), (4, 64, 512, 2)],  # chapter 6's size, mid, large
)
def test_training_runs_on_one_thread_unless_large(monkeypatch, T, B, H, inside):
    seen = seen_threads(monkeypatch)
    task = tasks.adding(T, batch=B, seed=0)
    p = rnn.init(2, H, 1, seed=0)
    assert (engine.blas_work(T, B, p) >= HIGH) == (inside == 2)
    with threadpool_limits(limits=2, user_api="blas"):
        train.sgd(rnn, p, task, steps=1)
        assert set(blas_threads()) == {2}
    assert seen == [(inside,)] * 2


def test_sequence_training_runs_on_one_thread(monkeypatch):
    from rnnlib import sequences

    seen = seen_threads(monkeypatch)
    data = tasks.reber(8, seed=0)
    with threadpool_limits(limits=2, user_api="blas"):
        sequences.train("rnn", data, n_hidden=4, steps=2, eval_every=1)
        assert set(blas_threads()) == {2}
    assert seen and set(seen) == {(1,)}


@pytest.mark.parametrize("at", ["last", "all"])
@pytest.mark.parametrize("B, H", [(None, 3), (2, 4), (64, 40)])  # 64 * 40 * 43 >= SMALL_STEP
def test_full_bptt_loop_equals_the_engine_to_the_bit(at, B, H):
    rng = np.random.default_rng(H)
    batch = () if B is None else (B,)
    p = rnn.init(3, H, 2, seed=H, bias=True)
    xs, ds = rng.normal(size=(6,) + batch + (3,)), rng.normal(size=(6,) + batch + (2,))
    tr = rnn.forward(p, xs)
    fast = rnn.bptt(p, tr, ds, at)
    slow = rnn.bptt(p, tr, ds, at, truncate=6, clip_step=1e300)  # the engine, changing nothing
    for n in (*p.names, "dS"):
        np.testing.assert_array_equal(getattr(fast, n), getattr(slow, n), err_msg=n)
    np.testing.assert_allclose(fast.step_norms, slow.step_norms, rtol=1e-15)
    np.testing.assert_allclose(fast.step_norms, np.linalg.norm(fast.dS[1:], axis=-1), rtol=1e-15)
    assert fast.step_norms.shape == slow.step_clipped.shape == fast.step_clipped.shape
    assert not fast.clipped


def test_engine_norms_without_clipping_are_those_of_ds():
    rng = np.random.default_rng(1)
    M = rng.normal(0, 0.7, (5, 3, 3))
    e = rng.normal(size=(5, 2, 3))
    for truncate in (None, 2, 5):
        b = engine.backward(e, lambda t, v: v @ M[t - 1], truncate=truncate)
        np.testing.assert_allclose(b.norms, np.linalg.norm(b.dS[1:], axis=-1), rtol=1e-15)
        assert not b.clipped.any()


def test_overflow_is_still_reported_once():
    p = rnn.Params(Wx=[[1e200]], Ws=[[1e200]], Wy=[[1e200]])
    with pytest.warns(engine.NonFiniteWarning, match="forward"):
        tr = rnn.forward(p, [[1.0], [1.0]], g1="identity")
    with pytest.warns(engine.NonFiniteWarning, match="bptt"):
        g = rnn.bptt(p, tr, [[0.0], [0.0]], "all")
    assert not g.finite
