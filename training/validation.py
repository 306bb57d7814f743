"""Config checks that run before any env, network or run dir is made.

Each failure names the key, the bad value and the valid choices or range, so a sweep of hundreds of
jobs fails in its first second rather than an hour in.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any

from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

if TYPE_CHECKING:
    from training.config import TrainConfig


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and what would."""


def unknown_key_message(path: str, valid: Collection[str], schema: type | None) -> str:
    """`path` is no key of its node: suggest the closest valid key (difflib) and list them all."""
    parent, _, key = path.rpartition(".")
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" (did you mean '{parent + '.' if parent else ''}{close[0]}'?)" if close else ""
    where = f"{parent or 'the top level'}" + (f" ({schema.__name__})" if schema is not None else "")
    return f"unknown key '{path}'{hint}; valid keys of {where}: {', '.join(sorted(valid))}"


def unknown_keys(node: Any, path: str = "") -> list[str]:
    """Messages for the keys of a typed config that no schema declares, e.g. added by `+key=value`
    (OmegaConf.to_object keeps them as plain attributes of the dataclass instances)."""
    if not is_dataclass(node):
        return []
    names = [f.name for f in fields(node)]
    found = [unknown_key_message(f"{path}{key}", names, type(node)) for key in vars(node) if key not in names]
    for name in names:
        found += unknown_keys(getattr(node, name), f"{path}{name}.")
    return found


def unknown_override_error(error: ConfigCompositionException) -> ConfigError | None:
    """A ConfigError with a "did you mean" for Hydra's failure to override a key no schema knows (Hydra's own
    message suggests `+key=value`, which adds the key); None for any other composition error."""
    cause = error.__cause__
    if not (isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and cause.parent_node is not None
            and "To append to your config use +" in str(error)):
        return None
    node = cause.parent_node
    valid = [str(key) for key in node if key != "hydra"]
    return ConfigError(unknown_key_message(cause.full_key, valid, OmegaConf.get_type(node)))


def _device_type(name: str) -> str:
    """The device type `trainer.device` names ("auto": cuda when torch sees a GPU, else cpu)."""
    from training.device import resolve_device

    return resolve_device(name).type if name == "auto" else name.split(":")[0]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate_config(cfg: TrainConfig) -> None:
    """Raise ConfigError on the first value that cannot work (see the module docstring)."""
    from agents import ATARI_TORSOS, HEADS, TORSOS
    from agents.agent import COMPILE_MODES, OPTIMIZERS
    from envs import ENV_KINDS
    from envs.games import get_game
    from envs.minatar import check_game as check_minatar_game
    from replay import REPLAY_KINDS

    unknown = unknown_keys(cfg)
    _require(not unknown, unknown[0] if unknown else "")
    agent, env, replay, trainer = cfg.agent, cfg.env, cfg.replay, cfg.trainer
    try:
        agent.head.validate()
        agent.init.validate()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    _require(env.kind in ENV_KINDS, f"env.kind: unknown env kind '{env.kind}'; valid: {', '.join(ENV_KINDS)}")
    if env.kind == "atari":
        try:
            get_game(env.game)
        except ValueError as error:
            raise ConfigError(f"env.game: {error}") from None
    if env.kind == "minatar":
        try:
            check_minatar_game(env.game)
        except ValueError as error:
            raise ConfigError(f"env.game: {error}") from None
        sticky = env.minatar.sticky_action_prob
        _require(0.0 <= sticky <= 1.0, f"env.minatar.sticky_action_prob must be in [0, 1], got {sticky}")
        _require(agent.torso not in ATARI_TORSOS,
                 f"agent.torso: '{agent.torso}' needs 84x84 frames, MinAtar's are 10x10; "
                 "use minatar_cnn (Young & Tian) or minatar_rr_cnn (Revisiting Rainbow)")
    _require(replay.kind in REPLAY_KINDS,
             f"replay.kind: unknown replay '{replay.kind}'; valid: {', '.join(REPLAY_KINDS)}")
    _require(agent.optim.name in OPTIMIZERS,
             f"agent.optim.name: unknown optimizer '{agent.optim.name}'; valid: {', '.join(OPTIMIZERS)}")
    _require(trainer.overlap in ("auto", "on", "off"),
             f"trainer.overlap: unknown setting '{trainer.overlap}'; valid: auto, on, off")
    _require(agent.compile in COMPILE_MODES,
             f"agent.compile: unknown mode '{agent.compile}'; valid: {', '.join(COMPILE_MODES)}")
    _require(agent.compile != "graph" or agent.head.kind not in HEADS or HEADS[agent.head.kind].graph_capturable,
             f"agent.compile=graph: the {agent.head.kind} head's update cannot be captured as a CUDA graph; "
             "use agent.compile=none, optimizer or update")
    _require(agent.compile != "graph" or _device_type(trainer.device) == "cuda",
             f"agent.compile=graph captures the update as a CUDA graph and needs a CUDA device, but "
             f"trainer.device={trainer.device} is {_device_type(trainer.device)}; use agent.compile=none "
             f"(or optimizer/update) on a CPU")
    _require(agent.torso in TORSOS,
             f"agent.torso: unknown torso '{agent.torso}'; valid: {', '.join(sorted(TORSOS))}")
    _require(env.kind == "atari" or agent.torso not in ATARI_TORSOS,
             f"agent.torso: '{agent.torso}' takes Atari frames, but env '{env.game}' is {env.kind}; env files describe "
             f"only the env: choose an experiment that tunes the agent for it, e.g. `experiment={env.game}` "
             "(configs/experiment/), or set agent.torso=mlp")
    positive = {
        "agent.optim.lr": agent.optim.lr,
        "agent.batch_size": agent.batch_size,
        "agent.train_period_steps": agent.train_period_steps,
        "agent.target_update_period_steps": agent.target_update_period_steps,
        "replay.capacity": replay.capacity,
        "trainer.total_frames": trainer.total_frames,
        "trainer.eval_period_frames": trainer.eval_period_frames,
        "trainer.eval_frames": trainer.eval_frames,
        "trainer.checkpoint_period_frames": trainer.checkpoint_period_frames,
        "trainer.log_period_frames": trainer.log_period_frames,
        "env.num_envs": env.num_envs,
        "env.eval_num_envs": env.eval_num_envs,
    }
    for key, value in positive.items():
        _require(value > 0, f"{key} must be > 0, got {value}")
    _require(agent.n_step >= 1, f"agent.n_step must be >= 1, got {agent.n_step}")
    _require(0.0 < agent.gamma <= 1.0, f"agent.gamma must be in (0, 1], got {agent.gamma}")
    _require(agent.warmup_steps >= 0, f"agent.warmup_steps must be >= 0, got {agent.warmup_steps}")
    for key in ("start", "end"):
        value = getattr(agent.epsilon, key)
        _require(0.0 <= value <= 1.0, f"agent.epsilon.{key} must be in [0, 1], got {value}")
    _require(0.0 <= agent.eval_epsilon <= 1.0, f"agent.eval_epsilon must be in [0, 1], got {agent.eval_epsilon}")
    per_env = replay.capacity // env.num_envs
    _require(replay.capacity >= agent.batch_size,
             f"replay.capacity ({replay.capacity}) must be >= agent.batch_size ({agent.batch_size})")
    _require(replay.capacity >= agent.warmup_steps,
             f"replay.capacity ({replay.capacity}) must be >= agent.warmup_steps ({agent.warmup_steps}): "
             "learning would start on a buffer that already overwrote its first transitions")
    _require(per_env > agent.n_step + 8,
             f"replay.capacity per env ({per_env}) must exceed agent.n_step + 8 ({agent.n_step + 8})")
    if replay.kind == "prioritized":
        _require(replay.alpha >= 0, f"replay.alpha must be >= 0, got {replay.alpha}")
        for key in ("beta_start", "beta_end"):
            value = getattr(replay, key)
            _require(0.0 <= value <= 1.0, f"replay.{key} must be in [0, 1], got {value}")
        _require(replay.priority_eps > 0, f"replay.priority_eps must be > 0, got {replay.priority_eps}")
    _require(trainer.device in ("auto", "cpu", "cuda") or trainer.device.startswith("cuda:"),
             f"trainer.device: unknown device '{trainer.device}'; valid: auto, cpu, cuda, cuda:N")
