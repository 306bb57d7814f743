"""Each replay strategy's backup order on a corridor 0 – 1 – 2 – goal, after one episode lived left to right.

With α = 1 and γ = 0.9 the lived episode leaves Q(2, right) = 1 and every other value 0. What each strategy
replays, and what that does to the values:
- movie forward: (0, R), (1, R), (2, R): Q(1, R) = 0.9 but Q(0, R) stays 0 (its successor was still 0);
- movie reverse: (2, R), (1, R), (0, R): Q(1, R) = 0.9, Q(0, R) = 0.81 — one sweep carries the reward home;
- prioritized sweeping: the goal step (|δ| = 1), then its predecessor (0.9), then its predecessor (0.81);
- EVB after the goal: (1, R) then (0, R) (the only backups that gain), then the forward extension of the last;
- imagination: model rollouts from the start, 0 → 1 → 2 → goal, again and again.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuro.replay.agent import AgentParams, Experience, TabularAgent
from neuro.replay.events import replayed_steps
from neuro.replay.mazes import Maze, open_maze
from neuro.replay.strategies import STRATEGIES, Context, make_strategy

RIGHT = 3
CORRIDOR = Maze("corridor", 1, 4, frozenset(), (0, 0), {(0, 3): 1.0}, {(0, 3): (0, 0)})
EPISODE = [Experience(0, RIGHT, 0.0, 1, False), Experience(1, RIGHT, 0.0, 2, False), Experience(2, RIGHT, 1.0, 3, True)]


def fresh_agent(policy: str = "epsilon_greedy") -> TabularAgent:
    params = AgentParams(alpha=1.0, gamma=0.9, policy=policy, epsilon=0.0, beta=5.0)
    return TabularAgent(CORRIDOR.num_states, 4, params)


def replay(name: str, count: int, policy: str = "epsilon_greedy", **options: float):
    agent = fresh_agent(policy)
    strategy = make_strategy(name, **options)
    for experience in EPISODE:
        strategy.observe(agent, experience, agent.learn(experience))
    context = Context(3, "goal", CORRIDOR.restart, (3,))
    backups = strategy.replay(agent, context, count, np.random.default_rng(0))
    return agent, [(e.state, e.action) for e in replayed_steps(backups)], backups


def test_the_lived_episode_leaves_one_value() -> None:
    agent, _, _ = replay("none", 5)
    expected = np.zeros((4, 4))
    expected[2, RIGHT] = 1.0
    np.testing.assert_array_equal(agent.q, expected)


def test_movie_forward_plays_in_lived_order() -> None:
    agent, order, _ = replay("movie_forward", 3)
    assert order == [(0, RIGHT), (1, RIGHT), (2, RIGHT)]
    assert agent.q[1, RIGHT] == pytest.approx(0.9) and agent.q[0, RIGHT] == 0.0
    _, order, _ = replay("movie_forward", 2)
    assert order == [(1, RIGHT), (2, RIGHT)]  # the most recent two, in lived order


def test_movie_reverse_plays_backwards_and_carries_the_reward_home() -> None:
    agent, order, _ = replay("movie_reverse", 3)
    assert order == [(2, RIGHT), (1, RIGHT), (0, RIGHT)]
    np.testing.assert_allclose(agent.q[:3, RIGHT], [0.81, 0.9, 1.0])


def test_random_replays_only_what_the_model_knows() -> None:
    _, order, _ = replay("random", 50)
    assert len(order) == 50 and set(order) == {(0, RIGHT), (1, RIGHT), (2, RIGHT)}


def test_random_with_moves_only_never_replays_a_bump_into_a_wall() -> None:
    maze = open_maze()
    agent = TabularAgent(maze.num_states, 4, AgentParams(alpha=1.0, gamma=0.9, policy="softmax"))
    agent.model_next[:] = maze.next_state  # pre-explored, as in Mattar & Daw's protocol
    context = Context(maze.start_state, "start", maze.restart, tuple(maze.goal_states()))
    bumps = {(s, a) for s, a in zip(*np.nonzero(maze.next_state == np.arange(maze.num_states)[:, None]), strict=True)}
    assert len(bumps) > 0.2 * maze.num_states * 4  # a fifth of the open maze's pairs stay put
    rng = np.random.default_rng(0)
    every = {(e.state, e.action) for e in replayed_steps(make_strategy("random").replay(agent, context, 400, rng))}
    moves = {(e.state, e.action)
             for e in replayed_steps(make_strategy("random", moves_only=True).replay(agent, context, 400, rng))}
    assert every & bumps and not moves & bumps  # Sutton & Barto's Dyna-Q draws bumps; Mattar & Daw's control none


def test_prioritized_sweeping_goes_back_from_the_surprise() -> None:
    agent, order, _ = replay("prioritized_sweeping", 10)
    assert order == [(2, RIGHT), (1, RIGHT), (0, RIGHT)]  # then the queue is empty
    np.testing.assert_allclose(agent.q[:3, RIGHT], [0.81, 0.9, 1.0])


def test_evb_replays_in_reverse_after_reward_then_extends_forward() -> None:
    agent, order, backups = replay("evb", 3, policy="softmax")
    assert order[:2] == [(1, RIGHT), (0, RIGHT)]
    np.testing.assert_allclose(agent.q[:3, RIGHT], [0.81, 0.9, 1.0])
    assert [(e.state, e.action) for e in backups[2]] == [(0, RIGHT), (1, RIGHT)]  # an n-step sequence from 0
    _, order, _ = replay("evb", 5, policy="softmax", evb_threshold=1e-6)
    assert len(order) == 2  # nothing left worth more than the threshold


def test_imagination_rolls_the_model_forward_from_the_start() -> None:
    _, order, _ = replay("imagination", 6)
    assert order == [(0, RIGHT), (1, RIGHT), (2, RIGHT)] * 2


def test_imagination_joins_pieces_never_lived_in_that_order() -> None:
    agent = fresh_agent()
    pieces = [Experience(0, RIGHT, 0.0, 1, False), Experience(2, RIGHT, 1.0, 3, True),
              Experience(1, RIGHT, 0.0, 2, False)]  # 0 → 1 in one episode; 2 → goal, then 1 → 2 in others
    for experience in pieces:
        agent.learn(experience)
    strategy = make_strategy("imagination")
    backups = strategy.replay(agent, Context(3, "goal", CORRIDOR.restart, (3,)), 3, np.random.default_rng(0))
    assert [(e.state, e.next_state) for e in replayed_steps(backups)] == [(0, 1), (1, 2), (2, 3)]


def test_unknown_strategy_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown replay strategy 'dreams'; valid: none, movie_forward"):
        make_strategy("dreams")
    assert len(STRATEGIES) == 7
