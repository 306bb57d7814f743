"""The paper's analyses: hand-made response curves, then the model populations' predictions.

Bounds (variable-magnitude task, 40 cells, τ_i = (2i+1)/80, configs/neuro/dopamine.yaml's β = 0.02 and
20k trials; "noisy" = 20 trials per magnitude with Gaussian noise of sd 1 response unit):
- distributional TD: asymmetry–reversal r > 0.9 noiseless (measured 0.93; not 1: the expectile is a
  nonlinear function of τ); r > 0.45 noisy and split-half r > 0.45 (over seeds 0-19 of this setup:
  r 0.53-0.89, median 0.85; split-half 0.50-0.98, median 0.85);
- classical TD: every reversal point equal noiseless (r undefined); noisy |r| < 0.4 and split-half |r| < 0.4
  (over seeds 0-19: |r| ≤ 0.35, sd 0.13; split-half |r| ≤ 0.24): chance level for 40 cells (sd ≈ 0.16);
- 10/50/90% cues: distributional cells with τ > 0.5 code the 50% cue above the midpoint between the 10% and
  90% cues (optimistic), τ < 0.5 below (pessimistic); classical cells exactly at the midpoint.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.dopamine.analysis import (
    asymmetries,
    asymmetry_reversal_correlation,
    cue_positions,
    pearson,
    reversal_points,
    split_half_reliability,
)
from neuro.dopamine.config import load_dopamine_config
from neuro.dopamine.models import (
    classical_td,
    distributional_td,
    population_taus,
    response_curves,
    single_trial_responses,
)
from neuro.dopamine.study import cue_study
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE

TASK = VARIABLE_MAGNITUDE
MAGNITUDES = np.array([1.0, 2.0, 4.0, 8.0])


def test_reversal_points_by_hand() -> None:
    responses = np.array([
        [-2.0, -1.0, 1.0, 3.0],  # crosses between 2 and 4: 2 + 2·(1/2) = 3
        [-1.0, 0.0, 2.0, 4.0],  # exactly zero at 2
        [1.0, 2.0, 3.0, 4.0],  # never negative: extrapolated along the first segment to 0
        [-4.0, -3.0, -2.0, -1.0],  # never positive: along the last segment, 8 + 4·(1/1) = 12
        [-1.0, 1.0, -1.0, 1.0],  # noise: splits after 1 and after 3 tie (1 violation each) -> mean
        [-1.0, -1.0, -1.0, -1.0],  # flat and negative: the top magnitude
    ])
    expected = [3.0, 2.0, 0.0, 12.0, 0.5 * (1.5 + 6.0), 8.0]
    np.testing.assert_allclose(reversal_points(MAGNITUDES, responses), expected)


def test_hinge_reversal_is_exact_and_interpolation_is_biased_by_asymmetry() -> None:
    # α⁺ = 0.9, α⁻ = 0.1 around 6: interpolation between 4 (−0.2) and 8 (+1.8) says 4.4; the hinge fit says 6
    responses = np.where(MAGNITUDES > 6, 0.9, 0.1) * (MAGNITUDES - 6)
    assert reversal_points(MAGNITUDES, responses[None])[0] == pytest.approx(4.4)
    assert reversal_points(MAGNITUDES, responses[None], "hinge")[0] == pytest.approx(6.0, abs=0.01)
    assert asymmetries(MAGNITUDES, responses[None], np.array([6.0]), "expectile")[0] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="unknown reversal method 'spline'; valid: interpolate, hinge"):
        reversal_points(MAGNITUDES, responses[None], "spline")


def test_asymmetries_by_hand() -> None:
    steps = np.where(MAGNITUDES > 3, 0.75, -0.25)[None]  # quantile form: step heights α⁺ = .75, α⁻ = .25
    assert asymmetries(MAGNITUDES, steps, np.array([3.0]), "quantile")[0] == pytest.approx(0.75)
    assert np.isnan(asymmetries(MAGNITUDES, steps, np.array([0.5]), "quantile")[0])  # nothing below


def test_pearson() -> None:
    assert pearson(np.array([1.0, 2.0, 3.0, np.nan]), np.array([2.0, 4.0, 7.0, 1.0])) == pytest.approx(0.9934, 1e-3)
    assert np.isnan(pearson(np.ones(5), np.arange(5.0)))


@pytest.fixture(scope="module")
def populations() -> dict:
    cfg = load_dopamine_config()
    rng = np.random.default_rng(cfg.seed)
    taus = population_taus(cfg.model.num_cells)
    m, rec = cfg.model, cfg.recording
    result = {}
    for name in ("distributional", "classical"):
        if name == "distributional":
            population = distributional_td(TASK, taus, "expectile", m.learning_rate, m.num_trials, rng)
        else:
            population = classical_td(TASK, taus, m.learning_rate, m.num_trials, rng)
        trials = single_trial_responses(population, TASK.values, rec.trials_per_magnitude, rec.noise_sd, rng)
        result[name] = (population, trials)
    return result


def test_distributional_td_correlates_asymmetry_with_reversal_point(populations: dict) -> None:
    population, trials = populations["distributional"]
    noiseless = asymmetry_reversal_correlation(TASK.values, response_curves(population, TASK.values), "expectile",
                                               "hinge")
    np.testing.assert_allclose(noiseless["reversal"], population.predictions, atol=0.02)  # grid step 0.02 µl
    np.testing.assert_allclose(noiseless["asymmetry"], population.taus, atol=0.01)
    assert noiseless["r"] > 0.9
    assert asymmetry_reversal_correlation(TASK.values, trials, "expectile", "hinge")["r"] > 0.45
    assert split_half_reliability(TASK.values, trials, "hinge")["r"] > 0.45


def test_classical_td_has_no_correlation(populations: dict) -> None:
    population, trials = populations["classical"]
    noiseless = asymmetry_reversal_correlation(TASK.values, response_curves(population, TASK.values), "expectile",
                                               "hinge")
    assert np.ptp(noiseless["reversal"]) == 0.0 and np.isnan(noiseless["r"])
    assert abs(asymmetry_reversal_correlation(TASK.values, trials, "expectile", "hinge")["r"]) < 0.4
    assert abs(split_half_reliability(TASK.values, trials, "hinge")["r"]) < 0.4


def test_cue_responses_are_optimistic_and_pessimistic() -> None:
    taus = population_taus(20)
    study = cue_study(taus, 0.01, 20_000, np.random.default_rng(0))
    positions = study["distributional"]["positions"]
    assert (positions[taus > 0.5] > 0.5).all() and (positions[taus < 0.5] < 0.5).all(), positions.round(2)
    assert study["distributional"]["r_position_tau"] > 0.95
    np.testing.assert_allclose(study["classical"]["positions"], 0.5, atol=0.02)
    # by hand: a cell whose 50% response equals its 90% response is fully optimistic
    np.testing.assert_allclose(cue_positions(np.array([[0.0, 1.0, 1.0], [0.0, 0.25, 1.0], [1.0, 1.0, 1.0]])),
                               [1.0, 0.25, np.nan])
