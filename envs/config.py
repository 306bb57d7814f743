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
class MinAtarConfig:
    """How MinAtar is played (`envs/minatar.py`); the `minatar` package's defaults are 0.1, True, False."""

    sticky_action_prob: float = 0.1
    difficulty_ramping: bool = True
    minimal_action_set: bool = False


@dataclass
class EnvConfig:
    """`kind` is `atari`, `classic` or `minatar`; `game` names the Atari or MinAtar game or the classic env
    (run dir part). `protocol` applies to Atari only, `minatar` to MinAtar only."""

    kind: str = "atari"
    game: str = "breakout"
    gym_id: str = ""
    num_envs: int = 1
    eval_num_envs: int = 8
    num_threads: int = 0
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    minatar: MinAtarConfig = field(default_factory=MinAtarConfig)
