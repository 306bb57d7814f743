"""Decoding the variable-magnitude distribution from model populations, with W1 bounds.

For scale: a point mass at the mean is at W1 3.72 µl from the task's distribution; reading the 40
expectiles themselves as samples (no imputation) gives W1 1.74; imputation gets 0.57-0.59 (seeds 0-3:
equally weighted samples cannot match a 7-atom distribution's expectiles exactly, and the imputation
objective is flat in directions W1 is not). The quantile population's inverse CDF gets 0.21-0.22.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.dopamine.decoding import decode, decode_expectiles, decode_quantiles
from neuro.dopamine.models import distributional_td, population_taus
from neuro.dopamine.tasks import VARIABLE_MAGNITUDE
from neuro.statistics import expectile_condition, expectiles, quantiles, wasserstein1

TASK = VARIABLE_MAGNITUDE
TAUS = population_taus(40)


def w1(atoms: np.ndarray, weights: np.ndarray | None = None) -> float:
    return wasserstein1(TASK.values, TASK.probs, atoms, weights)


def test_expectile_decoding_from_the_true_expectiles() -> None:
    statistics = expectiles(TASK.values, TASK.probs, TAUS)
    samples = decode_expectiles(TAUS, statistics)
    assert w1(samples) < 0.5  # measured 0.42
    assert w1(statistics) > 1.7  # the naive readout: expectiles are not samples
    residual = expectile_condition(samples, None, statistics, TAUS)
    assert np.abs(residual).max() < 0.02  # the samples' expectile conditions nearly hold (µl)


def test_expectile_decoding_from_the_model_population() -> None:
    population = distributional_td(TASK, TAUS, "expectile", 0.02, 20_000, np.random.default_rng(0))
    atoms, weights = decode(TAUS, population.predictions, "expectile")
    assert w1(atoms, weights) < 0.8
    assert w1(np.array([TASK.mean])) == pytest.approx(3.7247, abs=1e-4)


def test_quantile_decoding_from_the_model_population() -> None:
    population = distributional_td(TASK, TAUS, "quantile", 0.05, 20_000, np.random.default_rng(0))
    atoms, weights = decode(TAUS, population.predictions, "quantile")
    np.testing.assert_allclose(weights, 1 / 40)
    assert w1(atoms, weights) < 0.35
    exact_atoms, _ = decode_quantiles(TAUS, quantiles(TASK.values, TASK.probs, TAUS))
    assert w1(exact_atoms) < 0.1  # the 40-quantile discretisation itself


def test_decode_quantiles_sorts_and_weights_by_tau_intervals() -> None:
    atoms, weights = decode_quantiles(np.array([0.9, 0.1, 0.5]), np.array([3.0, 2.0, 1.0]))
    np.testing.assert_allclose(atoms, [1.0, 2.0, 3.0])  # rearranged (the input crossed)
    np.testing.assert_allclose(weights, [0.3, 0.4, 0.3])  # boundaries 0, 0.3, 0.7, 1


def test_decoding_drops_non_finite_pairs_and_names_bad_forms() -> None:
    samples = decode_expectiles(np.array([0.25, np.nan, 0.75]), np.array([1.0, 5.0, 3.0]))
    assert samples.shape == (2,)
    with pytest.raises(ValueError, match="unknown form 'moment'; valid: expectile, quantile"):
        decode(TAUS, TAUS, "moment")
