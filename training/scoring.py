"""Evaluate a finished (or running) run's newest checkpoint under its own protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from agents import build_agent
from envs import build_env, human_normalized_score
from training.checkpoint import (
    check_checkpoint_agent,
    check_checkpoint_format,
    checkpoint_mismatch,
    latest_checkpoint,
    load_checkpoint,
)
from training.config import EvaluateConfig, TrainConfig, load_train_config
from training.device import resolve_device
from training.evaluation import run_evaluation
from training.rundir import CONFIG_FILE, atomic_write_text


def load_run_config(run_dir: Path) -> TrainConfig:
    """The typed config a run was trained with (its `config.yaml`)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run directory: no {CONFIG_FILE}")
    saved = OmegaConf.load(path)
    # Runs trained before evaluation was bounded in frames saved `trainer.eval_episodes`; such a run's
    # evaluation budget is the schema's default (or evaluate.py's `eval_frames`).
    saved.get("trainer", {}).pop("eval_episodes", None)
    return load_train_config(saved)


def evaluate_run(cfg: EvaluateConfig) -> tuple[Path, dict[str, Any]]:
    """Play one evaluation phase (`cfg.eval_frames` frames, or the run's `trainer.eval_frames`) with the
    run's newest checkpoint; write and return the summary (`training.evaluation` says what is scored)."""
    run_dir = Path(cfg.run_dir)
    train_cfg = load_run_config(run_dir)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise FileNotFoundError(f"{run_dir} has no complete checkpoint under {run_dir / 'checkpoints'}")
    eval_frames = train_cfg.trainer.eval_frames if cfg.eval_frames is None else cfg.eval_frames
    if eval_frames < 1:
        raise ValueError(f"eval_frames must be >= 1, got {eval_frames}")
    found_format = check_checkpoint_format(checkpoint)
    device = resolve_device(cfg.device)
    env = build_env(train_cfg.env, num_envs=cfg.num_envs or train_cfg.env.eval_num_envs, seed=cfg.seed)
    try:
        agent = build_agent(train_cfg.agent, (env.stack, *env.frame_shape), env.num_actions, device, seed=cfg.seed)
        parts = load_checkpoint(checkpoint, parts=["agent", "trainer"], map_location=device)
        check_checkpoint_agent(checkpoint, parts["trainer"], train_cfg.agent.name, train_cfg.agent.head.kind)
        try:
            agent.load_state_dict(parts["agent"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise checkpoint_mismatch(checkpoint, found_format, error) from error
        epsilon = train_cfg.agent.eval_epsilon if cfg.epsilon is None else cfg.epsilon
        result = run_evaluation(agent, env, epsilon=epsilon, budget_frames=eval_frames, device=device, seed=cfg.seed)
    finally:
        env.close()
    frames = int(parts["trainer"]["counters"]["agent_steps"]) * env.frames_per_step
    mean_return = float(np.mean(result.returns))
    summary: dict[str, Any] = {
        "agent": train_cfg.agent.name,
        "game": train_cfg.env.game,
        "protocol": train_cfg.env.protocol.name if train_cfg.env.kind == "atari" else None,
        "checkpoint": checkpoint.name,
        "train_frames": frames,
        "epsilon": epsilon,
        "eval_frames": eval_frames,
        "frames_played": result.frames_played,
        "episodes": result.completed_episodes,
        "incomplete": result.incomplete,  # no episode completed: `returns` are the unfinished episodes' so far
        "returns": result.returns,
        "episode_frames": result.frames,
        "mean_return": mean_return,
        "hns": float(human_normalized_score(train_cfg.env.game, mean_return)) if train_cfg.env.kind == "atari"
        else None,
        "env_options": env.options(),
    }
    out_dir = run_dir / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"eval-{frames:013d}.json"
    atomic_write_text(path, json.dumps(summary, indent=2, default=str) + "\n")
    return path, summary
