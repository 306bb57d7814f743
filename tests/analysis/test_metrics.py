"""Aggregate metrics: hand-computed values on tiny matrices, slow references on random ones, bootstrap CIs."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from analysis import metrics

NAN = np.nan


# -- hand-computed values --------------------------------------------------------------------------


def test_median_and_mean_are_over_per_game_means():
    scores = np.array([[1.0, 2.0, 10.0], [3.0, 4.0, 20.0]])  # per-game means 2, 3, 15
    assert metrics.aggregate_median(scores) == 3.0
    assert metrics.aggregate_mean(scores) == pytest.approx(20.0 / 3.0)


def test_iqm_cuts_a_quarter_of_all_runs_x_games_from_each_end():
    assert metrics.aggregate_iqm(np.arange(1.0, 9.0).reshape(2, 4)) == 4.5  # mean of 3, 4, 5, 6
    assert metrics.aggregate_iqm(np.array([[1.0, 2.0, 3.0, 4.0, 100.0]])) == 3.0  # int(1.25) = 1 cut each end
    assert metrics.aggregate_iqm(np.array([[7.0]])) == 7.0


def test_optimality_gap_is_the_mean_shortfall_below_gamma():
    scores = np.array([[0.5, 2.0], [1.0, 0.0]])  # min(., 1) = 0.5, 1, 1, 0 -> mean 0.625
    assert metrics.optimality_gap(scores) == pytest.approx(0.375)
    assert metrics.optimality_gap(scores, gamma=2.0) == pytest.approx(2.0 - 3.5 / 4)


def test_performance_profile_counts_scores_strictly_above_tau():
    scores = np.array([[0.0, 1.0], [2.0, 3.0]])
    profile = metrics.performance_profile(scores, np.array([-1.0, 0.0, 1.5, 3.0]))
    np.testing.assert_allclose(profile, [1.0, 0.75, 0.5, 0.0])


def test_probability_of_improvement_by_hand():
    assert metrics.probability_of_improvement(np.array([[1.0], [3.0]]), np.array([[2.0], [2.0]])) == 0.5
    assert metrics.probability_of_improvement(np.array([[2.0]]), np.array([[2.0]])) == 0.5  # a tie counts half
    assert metrics.probability_of_improvement(np.array([[9.0, 0.0]]), np.array([[1.0, 5.0]])) == 0.5
    x = np.array([[5.0, 0.0], [6.0, 0.0]])
    y = np.array([[1.0, 0.0], [5.0, 1.0]])
    # game 0: 5>1, 5=5 (1/2), 6>1, 6>5 -> 3.5/4; game 1: 0=0 (1/2), 0<1, 0=0 (1/2), 0<1 -> 1/4
    assert metrics.probability_of_improvement(x, y) == pytest.approx((0.875 + 0.25) / 2)
    assert metrics.probability_of_improvement(y, x) == pytest.approx(1.0 - (0.875 + 0.25) / 2)


def test_missing_scores_are_left_out():
    scores = np.array([[1.0, 10.0], [3.0, NAN]])  # per-game means 2 and 10; finite scores 1, 3, 10
    assert metrics.aggregate_median(scores) == 6.0
    assert metrics.aggregate_mean(scores) == 6.0
    assert metrics.aggregate_iqm(scores) == pytest.approx(14.0 / 3.0)  # int(0.75) = 0 cut
    assert metrics.optimality_gap(scores) == pytest.approx(1.0 - 3.0 / 3.0)
    np.testing.assert_allclose(metrics.performance_profile(scores, np.array([2.0])), [2.0 / 3.0])
    # game 1 of y has no run: only game 0 counts
    assert metrics.probability_of_improvement(np.array([[2.0, 1.0]]), np.array([[1.0, NAN]])) == 1.0


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="runs, games"):
        metrics.aggregate_iqm(np.ones(3))
    with pytest.raises(ValueError, match="proportion"):
        metrics.trimmed_mean(np.ones((2, 2)), 0.5)
    with pytest.raises(ValueError, match="same games"):
        metrics.probability_of_improvement(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="reps"):
        metrics.bootstrap_ci(np.ones((2, 2)), metrics.aggregate_mean, reps=0)
    with pytest.raises(ValueError, match="confidence"):
        metrics.bootstrap_ci(np.ones((2, 2)), metrics.aggregate_mean, reps=10, confidence=95)


# -- slow references on random matrices ------------------------------------------------------------


def _columns(scores: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in scores[:, g] if np.isfinite(v)] for g in range(scores.shape[1])]


def ref_median(scores):
    return statistics.median(statistics.fmean(c) for c in _columns(scores) if c)


def ref_mean(scores):
    return statistics.fmean(statistics.fmean(c) for c in _columns(scores) if c)


def ref_iqm(scores):
    values = sorted(v for c in _columns(scores) for v in c)
    cut = int(0.25 * len(values))
    return statistics.fmean(values[cut : len(values) - cut])


def ref_optimality_gap(scores, gamma=1.0):
    values = [v for c in _columns(scores) for v in c]
    return gamma - statistics.fmean(min(v, gamma) for v in values)


def ref_profile(scores, taus):
    values = [v for c in _columns(scores) for v in c]
    return [sum(v > t for v in values) / len(values) for t in taus]


def ref_improvement(x, y):
    per_game = []
    for xs, ys in zip(_columns(x), _columns(y), strict=True):
        if xs and ys:
            wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in xs for b in ys)
            per_game.append(wins / (len(xs) * len(ys)))
    return statistics.fmean(per_game)


def _random_matrix(rng: np.random.Generator, runs: int, games: int, missing: float) -> np.ndarray:
    # Rounded, so ties happen; some cells missing, but every game keeps at least one run.
    scores = np.round(rng.normal(1.0, 1.5, size=(runs, games)), 1)
    holes = rng.random((runs, games)) < missing
    holes[0] = False
    scores[holes] = np.nan
    return scores


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_metrics_match_slow_references_on_random_matrices(missing):
    rng = np.random.default_rng(42)
    taus = np.linspace(-2.0, 4.0, 13)
    for _ in range(20):
        runs, games = int(rng.integers(1, 8)), int(rng.integers(1, 12))
        x = _random_matrix(rng, runs, games, missing)
        y = _random_matrix(rng, int(rng.integers(1, 8)), games, missing)
        assert metrics.aggregate_median(x) == pytest.approx(ref_median(x))
        assert metrics.aggregate_mean(x) == pytest.approx(ref_mean(x))
        assert metrics.aggregate_iqm(x) == pytest.approx(ref_iqm(x))
        assert metrics.optimality_gap(x) == pytest.approx(ref_optimality_gap(x))
        np.testing.assert_allclose(metrics.performance_profile(x, taus), ref_profile(x, taus))
        assert metrics.probability_of_improvement(x, y) == pytest.approx(ref_improvement(x, y))


def test_batched_statistics_equal_one_matrix_at_a_time():
    rng = np.random.default_rng(1)
    replicates = metrics.stratified_bootstrap(_random_matrix(rng, 5, 7, 0.3), 50, rng)
    others = metrics.stratified_bootstrap(_random_matrix(rng, 4, 7, 0.3), 50, rng)
    taus = np.array([0.0, 1.0, 2.0])
    for stat, ref in ((metrics.aggregate_median, ref_median), (metrics.aggregate_mean, ref_mean),
                      (metrics.aggregate_iqm, ref_iqm), (metrics.optimality_gap, ref_optimality_gap)):
        np.testing.assert_allclose(stat(replicates), [ref(r) for r in replicates])
    np.testing.assert_allclose(metrics.performance_profile(replicates, taus),
                               [ref_profile(r, taus) for r in replicates])
    np.testing.assert_allclose(metrics.probability_of_improvement(replicates, others),
                               [ref_improvement(a, b) for a, b in zip(replicates, others, strict=True)])


# -- the stratified bootstrap ----------------------------------------------------------------------


def test_stratified_bootstrap_resamples_runs_within_each_game():
    scores = np.array([[1.0, 10.0, 100.0], [2.0, 20.0, NAN], [3.0, 30.0, NAN]])
    replicates = metrics.stratified_bootstrap(scores, 4000, np.random.default_rng(0))
    assert replicates.shape == (4000, 3, 3)
    for game, values in enumerate(([1.0, 2.0, 3.0], [10.0, 20.0, 30.0])):
        drawn = replicates[:, :, game]
        assert set(np.unique(drawn)) == set(values)  # never another game's runs
        frequencies = [np.mean(drawn == v) for v in values]
        np.testing.assert_allclose(frequencies, 1 / 3, atol=0.02)  # uniform, with replacement
    assert (replicates[:, 0, 2] == 100.0).all() and np.isnan(replicates[:, 1:, 2]).all()  # holes stay holes


def test_bootstrap_ci_is_reproducible_for_a_seed_and_covers_the_point():
    scores = np.random.default_rng(3).gamma(2.0, 1.0, size=(5, 26))
    for stat in metrics.AGGREGATES.values():
        first = metrics.bootstrap_ci(scores, stat, reps=500, seed=7)
        again = metrics.bootstrap_ci(scores, stat, reps=500, seed=7)
        other = metrics.bootstrap_ci(scores, stat, reps=500, seed=8)
        assert tuple(map(float, first)) == tuple(map(float, again))
        assert (float(first.low), float(first.high)) != (float(other.low), float(other.high))
        assert first.point == pytest.approx(float(stat(scores)))
        assert first.low <= first.point <= first.high
        assert first.low < first.high


def test_shared_replicates_equal_separate_calls():
    scores = np.random.default_rng(4).normal(size=(4, 9))
    together = metrics.bootstrap_cis(scores, metrics.AGGREGATES, reps=300, seed=5)
    for name, stat in metrics.AGGREGATES.items():
        alone = metrics.bootstrap_ci(scores, stat, reps=300, seed=5)
        np.testing.assert_array_equal(np.array(list(together[name])), np.array(list(alone)))


def test_constant_scores_give_a_degenerate_interval():
    interval = metrics.bootstrap_ci(np.full((3, 4), 2.5), metrics.aggregate_iqm, reps=100)
    assert float(interval.point) == float(interval.low) == float(interval.high) == 2.5


def test_probability_of_improvement_ci_resamples_both_agents():
    rng = np.random.default_rng(6)
    x, y = rng.normal(1.0, 1.0, size=(5, 10)), rng.normal(0.0, 1.0, size=(5, 10))
    first = metrics.bootstrap_ci_pair(x, y, metrics.probability_of_improvement, reps=400, seed=1)
    again = metrics.bootstrap_ci_pair(x, y, metrics.probability_of_improvement, reps=400, seed=1)
    assert tuple(map(float, first)) == tuple(map(float, again))
    assert 0.5 < first.low <= first.point <= first.high <= 1.0
    profile = metrics.bootstrap_ci(x, lambda s: metrics.performance_profile(s, np.array([0.0, 1.0])), reps=200)
    assert profile.point.shape == profile.low.shape == (2,)
    assert (profile.low <= profile.point).all() and (profile.point <= profile.high).all()
