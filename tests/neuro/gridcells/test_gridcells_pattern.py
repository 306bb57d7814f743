"""Pattern formation: the DoG's optimal wavelength, and the optimiser reaching the top of gᵀΣg."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.gridcells.pattern import optimal_wavelength_m, optimise_patterns, periodic_dog_cells, place_covariance


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_optimal_wavelength_maximises_the_dog_spectrum(scale: float) -> None:
    sigma = 0.1
    k = np.linspace(0.1, 60, 200_001)
    spectrum = np.exp(-k**2 * sigma**2 / 2) - np.exp(-k**2 * scale * sigma**2 / 2)
    assert optimal_wavelength_m(sigma, scale) == pytest.approx(2 * np.pi / k[spectrum.argmax()], rel=1e-4)


@pytest.fixture(scope="module")
def covariance() -> np.ndarray:
    cells = periodic_dog_cells(16, 2.2, 256, 0.12, 2.0, np.random.default_rng(0))
    return place_covariance(cells)


def test_covariance_is_centred_and_positive_semidefinite(covariance: np.ndarray) -> None:
    np.testing.assert_allclose(covariance.sum(0), 0.0, atol=1e-8 * np.abs(covariance).max())
    assert np.linalg.eigvalsh(covariance).min() > -1e-8 * np.abs(covariance).max()


def test_unconstrained_optimum_is_the_top_eigenvalue(covariance: np.ndarray) -> None:
    patterns, objective = optimise_patterns(covariance, 3, 300, 1.0, False, np.random.default_rng(1))
    top = np.linalg.eigvalsh(covariance)[-1]
    np.testing.assert_allclose(np.linalg.norm(patterns, axis=0), 1.0)
    assert objective == pytest.approx(np.full(3, top), rel=0.02)


def test_nonnegative_patterns_are_nonnegative_unit_vectors(covariance: np.ndarray) -> None:
    patterns, objective = optimise_patterns(covariance, 3, 100, 1.0, True, np.random.default_rng(2))
    assert (patterns >= 0).all()
    np.testing.assert_allclose(np.linalg.norm(patterns, axis=0), 1.0)
    np.testing.assert_allclose(objective, np.einsum("ik,ij,jk->k", patterns, covariance, patterns))
    assert (objective <= np.linalg.eigvalsh(covariance)[-1] * (1 + 1e-9)).all()
