"""rnnlib.checkpoint: the gradients of rnn.bptt from every k-th state, in less memory."""

import numpy as np
import pytest

from rnnlib import checkpoint, rnn


def problem(T, B, seed=0, D=2, H=5, O=3, s0=True):
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    p = rnn.init(D, H, O, seed=seed, scale=1.1)
    xs = rng.normal(size=(T,) + batch + (D,))
    ds = rng.normal(size=(T,) + batch + (O,))
    S0 = rng.normal(0.0, 0.5, batch + (H,)) if s0 else None
    return p, xs, ds, S0


@pytest.mark.parametrize("at", ["all", "last"])
@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize(
    ("T", "every"), [(1, 1), (7, 1), (12, 3), (13, 4), (20, None), (9, 9), (5, 50)]
)
@pytest.mark.parametrize(("g1", "g2"), [("tanh", "identity"), ("sigmoid", "tanh")])
def test_gradients_equal_full_bptt(T, every, B, at, g1, g2):
    p, xs, ds, S0 = problem(T, B, seed=T)
    g = checkpoint.bptt(p, xs, ds, at=at, every=every, s0=S0, g1=g1, g2=g2)
    tr = rnn.forward(p, xs, S0, g1, g2)
    full = rnn.bptt(p, tr, ds, at)
    for name in ("Wx", "Ws", "Wy"):
        np.testing.assert_allclose(getattr(g, name), getattr(full, name), rtol=0, atol=1e-10)
        assert np.abs(getattr(full, name)).max() > 1e-6  # a nonzero gradient is compared
    np.testing.assert_allclose(g.dS0, full.dS[0], rtol=0, atol=1e-10)
    assert g.E == pytest.approx(rnn.loss(tr, ds, at), rel=1e-12)
    k = checkpoint.default_every(T) if every is None else every
    assert g.every == k and g.stored == -(-T // k)


@pytest.mark.parametrize("at", ["all", "last"])
@pytest.mark.parametrize("B", [None, 4])
@pytest.mark.parametrize("every", [1, 3, None])
def test_biases_and_cross_entropy_equal_full_bptt(at, B, every):
    T, batch = 11, () if B is None else (B,)
    rng = np.random.default_rng(B or 0)
    p = rnn.init(3, 6, 5, seed=2, bias=True, scale=1.2)
    p.bs, p.by = rng.normal(size=6), rng.normal(size=5)
    xs = rng.normal(size=(T,) + batch + (3,))
    ds = rng.integers(0, 5, (T,) + batch)
    g = checkpoint.bptt(p, xs, ds, at=at, every=every, g2="softmax", kind="cross_entropy")
    tr = rnn.forward(p, xs, g2="softmax")
    full = rnn.bptt(p, tr, ds, at, kind="cross_entropy")
    assert g.names == full.names == ("Wx", "Ws", "Wy", "bs", "by")
    for name in full.names:
        np.testing.assert_allclose(getattr(g, name), getattr(full, name), rtol=0, atol=1e-10)
    assert g.E == pytest.approx(rnn.loss(tr, ds, at, kind="cross_entropy"), rel=1e-12)


def test_without_biases_there_are_no_bias_gradients():
    p, xs, ds, _ = problem(5, None)
    g = checkpoint.bptt(p, xs, ds, every=2)
    assert g.names == ("Wx", "Ws", "Wy") and g.bs is None and g.by is None


def test_default_every_is_the_square_root():
    assert [checkpoint.default_every(T) for T in (1, 2, 9, 100, 1000)] == [1, 1, 3, 10, 32]
    p, xs, ds, _ = problem(50, None)
    assert checkpoint.bptt(p, xs, ds).every == 7


def test_inputs_are_not_modified():
    p, xs, ds, S0 = problem(10, 2)
    before = [a.copy() for a in (xs, ds, S0, p.Ws)]
    checkpoint.bptt(p, xs, ds, every=3, s0=S0)
    for a, b in zip((xs, ds, S0, p.Ws), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_memory_ratio_falls_with_T():
    prof = checkpoint.memory_profile([200, 3000], n_hidden=16, batch=4, repeat=1)
    np.testing.assert_array_equal(prof.T, [200, 3000])
    np.testing.assert_array_equal(prof.every, [14, 55])
    assert np.all(prof.full_bytes > 0) and np.all(prof.checkpoint_bytes > 0)
    # full BPTT keeps ~6 arrays of T x B x H floats; checkpointing ~T/k + 6k states
    assert prof.memory_ratio[1] < 0.25
    assert prof.memory_ratio[1] < prof.memory_ratio[0]
    # T grows 15-fold: full BPTT's peak with it, checkpointing's by far less (its O(T)
    # part is only the validated copies of xs and ds, D = O = 1 numbers per step)
    assert prof.full_bytes[1] > 10 * prof.full_bytes[0]
    assert prof.checkpoint_bytes[1] < 8 * prof.checkpoint_bytes[0]
    assert np.all(np.isfinite(prof.time_ratio)) and np.all(prof.time_ratio > 0)


def test_fixed_every_in_profile():
    prof = checkpoint.memory_profile([40, 90], every=5, n_hidden=4, batch=1, repeat=1)
    np.testing.assert_array_equal(prof.every, [5, 5])


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(every=0), "every"),
        (dict(every=2.5), "every"),
        (dict(every=True), "every"),
        (dict(at="first"), "at"),
        (dict(g1="softsign"), "g1"),
        (dict(g2="cube"), "g2"),
        (dict(s0=np.zeros(4)), "s0"),
        (dict(kind="hinge"), "kind"),
        (dict(kind="cross_entropy"), "kind"),  # needs g2="softmax"
        (dict(kind="cross_entropy", g2="softmax", ds=np.full(6, 3)), "ds"),  # class 3 of O = 3
    ],
)
def test_bad_arguments(kwargs, name):
    p, xs, ds, _ = problem(6, None)
    kwargs = {"ds": ds, **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        checkpoint.bptt(p, xs, **kwargs)


def test_bad_arrays():
    p, xs, ds, _ = problem(6, 2)
    with pytest.raises(ValueError, match="^p:"):
        checkpoint.bptt({"Wx": p.Wx}, xs, ds)
    with pytest.raises(ValueError, match="^xs:"):
        checkpoint.bptt(p, xs[:, :, :1], ds)
    with pytest.raises(ValueError, match="^xs:"):
        checkpoint.bptt(p, xs[:0], ds[:0])
    with pytest.raises(ValueError, match="^ds:"):
        checkpoint.bptt(p, xs, ds[:-1])
    with pytest.raises(ValueError, match="^ds:"):
        checkpoint.bptt(p, xs, ds[:, 0])
    with pytest.raises(ValueError, match="^ds:"):
        checkpoint.bptt(p, xs, np.full_like(ds, np.nan))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(Ts=[]), "Ts"), (dict(Ts=[0]), "Ts"), (dict(Ts=[10], every=-1), "every"),
     (dict(Ts=[10], n_hidden=0), "n_hidden"), (dict(Ts=[10], batch=0), "batch"),
     (dict(Ts=[10], repeat=0), "repeat"), (dict(Ts=[10], seed=-1), "seed")],
)  # fmt: skip
def test_profile_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        checkpoint.memory_profile(**kwargs)
