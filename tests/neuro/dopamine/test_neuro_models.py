"""TD models: hand-computed updates, and convergence of each form to its statistic of the task's distribution.

Tolerances (variable-magnitude task, 40 cells, τ_i = (2i+1)/80, predictions averaged over the second half):
- expectile form, β = 0.005, 80k trials: every prediction within 0.1 µl of the true τ_i-expectile
  (measured max error 0.037-0.053 over seeds 0-2);
- quantile form, step 0.02 µl, 40k trials: every prediction V_i within 0.25 µl of a τ_i-quantile, up to
  0.02 in probability: F((V_i − 0.25)−) − 0.02 ≤ τ_i ≤ F(V_i + 0.25) + 0.02. (A quantile of a discrete
  distribution is an atom; cells whose τ is just above a CDF level drift to it slowly, at a rate ∝ τ − F.)
- classical TD: the shared prediction within 0.1 µl of the mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.dopamine.models import (
    asymmetric_rates,
    classical_td,
    distributional_td,
    population_taus,
    response_curves,
    scaled_rpe,
    single_trial_responses,
    td_step,
)
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE
from neuro.statistics import expectiles

TASK = VARIABLE_MAGNITUDE


def test_td_step_by_hand() -> None:
    v = np.array([1.0, 1.0])
    alpha_plus, alpha_minus = np.array([0.3, 0.1]), np.array([0.1, 0.3])
    np.testing.assert_allclose(td_step(v, 3.0, alpha_plus, alpha_minus, "expectile"), [1.6, 1.2])  # + α⁺·2
    np.testing.assert_allclose(td_step(v, 0.0, alpha_plus, alpha_minus, "expectile"), [0.9, 0.7])  # − α⁻·1
    np.testing.assert_allclose(td_step(v, 3.0, alpha_plus, alpha_minus, "quantile"), [1.3, 1.1])  # + α⁺
    np.testing.assert_allclose(td_step(v, 0.0, alpha_plus, alpha_minus, "quantile"), [0.9, 0.7])  # − α⁻
    np.testing.assert_allclose(td_step(v, 1.0, alpha_plus, alpha_minus, "quantile"), [1.0, 1.0])  # δ = 0
    with pytest.raises(ValueError, match="unknown form 'median'; valid: expectile, quantile"):
        td_step(v, 0.0, alpha_plus, alpha_minus, "median")


def test_rates_and_taus() -> None:
    taus = population_taus(4)
    np.testing.assert_allclose(taus, [0.125, 0.375, 0.625, 0.875])
    alpha_plus, alpha_minus = asymmetric_rates(taus, 0.1)
    np.testing.assert_allclose(alpha_plus / (alpha_plus + alpha_minus), taus)
    np.testing.assert_allclose(alpha_plus + alpha_minus, 0.2)


def test_expectile_form_converges_to_the_expectiles() -> None:
    taus = population_taus(40)
    population = distributional_td(TASK, taus, "expectile", 0.005, 80_000, np.random.default_rng(0))
    error = np.abs(population.predictions - expectiles(TASK.values, TASK.probs, taus))
    assert error.max() < 0.1, error.round(3)


def test_quantile_form_converges_to_the_quantiles() -> None:
    taus = population_taus(40)
    population = distributional_td(TASK, taus, "quantile", 0.02, 40_000, np.random.default_rng(0))
    v = population.predictions

    def cdf(x: np.ndarray, strict: bool) -> np.ndarray:
        below = TASK.values[None, :] < x[:, None] if strict else TASK.values[None, :] <= x[:, None]
        return (below * TASK.probs).sum(1)

    gap = np.maximum(cdf(v - 0.25, strict=True) - taus, 0) + np.maximum(taus - cdf(v + 0.25, strict=False), 0)
    assert gap.max() < 0.02, (gap.round(3), v.round(2))
    assert (np.diff(v) > -0.3).all()  # ordered by τ: a sign slip would learn 1 − τ


def test_classical_td_learns_the_mean_for_every_cell() -> None:
    taus = population_taus(10)
    population = classical_td(TASK, taus, 0.005, 40_000, np.random.default_rng(0))
    assert np.ptp(population.predictions) == 0.0
    assert population.predictions[0] == pytest.approx(TASK.mean, abs=0.1)


def test_responses() -> None:
    taus = np.array([0.2, 0.8])
    np.testing.assert_allclose(scaled_rpe(np.array([[2.0, -1.0], [2.0, -1.0]]), taus, "expectile"),
                               [[0.4, -0.8], [1.6, -0.2]])
    np.testing.assert_allclose(scaled_rpe(np.array([[2.0, -1.0], [2.0, -1.0]]), taus, "quantile"),
                               [[0.2, -0.8], [0.8, -0.2]])
    population = classical_td(TASK, taus, 0.01, 100, np.random.default_rng(0))
    curves = response_curves(population, TASK.values)
    assert curves.shape == (2, 7)
    trials = single_trial_responses(population, TASK.values, 6, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(trials, np.repeat(curves[..., None], 6, axis=-1))
