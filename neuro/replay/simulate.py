"""Run a tabular agent on a maze with replay between steps, before each episode and after each goal.

`run_simulation` is the one loop every reproduction uses: Sutton & Barto's Dyna-Q plans `per_step` backups
after every real step; Mattar & Daw's agent replays `at_start` backups before it sets off and `at_goal` after
it reaches the goal. Each replay bout is kept (`ReplayBout`) so the events in it can be classified.

Mattar & Daw's protocol adds (`MattarDawProtocol`): the agent first explores the maze without reward, so its
model knows every move (`pre_explore`); it does not replay before it has found a reward; the reward it
receives is Gaussian around the goal's value, truncated at 0 (`reward_sd`, 0.1 in their code); and, for their
forward/reverse figure, each episode after the first starts in a random non-goal state (`random_restart`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuro.replay.agent import AgentParams, Experience, TabularAgent
from neuro.replay.mazes import Maze
from neuro.replay.strategies import Context, Replay

__all__ = ["Schedule", "Protocol", "MATTAR_DAW", "ReplayBout", "Simulation", "run_simulation", "episodes_to_criterion"]


@dataclass(frozen=True)
class Schedule:
    """How many backups a replay bout does: after every real step, before each episode, after each goal."""

    per_step: int = 0
    at_start: int = 0
    at_goal: int = 0


@dataclass(frozen=True)
class Protocol:
    """How the world treats the agent besides the maze (see the module docstring); defaults: Sutton & Barto's."""

    pre_explore: bool = False
    replay_before_reward: bool = True
    reward_sd: float = 0.0
    random_restart: bool = False


MATTAR_DAW = Protocol(pre_explore=True, replay_before_reward=False, reward_sd=0.1)


@dataclass(frozen=True)
class ReplayBout:
    """One bout: the episode (0-based), the moment ("start", "goal", "step"), the agent's state, the backups and,
    for EVB replay, the EVB of each backup when it was chosen (`values`; empty for other strategies)."""

    episode: int
    moment: str
    state: int
    backups: list[list[Experience]]
    values: tuple[float, ...] = ()


@dataclass
class Simulation:
    """What one simulation returns: steps per episode [E], the replay bouts (if recorded), the final agent."""

    steps: np.ndarray
    bouts: list[ReplayBout]
    agent: TabularAgent


def run_simulation(maze: Maze, params: AgentParams, strategy: Replay, schedule: Schedule, num_episodes: int,
                   rng: np.random.Generator, max_steps_per_episode: int = 100_000,
                   record: bool = False, protocol: Protocol = Protocol(),
                   reward_scale: np.ndarray | None = None) -> Simulation:
    """`num_episodes` episodes of Q-learning with `strategy`'s replay at the `schedule`'s moments;
    `reward_scale` [num_episodes] multiplies the goal's reward in each episode (a reward change mid-run)."""
    agent = TabularAgent(maze.num_states, len(maze.next_state[0]), params)
    strategy.reset()
    restart, goals = maze.restart, tuple(maze.goal_states())
    if protocol.pre_explore:
        agent.model_next[:] = maze.next_state
        agent.model_terminal[:] = maze.terminal
        agent.model_next[list(goals)] = -1  # the agent never acts from a goal
    non_goals = np.setdiff1d(np.arange(maze.num_states), goals)
    random_starts = tuple(int(s) for s in non_goals) if protocol.random_restart else ()
    steps = np.zeros(num_episodes, dtype=np.int64)
    bouts: list[ReplayBout] = []
    rewarded = protocol.replay_before_reward

    def bout(state: int, moment: str, count: int, episode: int) -> None:
        if not rewarded:
            return
        context = Context(state, moment, restart, goals, random_starts)
        backups = strategy.replay(agent, context, count, rng)
        if record:
            bouts.append(ReplayBout(episode, moment, state, backups, tuple(getattr(strategy, "values", ()))))

    start = maze.start_state
    for episode in range(num_episodes):
        state = start
        if schedule.at_start:
            bout(state, "start", schedule.at_start, episode)
        for _ in range(max_steps_per_episode):
            steps[episode] += 1
            action = agent.act(state, rng)
            next_state, reward, terminal = maze.step(state, action)
            if reward_scale is not None:
                reward *= float(reward_scale[episode])
            if terminal and protocol.reward_sd > 0:
                reward = max(0.0, reward + protocol.reward_sd * float(rng.standard_normal()))
            rewarded = rewarded or reward != 0
            experience = Experience(state, action, reward, next_state, terminal)
            strategy.observe(agent, experience, agent.learn(experience))
            if schedule.per_step:
                bout(next_state, "step", schedule.per_step, episode)
            state = next_state
            if terminal:
                break
        if schedule.at_goal:
            bout(state, "goal", schedule.at_goal, episode)
        start = int(rng.choice(non_goals)) if protocol.random_restart else int(restart[state])
    return Simulation(steps, bouts, agent)


def episodes_to_criterion(steps_per_episode: np.ndarray, criterion_steps: float) -> int:
    """The first episode (1-based) from which the steps per episode stay at or below `criterion_steps` to the
    end, or len + 1 if the last episode is above it."""
    above = np.flatnonzero(np.asarray(steps_per_episode) > criterion_steps)
    return 1 if above.size == 0 else int(above[-1]) + 2
