"""The behavioural and decoding analyses on data with obvious answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuro.metarl.analysis import (
    binned_curve,
    chance_test,
    commit_trials,
    condition_means,
    cross_validated_decoding,
    cumulative_regret,
    logistic_regression,
    stay_table,
    two_step_regression,
)


def test_commit_trials_by_hand() -> None:
    actions = np.array([[0, 1, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1], [1, 0, 0, 0]])
    np.testing.assert_array_equal(commit_trials(actions), [1, 0, 3, 1])


def test_cumulative_regret() -> None:
    result = cumulative_regret(np.array([[0.5, 0.0, 0.5], [0.5, 0.5, 0.0]]))
    np.testing.assert_allclose(result["mean"], [0.5, 0.75, 1.0])
    np.testing.assert_allclose(result["sem"], [0.0, 0.25, 0.0])


def test_stay_table_and_condition_means_by_hand() -> None:
    first = np.array([[0, 0, 1, 1, 0]])
    rewarded = np.array([[1, 0, 1, 1, 0]], dtype=bool)
    common = np.array([[1, 1, 0, 1, 1]], dtype=bool)
    table = stay_table(first, rewarded, common)
    # transitions: (r,c)→stay: (1,1)→1, (0,1)→0, (1,0)→1, (1,1)→0
    assert table["rewarded/common"] == {"p": 0.5, "count": 2}
    assert table["unrewarded/common"] == {"p": 0.0, "count": 1}
    assert table["rewarded/uncommon"] == {"p": 1.0, "count": 1}
    assert table["unrewarded/uncommon"]["count"] == 0 and math.isnan(table["unrewarded/uncommon"]["p"])
    means = condition_means(np.array([[1.0, 2.0, 3.0, 5.0, 4.0]]), rewarded, common)
    assert means["rewarded/common"]["mean"] == 3.0 and means["unrewarded/common"]["mean"] == 3.0


def test_logistic_regression_of_a_saturated_design_is_the_log_odds() -> None:
    """x = ±1 with success rates 0.8 (x = 1) and 0.4 (x = −1): the MLE is b0 = ½(logit .8 + logit .4),
    b1 = ½(logit .8 − logit .4); Var(logit p̂_g) = 1/(n_g p_g (1 − p_g)), so se(b1) = ½ sqrt(Σ_g that)."""
    n = 100
    x = np.repeat([1.0, -1.0], n)
    y = np.concatenate([np.arange(n) < 80, np.arange(n) < 40]).astype(float)
    fit = logistic_regression(np.stack([np.ones_like(x), x], 1), y)
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    assert fit["coef"][0] == pytest.approx(0.5 * (logit(0.8) + logit(0.4)), abs=1e-8)
    assert fit["coef"][1] == pytest.approx(0.5 * (logit(0.8) - logit(0.4)), abs=1e-8)
    se = 0.5 * math.sqrt(1 / (n * 0.8 * 0.2) + 1 / (n * 0.4 * 0.6))
    assert fit["se"][1] == pytest.approx(se, rel=1e-6)
    assert fit["p"][1] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(fit["z"][1] / math.sqrt(2)))), rel=1e-6)


def test_two_step_regression_separates_model_free_from_model_based() -> None:
    """Simulated choosers: model-free stays after reward; model-based stays after rewarded-common or
    unrewarded-uncommon. The regression must load on reward and on the interaction respectively."""
    rng = np.random.default_rng(0)
    n, k = 200, 100
    rewarded, common = rng.random((n, k)) < 0.5, rng.random((n, k)) < 0.7
    for kind in ("model_free", "model_based"):
        signal = rewarded if kind == "model_free" else rewarded == common
        stay = np.where(rng.random((n, k)) < 0.9, signal, ~signal)
        first = np.zeros((n, k), dtype=int)
        for t in range(1, k):
            first[:, t] = np.where(stay[:, t - 1], first[:, t - 1], 1 - first[:, t - 1])
        fit = two_step_regression(first, rewarded, common)
        big, small = ("reward", "interaction") if kind == "model_free" else ("interaction", "reward")
        assert fit[big]["coef"] > 0.9 and fit[big]["p"] < 1e-10
        assert abs(fit[small]["coef"]) < 0.1


def test_decoding_a_linear_target_and_noise() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 5))
    groups = np.repeat(np.arange(40), 10)
    linear = features @ np.array([1.0, -2.0, 0.5, 0.0, 0.0]) + 3.0
    assert cross_validated_decoding(features, linear, groups, 5, "regression") > 0.999
    assert cross_validated_decoding(features, rng.normal(size=400), groups, 5, "regression") < 0.05
    labels = (features[:, 0] > 0).astype(float)
    assert cross_validated_decoding(features, labels, groups, 5, "classification") > 0.9
    with pytest.raises(ValueError, match="valid: regression, classification"):
        cross_validated_decoding(features, labels, groups, 5, "ranking")


def test_binned_curve_by_hand() -> None:
    curve = binned_curve(np.array([0, 1, 2, 3, 4.0]), np.array([1, 3, 5, 7, 9.0]), 2)
    np.testing.assert_allclose(curve["edges"], [0, 2, 4])
    np.testing.assert_allclose(curve["mean"], [2.0, 7.0])  # [0, 2) → 1, 3; [2, 4] → 5, 7, 9


def test_chance_test_by_hand() -> None:
    none_right = chance_test(np.zeros(10, dtype=bool))
    assert (none_right["correct"], none_right["episodes"], none_right["accuracy"]) == (0, 10, 0.0)
    assert none_right["p"] == pytest.approx(2 / 2**10)  # both tails of a fair coin: 0 or 10 of 10
    assert chance_test(np.array([1, 0, 0, 0], dtype=bool))["p"] == pytest.approx(10 / 16)  # P(X <= 1) = 5/16, twice
    assert chance_test(np.array([1, 0] * 5, dtype=bool))["p"] == pytest.approx(1.0)
