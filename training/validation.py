"""Config checks that run before any env, network or run dir is made.

Each failure names the key, the bad value and the valid choices or range, so a sweep of hundreds of
jobs fails in its first second rather than an hour in.
"""

from __future__ import annotations

from training.config import TrainConfig

ENV_KINDS = ("atari", "classic")
REPLAY_KINDS = ("uniform", "prioritized")


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and what would."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate_config(cfg: TrainConfig) -> None:
    """Raise ConfigError on the first value that cannot work (see the module docstring)."""
    from agents import HEADS, TORSOS
    from agents.agent import COMPILE_MODES, OPTIMIZERS
    from envs.games import get_game

    agent, env, replay, trainer = cfg.agent, cfg.env, cfg.replay, cfg.trainer
    _require(agent.head.kind in HEADS,
             f"agent.head.kind: unknown head '{agent.head.kind}'; valid: {', '.join(sorted(HEADS))}")
    _require(env.kind in ENV_KINDS, f"env.kind: unknown env kind '{env.kind}'; valid: {', '.join(ENV_KINDS)}")
    if env.kind == "atari":
        try:
            get_game(env.game)
        except ValueError as error:
            raise ConfigError(f"env.game: {error}") from None
    _require(replay.kind in REPLAY_KINDS,
             f"replay.kind: unknown replay '{replay.kind}'; valid: {', '.join(REPLAY_KINDS)}")
    _require(agent.optim.name in OPTIMIZERS,
             f"agent.optim.name: unknown optimizer '{agent.optim.name}'; valid: {', '.join(OPTIMIZERS)}")
    _require(trainer.overlap in ("auto", "on", "off"),
             f"trainer.overlap: unknown setting '{trainer.overlap}'; valid: auto, on, off")
    _require(agent.compile in COMPILE_MODES,
             f"agent.compile: unknown mode '{agent.compile}'; valid: {', '.join(COMPILE_MODES)}")
    _require(agent.torso in TORSOS,
             f"agent.torso: unknown torso '{agent.torso}'; valid: {', '.join(sorted(TORSOS))}")
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
    head = agent.head
    if head.kind == "categorical":
        _require(head.v_min < head.v_max, f"agent.head.v_min ({head.v_min}) must be < agent.head.v_max ({head.v_max})")
        _require(head.num_atoms >= 2, f"agent.head.num_atoms must be >= 2, got {head.num_atoms}")
    if head.kind == "quantile":
        _require(head.num_quantiles >= 1, f"agent.head.num_quantiles must be >= 1, got {head.num_quantiles}")
    if head.kind == "fraction_quantile":
        _require(head.num_quantiles >= 2,
                 f"agent.head.num_quantiles must be >= 2, got {head.num_quantiles} (FQF's number of fractions)")
        _require(head.fraction_lr > 0, f"agent.head.fraction_lr must be > 0, got {head.fraction_lr}")
    if head.kind in ("implicit_quantile", "fraction_quantile"):
        for key in ("num_online_taus", "num_target_taus", "num_act_taus", "num_cosines"):
            _require(getattr(head, key) >= 1, f"agent.head.{key} must be >= 1, got {getattr(head, key)}")
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
