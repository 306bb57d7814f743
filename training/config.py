"""The root config schema and its registration with Hydra's ConfigStore.

`configs/train.yaml` starts its defaults list with `train_schema`, so every YAML value is merged into
these typed dataclasses: an unknown key or a wrong type fails at composition, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from agents.config import AgentConfig
from envs.config import EnvConfig
from replay.config import ReplayConfig


@dataclass
class TrainerConfig:
    """The run loop. Every period is in emulator frames (the x-axis of every log)."""

    total_frames: int = 50_000_000
    eval_period_frames: int = 1_000_000
    eval_frames: int = 500_000  # an evaluation phase's budget (training.evaluation)
    checkpoint_period_frames: int = 1_000_000
    keep_checkpoints: int = 2
    log_period_frames: int = 50_000
    device: str = "auto"
    torch_threads: int = 0
    overlap: str = "auto"  # step the env during the updates: auto | on | off (training.device.overlap_env)
    progress: bool = True
    resume: bool = True
    stop_at_mean_return: float | None = None
    stop_window_episodes: int = 20


@dataclass
class LoggerConfig:
    tensorboard: bool = True
    jsonl: bool = True


@dataclass
class TrainConfig:
    agent: AgentConfig = field(default_factory=AgentConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    seed: int = 0
    experiment_name: str = "default"
    runs_root: str = "runs"
    run_dir: str = "runs/default"


@dataclass
class EvaluateConfig:
    """`evaluate.py`: score the latest checkpoint of `run_dir` under the run's own protocol.

    eval_frames: the phase's frame budget (training.evaluation); None = the run's `trainer.eval_frames`.
    """

    run_dir: str = "???"
    eval_frames: int | None = None
    num_envs: int = 0
    epsilon: float | None = None
    device: str = "auto"
    seed: int = 12345


CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def compose_config(overrides: list[str], config_name: str = "train", return_hydra_config: bool = False) -> DictConfig:
    """Compose the config tree in process with `overrides`, as the entry points would (tests, scripts)."""
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name, overrides=overrides, return_hydra_config=return_hydra_config)


def train_config(overrides: list[str]) -> TrainConfig:
    """The typed `TrainConfig` that `python train.py <overrides>` would run."""
    return OmegaConf.to_object(compose_config(overrides))


def register_configs() -> None:
    """Register the schemas Hydra merges the YAML tree into (idempotent)."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainConfig)
    store.store(name="evaluate_schema", node=EvaluateConfig)
