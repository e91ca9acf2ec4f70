"""rnnlib.activations: derivatives against finite differences, bounds, names, overflow."""

import numpy as np
import pytest

from rnnlib import activations
from rnnlib.activations import ACTIVATIONS, get, sigmoid

ACTS = sorted(ACTIVATIONS)


@pytest.mark.parametrize("name", ACTS)
def test_derivative_matches_central_differences(name):
    g = get(name)
    a = np.linspace(-6.0, 6.0, 241)
    a = a[np.abs(a) > 1e-3]  # relu has a kink at 0
    h = 1e-5
    numeric = (g.f(a + h) - g.f(a - h)) / (2 * h)
    np.testing.assert_allclose(g.df(a), numeric, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ACTS)
def test_gamma_is_the_supremum_of_the_derivative(name):
    g = get(name)
    a = np.linspace(-20.0, 20.0, 40001)
    assert np.max(np.abs(g.df(a))) == pytest.approx(g.gamma, rel=1e-9)


@pytest.mark.parametrize("name", ACTS)
def test_values_and_lookup(name):
    g = get(name)
    assert g.name == name and get(g) is g
    ref = {"tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
           "relu": lambda a: np.maximum(a, 0), "identity": lambda a: a}[name]  # fmt: skip
    a = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(g.f(a), ref(a), rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("bad", ["softplus", "Tanh", "", None, 3])
@pytest.mark.parametrize("argument", ["g1", "g2"])
def test_unknown_name_lists_the_known_ones(bad, argument):
    with pytest.raises(ValueError, match=f"^{argument}:") as info:
        get(bad, argument)
    for name in ACTS:
        assert repr(name) in str(info.value)


@pytest.mark.filterwarnings("error")
def test_sigmoid_does_not_overflow():
    a = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 745.0, 1000.0])
    s = activations.sigmoid(a)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s + activations.sigmoid(-a), 1.0, rtol=1e-15)
    d = get("sigmoid").df(a)
    assert np.all(np.isfinite(d)) and d[0] == 0.0 and d[-1] == 0.0


@pytest.mark.parametrize("a", [1j, "x", None, {}, np.array(["1"]), [True]])
def test_sigmoid_refuses_what_is_not_a_real_number(a):
    with pytest.raises(ValueError, match="^a:"):
        sigmoid(a)


# ---------------------------------------------------------------- the softmax output


def test_softmax_rows_sum_to_one_and_log_softmax_agrees():
    z = np.random.default_rng(0).normal(0, 3, (4, 2, 5))
    y = activations.softmax(z)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.log(y), activations.log_softmax(z), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(activations.softmax(z + 1e4), y, rtol=1e-10)  # shift-invariant
    big = activations.log_softmax(np.array([1000.0, -1000.0]))
    assert np.all(np.isfinite(big)) and big[1] == pytest.approx(-2000.0)


@pytest.mark.parametrize("name", [*ACTS, "softmax"])
def test_output_backward_is_the_transposed_jacobian(name):
    """``output_backward`` against central differences of ``sum(v * g2(z))`` in ``z``."""
    rng = np.random.default_rng(1)
    z = rng.normal(0, 1.5, (3, 4))
    z[np.abs(z) < 1e-2] = 0.5  # away from relu's kink
    v = rng.normal(size=(3, 4))
    g = activations.output(name)
    h = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = np.sum(v * (g.f(up) - g.f(down))) / (2 * h)
    got = activations.output_backward(name, z, g.f(z), v)
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-9)


def test_softmax_only_as_output():
    assert activations.output("softmax").name == "softmax"
    assert "softmax" in activations.OUTPUTS and "softmax" not in ACTIVATIONS
    with pytest.raises(ValueError, match="^g1: 'softmax' is not element-wise"):
        get("softmax", "g1")
    with pytest.raises(ValueError, match="^g2: unknown activation 'soft'"):
        activations.output("soft")


def test_softmax_jacobian_norm_is_at_most_gamma():
    for seed in range(20):
        y = activations.softmax(np.random.default_rng(seed).normal(0, 2, 6))
        J = np.diag(y) - np.outer(y, y)
        assert np.linalg.norm(J, 2) <= activations.SOFTMAX.gamma + 1e-15
