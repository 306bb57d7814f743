"""What is remembered: the device-resident replay buffer, n-step returns, prioritized sampling."""

from __future__ import annotations

import numpy as np
import torch

from replay.buffer import Batch, ReplayBuffer, as_torch_dtype
from replay.config import ReplayConfig
from replay.nstep import nstep_return
from replay.prioritized import PrioritizedReplayBuffer
from replay.sum_tree import SumTree

REPLAY_KINDS = ("uniform", "prioritized")

__all__ = [
    "REPLAY_KINDS",
    "Batch",
    "PrioritizedReplayBuffer",
    "ReplayBuffer",
    "ReplayConfig",
    "SumTree",
    "build_replay",
    "nstep_return",
]


def build_replay(
    cfg: ReplayConfig,
    *,
    num_envs: int,
    frame_shape: tuple[int, ...],
    frame_dtype: torch.dtype | np.dtype | type,
    stack: int,
    n_step: int,
    gamma: float,
    reward_clip: float | None,
    batch_size: int,
    device: torch.device | str,
    seed: int,
) -> ReplayBuffer:
    """The replay buffer of `cfg.kind` ("uniform" or "prioritized"); `cfg.capacity` counts
    transitions over all envs. Fails before allocating anything on an unknown kind."""
    common = {
        "capacity": cfg.capacity, "num_envs": num_envs, "frame_shape": tuple(frame_shape),
        "frame_dtype": as_torch_dtype(frame_dtype), "stack": stack, "n_step": n_step, "gamma": gamma,
        "reward_clip": reward_clip, "batch_size": batch_size, "device": device, "seed": seed,
    }
    if cfg.kind == "uniform":
        return ReplayBuffer(**common)
    if cfg.kind == "prioritized":
        return PrioritizedReplayBuffer(
            **common, alpha=cfg.alpha, beta=cfg.beta_start, priority_eps=cfg.priority_eps,
        )
    raise ValueError(f"unknown replay kind {cfg.kind!r}; valid: {', '.join(REPLAY_KINDS)}")
