"""Typed schema of `configs/neuro/dopamine.yaml`, the settings of `scripts/dopamine.py`.

`load_dopamine_config(overrides)` merges the YAML into these dataclasses and applies `key=value`
overrides, so an unknown key or a wrong type fails before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

__all__ = ["ModelConfig", "RecordingConfig", "DopamineConfig", "CONFIG_PATH", "load_dopamine_config"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "neuro" / "dopamine.yaml"


@dataclass
class ModelConfig:
    """The simulated populations (neuro/dopamine/models.py)."""

    num_cells: int = 40
    learning_rate: float = 0.02
    quantile_step: float = 0.05
    num_trials: int = 20_000


@dataclass
class RecordingConfig:
    """How responses are "recorded" from the model cells: trials per magnitude and additive noise."""

    trials_per_magnitude: int = 20
    noise_sd: float = 1.0


@dataclass
class DopamineConfig:
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    decode_iterations: int = 100
    agent_channels: int = 31
    run_dir: str = ""
    dpi: int = 100


def load_dopamine_config(overrides: list[str] | None = None, path: Path = CONFIG_PATH) -> DopamineConfig:
    """The typed config from `path` with `key=value` overrides (e.g. ["model.num_cells=60", "run_dir=runs/x"])."""
    schema = OmegaConf.structured(DopamineConfig)
    merged = OmegaConf.merge(schema, OmegaConf.load(path), OmegaConf.from_dotlist(list(overrides or [])))
    cfg: DopamineConfig = OmegaConf.to_object(merged)
    checks = [  # (key, holds, what it must be)
        ("model.num_cells", cfg.model.num_cells >= 3, ">= 3"),
        ("model.learning_rate", 0 < cfg.model.learning_rate < 0.5, "in (0, 0.5)"),
        ("model.quantile_step", cfg.model.quantile_step > 0, "> 0"),
        ("model.num_trials", cfg.model.num_trials >= 2, ">= 2"),
        ("recording.trials_per_magnitude", cfg.recording.trials_per_magnitude >= 2, ">= 2"),
        ("recording.noise_sd", cfg.recording.noise_sd >= 0, ">= 0"),
        ("decode_iterations", cfg.decode_iterations >= 1, ">= 1"),
        ("agent_channels", cfg.agent_channels >= 1, ">= 1"),
    ]
    for key, holds, valid in checks:
        if not holds:
            raise ValueError(f"{key} must be {valid}; got {OmegaConf.select(merged, key)}")
    return cfg
