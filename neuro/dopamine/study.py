"""The model study behind `scripts/dopamine.py figures`: every number its figures show, computed once.

`model_study(cfg)` simulates, on the variable-magnitude task, a distributional TD population (expectile
and quantile forms) and a classical TD population with the same asymmetries; records noisy single-trial
responses from them; runs every analysis of `neuro.dopamine.analysis`; decodes the reward distribution; and
simulates the variable-probability task's cue responses. It returns plain dicts of floats and arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro.dopamine.analysis import asymmetry_reversal_correlation, cue_positions, pearson, split_half_reliability
from neuro.dopamine.config import DopamineConfig
from neuro.dopamine.decoding import decode
from neuro.dopamine.models import (
    Population,
    classical_td,
    distributional_td,
    population_taus,
    response_curves,
    single_trial_responses,
)
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE, VARIABLE_PROBABILITY_CUES, RewardDistribution, variable_probability
from neuro.statistics import expectiles, quantiles, wasserstein1

__all__ = ["reversal_method", "population_summary", "decoding_summary", "cue_study", "model_study"]


def reversal_method(form: str) -> str:
    """The reversal-point estimator for responses of `form`: "hinge" for expectile, "interpolate" for quantile."""
    return "hinge" if form == "expectile" else "interpolate"


def population_summary(population: Population, magnitudes: np.ndarray, trials: np.ndarray) -> dict[str, Any]:
    """Response curves, asymmetry–reversal correlation (noiseless and from noisy trials) and split-half
    reliability of one population, given its single-trial responses `trials` [C, K, T].

    Reversal points: the hinge fit for expectile-form responses (linear on each side, where plain
    interpolation between the widely spaced magnitudes is biased by the asymmetry itself), interpolation
    for quantile-form ones (steps, which a hinge cannot fit).
    """
    method = reversal_method(population.form)
    curves = response_curves(population, magnitudes)
    noiseless = asymmetry_reversal_correlation(magnitudes, curves, population.form, method)
    noisy = asymmetry_reversal_correlation(magnitudes, trials, population.form, method)
    split = split_half_reliability(magnitudes, trials, method)
    return {
        "form": population.form,
        "reversal_method": method,
        "taus": population.taus,
        "predictions": population.predictions,
        "response_curves": curves,
        "noisy_response_curves": trials.mean(-1),
        "noiseless": noiseless,
        "noisy": noisy,
        "split_half": split,
    }


def decoding_summary(
    distribution: RewardDistribution, taus: np.ndarray, statistics: np.ndarray, form: str, iterations: int
) -> dict[str, Any]:
    """Decode (taus, statistics) by `form` and measure W1 to `distribution`."""
    atoms, weights = decode(taus, statistics, form, iterations)
    return {
        "form": form,
        "atoms": atoms,
        "weights": weights,
        "w1": wasserstein1(distribution.values, distribution.probs, atoms, weights),
    }


def cue_study(
    taus: np.ndarray, learning_rate: float, num_trials: int, rng: np.random.Generator
) -> dict[str, Any]:
    """Variable-probability task: each cell's prediction for each cue [C, 3] (distributional TD, expectile
    form, and classical TD), its cue responses (prediction minus the cell's mean over the cues: the common
    pre-cue baseline; `cue_positions` does not depend on it) and where its 50% response falls."""
    result: dict[str, Any] = {"probabilities": list(VARIABLE_PROBABILITY_CUES), "taus": taus}
    for name in ("distributional", "classical"):
        columns = []
        for probability in VARIABLE_PROBABILITY_CUES:
            distribution = variable_probability(probability)
            if name == "distributional":
                population = distributional_td(distribution, taus, "expectile", learning_rate, num_trials, rng)
            else:
                population = classical_td(distribution, taus, learning_rate, num_trials, rng)
            columns.append(population.predictions)
        predictions = np.stack(columns, axis=1)
        responses = predictions - predictions.mean(axis=1, keepdims=True)
        positions = cue_positions(responses)
        result[name] = {
            "responses": responses,
            "positions": positions,
            "r_position_tau": pearson(positions, taus),
        }
    return result


def model_study(cfg: DopamineConfig) -> dict[str, Any]:
    """Everything `scripts/dopamine.py figures` draws and writes (see the module docstring)."""
    rng = np.random.default_rng(cfg.seed)
    m = cfg.model
    task = VARIABLE_MAGNITUDE
    magnitudes = task.values
    taus = population_taus(m.num_cells)
    populations = {
        "distributional": distributional_td(task, taus, "expectile", m.learning_rate, m.num_trials, rng),
        "quantile": distributional_td(task, taus, "quantile", m.quantile_step, m.num_trials, rng),
        "classical": classical_td(task, taus, m.learning_rate, m.num_trials, rng),
    }
    rec = cfg.recording
    summaries = {
        name: population_summary(
            population,
            magnitudes,
            single_trial_responses(population, magnitudes, rec.trials_per_magnitude, rec.noise_sd, rng),
        )
        for name, population in populations.items()
    }
    expectile_population, quantile_population = populations["distributional"], populations["quantile"]
    recorded = asymmetry_reversal_correlation(  # all trials: the best estimate a recording gives
        magnitudes, summaries["distributional"]["noisy_response_curves"], "expectile", reversal_method("expectile")
    )
    decoded = {
        "expectile_model": decoding_summary(task, taus, expectile_population.predictions, "expectile",
                                            cfg.decode_iterations),
        "expectile_recorded": decoding_summary(task, recorded["asymmetry"], recorded["reversal"], "expectile",
                                               cfg.decode_iterations),
        "quantile_model": decoding_summary(task, taus, quantile_population.predictions, "quantile",
                                           cfg.decode_iterations),
    }
    mean = np.array([task.mean])
    return {
        "task": {"magnitudes": magnitudes, "probabilities": task.probs, "mean": task.mean},
        "truth": {"expectiles": expectiles(task.values, task.probs, taus),
                  "quantiles": quantiles(task.values, task.probs, taus)},
        "populations": summaries,
        "decoded": decoded,
        "w1_mean_only": wasserstein1(task.values, task.probs, mean, None),
        "cues": cue_study(taus, m.learning_rate, m.num_trials, rng),
    }
