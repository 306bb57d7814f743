"""Typed schema of `configs/neuro/metarl.yaml`, the settings of `scripts/metarl.py`.

`load_metarl_config(overrides)` merges the YAML into these dataclasses and applies `key=value` overrides,
so an unknown key, a wrong type or an out-of-range value fails before any work starts, naming the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

__all__ = ["TASK_RUNS", "AgentConfig", "TaskTraining", "TasksConfig", "EvaluationConfig", "MetaRLConfig",
           "CONFIG_PATH", "load_metarl_config"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "neuro" / "metarl.yaml"
TASK_RUNS = ("bandit_independent", "bandit_dependent", "two_step", "harlow")


@dataclass
class AgentConfig:
    """The recurrent actor-critic and its optimizer (neuro/metarl/agent.py, neuro/metarl/training.py)."""

    hidden_size: int = 48
    learning_rate: float = 3e-3
    value_coef: float = 0.05
    entropy_coef_start: float = 0.05
    entropy_coef_end: float = 0.0
    max_grad_norm: float = 40.0
    num_envs: int = 16


@dataclass
class TaskTraining:
    episodes: int = 20_000
    gamma: float = 0.9
    rollout_steps: int = 100


@dataclass
class TasksConfig:
    bandit_independent: TaskTraining = field(default_factory=TaskTraining)
    bandit_dependent: TaskTraining = field(default_factory=TaskTraining)
    two_step: TaskTraining = field(default_factory=lambda: TaskTraining(rollout_steps=200))
    harlow: TaskTraining = field(default_factory=lambda: TaskTraining(rollout_steps=12))


@dataclass
class EvaluationConfig:
    episodes: int = 500
    harlow_episodes: int = 2000
    baseline_episodes: int = 2000
    gittins_discount: float = 0.99
    gittins_depth: int = 400
    gittins_grid: int = 2001
    decode_folds: int = 5
    harlow_bins: int = 10


@dataclass
class MetaRLConfig:
    seed: int = 0
    runs_root: str = "runs/metarl"
    task: str = "bandit_independent"
    agent: AgentConfig = field(default_factory=AgentConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    bandit_trials: int = 100
    two_step_trials: int = 100
    harlow_image_bits: int = 8
    log_every_updates: int = 20
    checkpoint_every_updates: int = 200
    tensorboard: bool = True
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    dpi: int = 100

    def training(self, task: str) -> TaskTraining:
        return getattr(self.tasks, task)


def load_metarl_config(overrides: list[str] | None = None, path: Path = CONFIG_PATH) -> MetaRLConfig:
    """The typed config from `path` with `key=value` overrides (e.g. ["task=harlow", "tasks.harlow.episodes=500"])."""
    schema = OmegaConf.structured(MetaRLConfig)
    merged = OmegaConf.merge(schema, OmegaConf.load(path), OmegaConf.from_dotlist(list(overrides or [])))
    cfg: MetaRLConfig = OmegaConf.to_object(merged)
    if cfg.task not in TASK_RUNS:
        raise ValueError(f"task must be one of {', '.join(TASK_RUNS)}; got {cfg.task!r}")
    a, e = cfg.agent, cfg.evaluation
    checks = [  # (key, holds, what it must be)
        ("agent.hidden_size", a.hidden_size >= 1, ">= 1"),
        ("agent.learning_rate", a.learning_rate > 0, "> 0"),
        ("agent.value_coef", a.value_coef >= 0, ">= 0"),
        ("agent.entropy_coef_start", a.entropy_coef_start >= 0, ">= 0"),
        ("agent.entropy_coef_end", a.entropy_coef_end >= 0, ">= 0"),
        ("agent.max_grad_norm", a.max_grad_norm > 0, "> 0"),
        ("agent.num_envs", a.num_envs >= 1, ">= 1"),
        ("bandit_trials", cfg.bandit_trials >= 1, ">= 1"),
        ("two_step_trials", cfg.two_step_trials >= 2, ">= 2"),
        ("harlow_image_bits", cfg.harlow_image_bits >= 1, ">= 1"),
        ("log_every_updates", cfg.log_every_updates >= 1, ">= 1"),
        ("checkpoint_every_updates", cfg.checkpoint_every_updates >= 1, ">= 1"),
        ("evaluation.episodes", e.episodes >= 2 * e.decode_folds, ">= 2 * evaluation.decode_folds"),
        ("evaluation.harlow_episodes", e.harlow_episodes >= 1, ">= 1"),
        ("evaluation.baseline_episodes", e.baseline_episodes >= 1, ">= 1"),
        ("evaluation.gittins_discount", 0 <= e.gittins_discount < 1, "in [0, 1)"),
        ("evaluation.gittins_depth", e.gittins_depth >= 1, ">= 1"),
        ("evaluation.gittins_grid", e.gittins_grid >= 3, ">= 3"),
        ("evaluation.decode_folds", e.decode_folds >= 2, ">= 2"),
        ("evaluation.harlow_bins", e.harlow_bins >= 1, ">= 1"),
    ]
    for task in TASK_RUNS:
        t = cfg.training(task)
        checks += [(f"tasks.{task}.episodes", t.episodes >= 1, ">= 1"),
                   (f"tasks.{task}.gamma", 0 <= t.gamma <= 1, "in [0, 1]"),
                   (f"tasks.{task}.rollout_steps", t.rollout_steps >= 1, ">= 1")]
    for key, holds, valid in checks:
        if not holds:
            raise ValueError(f"{key} must be {valid}; got {OmegaConf.select(merged, key)}")
    return cfg
