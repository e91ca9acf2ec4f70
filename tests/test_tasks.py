"""rnnlib.tasks: shapes, seeding, and that each target depends on the input at its lag."""

import itertools
import re

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


# --- the Reber grammar ---------------------------------------------------------------------

# An independent transcription of the grammar's graph as a regular expression
_N3 = "(XT*VP)*(S|XT*VV)"
REBER_RE = re.compile(f"B(TS*X{_N3}|PT*V(P{_N3}|V))E")
EMBEDDED_RE = re.compile(f"B(T{REBER_RE.pattern}T|P{REBER_RE.pattern}P)E")

# Examples used in teaching material on the grammar (Orr's and Schraudolph's course notes)
REBER_YES = ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTSXXVPSE", "BTXSE"]
REBER_NO = ["BTSSPXSE", "BPTVVB", "BTXXVVSE", "BPVSPSE", "BTSSSE", "", "B", "BTXS", "BTXSEE"]


@pytest.mark.parametrize("s", REBER_YES)
def test_reber_known_strings(s):
    assert tasks.reber_grammatical(s, embedded=False)
    assert not tasks.reber_grammatical(s)  # not embedded
    assert tasks.reber_grammatical(f"BT{s}TE") and tasks.reber_grammatical(f"BP{s}PE")
    assert not tasks.reber_grammatical(f"BT{s}PE") and not tasks.reber_grammatical(f"BP{s}TE")
    assert not tasks.reber_grammatical(f"BT{s}T") and not tasks.reber_grammatical(f"BT{s}TEE")


@pytest.mark.parametrize("s", REBER_NO)
def test_reber_known_non_strings(s):
    assert not tasks.reber_grammatical(s, embedded=False)
    assert not tasks.reber_grammatical(f"BT{s}TE")


def test_reber_checker_agrees_with_a_regular_expression_on_every_short_string():
    for n in range(7):
        for middle in itertools.product("TSXPV", repeat=n):
            s = "B" + "".join(middle) + "E"
            assert tasks.reber_grammatical(s, embedded=False) == bool(REBER_RE.fullmatch(s)), s


def test_reber_generates_grammatical_strings_both_ways_round():
    r = tasks.reber(300, seed=1)
    assert r.embedded and len(r.strings) == 300
    assert all(tasks.reber_grammatical(s) and EMBEDDED_RE.fullmatch(s) for s in r.strings)
    assert {s[1] for s in r.strings} == {"T", "P"}
    plain = tasks.reber(200, embedded=False, seed=1)
    assert all(REBER_RE.fullmatch(s) for s in plain.strings) and not plain.embedded
    assert len(set(plain.strings)) > 30  # the forks are really random
    assert tasks.reber(20, seed=1).strings == r.strings[:20]
    assert tasks.reber(20, seed=2).strings != r.strings[:20]


def test_reber_one_hot_targets_and_valid_successors():
    r = tasks.reber(200, seed=3)
    for s, x, d, v in zip(r.strings, r.xs, r.ds, r.valid, strict=True):
        T = len(s) - 1
        assert x.shape == (T, 7) and d.shape == (T,) and v.shape == (T, 7) and v.dtype == bool
        assert "".join(tasks.REBER_SYMBOLS[i] for i in x.argmax(axis=1)) == s[:-1]
        np.testing.assert_array_equal(x.sum(axis=1), 1.0)
        assert "".join(tasks.REBER_SYMBOLS[i] for i in d) == s[1:]
        assert np.all(v[np.arange(T), d])  # the actual next symbol is always grammatical
        assert set(v.sum(axis=1)) <= {1, 2}
        # the second-to-last symbol is forced, and only memory of the second one tells which
        np.testing.assert_array_equal(v[-2], [c == s[1] for c in tasks.REBER_SYMBOLS])
        np.testing.assert_array_equal(v[0], [c in "TP" for c in tasks.REBER_SYMBOLS])


def test_reber_valid_sets_of_a_known_string():
    s = "BTBPVVETE"  # B | T | B | P | V | V | E | T | E
    r = tasks.reber(400, seed=0)
    v = r.valid[r.strings.index(s)]
    follow = ["TP", "B", "TP", "TV", "PV", "E", "T", "E"]
    for row, f in zip(v, follow, strict=True):
        assert "".join(c for c, ok in zip(tasks.REBER_SYMBOLS, row, strict=True) if ok) == f


def test_reber_groups_stack_equal_lengths():
    r = tasks.reber(150, seed=4)
    groups = r.groups()
    seen = np.concatenate([g[0] for g in groups])
    assert sorted(seen) == list(range(150))
    lengths = [g[1].shape[0] for g in groups]
    assert lengths == sorted(set(lengths))
    for index, xs, ds, valid in groups:
        T, B = ds.shape
        assert xs.shape == (T, B, 7) and valid.shape == (T, B, 7) and B == len(index)
        for b, i in enumerate(index):
            np.testing.assert_array_equal(xs[:, b], r.xs[i])
            np.testing.assert_array_equal(ds[:, b], r.ds[i])
            np.testing.assert_array_equal(valid[:, b], r.valid[i])


def test_reber_padded_batch_holds_every_string():
    r = tasks.reber(80, seed=6)
    xs, ds, valid, mask = r.padded()
    T = max(len(s) for s in r.strings) - 1
    assert xs.shape == (T, 80, 7) and ds.shape == (T, 80) and valid.shape == (T, 80, 7)
    np.testing.assert_array_equal(mask.sum(axis=0), [len(s) - 1 for s in r.strings])
    for b, s in enumerate(r.strings):
        n = len(s) - 1
        np.testing.assert_array_equal(xs[:n, b], r.xs[b])
        np.testing.assert_array_equal(ds[:n, b], r.ds[b])
        np.testing.assert_array_equal(valid[:n, b], r.valid[b])
        assert np.all(mask[:n, b]) and not np.any(mask[n:, b])
        assert np.all(xs[n:, b] == 0) and np.all(ds[n:, b] == -1) and not np.any(valid[n:, b])
    # the criterion over the padded batch equals the criterion string by string
    rng = np.random.default_rng(0)
    Y = rng.random((T, 80, 7)) + 3.0 * valid
    Y[rng.random((T, 80)) < 0.01] = rng.random(7)  # a few wrong steps
    want = [tasks.reber_correct(Y[: len(s) - 1, b], r.valid[b]) for b, s in enumerate(r.strings)]
    np.testing.assert_array_equal(tasks.reber_correct(Y, valid, mask), want)
    assert 0 < sum(want) < 80


def test_reber_correct_criterion():
    r = tasks.reber(60, seed=5)
    for _, _, ds, valid in r.groups():
        perfect = valid * 0.5  # all mass on the valid successors
        assert np.all(tasks.reber_correct(perfect, valid))
        onehot = np.eye(7)[ds]  # the true next symbol only: wrong wherever there are two choices
        two = valid.sum(axis=-1) == 2
        np.testing.assert_array_equal(tasks.reber_correct(onehot, valid), ~two.any(axis=0))
        wrong = perfect.copy()
        wrong[-2] = 1.0 - valid[-2]  # everything but the remembered symbol at the end
        assert not np.any(tasks.reber_correct(wrong, valid))
    v = np.array([[True, False, False, False, True, False, False]])
    assert tasks.reber_correct([[0.3, 0.1, 0.1, 0.1, 0.3, 0.05, 0.05]], v) is True
    assert tasks.reber_correct([[0.3, 0.1, 0.1, 0.1, 0.2, 0.2, 0.0]], v) is False  # a tie loses


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: tasks.reber(0), "n"),
        (lambda: tasks.reber(5, seed=-1), "seed"),
        (lambda: tasks.reber(5, embedded="yes"), "embedded"),
        (lambda: tasks.reber_grammatical(["B", "E"]), "string"),
        (lambda: tasks.reber_correct(np.zeros((3, 6)), np.ones((3, 6), bool)), "Y"),
        (lambda: tasks.reber_correct(np.zeros((3, 7)), np.ones((3, 7))), "valid"),
        (lambda: tasks.reber_correct(np.zeros((3, 7)), np.ones((2, 7), bool)), "valid"),
        (lambda: tasks.reber_correct(np.zeros((3, 7)), np.zeros((3, 7), bool)), "valid"),
        (lambda: tasks.reber_correct(np.full((3, 7), np.nan), np.ones((3, 7), bool)), "Y"),
        (lambda: tasks.reber_correct(np.zeros((3, 7)), np.ones((3, 7), bool), [1, 1, 1]), "mask"),
        (lambda: tasks.reber_correct(np.zeros((3, 7)), np.ones((3, 7), bool), [True]), "mask"),
    ],
)
def test_reber_bad_input(call, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        call()
