"""rnnlib.truncation.backward against the explicit sum over chains of generic Jacobians."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnlib.truncation import backward


def linear_problem(seed, T, B, H, last_only):
    """Random step Jacobians M[t-1] = dS_t/dS_{t-1} and local errors e[t-1] = dE_t/dS_t."""
    rng = np.random.default_rng(seed)
    batch = () if B is None else (B,)
    M = rng.normal(0.0, 0.8, (T, H, H))
    e = rng.normal(0.0, 1.0, (T,) + batch + (H,))
    if last_only:
        e[:-1] = 0.0
    return M, e, (lambda t, v: v @ M[t - 1])


def explicit(M, e, k):
    """dS_i = sum over t >= i with t - i < k of e_t M_t M_{t-1} ... M_{i+1}: O(T^2) chains."""
    T = len(e)
    dS = np.zeros((T + 1,) + e.shape[1:])
    for t in range(1, T + 1):
        v = e[t - 1]
        for i in range(t, max(t - k, -1), -1):  # i = t, ..., max(t - k + 1, 0)
            dS[i] += v
            if i > 0:
                v = v @ M[i - 1]
    return dS


cases = st.fixed_dictionaries(
    dict(
        seed=st.integers(0, 10**6),
        T=st.integers(1, 7),
        B=st.one_of(st.none(), st.integers(1, 3)),
        H=st.integers(1, 4),
        last_only=st.booleans(),
    )
)


@given(c=cases, k=st.one_of(st.none(), st.integers(1, 9)))
def test_recursion_equals_explicit_sum_of_chains(c, k):
    M, e, vjp = linear_problem(**c)
    b = backward(e, vjp, truncate=k, last_only=c["last_only"])
    ref = explicit(M, e, c["T"] + 1 if k is None else k)
    np.testing.assert_allclose(b.dS, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.norms, np.linalg.norm(b.dS[1:], axis=-1), rtol=1e-14)
    assert not b.clipped.any()


@given(c=cases, k=st.one_of(st.none(), st.integers(1, 9)))
def test_last_only_flag_is_an_optimisation_not_a_different_answer(c, k):
    M, e, vjp = linear_problem(**(c | {"last_only": True}))
    fast = backward(e, vjp, truncate=k, last_only=True)
    general = backward(e, vjp, truncate=k, last_only=False)
    np.testing.assert_allclose(fast.dS, general.dS, rtol=1e-14, atol=1e-300)


@given(c=cases, theta=st.floats(0.05, 3.0))
def test_clipping_follows_its_definition(c, theta):
    """dS_t = clip(e_t + dS_{t+1} M_{t+1}), clip(v) = v * min(1, theta / ||v||), per sequence."""
    M, e, vjp = linear_problem(**c)
    b = backward(e, vjp, clip_step=theta, last_only=c["last_only"])
    T = c["T"]
    v = e[-1]
    for t in range(T, 0, -1):
        n = np.linalg.norm(v, axis=-1)
        np.testing.assert_allclose(b.norms[t - 1], n, rtol=1e-12)
        np.testing.assert_array_equal(b.clipped[t - 1], n > theta)
        v = v * np.minimum(1.0, theta / np.maximum(n, 1e-300))[..., None]
        np.testing.assert_allclose(b.dS[t], v, rtol=1e-12, atol=1e-14)
        v = v @ M[t - 1] + (e[t - 2] if t > 1 else 0.0)
    np.testing.assert_allclose(b.dS[0], v, rtol=1e-12, atol=1e-14)
    assert np.all(np.linalg.norm(b.dS[1:], axis=-1) <= theta * (1 + 1e-12))


@pytest.mark.parametrize("last_only", [False, True])
def test_truncate_one_keeps_only_the_local_errors(last_only):
    M, e, vjp = linear_problem(0, T=6, B=2, H=3, last_only=last_only)
    b = backward(e, vjp, truncate=1, last_only=last_only)
    np.testing.assert_array_equal(b.dS[1:], e)
    assert not np.any(b.dS[0])
