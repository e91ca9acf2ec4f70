"""rnnlib.train.sgd: learning, clean stops on overflow, clipping of the updates."""

import numpy as np
import pytest

import rnnlib as rl
from rnnlib.train import sgd


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
    ],
)
def test_bad_input_names_argument(kwargs, match):
    p0 = rl.rnn.init(1, 4, 1, seed=0)
    with pytest.raises(ValueError, match=rf"^{match}:"):
        sgd(rl.rnn, p0, rl.tasks.sine(5, batch=2), steps=kwargs.pop("steps", 2), **kwargs)
