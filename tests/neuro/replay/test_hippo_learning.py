"""Learning with replay: Sutton & Barto's Dyna maze and Mattar & Daw's open maze, at small scale.

Dyna maze (α 0.1, ε 0.1, γ 0.95), episodes until the mean steps per episode stay ≤ 20 (shortest path 14):
- n = 50, mean of 4 runs over 12 episodes: ≤ 8 (the book: ~3; measured 3-7 over seeds 0-3);
- n = 0, mean of 8 runs over 50 episodes: ≥ 15 (the book: ~25; measured 26-43 over seeds 0-3).
Open maze (Mattar & Daw's settings, 3 simulations of 10 episodes): prioritized (EVB) replay takes fewer than
half the steps of no replay over episodes 2-10 (measured ~40 against ~300).
"""

from __future__ import annotations

import numpy as np

from neuro.replay.agent import AgentParams
from neuro.replay.mazes import dyna_maze, open_maze
from neuro.replay.simulate import MATTAR_DAW, Schedule, episodes_to_criterion, run_simulation
from neuro.replay.strategies import make_strategy


def test_episodes_to_criterion() -> None:
    assert episodes_to_criterion(np.array([100, 30, 18, 25, 19, 17]), 20) == 5
    assert episodes_to_criterion(np.array([10, 12]), 20) == 1
    assert episodes_to_criterion(np.array([10, 30]), 20) == 3  # never settled


def dyna_steps(planning_steps: int, runs: int, episodes: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    params = AgentParams(alpha=0.1, gamma=0.95, policy="epsilon_greedy", epsilon=0.1)
    return np.array([run_simulation(dyna_maze(), params, make_strategy("random"), Schedule(per_step=planning_steps),
                                    episodes, rng).steps for _ in range(runs)])


def test_dyna_maze_with_50_planning_steps_is_near_optimal_within_8_episodes() -> None:
    steps = dyna_steps(50, runs=4, episodes=12)
    assert episodes_to_criterion(steps.mean(0), 20) <= 8
    assert steps[:, -3:].mean() < 20


def test_dyna_maze_without_planning_takes_at_least_15_episodes() -> None:
    steps = dyna_steps(0, runs=8, episodes=50)
    assert episodes_to_criterion(steps.mean(0), 20) >= 15
    assert steps[:, -10:].mean() < 25  # but it does get there


def test_prioritized_replay_learns_the_open_maze_faster_than_none() -> None:
    params = AgentParams(alpha=1.0, gamma=0.9, policy="softmax", beta=5.0)
    schedule = Schedule(at_start=20, at_goal=20)
    means = {}
    for name in ("none", "evb"):
        rng = np.random.default_rng(1)
        steps = [run_simulation(open_maze(), params, make_strategy(name), schedule, 10, rng, protocol=MATTAR_DAW).steps
                 for _ in range(3)]
        means[name] = np.mean(np.array(steps)[:, 1:])
    assert means["evb"] < 0.5 * means["none"], means
