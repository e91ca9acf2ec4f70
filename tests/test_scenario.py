"""rnnlib._scenario: one lru_cache for every explorer scenario, read-only results, scalar checks."""

import dataclasses

import numpy as np
import pytest

import rnnlib as rl
from rnnlib import _scenario


@dataclasses.dataclass(frozen=True, eq=False)
class Inner:
    a: np.ndarray
    label: str


@dataclasses.dataclass(frozen=True, eq=False)
class Outer:
    inner: Inner
    b: np.ndarray
    x: float


def test_frozen_copies_every_array_also_in_nested_dataclasses():
    base = np.arange(6.0)
    out = _scenario.frozen(Outer(Inner(base[:3], "v"), base.reshape(2, 3), 1.5))
    for a in (out.inner.a, out.b):
        assert not a.flags.writeable and a.base is None  # a copy: no writable base behind it
    base[0] = 99.0
    assert out.inner.a[0] == 0.0 and out.b[0, 0] == 0.0
    assert out.inner.label == "v" and out.x == 1.5
    assert _scenario.frozen(3) == 3


def test_cached_returns_the_same_frozen_object_until_cleared():
    calls = []

    @_scenario.cached
    def compute(n):
        calls.append(n)
        return Inner(np.zeros(n), "z")

    first = compute(3)
    assert compute(3) is first and calls == [3]
    assert not first.a.flags.writeable
    _scenario.clear()
    assert compute(3) is not first and calls == [3, 3]
    assert compute.cache_info().currsize == 1


def test_clear_empties_every_scenario_cache():
    r = rl.truncation.truncation_profile(5, 1.0)
    assert rl.truncation.truncation_profile(5, 1.0) is r
    _scenario.clear()
    assert rl.truncation.truncation_profile(5, 1.0) is not r


@pytest.mark.parametrize("bad", [-1, 1.0, True, None, "0"])
def test_seed_is_a_non_negative_integer(bad):
    assert _scenario.seed(np.int64(4)) == 4 and _scenario.seed(0) == 0
    with pytest.raises(ValueError, match="^seed:"):
        _scenario.seed(bad)


@pytest.mark.parametrize("bad", [np.nan, np.inf, True, None, "1", [1.0]])
def test_real_is_a_finite_number(bad):
    assert _scenario.real(-2, "b") == -2.0 and isinstance(_scenario.real(np.float32(1), "b"), float)
    with pytest.raises(ValueError, match="^forget_bias:"):
        _scenario.real(bad, "forget_bias")
