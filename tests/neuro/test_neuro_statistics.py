"""Exact expectiles and quantiles against bisection references; W1 and the expectile condition by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.dopamine.tasks import VARIABLE_MAGNITUDE, RewardDistribution, variable_probability
from neuro.statistics import expectile_condition, expectiles, quantiles, wasserstein1
from tests.neuro.reference import expectile_bisection, quantile_bisection


def random_distributions(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        k = int(rng.integers(1, 9))
        values = rng.normal(size=k) * rng.uniform(0.1, 10) + rng.normal() * 5
        yield values, rng.dirichlet(np.ones(k))


def test_expectiles_match_bisection_on_random_distributions() -> None:
    taus = np.concatenate([[0.0, 0.001, 0.5, 0.999, 1.0], np.random.default_rng(1).uniform(size=20)])
    for values, probs in random_distributions(50):
        fast = expectiles(values, probs, taus)
        slow = np.array([expectile_bisection(values, probs, t) for t in taus])
        np.testing.assert_allclose(fast, slow, atol=1e-9 * (1 + np.abs(values).max()))


def test_quantiles_match_bisection_on_random_distributions() -> None:
    taus = np.random.default_rng(2).uniform(size=30)
    for values, probs in random_distributions(50):
        fast = quantiles(values, probs, taus)
        slow = np.array([quantile_bisection(values, probs, t) for t in taus])
        np.testing.assert_array_equal(fast, slow)


def test_expectiles_by_hand() -> None:
    # Bernoulli(p): the τ-expectile solves τ p (1 − e) = (1 − τ)(1 − p) e
    p, taus = 0.3, np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(expectiles(np.array([0.0, 1.0]), np.array([1 - p, p]), taus),
                               taus * p / (taus * p + (1 - taus) * (1 - p)))
    task = VARIABLE_MAGNITUDE
    assert expectiles(task.values, task.probs, np.array(0.5)) == pytest.approx(task.mean)  # 0.5-expectile = mean
    assert task.mean == pytest.approx(0.0066 + 0.0273 + 0.1776 + 0.3875 + 1.56 + 1.51 + 1.54)  # 5.209 µl
    # equal weights when probs is None; unsorted atoms are fine
    assert expectiles(np.array([3.0, 1.0]), None, np.array([0.5]))[0] == pytest.approx(2.0)


def test_quantiles_by_hand() -> None:
    task = VARIABLE_MAGNITUDE  # CDF 0.066, 0.157, 0.305, 0.46, 0.772, 0.923, 1
    np.testing.assert_array_equal(quantiles(task.values, task.probs, np.array([0.01, 0.066, 0.07, 0.5, 0.95])),
                                  [0.1, 0.1, 0.3, 5.0, 20.0])


def test_expectile_condition_vanishes_at_the_expectiles() -> None:
    task, taus = VARIABLE_MAGNITUDE, np.linspace(0.05, 0.95, 7)
    points = expectiles(task.values, task.probs, taus)
    np.testing.assert_allclose(expectile_condition(task.values, task.probs, points, taus), 0.0, atol=1e-12)
    above = expectile_condition(task.values, task.probs, points + 1.0, taus)
    assert (above < 0).all()  # a point above the expectile: the weighted errors pull it down


def test_wasserstein1_by_hand() -> None:
    assert wasserstein1(np.array([1.0]), None, np.array([3.5]), None) == pytest.approx(2.5)
    x, p = np.array([0.0, 10.0, -5.0]), np.array([0.5, 0.3, 0.2])
    assert wasserstein1(x, p, np.array([2.0]), None) == pytest.approx(0.5 * 2 + 0.3 * 8 + 0.2 * 7)
    assert wasserstein1(x, p, x[::-1].copy(), p[::-1].copy()) == pytest.approx(0.0)


def test_tasks() -> None:
    assert VARIABLE_MAGNITUDE.values.tolist() == [0.1, 0.3, 1.2, 2.5, 5.0, 10.0, 20.0]
    assert VARIABLE_MAGNITUDE.probs.sum() == pytest.approx(1.0)
    cue = variable_probability(0.9)
    assert (cue.values.tolist(), cue.probs.tolist()) == ([0.0, 1.0], pytest.approx([0.1, 0.9]))
    draws = VARIABLE_MAGNITUDE.sample(np.random.default_rng(0), 200_000)
    frequencies = np.array([(draws == v).mean() for v in VARIABLE_MAGNITUDE.values])
    np.testing.assert_allclose(frequencies, VARIABLE_MAGNITUDE.probs, atol=0.004)  # ~4 standard errors
    with pytest.raises(ValueError, match="sum to 1"):
        RewardDistribution(np.array([0.0, 1.0]), np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="probability must be in"):
        variable_probability(1.5)
