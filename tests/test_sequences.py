"""rnnlib.sequences: the masked padded batch against exact per-length batches; scores; training."""

import numpy as np
import pytest

from rnnlib import sequences as sq
from rnnlib import tasks

MODELS = sorted(sq.MODELS)


def test_cross_entropy_error_is_softmax_minus_onehot():
    for seed in range(3):
        analytic, numeric = sq.cross_entropy_check(O=7, seed=seed)
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-8)
        assert analytic.sum() == pytest.approx(0.0, abs=1e-12)  # the rows of Y and onehot sum to 1
        assert np.sum(analytic < 0) == 1  # only the target class is pushed up


@pytest.mark.parametrize("model", MODELS)
def test_padded_batch_gives_the_exact_gradient_of_the_strings(model):
    data = tasks.reber(30, seed=2)
    m = sq.MODELS[model]
    p = sq.init(model, 5, seed=1)
    xs, ds, _, mask = data.padded()
    E, g = sq.loss_and_grads(model, p, xs, ds, mask)
    # reference: one unpadded batch per length, class indices, summed
    E_ref, g_ref = 0.0, {n: 0.0 for n in p.names}
    for _, gx, gd, _ in data.groups():
        tr = m.forward(p, gx, g2="softmax")
        E_ref += m.loss(tr, gd, at="all", kind="cross_entropy")
        full = m.bptt(p, tr, gd, at="all", kind="cross_entropy")
        for n in p.names:
            g_ref[n] = g_ref[n] + getattr(full, n)
    assert E == pytest.approx(E_ref / 30, rel=1e-12)
    assert set(g) == set(p.names)
    for n in p.names:
        np.testing.assert_allclose(g[n], g_ref[n] / 30, rtol=0, atol=1e-12)
        assert np.abs(g[n]).max() > 1e-4


@pytest.mark.parametrize("model", MODELS)
def test_evaluate_agrees_with_string_by_string_scoring(model):
    data = tasks.reber(40, seed=3)
    p = sq.train(model, data, n_hidden=6, steps=15, seed=0).params
    s = sq.evaluate(model, p, data)
    m = sq.MODELS[model]
    ok, long_ok = [], []
    for string, x, d, v in zip(data.strings, data.xs, data.ds, data.valid, strict=True):
        Y = m.forward(p, x, g2="softmax").Y
        ok.append(tasks.reber_correct(Y, v))
        long_ok.append(Y[-2].argmax() == d[-2] == "BTSXPVE".index(string[1]))
    np.testing.assert_array_equal(s.string_correct, ok)
    np.testing.assert_array_equal(s.long_ok, long_ok)
    assert s.correct == pytest.approx(np.mean(ok)) and s.long_range == pytest.approx(
        np.mean(long_ok)
    )
    np.testing.assert_array_equal(s.lag, [len(x) - 3 for x in data.strings])
    assert 0.0 <= s.correct <= s.steps <= 1.0


def test_by_lag_bins():
    data = tasks.reber(100, seed=4)
    s = sq.evaluate("rnn", sq.init("rnn", 4), data)
    labels, acc, count = sq.by_lag(s, edges=(6, 9, 12))
    assert labels == ["6-8", "9-11", "12+"]
    assert count.sum() == 100 and count[0] == np.sum(s.lag < 9)  # every lag is >= 6
    np.testing.assert_allclose(acc[2], np.mean(s.long_ok[s.lag >= 12]))
    _, acc, count = sq.by_lag(s, edges=(6, 100))
    assert count[1] == 0 and np.isnan(acc[1])


def test_training_learns_and_is_reproducible():
    data, test = tasks.reber(48, seed=0), tasks.reber(60, seed=1)
    r = sq.train("gru", data, test, n_hidden=8, steps=40, eval_every=20, seed=0)
    assert r.loss.shape == r.grad_norm.shape == r.grad_max.shape == r.clipped.shape == (40,)
    np.testing.assert_array_equal(r.at, [0, 20, 40])
    assert r.loss[-1] < 0.5 * r.loss[0]
    assert r.correct[0] == 0.0 and r.correct[-1] > 0.2  # the untrained net gets no string right
    again = sq.train("gru", data, test, n_hidden=8, steps=40, eval_every=20, seed=0)
    np.testing.assert_array_equal(r.loss, again.loss)
    other = sq.train("gru", data, test, n_hidden=8, steps=40, eval_every=20, seed=1)
    assert not np.array_equal(r.loss, other.loss)


def test_clipping_modes():
    data = tasks.reber(32, seed=5)
    kw = dict(n_hidden=6, steps=12, seed=2)
    free = sq.train("rnn", data, **kw)
    assert not free.clipped.any()
    loose = sq.train("rnn", data, clip="value", threshold=1e6, **kw)
    np.testing.assert_array_equal(loose.loss, free.loss)  # nothing to clip: the same run
    tight = sq.train("rnn", data, clip="norm", threshold=1e-3, **kw)
    assert tight.clipped.all()
    value = sq.train("rnn", data, clip="value", threshold=1e-3, **kw)
    assert value.clipped.all()
    np.testing.assert_array_equal(value.grad_norm[0], free.grad_norm[0])  # recorded before clipping
    assert not np.array_equal(tight.loss, free.loss)


def test_learning_curves_shapes():
    c = sq.learning_curves(("rnn", "gru"), seeds=(0, 3), n_train=20, n_test=30,
                           n_hidden=4, steps=6, eval_every=3)  # fmt: skip
    assert list(c) == ["rnn", "gru"]
    for model, curves in c.items():
        assert curves.model == model and curves.seeds == (0, 3)
        np.testing.assert_array_equal(curves.at, [0, 3, 6])
        assert curves.correct.shape == curves.long_range.shape == (2, 3)
        assert curves.loss.shape == (2, 6) and len(curves.params) == len(curves.runs) == 2
        np.testing.assert_array_equal(curves.final, curves.correct[:, -1])
        np.testing.assert_array_equal(curves.final_long_range, curves.long_range[:, -1])
    one = sq.train("gru", tasks.reber(20, seed=0), tasks.reber(30, seed=1), n_hidden=4, steps=6,
                   eval_every=3, seed=3)  # fmt: skip
    np.testing.assert_array_equal(c["gru"].correct[1], one.correct)
    np.testing.assert_array_equal(c["gru"].params[1].Wr, one.params.Wr)


def _padded():
    return tasks.reber(4, seed=0).padded()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sq.init("elman", 4), "model"),
        (lambda: sq.init("rnn", 0), "n_hidden"),
        (lambda: sq.train("rnn", "BTXSE"), "data"),
        (lambda: sq.train("rnn", tasks.reber(3), test=[1]), "data"),
        (lambda: sq.train("rnn", tasks.reber(3), steps=0), "steps"),
        (lambda: sq.train("rnn", tasks.reber(3), lr=-1), "lr"),
        (lambda: sq.train("rnn", tasks.reber(3), clip="both"), "clip"),
        (lambda: sq.train("rnn", tasks.reber(3), clip="norm"), "threshold"),
        (lambda: sq.train("rnn", tasks.reber(3), eval_every=0), "eval_every"),
        (lambda: sq.evaluate("rnn", sq.init("gru", 3), tasks.reber(3)), "p"),
        (lambda: sq.by_lag("scores"), "scores"),
        (lambda: sq.by_lag(sq.evaluate("rnn", sq.init("rnn", 3), tasks.reber(3)), (9, 6)), "edges"),
        (lambda: sq.learning_curves("rnn"), "models"),
        (lambda: sq.learning_curves(("rnn",), seeds=()), "seeds"),
        (lambda: sq.learning_curves(("rnn",), seeds=(-1,)), "seeds"),
        (lambda: sq.learning_curves(("rnn",), n_train=0), "n_train"),
        (lambda: sq.cross_entropy_check(O=0), "O"),
        (lambda: sq.loss_and_grads("rnn", sq.init("rnn", 3), *_padded()[:2], _padded()[1]), "mask"),
        (
            lambda: sq.loss_and_grads(
                "rnn", sq.init("rnn", 3), _padded()[0], _padded()[1] * 1.0, _padded()[3]
            ),
            "ds",
        ),  # fmt: skip
        (
            lambda: sq.loss_and_grads(
                "rnn", sq.init("rnn", 3), _padded()[0][:, :2], _padded()[1], _padded()[3]
            ),
            "xs",
        ),  # fmt: skip
        (lambda: sq.loss_and_grads("gru", sq.init("rnn", 3), *_padded()[:2], _padded()[3]), "p"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        call()
