"""Learning with replay: Sutton & Barto's Dyna maze and Mattar & Daw's open maze, at small scale.

Dyna maze (α 0.1, ε 0.1, γ 0.95), episodes until the mean steps per episode stay ≤ 20 (shortest path 14):
- n = 50, mean of 4 runs over 12 episodes: ≤ 8 (the book: ~3; measured 3-7 over seeds 0-3);
- n = 0, mean of 8 runs over 50 episodes: ≥ 15 (the book: ~25; measured 26-43 over seeds 0-3).
Open maze (Mattar & Daw's settings, 3 simulations of 10 episodes): prioritized (EVB) replay takes fewer than
half the steps of no replay over episodes 2-10 (measured ~40 against ~300).
Open maze, Fig. 1 as the authors' script runs it (greedy behaviour, random starts, 6 simulations of 20
episodes): random replay from the moves of the model takes under 0.6 of no replay's steps in episodes 11-20
(measured 10-17 against 44-56 over seeds 0-4). With softmax behaviour (β 5) even the optimal values Q* take
117 expected steps from the start (shortest path 14), so values spread by replay cannot shorten the runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuro.replay.agent import AgentParams
from neuro.replay.mazes import dyna_maze, open_maze, shortest_path_length
from neuro.replay.simulate import MATTAR_DAW, Schedule, episodes_to_criterion, run_simulation
from neuro.replay.strategies import make_strategy
from neuro.replay.successor import softmax_policy


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


def test_random_replay_learns_the_open_maze_faster_than_none_as_the_authors_ran_fig_1() -> None:
    params = AgentParams(alpha=1.0, gamma=0.9, policy="epsilon_greedy", epsilon=0.0, beta=5.0)
    protocol = dataclasses.replace(MATTAR_DAW, random_restart=True)
    means = {}
    for name, options in (("none", {}), ("random", {"moves_only": True})):
        rng = np.random.default_rng(0)
        steps = [run_simulation(open_maze(), params, make_strategy(name, **options), Schedule(at_start=20, at_goal=20),
                                20, rng, protocol=protocol).steps for _ in range(6)]
        means[name] = np.mean(np.array(steps)[:, 10:])
    assert means["random"] < 0.6 * means["none"], means


def expected_steps_to_goal(policy: np.ndarray, maze) -> np.ndarray:
    """[S] expected moves into the goal under `policy` [S, A] (first-passage times of its Markov chain)."""
    transition = np.zeros((maze.num_states, maze.num_states))
    np.add.at(transition, (np.repeat(np.arange(maze.num_states), 4), maze.next_state.ravel()), policy.ravel())
    others = [s for s in range(maze.num_states) if s not in maze.goal_states()]
    return np.linalg.solve(np.eye(len(others)) - transition[np.ix_(others, others)], np.ones(len(others))), others


def test_softmax_on_the_optimal_values_is_far_from_the_shortest_path() -> None:
    maze = open_maze()
    q = np.zeros((maze.num_states, 4))
    for _ in range(200):  # value iteration to Q*
        q = maze.reward + 0.9 * np.where(maze.terminal, 0.0, q.max(axis=1)[maze.next_state])
        q[maze.goal_states()] = 0.0
    greedy = (q == q.max(axis=1, keepdims=True)) / (q == q.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)
    steps, others = expected_steps_to_goal(greedy, maze)
    assert steps[others.index(maze.start_state)] == pytest.approx(shortest_path_length(maze))
    steps, _ = expected_steps_to_goal(softmax_policy(q, 5.0), maze)
    assert steps[others.index(maze.start_state)] > 100  # 116.6 against 14
