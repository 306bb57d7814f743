"""What is played: the Atari vector env and its protocols, the game registry, MinAtar, classic-control envs.

`build_env(cfg)` is the one entry point for the trainer; see `base.py` for the `VectorEnv` contract.
"""

from __future__ import annotations

from .atari import AtariEnv
from .base import VecStep, VectorEnv, env_state
from .classic import ClassicEnv
from .config import EnvConfig, MinAtarConfig, ProtocolConfig
from .games import GAMES, SUBSETS, Game, get_game, human_normalized_score
from .minatar import MinAtarEnv

ENV_KINDS = ("atari", "classic", "minatar")

__all__ = [
    "ENV_KINDS",
    "GAMES",
    "SUBSETS",
    "AtariEnv",
    "ClassicEnv",
    "EnvConfig",
    "Game",
    "MinAtarConfig",
    "MinAtarEnv",
    "ProtocolConfig",
    "VecStep",
    "VectorEnv",
    "build_env",
    "env_state",
    "get_game",
    "human_normalized_score",
]


def build_env(cfg: EnvConfig, num_envs: int | None = None, seed: int | None = None) -> VectorEnv:
    """Build the env `cfg` describes; `num_envs` overrides `cfg.num_envs` (e.g. `cfg.eval_num_envs`).

    `seed` seeds the first reset (per-env seeds are derived from it, see `base.env_seeds`).
    """
    n = cfg.num_envs if num_envs is None else num_envs
    if cfg.kind == "atari":
        p = cfg.protocol
        return AtariEnv(
            cfg.game,
            n,
            sticky_action_prob=p.sticky_action_prob,
            noop_max=p.noop_max,
            full_action_space=p.full_action_space,
            max_episode_frames=p.max_episode_frames,
            frame_skip=p.frame_skip,
            stack=p.stack,
            num_threads=cfg.num_threads,
            seed=seed,
        )
    if cfg.kind == "classic":
        if not cfg.gym_id:
            raise ValueError("env kind 'classic' needs gym_id (e.g. 'CartPole-v1')")
        return ClassicEnv(cfg.gym_id, n, name=cfg.game, seed=seed)
    if cfg.kind == "minatar":
        m = cfg.minatar
        return MinAtarEnv(
            cfg.game,
            n,
            sticky_action_prob=m.sticky_action_prob,
            difficulty_ramping=m.difficulty_ramping,
            minimal_action_set=m.minimal_action_set,
            seed=seed,
        )
    raise ValueError(f"unknown env kind '{cfg.kind}'; valid: {', '.join(ENV_KINDS)}")
