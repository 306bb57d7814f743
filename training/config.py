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
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig, OmegaConf

from agents.config import HEAD_CONFIGS, AgentConfig, HeadConfig, head_values_from_flat
from envs.config import EnvConfig
from replay.config import ReplayConfig
from training.validation import ConfigError, unknown_override_error


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
    """Compose the config tree in process with `overrides`, as the entry points would (tests, scripts).

    An override of a key no schema knows raises ConfigError with a "did you mean" (Hydra's own message
    suggests `+key=value`, which would add the key); other composition errors pass through.
    """
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        try:
            return compose(config_name, overrides=overrides, return_hydra_config=return_hydra_config)
        except ConfigCompositionException as error:
            unknown_key = unknown_override_error(error)
            if unknown_key is None:
                raise
            raise unknown_key from None


def train_config(overrides: list[str]) -> TrainConfig:
    """The typed `TrainConfig` that `python train.py <overrides>` would run."""
    return OmegaConf.to_object(compose_config(overrides))


def train_schema() -> DictConfig:
    """`TrainConfig` with `agent.head` typed as the bare `HeadConfig`: the agent file's `/schema/head` choice
    then merges its kind's schema (a subclass) in, and `agent.head` takes only that head's keys."""
    schema = OmegaConf.structured(TrainConfig)
    schema.agent.head = OmegaConf.structured(HeadConfig)
    return schema


def load_train_config(saved: DictConfig) -> TrainConfig:
    """The typed `TrainConfig` of a saved config (a run dir's `config.yaml`), its head typed by its kind;
    a flat head record written before the per-kind schemas is read as its kind's keys."""
    head = OmegaConf.to_container(saved.agent.head)
    schema = HEAD_CONFIGS.get(head.get("kind"))
    if schema is None:
        valid = ", ".join(sorted(HEAD_CONFIGS))
        raise ConfigError(f"agent.head.kind: unknown head '{head.get('kind')}'; valid: {valid}")
    typed = train_schema()
    typed.agent.head = OmegaConf.structured(schema)
    saved = saved.copy()
    saved.agent.head = head_values_from_flat(head)
    return OmegaConf.to_object(OmegaConf.merge(typed, saved))


def register_configs() -> None:
    """Register the schemas Hydra merges the YAML tree into (idempotent)."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=train_schema())
    store.store(name="evaluate_schema", node=EvaluateConfig)
    for kind, schema in HEAD_CONFIGS.items():
        store.store(group="schema/head", name=kind, node=schema)
