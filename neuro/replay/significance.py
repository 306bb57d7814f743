"""Mattar & Daw's (2018) shuffle test of a replay event: is its direction more than its states' order by chance?

An event's *direction score* is the fraction of its consecutive pairs of transitions linked forward minus the
fraction linked in reverse (`neuro.replay.events.link_direction`): +1 for a pure forward run, −1 for a pure
reverse one. The null shuffles the order of the event's transitions (the identities of the replayed states
stay, their order is lost) and scores each shuffle; the event is significant when its score lies outside the
central 95% of the shuffled scores (below the 2.5th or above the 97.5th percentile, the authors' 500 shuffles
in `genFig_FvsR_openMaze.m`). A run whose transitions chain in only one order passes; one whose transitions
would chain about as well in many orders (a back-and-forth over few states) does not.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neuro.replay.agent import Experience

__all__ = ["ShuffleTest", "direction_scores", "shuffle_test"]


class ShuffleTest(NamedTuple):
    """The event's direction `score`, the null's `low` (2.5%) and `high` (97.5%) bounds, and the verdict."""

    score: float
    low: float
    high: float
    significant: bool


def direction_scores(states: np.ndarray, next_states: np.ndarray) -> np.ndarray:
    """Direction scores [...] of transitions s → s' given as `states`, `next_states` [..., n] (n ≥ 2) in replay
    order: mean over the n − 1 consecutive pairs of 1{forward} − 1{reverse}, a pair that is both counting as
    neither (as in `link_direction`)."""
    states, next_states = np.asarray(states), np.asarray(next_states)
    if states.shape[-1] < 2:
        raise ValueError(f"a direction score needs at least 2 transitions; got {states.shape[-1]}")
    forward = states[..., 1:] == next_states[..., :-1]
    reverse = next_states[..., 1:] == states[..., :-1]
    return ((forward & ~reverse).astype(np.float64) - (reverse & ~forward)).mean(axis=-1)


def shuffle_test(steps: list[Experience], rng: np.random.Generator, num_shuffles: int = 500,
                 level: float = 0.05) -> ShuffleTest:
    """Shuffle test of one event, the transitions `steps` in replay order (two-sided at `level`)."""
    if num_shuffles < 40 or not 0 < level < 1:
        raise ValueError(f"need num_shuffles >= 40 and 0 < level < 1; got {num_shuffles}, {level}")
    states = np.array([e.state for e in steps])
    next_states = np.array([e.next_state for e in steps])
    score = float(direction_scores(states, next_states))
    orders = rng.permuted(np.tile(np.arange(states.size), (num_shuffles, 1)), axis=1)
    null = np.sort(direction_scores(states[orders], next_states[orders]))
    low = float(null[int(np.floor(num_shuffles * level / 2)) - 1])  # the authors' sorted(floor(0.025 P)), 1-based
    high = float(null[int(np.ceil(num_shuffles * (1 - level / 2))) - 1])
    return ShuffleTest(score, low, high, score < low or score > high)
