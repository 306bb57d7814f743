"""Evaluation episodes: the agent plays `num_episodes` whole episodes with a fixed ε.

Episodes are split into per-env quotas fixed in advance, and each env only counts its own first
episodes: collecting "the first N episodes to finish" over parallel envs would favour short (often
bad) episodes. Episode length is capped by the env's protocol (108k frames on Atari).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from envs.base import VectorEnv


@dataclass(frozen=True)
class EpisodeResult:
    returns: list[float]
    frames: list[int]
    interrupted: bool = False  # `should_stop` ended the phase early: the returns are incomplete


def run_episodes(agent, env: VectorEnv, *, epsilon: float, num_episodes: int, device: torch.device,
                 seed: int | None = None, should_stop: Callable[[], bool] | None = None) -> EpisodeResult:
    """Play `num_episodes` episodes on `env` (all its envs at once) and return their raw returns.

    `should_stop` is polled every step: an evaluation of up to 108k-frame Atari episodes can outlast
    a cluster's preemption grace period, so a stop signal ends it at once (result `interrupted`).
    """
    num_envs = env.num_envs
    quota = np.full(num_envs, num_episodes // num_envs, dtype=np.int64)
    quota[: num_episodes % num_envs] += 1
    done_count = np.zeros(num_envs, dtype=np.int64)
    running_return = np.zeros(num_envs, dtype=np.float64)
    running_steps = np.zeros(num_envs, dtype=np.int64)
    returns: list[float] = []
    frames: list[int] = []
    obs = env.reset(seed=seed)
    while (done_count < quota).any():
        if should_stop is not None and should_stop():
            return EpisodeResult(returns=returns, frames=frames, interrupted=True)
        actions = agent.act(torch.from_numpy(obs).to(device), epsilon).cpu().numpy()
        step = env.step(actions)
        running_return += step.reward
        running_steps += 1
        ended = step.terminated | step.truncated
        for i in np.flatnonzero(ended):
            if done_count[i] < quota[i]:
                returns.append(float(running_return[i]))
                frames.append(int(running_steps[i] * env.frames_per_step))
                done_count[i] += 1
        running_return[step.first | ended] = 0.0
        running_steps[step.first | ended] = 0
        obs = step.obs
    return EpisodeResult(returns=returns, frames=frames)
