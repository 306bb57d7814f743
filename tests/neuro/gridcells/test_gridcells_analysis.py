"""Rate maps by hand, grid-like fractions on synthetic populations, errors by path length, navigation splits."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.gridcells.analysis import Activity, error_by_path_length, grid_population, rate_maps
from neuro.gridcells.gridness import grid_scores
from neuro.gridcells.navigation import held_out_square, navigation_scores, sample_pairs
from tests.neuro.gridcells.test_gridcells_gridness import HEXAGONAL, plane_waves


def test_rate_maps_by_hand() -> None:
    position = np.array([[-1.0, -1.0], [1.05, -1.0], [1.05, -1.0], [0.0, 1.09]])
    activity = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    maps = rate_maps(position, activity, 2.2, 2)
    assert maps.shape == (2, 2, 2)  # [unit, y, x]
    np.testing.assert_array_equal(maps[0], [[1.0, 4.0], [np.nan, 7.0]])
    np.testing.assert_array_equal(maps[1], [[2.0, 5.0], [np.nan, 8.0]])


def test_grid_population_finds_the_hexagonal_units() -> None:
    rng = np.random.default_rng(0)
    hexagonal = np.stack([plane_waves(20, [0, 60, 120], 6, rotation_deg=r) for r in (0, 20, 40)])
    noise = rng.normal(size=(3, 20, 20))
    silent = np.zeros((1, 20, 20))
    result = grid_population(np.concatenate([hexagonal, noise, silent]), 30, 95.0, rng)
    np.testing.assert_array_equal(result["grid_like"], [True] * 3 + [False] * 4)
    assert result["fraction_grid_like"] == pytest.approx(3 / 7)
    assert not result["active"][-1] and result["gridness_60"][-1] == 0.0
    assert (result["threshold"][:3] < result["gridness_60"][:3]).all()
    np.testing.assert_allclose(result["gridness_60"][0], grid_scores(HEXAGONAL).score_60)


def test_error_by_path_length() -> None:
    path = np.array([[0.1, 0.6, 1.1], [0.2, 0.7, 1.6]])
    error = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 9.0]])
    activity = Activity(np.zeros((2, 3, 2)), np.zeros((2, 3, 1)), error, path, np.zeros((2, 3)), np.zeros((2, 3)))
    out = error_by_path_length(activity, np.array([0.0, 0.5, 1.0, 2.0]))
    np.testing.assert_allclose(out["mean_cm"], [1.5, 3.5, 7.0])
    np.testing.assert_allclose(out["per_step_mean_cm"], [1.5, 3.5, 7.0])


def test_pairs_respect_the_held_out_square() -> None:
    lo, hi = held_out_square(2.2)
    rng = np.random.default_rng(1)
    current, goal = sample_pairs(500, 2.2, False, rng)
    inside = lambda p: ((p >= lo) & (p <= hi)).all(-1)  # noqa: E731
    assert not inside(current).any() and not inside(goal).any()
    _, goal = sample_pairs(500, 2.2, True, rng)
    assert inside(goal).all()


def test_coordinates_support_vector_navigation_everywhere() -> None:
    """From raw coordinates the goal vector is linear, so it generalises to the held-out square (measured 2.2°,
    2.5° and 2.5° on training pairs, new pairs and the new region)."""
    scores = navigation_scores(lambda p: p, 2.2, 2000, 300, 32, 150, 128, 1e-2, np.random.default_rng(2))
    for split in ("train", "new_pairs", "new_region"):
        assert scores[split]["direction_error_deg"] < 20
