"""Classical and distributional TD models of dopamine neurons (Dabney et al. 2020, Fig. 1 and Methods).

The task is Pavlovian: a cue predicts the trial's reward, so each model cell i holds one prediction V_i
of the reward (the value at the moment of delivery; no discounting within the trial) and emits a reward
prediction error (RPE) when the reward r arrives:

    δ_i = r − V_i.

Cells differ by their asymmetry τ_i = α⁺_i / (α⁺_i + α⁻_i), spread over (0, 1): positive errors are
scaled by α⁺_i, negative ones by α⁻_i. We set α⁺_i = 2βτ_i and α⁻_i = 2β(1 − τ_i), so that every cell has
the same total rate α⁺ + α⁻ = 2β and τ_i is its only difference.

- Distributional TD, expectile form: V_i ← V_i + α^±_i δ_i. Its fixed point is the τ_i-expectile of the
  reward distribution (E[α⁺(r − V)₊] = E[α⁻(V − r)₊]).
- Distributional TD, quantile form: V_i ← V_i + α⁺_i if δ_i > 0, − α⁻_i if δ_i < 0 (the sign of the error;
  β is then in reward units). Its fixed point is the τ_i-quantile (α⁺ P(r > V) = α⁻ P(r < V)).
- Classical TD: ONE prediction V shared by every cell, learned with a symmetric rate (its fixed point is
  the mean). Its cells may still scale their RPE asymmetrically (we give them the same τ_i as the
  distributional population), but every cell's RPE crosses zero at the same reward: the null model of
  the paper's Extended Data Fig. 4a-b.

A cell's RESPONSE to a reward is its scaled RPE: τ_i δ_i if δ_i > 0 and (1 − τ_i) δ_i otherwise
(expectile form), τ_i sign(δ_i) or (1 − τ_i) sign(δ_i) (quantile form); the per-cell gain is irrelevant
to every analysis. Learned predictions are Polyak averages over the second half of training, so that the
constant-rate iterates' fluctuation does not blur the fixed points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.dopamine.tasks import RewardDistribution

__all__ = [
    "FORMS",
    "Population",
    "population_taus",
    "asymmetric_rates",
    "td_step",
    "learn_predictions",
    "distributional_td",
    "classical_td",
    "response_curves",
    "single_trial_responses",
    "scaled_rpe",
]

FORMS = ("expectile", "quantile")


def _check_form(form: str) -> None:
    if form not in FORMS:
        raise ValueError(f"unknown form '{form}'; valid: {', '.join(FORMS)}")


def population_taus(num_cells: int) -> np.ndarray:
    """Asymmetries τ_i = (2i + 1) / (2N), i = 0 … N − 1: evenly spread over (0, 1), never 0 or 1."""
    if num_cells < 1:
        raise ValueError(f"num_cells must be >= 1; got {num_cells}")
    return (2 * np.arange(num_cells) + 1) / (2 * num_cells)


def asymmetric_rates(taus: np.ndarray, learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """(α⁺, α⁻) = (2βτ, 2β(1 − τ)): τ = α⁺/(α⁺ + α⁻) and α⁺ + α⁻ = 2β for every cell."""
    taus = np.asarray(taus, dtype=np.float64)
    if ((taus <= 0) | (taus >= 1)).any():
        raise ValueError(f"every τ must be in (0, 1); got {taus}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0; got {learning_rate}")
    return 2 * learning_rate * taus, 2 * learning_rate * (1 - taus)


def td_step(
    predictions: np.ndarray, reward: float, alpha_plus: np.ndarray, alpha_minus: np.ndarray, form: str
) -> np.ndarray:
    """One distributional TD update of every cell's prediction [C] for one reward (see the module docstring)."""
    delta = reward - predictions
    if form == "expectile":
        return predictions + np.where(delta > 0, alpha_plus, alpha_minus) * delta
    if form == "quantile":
        return predictions + np.where(delta > 0, alpha_plus, 0.0) - np.where(delta < 0, alpha_minus, 0.0)
    raise ValueError(f"unknown form '{form}'; valid: {', '.join(FORMS)}")


def learn_predictions(
    distribution: RewardDistribution,
    alpha_plus: np.ndarray,
    alpha_minus: np.ndarray,
    form: str,
    num_trials: int,
    rng: np.random.Generator,
    initial: float = 0.0,
) -> np.ndarray:
    """Run `num_trials` trials of TD learning; return the predictions [C] averaged over the second half."""
    _check_form(form)
    if num_trials < 2:
        raise ValueError(f"num_trials must be >= 2; got {num_trials}")
    rewards = distribution.sample(rng, num_trials)
    predictions = np.full(np.shape(alpha_plus), float(initial))
    start = num_trials // 2
    total = np.zeros_like(predictions)
    for trial, reward in enumerate(rewards):
        predictions = td_step(predictions, reward, alpha_plus, alpha_minus, form)
        if trial >= start:
            total += predictions
    return total / (num_trials - start)


@dataclass(frozen=True, eq=False)
class Population:
    """Model cells: asymmetries τ_i [C], learned predictions V_i [C] (where each RPE crosses zero), form."""

    taus: np.ndarray
    predictions: np.ndarray
    form: str


def distributional_td(
    distribution: RewardDistribution,
    taus: np.ndarray,
    form: str,
    learning_rate: float,
    num_trials: int,
    rng: np.random.Generator,
) -> Population:
    """Distributional TD: each cell learns its own prediction with its own (α⁺_i, α⁻_i)."""
    alpha_plus, alpha_minus = asymmetric_rates(taus, learning_rate)
    predictions = learn_predictions(distribution, alpha_plus, alpha_minus, form, num_trials, rng)
    return Population(np.asarray(taus, dtype=np.float64), predictions, form)


def classical_td(
    distribution: RewardDistribution, taus: np.ndarray, learning_rate: float, num_trials: int, rng: np.random.Generator
) -> Population:
    """Classical TD: one prediction learned with α⁺ = α⁻ = β (the mean), shared by every cell; the cells'
    RPE responses are still scaled by their τ_i (expectile-form responses)."""
    rate = np.array([learning_rate])
    shared = learn_predictions(distribution, rate, rate, "expectile", num_trials, rng)
    taus = np.asarray(taus, dtype=np.float64)
    return Population(taus, np.full(taus.shape, shared[0]), "expectile")


def scaled_rpe(delta: np.ndarray, taus: np.ndarray, form: str) -> np.ndarray:
    """A cell's response to RPEs `delta` [C, ...]: τ·h(δ) above zero, (1 − τ)·h(δ) below, h = identity
    (expectile form) or sign (quantile form); `taus` [C] broadcasts over the trailing axes."""
    _check_form(form)
    taus = np.asarray(taus, dtype=np.float64).reshape(-1, *([1] * (np.ndim(delta) - 1)))
    shaped = delta if form == "expectile" else np.sign(delta)
    return np.where(delta > 0, taus, 1 - taus) * shaped


def response_curves(population: Population, magnitudes: np.ndarray) -> np.ndarray:
    """Each cell's noiseless response to each reward magnitude: [C, K]."""
    delta = np.asarray(magnitudes, dtype=np.float64)[None, :] - population.predictions[:, None]
    return scaled_rpe(delta, population.taus, population.form)


def single_trial_responses(
    population: Population, magnitudes: np.ndarray, trials_per_magnitude: int, noise_sd: float, rng: np.random.Generator
) -> np.ndarray:
    """Responses [C, K, T] of `trials_per_magnitude` trials per magnitude with added Gaussian noise (sd
    `noise_sd`, in response units): what a recording gives."""
    if trials_per_magnitude < 1 or noise_sd < 0:
        raise ValueError(f"need trials_per_magnitude >= 1 and noise_sd >= 0; got {trials_per_magnitude}, {noise_sd}")
    mean = response_curves(population, magnitudes)[..., None]
    return mean + noise_sd * rng.standard_normal((*mean.shape[:2], trials_per_magnitude))
