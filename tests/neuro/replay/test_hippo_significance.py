"""Mattar & Daw's shuffle test of replay events on planted runs with a known answer.

A pure forward or reverse run of 5 transitions chains in one order of 120: every shuffle scores inside
±0.75 bar about 1 in 120, so the run (score ±1) is significant. A loop around a square chains forward in each
of its 4 rotations (4 orders in 24, above the 2.5% tail): its score 1 is reached by the null, not significant.
A back-and-forth over two states scores 0 in every order, and a run whose links cancel scores inside the null.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.replay.agent import Experience
from neuro.replay.significance import direction_scores, shuffle_test


def path(states: list[int]) -> list[Experience]:
    return [Experience(a, 0, 0.0, b, False) for a, b in zip(states, states[1:], strict=False)]


def test_direction_scores_by_hand() -> None:
    # links of 0→1, 1→2, 5→6, 4→5: forward, neither, reverse → (1 − 1) / 3
    states, next_states = np.array([0, 1, 5, 4]), np.array([1, 2, 6, 5])
    assert direction_scores(states, next_states) == pytest.approx(0.0)
    assert direction_scores(states[:2], next_states[:2]) == 1.0
    assert direction_scores(states[2:], next_states[2:]) == -1.0
    assert direction_scores(np.array([0, 1]), np.array([1, 0])) == 0.0  # both ways: counts as neither
    batch = direction_scores(np.array([[0, 1, 2], [2, 1, 0]]), np.array([[1, 2, 3], [3, 2, 1]]))
    np.testing.assert_allclose(batch, [1.0, -1.0])
    with pytest.raises(ValueError, match="at least 2 transitions"):
        direction_scores(np.array([0]), np.array([1]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_forward_and_reverse_runs_are_significant(seed: int) -> None:
    rng = np.random.default_rng(seed)
    forward = shuffle_test(path([0, 1, 2, 3, 4, 5]), rng)
    reverse = shuffle_test(path([0, 1, 2, 3, 4, 5])[::-1], rng)
    assert (forward.score, forward.significant) == (1.0, True)
    assert (reverse.score, reverse.significant) == (-1.0, True)
    assert forward.low < 0 < forward.high < 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_runs_that_chain_in_many_orders_or_cancel_are_not_significant(seed: int) -> None:
    rng = np.random.default_rng(seed)
    loop = shuffle_test(path([0, 1, 3, 2, 0]), rng)  # 0→1→3→2→0 around a square
    assert loop.score == 1.0 and loop.high == 1.0 and not loop.significant
    back_and_forth = shuffle_test(path([0, 1, 0, 1, 0, 1]), rng)
    assert (back_and_forth.score, back_and_forth.significant) == (0.0, False)
    steps = path([0, 1, 2, 3, 4, 5])
    cancelling = shuffle_test(steps[:3] + steps[3:][::-1], rng)  # forward, forward, neither, reverse
    assert not cancelling.significant


def test_bad_arguments_fail() -> None:
    with pytest.raises(ValueError, match="num_shuffles >= 40"):
        shuffle_test(path([0, 1, 2]), np.random.default_rng(0), num_shuffles=10)
