"""rnnlib.train: sgd learning, clean stops on overflow, clipping of the updates; clipping_runs."""

import dataclasses

import numpy as np
import pytest

import rnnlib as rl
from rnnlib.train import clipping_runs, sgd


def finite_params(p):
    return all(np.all(np.isfinite(getattr(p, n))) for n in p.names)


def test_loss_decreases_on_sine():
    p0 = rl.rnn.init(1, 16, 1, seed=0)
    h = sgd(rl.rnn, p0, rl.tasks.sine(30, batch=16), steps=150, lr=0.1)
    assert h.stopped is None
    assert h.loss.shape == h.grad_norm.shape == h.clipped.shape == h.update_norm.shape == (150,)
    assert h.loss[-1] < 0.1 * h.loss[0]
    assert not h.clipped.any()
    # the caller's parameters are untouched
    np.testing.assert_array_equal(p0.Ws, rl.rnn.init(1, 16, 1, seed=0).Ws)
    assert not np.array_equal(h.params.Ws, p0.Ws)


def test_momentum_and_truncation_run_and_learn():
    p0 = rl.rnn.init(1, 16, 1, seed=0)
    task = rl.tasks.sine(30, batch=16)
    h = sgd(rl.rnn, p0, task, steps=100, lr=0.05, momentum=0.9, truncate=5)
    assert h.stopped is None and h.loss[-1] < 0.2 * h.loss[0]
    plain = sgd(rl.rnn, p0, task, steps=3, lr=0.05)
    trunc = sgd(rl.rnn, p0, task, steps=3, lr=0.05, truncate=1)
    assert plain.grad_norm[0] != trunc.grad_norm[0]


@pytest.mark.parametrize("g1", ["identity", "relu"])
def test_exploding_configuration_stops_with_message_and_finite_params(g1):
    p0 = rl.rnn.init(1, 8, 1, seed=0, scale=3.0)
    with np.errstate(all="raise"):  # overflow must be handled, never warned about
        h = sgd(rl.rnn, p0, rl.tasks.sine(60, batch=8), steps=50, lr=0.5, g1=g1)
    assert h.stopped is not None and "non-finite" in h.stopped
    assert len(h.loss) < 50
    assert finite_params(h.params)
    assert np.all(np.isfinite(h.loss))


def test_norm_clipping_bounds_update_norms():
    p0 = rl.rnn.init(1, 8, 1, seed=0, scale=1.5)
    task = rl.tasks.sine(30, batch=8)
    lr, theta = 0.2, 0.05
    h = sgd(rl.rnn, p0, task, steps=40, lr=lr, clip="norm", threshold=theta)
    assert h.stopped is None and h.clipped.any()
    assert np.all(h.update_norm <= lr * theta * (1 + 1e-12))
    assert np.all(h.grad_norm[h.clipped] > theta)  # recorded before clipping
    free = sgd(rl.rnn, p0, task, steps=40, lr=lr)
    assert free.update_norm.max() > lr * theta


def test_value_clipping_bounds_update_entries():
    p0 = rl.rnn.init(1, 4, 1, seed=0, scale=1.5)
    lr, theta = 0.2, 0.01
    h = sgd(rl.rnn, p0, rl.tasks.sine(20, batch=4), steps=1, lr=lr, clip="value", threshold=theta)
    assert h.clipped[0]
    for n in p0.names:
        assert np.all(np.abs(getattr(h.params, n) - getattr(p0, n)) <= lr * theta * (1 + 1e-12))


def test_clip_step_is_reported():
    p0 = rl.rnn.init(2, 8, 1, seed=0, scale=1.5)
    h = sgd(rl.rnn, p0, rl.tasks.recall(20, batch=8), steps=5, lr=0.1, clip_step=1e-3)
    assert h.clipped.all()


def test_lstm_trains_too():
    lstm = pytest.importorskip("rnnlib.lstm")
    p0 = lstm.init(1, 8, 1, seed=0)
    h = sgd(lstm, p0, rl.tasks.sine(20, batch=8), steps=60, lr=0.3)
    assert h.stopped is None and h.loss[-1] < 0.5 * h.loss[0]
    assert finite_params(h.params)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps"),
        ({"lr": 0.0}, "lr"),
        ({"lr": np.nan}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"clip": "max"}, "clip"),
        ({"clip": "norm"}, "threshold"),
        ({"clip": "value", "threshold": -1.0}, "threshold"),
        ({"truncate": 0}, "truncate"),
        ({"clip_step": 0.0}, "clip_step"),
        ({"g1": "softsign"}, "g1"),
        ({"momentum": "0.5"}, "momentum"),
        ({"momentum": True}, "momentum"),
        ({"momentum": np.nan}, "momentum"),
        ({"momentum": np.array([0.5, 0.5])}, "momentum"),
        ({"clip": np.array(["norm"])}, "clip"),
        ({"steps": 2.0}, "steps"),
        ({"model": None}, "model"),
        ({"model": "rnn"}, "model"),
        ({"model": rl.lstm}, "params"),
        ({"params": {"Wx": np.zeros((4, 1))}}, "params"),
        ({"task": {"xs": np.zeros((5, 2, 1))}}, "task"),
        ({"task": None}, "task"),
    ],
)
def test_bad_input_names_argument(kwargs, match):
    args = dict(model=rl.rnn, params=rl.rnn.init(1, 4, 1, seed=0), task=rl.tasks.sine(5, batch=2))
    args |= {"steps": 2} | kwargs
    with pytest.raises(ValueError, match=rf"^{match}:"):
        sgd(**args)


@pytest.mark.parametrize("momentum", [np.float32(0.5), np.float64(0.5), np.array(0.5), 0])
def test_numpy_scalars_are_real_numbers(momentum):
    p0 = rl.rnn.init(1, 4, 1, seed=0)
    task = rl.tasks.sine(5, batch=2)
    h = sgd(rl.rnn, p0, task, steps=3, lr=0.05, momentum=momentum)
    ref = sgd(rl.rnn, p0, task, steps=3, lr=0.05, momentum=float(momentum))
    np.testing.assert_array_equal(h.loss, ref.loss)


@pytest.mark.filterwarnings("error")
def test_a_diverging_run_stops_without_warnings():
    """sgd reports overflow in History.stopped rather than warning at every pass."""
    p0 = rl.rnn.init(1, 4, 1, seed=0, scale=30.0)
    h = sgd(rl.rnn, p0, rl.tasks.sine(200, batch=2), steps=5, lr=0.1, g1="identity")
    assert h.stopped is not None and "non-finite" in h.stopped


# -- clipping_runs: the clipping explorer's scenario ----------------------------------------


def runs_direct(scale, method, threshold):
    """The clipping explorer's computation as it was inside rnnlib.widgets, written out."""

    def setup():
        task = rl.tasks.adding(15, batch=4, seed=0)
        p = rl.rnn.init(task.xs.shape[-1], 8, 1, seed=0)
        p.Ws = p.Ws * (scale / np.linalg.norm(p.Ws, 2))
        return p, task

    kw = (
        {"clip_step": threshold}
        if method == "per-step"
        else {"clip": method, "threshold": threshold}
    )
    free = sgd(rl.rnn, *setup(), steps=20, lr=0.3)
    clip = sgd(rl.rnn, *setup(), steps=20, lr=0.3, **kw)
    p, task = setup()
    tr = rl.rnn.forward(p, task.xs)
    n = task.xs.shape[1]
    g = rl.rnn.bptt(p, tr, task.ds, at=task.at)
    before = {k: getattr(g, k) / n for k in p.names}
    if method == "norm":
        after, _ = rl.clipping.clip_by_norm(before, threshold)
    elif method == "value":
        after, _ = rl.clipping.clip_by_value(before, threshold)
    else:
        gs = rl.rnn.bptt(p, tr, task.ds, at=task.at, clip_step=threshold)
        after = {k: getattr(gs, k) / n for k in p.names}
    flat = [np.concatenate([d[k].ravel() for k in p.names]) for d in (before, after)]
    return free, clip, flat[0], flat[1]


@pytest.mark.parametrize(
    ("scale", "method", "threshold"),
    [(2.0, "norm", 1.0), (3.0, "value", 0.01), (0.5, "per-step", 0.1), (2.75, "norm", 100.0)],
)
def test_clipping_runs_equal_direct_computation(scale, method, threshold):
    r = clipping_runs(scale, method, threshold)
    free, clip, before, after = runs_direct(scale, method, threshold)
    np.testing.assert_array_equal(r.before, before)
    np.testing.assert_array_equal(r.after, after)
    for got, want in ((r.free, free), (r.clip, clip)):
        for name in ("loss", "grad_norm", "clipped", "update_norm"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
        assert got.stopped == want.stopped
    nb, na = np.linalg.norm(before), np.linalg.norm(after)
    e1 = before / nb
    along = after @ e1
    assert (r.norm_before, r.norm_after, r.along) == (nb, na, along)
    assert r.ortho == np.linalg.norm(after - along * e1)
    assert r.cos == along / na


def test_clipping_runs_follow_the_definitions():
    nb = np.linalg.norm(clipping_runs(2.0, "norm", 1e3).before)
    theta = nb / 10
    r = clipping_runs(2.0, "norm", theta)
    assert np.linalg.norm(r.after) == pytest.approx(theta, rel=1e-12)
    np.testing.assert_allclose(r.after, r.before * (theta / nb), rtol=1e-12)  # direction kept
    assert r.cos == pytest.approx(1.0, rel=1e-12) and r.ortho == pytest.approx(
        0.0, abs=1e-12 * theta
    )
    assert r.along == pytest.approx(theta, rel=1e-12)
    v = clipping_runs(2.0, "value", 1e-3)
    assert np.max(np.abs(v.after)) <= 1e-3
    assert v.cos < 1.0 and v.ortho > 0.0  # clipping by value turns the gradient
    assert v.along**2 + v.ortho**2 == pytest.approx(v.norm_after**2, rel=1e-12)
    np.testing.assert_array_equal(v.before, r.before)  # the same initial weights
    for x in (r, v):  # the unclipped run depends on the scale alone
        np.testing.assert_array_equal(x.free.loss, clipping_runs(2.0, "per-step", 5.0).free.loss)
    assert r.clip.clipped[0] and not r.free.clipped.any()


def test_clipping_runs_are_cached_and_read_only():
    r = clipping_runs(2.0, "norm", 0.5)
    assert clipping_runs(2.0, "norm", 0.5) is r
    assert clipping_runs(2, method="norm", threshold=0.5, H=8, T=15, batch=4, steps=20) is r
    arrays = [r.before, r.after] + [
        getattr(h, n)
        for h in (r.free, r.clip)
        for n in ("loss", "grad_norm", "clipped", "update_norm")
    ]
    for a in arrays:
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0
    for obj, name in ((r, "free"), (r.free, "loss"), (r.clip, "stopped")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, None)
    assert not hasattr(r.free, "params")  # no mutable parameters inside a cached result


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": 0.0}, "scale"),
        ({"method": "max"}, "method"),
        ({"method": None}, "method"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": np.inf}, "threshold"),
        ({"T": 1}, "T"),
        ({"batch": 0}, "batch"),
        ({"steps": 0}, "steps"),
        ({"lr": -0.1}, "lr"),
        ({"seed": -1}, "seed"),
        ({"H": 0}, "H"),
    ],
)
def test_clipping_runs_bad_input_names_argument(kwargs, match):
    args = {"scale": 2.0, "method": "norm", "threshold": 1.0} | kwargs
    with pytest.raises(ValueError, match=rf"^{match}:"):
        clipping_runs(**args)


def test_r_squared_perfect_mean_and_bad_input():
    d = np.array([0.1, -0.5, 0.7, 0.2])
    assert rl.train.r_squared(d, d) == 1.0
    assert rl.train.r_squared(np.full_like(d, d.mean()), d) == pytest.approx(0.0, abs=1e-15)
    assert rl.train.r_squared(-d, d) < 0
    with pytest.raises(ValueError, match="d: expected targets that vary"):
        rl.train.r_squared(d, np.ones(4))
    with pytest.raises(ValueError, match="Y"):
        rl.train.r_squared(d[:3], d)


def test_recall_r2_learns_a_short_lag_and_is_seeded():
    p0 = rl.rnn.init(2, 8, 1, seed=0)
    a = rl.train.recall_r2(rl.rnn, p0, lag=2, seed=0, steps=150)
    assert a > 0.9
    assert rl.train.recall_r2(rl.rnn, p0, lag=2, seed=0, steps=150) == a
    assert rl.train.recall_r2(rl.rnn, p0, lag=2, seed=1, steps=150) != a
    # untrained: about as good as predicting the mean, far from perfect
    assert rl.train.recall_r2(rl.rnn, p0, lag=2, seed=0, steps=1) < 0.5


def test_recall_spread_shapes_statistics_and_consistency():
    contestants = {
        "small": (rl.rnn, {"scale": 0.5}),
        "lstm": (rl.lstm, {"forget_bias": 3.0}),
    }
    res = rl.train.recall_spread(contestants, lags=[2, 3], seeds=[0, 1, 2], steps=20)
    assert res.names == ("small", "lstm")
    assert res.r2.shape == (2, 2, 3)
    np.testing.assert_allclose(res.mean, res.r2.mean(axis=-1))
    np.testing.assert_allclose(res.std, res.r2.std(axis=-1, ddof=1))
    assert np.all(res.low <= res.mean) and np.all(res.mean <= res.high)
    np.testing.assert_array_equal(res.learned(-1e9), np.ones((2, 2)))
    assert np.all((res.learned(0.8) >= 0) & (res.learned(0.8) <= 1))
    # each entry is the single run it claims to be
    p1 = rl.lstm.init(2, 8, 1, seed=1, forget_bias=3.0)
    assert res.r2[1, 1, 1] == rl.train.recall_r2(rl.lstm, p1, 3, seed=1, steps=20)
    one = rl.train.recall_spread(contestants, lags=3, seeds=1, steps=20)
    np.testing.assert_array_equal(one.std, 0.0)
    assert one.r2[1, 0, 0] == res.r2[1, 1, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"contestants": {}}, "contestants"),
        ({"contestants": {"a": rl.rnn}}, "contestants\\['a'\\]"),
        ({"lags": [0]}, "lags"),
        ({"seeds": [-1]}, "seeds"),
        ({"H": 0}, "H"),
    ],
)
def test_recall_spread_bad_input(kwargs, match):
    args = {"contestants": {"a": (rl.rnn, {})}, "lags": [2], "seeds": [0], "steps": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        rl.train.recall_spread(**args)
