"""An evaluation phase: the agent plays with a fixed ε until a budget of emulator frames is spent.

Bounded in frames as DQN Zoo (500k frames a phase) and Dopamine (125k agent steps a phase) bound
it, not in episodes: an agent that never ends an episode (an untrained Breakout agent that never
serves) would otherwise play every episode to the protocol's cap (108k frames on Atari). All the
env's envs play at once and the phase ends at the first vector step that brings the frames played to
the budget (so at most one vector step past it). The score is the mean return of the episodes that
completed within the budget; episodes still running at the end are dropped, as DQN Zoo drops them.
If none completed, the phase reports the running episodes' returns so far and says so (`incomplete`),
as DQN Zoo reports the unfinished episode's return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from envs.base import VectorEnv


@dataclass(frozen=True)
class EvaluationResult:
    """returns, frames: each scored episode's raw return and length in frames.

    incomplete: no episode completed within the budget, and `returns` are the running episodes'
    returns so far. interrupted: `should_stop` ended the phase early; nothing is scored.
    """

    returns: list[float]
    frames: list[int]
    frames_played: int
    incomplete: bool = False
    interrupted: bool = False

    @property
    def completed_episodes(self) -> int:
        return 0 if self.incomplete else len(self.returns)


def run_evaluation(agent, env: VectorEnv, *, epsilon: float, budget_frames: int, device: torch.device,
                   seed: int | None = None, should_stop: Callable[[], bool] | None = None) -> EvaluationResult:
    """Play every env of `env` from a reset until `budget_frames` frames are spent; score the episodes
    that completed (see the module docstring).

    `should_stop` is polled every step: a phase of 500k Atari frames can outlast a cluster's
    preemption grace period, so a stop signal ends it at once (result `interrupted`).
    """
    if budget_frames < 1:
        raise ValueError(f"the evaluation budget must be >= 1 frame, got {budget_frames}")
    num_envs = env.num_envs
    frames_per_vector_step = num_envs * env.frames_per_step
    running_return = np.zeros(num_envs, dtype=np.float64)
    running_steps = np.zeros(num_envs, dtype=np.int64)
    returns: list[float] = []
    frames: list[int] = []
    frames_played = 0
    obs = env.reset(seed=seed)
    while frames_played < budget_frames:
        if should_stop is not None and should_stop():
            return EvaluationResult(returns=returns, frames=frames, frames_played=frames_played, interrupted=True)
        actions = agent.act(torch.from_numpy(obs).to(device), epsilon).cpu().numpy()
        step = env.step(actions)
        frames_played += frames_per_vector_step
        running_return += step.reward
        running_steps += 1
        ended = step.terminated | step.truncated
        for i in np.flatnonzero(ended):
            returns.append(float(running_return[i]))
            frames.append(int(running_steps[i] * env.frames_per_step))
        running_return[step.first | ended] = 0.0
        running_steps[step.first | ended] = 0
        obs = step.obs
    if not returns:
        return EvaluationResult(returns=running_return.tolist(), frames=(running_steps * env.frames_per_step).tolist(),
                                frames_played=frames_played, incomplete=True)
    return EvaluationResult(returns=returns, frames=frames, frames_played=frames_played)
