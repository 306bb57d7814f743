"""The replay event detector and TDLM sequenceness on planted sequences with a known answer.

Sequenceness bounds (8 states, 3000 bins, noise sd 0.3, 60 events of 4 states at lag 4 bins, amplitude 1):
a planted forward chain gives forward − backward at lag 4 above the 95% permutation threshold (measured
~0.09 against thresholds ~0.04 over seeds 0-4), a planted backward chain the same below −threshold, and
random orders of the same states stay inside ±threshold at every lag.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.replay.agent import Experience
from neuro.replay.events import count_events, detect_events, link_direction
from neuro.replay.reactivations import plant_events
from neuro.replay.sequenceness import chain_matrix, lagged_transitions, permutation_threshold, sequenceness


def path(states: list[int]) -> list[Experience]:
    """Transitions along `states` in order (forward replay of the path)."""
    return [Experience(a, 0, 0.0, b, False) for a, b in zip(states, states[1:], strict=False)]


def test_link_directions() -> None:
    assert link_direction(Experience(1, 0, 0, 2, False), Experience(2, 0, 0, 3, False)) == "forward"
    assert link_direction(Experience(2, 0, 0, 3, False), Experience(1, 0, 0, 2, False)) == "reverse"
    assert link_direction(Experience(1, 0, 0, 2, False), Experience(2, 0, 0, 1, False)) is None  # both
    assert link_direction(Experience(1, 0, 0, 2, False), Experience(5, 0, 0, 6, False)) is None  # neither


def test_detects_planted_forward_and_reverse_runs() -> None:
    forward = path([0, 1, 2, 3, 4, 5])  # 5 transitions
    reverse = path([9, 8, 7, 6])[::-1]  # transitions 7→6, 8→7, 9→8: each ends where the previous began
    noise = [Experience(20, 0, 0, 21, False)]
    events = detect_events(forward + noise + reverse + noise + path([30, 31]), min_length=3)
    assert [(e.direction, e.first, e.states) for e in events] == [
        ("forward", 0, (0, 1, 2, 3, 4, 5)),
        ("reverse", 6, (6, 7, 8, 9)),  # the states in the order their values were backed up, read as a path
    ]
    assert count_events(events) == {"forward": 1, "reverse": 1}
    assert events[0].length == 5 and events[1].direction == "reverse" and events[1].length == 3
    assert detect_events(forward, min_length=6) == []  # too short
    assert len(detect_events(forward, min_length=5)) == 1
    with pytest.raises(ValueError, match="min_length must be >= 2"):
        detect_events(forward, 1)


def test_a_broken_chain_is_two_events() -> None:
    steps = path([0, 1, 2, 3]) + path([10, 11, 12, 13])
    events = detect_events(steps, min_length=3)
    assert [e.states for e in events] == [(0, 1, 2, 3), (10, 11, 12, 13)]


def test_sequenceness_second_level_by_hand() -> None:
    p = chain_matrix([[0, 1, 2, 3]], 4)
    betas = np.stack([p, p.T, 0.5 * p + 2.0 * np.eye(4) + 0.1])  # lag 1: forward, 2: backward, 3: mixed
    forward, backward = sequenceness(betas, p)
    np.testing.assert_allclose(forward, [1.0, 0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(backward, [0.0, 1.0, 0.0], atol=1e-12)


def planted(order: str, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    chains = [[0, 1, 2, 3], [4, 5, 6, 7]]
    matrix = chain_matrix(chains, 8)
    if order == "forward":
        events = [chains[k % 2] for k in range(60)]
    elif order == "backward":
        events = [chains[k % 2][::-1] for k in range(60)]
    else:
        events = [list(rng.permutation(8)[:4]) for _ in range(60)]
    decoded = plant_events(events, 8, 3000, 4, 1.0, 0.3, rng)
    betas = lagged_transitions(decoded, 8)
    forward, backward = sequenceness(betas, matrix)
    return forward - backward, forward, permutation_threshold(betas, matrix, 100, rng)


@pytest.mark.parametrize("seed", [0, 1])
def test_sequenceness_finds_planted_forward_backward_and_no_random_order(seed: int) -> None:
    diff, forward, threshold = planted("forward", seed)
    assert diff[3] > threshold and forward[3] > 0 and np.abs(np.delete(diff, 3)).max() < threshold
    diff, _, threshold = planted("backward", seed)
    assert diff[3] < -threshold and np.abs(np.delete(diff, 3)).max() < threshold
    diff, _, threshold = planted("random", seed)
    assert np.abs(diff).max() < threshold


def test_plant_events_places_each_item_at_its_lag() -> None:
    decoded = plant_events([[2, 0, 1]], 3, 20, 3, 5.0, 0.0, np.random.default_rng(0))
    onset = int(np.flatnonzero(decoded[:, 2])[0])
    expected = np.zeros((20, 3))
    expected[onset, 2] = expected[onset + 3, 0] = expected[onset + 6, 1] = 5.0
    np.testing.assert_array_equal(decoded, expected)
    with pytest.raises(ValueError, match="need more than num_bins"):
        plant_events([[0, 1, 2]] * 5, 3, 20, 3, 1.0, 0.0, np.random.default_rng(0))


def test_event_rates_count_significant_events_and_baseline_filler() -> None:
    from neuro.replay.simulate import ReplayBout, Simulation
    from neuro.replay.study import event_rates

    forward = [[e] for e in path([0, 1, 2, 3, 4, 5])]  # 5 one-step backups chained forward
    reverse = [[e] for e in path([10, 11, 12, 13, 14, 15])[::-1]]
    loop = [[e] for e in path([20, 21, 23, 22, 20])]  # chains forward, but in 4 of its 24 orders: not significant
    bouts = [ReplayBout(0, "goal", 5, forward, (1e-10,) * 5),  # nothing gained: baseline filler
             ReplayBout(0, "start", 9, reverse, (0.3,) * 5),
             ReplayBout(1, "start", 9, loop + forward, (0.3,) * 4 + (1e-10,) * 5)]
    sim = Simulation(np.zeros(2), bouts, None)
    rates = event_rates([sim], 4, 2, 500, np.random.default_rng(0), min_gain=1e-10)
    assert rates["goal"]["forward"]["per_episode"] == 0.5 and rates["goal"]["forward"]["filler_fraction"] == 1.0
    assert rates["start"]["reverse"]["per_episode"] == 0.5 and rates["start"]["reverse"]["filler_fraction"] == 0.0
    assert rates["events_not_significant"] >= 1 and rates["start"]["forward"]["all_per_episode"] > 0
    assert np.isnan(event_rates([sim], 4, 2, 500, np.random.default_rng(0))["goal"]["forward"]["filler_fraction"])
