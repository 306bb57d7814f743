"""The motion model stays in the box and its speed and turning statistics match its parameters; the targets
are distributions; the inputs integrate to the positions."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.gridcells.cells import HeadDirectionCells, PlaceCells
from neuro.gridcells.trajectories import MotionParams, avoid_walls, simulate

PARAMS = MotionParams()


@pytest.fixture(scope="module")
def trajectories():
    return simulate(200, 500, PARAMS, np.random.default_rng(0))


def test_stays_in_the_box(trajectories) -> None:
    assert np.abs(trajectories.position).max() <= PARAMS.box_m / 2
    # and covers it: every cell of a 10 × 10 grid visited
    ij = ((trajectories.position.reshape(-1, 2) + 1.1) / 0.22).astype(int).clip(0, 9)
    assert len(np.unique(ij[:, 0] * 10 + ij[:, 1])) == 100


def test_speed_and_turning_match_the_parameters(trajectories) -> None:
    near, _ = avoid_walls(trajectories.position[:, :-1].reshape(-1, 2), trajectories.heading[:, :-1].ravel(),
                          PARAMS.box_m, PARAMS.border_m)
    free = ~near
    speed = trajectories.speed.ravel()[free]
    # Rayleigh(b): mean b √(π/2), second moment 2b²
    b = PARAMS.speed_scale_m_s
    assert speed.mean() == pytest.approx(b * np.sqrt(np.pi / 2), rel=0.01)
    assert (speed**2).mean() == pytest.approx(2 * b**2, rel=0.02)
    omega = trajectories.turn.ravel()[free] / PARAMS.dt_s
    assert omega.mean() == pytest.approx(0.0, abs=0.05)
    assert omega.std() == pytest.approx(PARAMS.turn_sd_rad_s, rel=0.01)
    # near a wall: a quarter of the speed
    assert trajectories.speed.ravel()[near].mean() == pytest.approx(0.25 * b * np.sqrt(np.pi / 2), rel=0.05)


def test_wall_avoidance_by_hand() -> None:
    position = np.array([[1.09, 0.0], [1.09, 0.0], [0.0, -1.09], [0.0, 0.0]])
    heading = np.array([np.pi / 6, np.pi * 0.9, -np.pi / 2 + 0.2, 0.0])
    near, turn = avoid_walls(position, heading, 2.2, 0.03)
    np.testing.assert_array_equal(near, [True, False, True, False])
    # heading 30° into the east wall turns to 90°; 0.2 rad off straight into the south wall turns to run along it
    np.testing.assert_allclose(turn, [np.pi / 3, 0.0, np.pi / 2 - 0.2, 0.0])


def test_inputs_integrate_to_the_positions(trajectories) -> None:
    steps = trajectories.velocity_inputs()
    np.testing.assert_allclose(trajectories.position[:, 0] + steps.cumsum(1)[:, -1], trajectories.position[:, -1],
                               atol=1e-9)
    ego = trajectories.egocentric_inputs()
    assert ego.shape == (200, 500, 3)
    np.testing.assert_allclose(ego[..., 0] * PARAMS.dt_s, np.linalg.norm(steps, axis=-1))
    np.testing.assert_allclose(ego[..., 1] ** 2 + ego[..., 2] ** 2, 1.0)


@pytest.mark.parametrize("dog", [False, True])
def test_place_targets_are_distributions_peaked_at_the_nearest_centre(dog: bool) -> None:
    rng = np.random.default_rng(1)
    cells = PlaceCells.uniform(64, 2.2, 0.12, rng, dog=dog)
    at_centres = cells.activation(cells.centres)
    np.testing.assert_allclose(at_centres.sum(-1), 1.0, atol=1e-5)
    assert (at_centres >= 0).all()
    positions = rng.uniform(-1.1, 1.1, (7, 5, 2))
    acts = cells.activation(positions)
    assert acts.shape == (7, 5, 64)
    np.testing.assert_allclose(acts.sum(-1), 1.0, atol=1e-5)
    nearest = np.linalg.norm(positions[..., None, :] - cells.centres, axis=-1).argmin(-1)
    np.testing.assert_array_equal(acts.argmax(-1), nearest)


def test_gaussian_place_targets_by_hand() -> None:
    cells = PlaceCells(np.array([[0.0, 0.0], [0.1, 0.0]]), 0.1)
    # at x = 0: logits 0 and −0.01/0.02 = −0.5
    np.testing.assert_allclose(cells.activation(np.zeros((1, 2)))[0], [1 / (1 + np.exp(-0.5)), 1 / (1 + np.exp(0.5))],
                               rtol=1e-6)


def test_head_direction_targets_are_von_mises_distributions() -> None:
    cells = HeadDirectionCells.uniform(12, 20.0, np.random.default_rng(2))
    headings = np.linspace(0, 2 * np.pi, 50)
    acts = cells.activation(headings)
    np.testing.assert_allclose(acts.sum(-1), 1.0, atol=1e-12)
    gap = np.angle(np.exp(1j * (headings[:, None] - cells.preferred)))
    np.testing.assert_array_equal(acts.argmax(-1), np.abs(gap).argmin(-1))
    ratio = acts[0, 0] / acts[0, 1]
    assert ratio == pytest.approx(np.exp(20 * (np.cos(gap[0, 0]) - np.cos(gap[0, 1]))))
