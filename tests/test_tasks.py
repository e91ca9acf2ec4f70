"""rnnlib.tasks: shapes, seeding, and that each target depends on the input at its lag."""

import numpy as np
import pytest

from rnnlib import tasks


@pytest.mark.parametrize(
    ("make", "arg", "shape_x", "shape_d", "at"),
    [
        (tasks.adding, 10, (10, 32, 2), (10, 32, 1), "last"),
        (tasks.recall, 7, (8, 32, 2), (8, 32, 1), "last"),
        (tasks.sine, 25, (25, 32, 1), (25, 32, 1), "all"),
    ],
)
def test_shapes_and_seeding(make, arg, shape_x, shape_d, at):
    t = make(arg)
    assert t.xs.shape == shape_x and t.ds.shape == shape_d and t.at == at
    assert t.xs.dtype == np.float64 and np.all(np.isfinite(t.xs)) and np.all(np.isfinite(t.ds))
    again = make(arg, seed=0)
    np.testing.assert_array_equal(t.xs, again.xs)
    np.testing.assert_array_equal(t.ds, again.ds)
    assert not np.array_equal(t.xs, make(arg, seed=1).xs)
    assert make(arg, batch=3).xs.shape[1] == 3


def test_adding_target_is_sum_of_marked_values_at_least_lag_back():
    T = 12
    t = tasks.adding(T, batch=200, seed=3)
    assert t.lag == T - T // 2 and t.name == "adding"
    marks = t.xs[:, :, 1]
    np.testing.assert_array_equal(marks.sum(axis=0), 2.0)
    first = np.argmax(marks, axis=0)  # 0-based index of the first marker
    assert np.all(T - first >= t.lag)  # seen at least `lag` steps before the last step
    np.testing.assert_allclose(t.ds[-1, :, 0], np.sum(marks * t.xs[:, :, 0], axis=0))
    np.testing.assert_array_equal(t.ds[:-1], 0.0)
    # the first marked value occurs at every allowed position across the batch
    assert set(first) == set(range(T // 2))


def test_adding_target_changes_with_the_early_value_only():
    t = tasks.adding(10, batch=50, seed=0)
    cols = np.arange(50)
    first = np.argmax(t.xs[:, :, 1], axis=0)
    # moving the marked value moves the target by the same amount
    xs = t.xs.copy()
    xs[first, cols, 0] += 0.25
    np.testing.assert_allclose(
        np.sum(xs[:, :, 1] * xs[:, :, 0], axis=0) - t.ds[-1, :, 0], 0.25, atol=1e-12
    )


def test_recall_target_is_input_lag_steps_back():
    for lag in (1, 5, 40):
        t = tasks.recall(lag, batch=16, seed=lag)
        T = t.xs.shape[0]
        assert T == lag + 1 and t.lag == lag
        np.testing.assert_array_equal(t.ds[-1, :, 0], t.xs[T - 1 - lag, :, 0])
        np.testing.assert_array_equal(t.xs[1:, :, 0], 0.0)  # nothing else carries the value
        np.testing.assert_array_equal(t.xs[:, :, 1], np.eye(T)[-1][:, None] * np.ones(16))
        assert np.std(t.ds[-1]) > 0.1


def test_sine_target_is_next_input_and_needs_two_earlier_steps():
    t = tasks.sine(40, batch=8, seed=2)
    assert t.lag == 2
    # without knowing the frequency, x_{t-2}, x_{t-1}, x_t determine x_{t+1}:
    # cos w = (x_t + x_{t-2}) / (2 x_{t-1}) and x_{t+1} = 2 cos(w) x_t - x_{t-1}
    x, d = t.xs[:, :, 0], t.ds[:, :, 0]
    ok = np.abs(x[1:-1]) > 0.1
    pred = (x[2:] + x[:-2]) * x[2:] / np.where(ok, x[1:-1], 1.0) - x[1:-1]
    np.testing.assert_allclose(pred[ok], d[2:][ok], atol=1e-9)
    # the frequencies differ between sequences, so x_t and x_{t-1} alone do not fix cos w
    assert np.ptp((x[2:] + x[:-2])[ok] / (2 * x[1:-1][ok])) > 0.1
    np.testing.assert_allclose(t.ds[:-1], t.xs[1:])
    for b in range(8):
        x, d = t.xs[:, b, 0], t.ds[:, b, 0]
        # from x_t alone the next sample cannot be predicted ...
        A1 = x[1:, None]
        r1 = np.linalg.lstsq(A1, d[1:], rcond=None)[1]
        # ... but from x_t and x_{t-1}, with this sequence's own cos w fitted, it can, exactly
        A2 = np.stack([x[1:], x[:-1]], axis=1)
        coef, r2 = np.linalg.lstsq(A2, d[1:], rcond=None)[:2]
        assert r1[0] > 1e-2 and r2[0] < 1e-20
        assert coef[1] == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: tasks.adding(0), "T"),
        (lambda: tasks.adding(1), "T"),
        (lambda: tasks.adding(2.5), "T"),
        (lambda: tasks.adding(5, batch=0), "batch"),
        (lambda: tasks.recall(0), "lag"),
        (lambda: tasks.recall(3, batch=-1), "batch"),
        (lambda: tasks.sine(0), "T"),
        (lambda: tasks.sine(5, batch=None), "batch"),
        (lambda: tasks.adding(4, seed="a"), "seed"),
        (lambda: tasks.recall(4, seed=1.5), "seed"),
        (lambda: tasks.sine(4, seed=-1), "seed"),
        (lambda: tasks.sine(4, seed=np.int64(-1)), "seed"),
        (lambda: tasks.sine(4, seed=None), "seed"),
        (lambda: tasks.adding(4, seed=True), "seed"),
    ],
)
def test_bad_input_names_argument(call, match):
    with pytest.raises(ValueError, match=rf"^{match}:"):
        call()


def test_numpy_integer_seeds_are_seeds():
    a, b = tasks.sine(4, seed=np.int64(7)), tasks.sine(4, seed=7)
    np.testing.assert_array_equal(a.xs, b.xs)
