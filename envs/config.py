"""Typed schemas of the env config group (`configs/env/*.yaml`, `configs/env/protocol/*.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ProtocolConfig:
    """How Atari is played and scored: every ALE option that changes scores, pinned explicitly."""

    name: str = "dqn_zoo"
    sticky_action_prob: float = 0.0
    noop_max: int = 30
    full_action_space: bool = False
    max_episode_frames: int = 108_000
    frame_skip: int = 4
    stack: int = 4


@dataclass
class EnvConfig:
    """`kind` is `atari` or `classic`; `game` names the Atari game or the classic env (run dir part)."""

    kind: str = "atari"
    game: str = "breakout"
    gym_id: str = ""
    num_envs: int = 1
    eval_num_envs: int = 8
    num_threads: int = 0
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
