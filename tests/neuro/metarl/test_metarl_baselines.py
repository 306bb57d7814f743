"""Thompson sampling, UCB1 and Gittins indices on cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from neuro.metarl.baselines import (
    gittins_indices,
    gittins_policy,
    play_bandits,
    thompson_policy,
    ucb1_policy,
    ucb1_scores,
)


def test_gittins_index_matches_the_published_table() -> None:
    """Beta(1, 1) at γ = 0.9: 0.7029, as tabulated for Bernoulli arms by Gittins (1989); γ = 0: the posterior mean."""
    table = gittins_indices(0.9, max_pulls=2, depth=200, grid=4001)
    assert table[0, 0] == pytest.approx(0.7029, abs=2e-4)
    myopic = gittins_indices(0.0, max_pulls=3, depth=5)
    for s in range(4):
        for f in range(4 - s):
            assert myopic[s, f] == pytest.approx((1 + s) / (2 + s + f), abs=1e-9)
    assert np.isnan(myopic[3, 1])


def test_gittins_index_by_hand_one_step_lookahead() -> None:
    """depth = 1 at γ: after one more pull learning stops, so continuing is worth
    μ + γ[μ max(λ, μ₊) + (1 − μ) max(λ, μ₋)]/(1 − γ); at Beta(1, 1), μ₊ = 2/3, μ₋ = 1/3, and the index λ
    solves ½ + γ(⅓ + λ/2)/(1 − γ) = λ/(1 − γ), i.e. λ = (½(1 − γ) + γ/3)/(1 − γ/2)."""
    gamma = 0.5
    table = gittins_indices(gamma, max_pulls=0, depth=1, grid=20001)
    assert table[0, 0] == pytest.approx((0.5 * (1 - gamma) + gamma / 3) / (1 - gamma / 2), abs=1e-6)


def test_gittins_index_rises_with_successes_and_the_horizon() -> None:
    table = gittins_indices(0.95, max_pulls=6, depth=150)
    assert (np.diff(table[:5, 0]) > 0).all() and (np.diff(table[0, :5]) < 0).all()
    assert gittins_indices(0.99, 0, 300)[0, 0] > table[0, 0] > 0.5


def test_ucb1_scores_by_hand() -> None:
    successes, failures = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(ucb1_scores(successes, failures, trial=2),
                               [[1 + math.sqrt(2 * math.log(2)), math.sqrt(2 * math.log(2))]])
    assert np.isinf(ucb1_scores(np.zeros((1, 2)), np.array([[1.0, 0.0]]), 1)[0, 1])


def test_thompson_chooses_with_the_posterior_probability() -> None:
    """Beta(2, 1) against Beta(1, 1): P(X > Y) = ∫ 2x · x dx = 2/3."""
    rng = np.random.default_rng(0)
    n = 30_000
    actions = thompson_policy(np.tile([1.0, 0.0], (n, 1)), np.zeros((n, 2)), 1, rng)
    assert stats.binomtest(int((actions == 0).sum()), n, 2 / 3).pvalue > 1e-3


def test_every_baseline_finds_the_better_arm() -> None:
    rng = np.random.default_rng(1)
    probs = np.tile([0.9, 0.1], (200, 1))
    policies = {"thompson": thompson_policy, "ucb1": ucb1_policy,
                "gittins": gittins_policy(gittins_indices(0.9, 100, 50))}
    for name, policy in policies.items():
        played = play_bandits(policy, probs, 100, rng)
        assert (played["actions"][:, -20:] == 0).mean() > 0.95, name
        np.testing.assert_allclose(played["regret"], np.where(played["actions"] == 0, 0.0, 0.8))
    played = play_bandits(ucb1_policy, probs, 2, rng)
    assert set(map(tuple, played["actions"])) <= {(0, 1), (1, 0)}  # UCB1 first tries each arm once
