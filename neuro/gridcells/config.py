"""Typed schema of `configs/neuro/gridcells.yaml`, the settings of `scripts/gridcells.py`.

`load_gridcells_config(overrides, preset)` merges the YAML (and, for `preset="paper"`, the papers' full sizes in
`configs/neuro/gridcells_paper.yaml` on top) into these dataclasses and applies `key=value` overrides, so an
unknown key, a wrong type or a bad value fails before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

__all__ = ["ArenaConfig", "BaninoConfig", "SorscherConfig", "AnalysisConfig", "PatternConfig", "NavigationConfig",
           "GridcellsConfig", "CONFIG_DIR", "PRESETS", "MODELS", "load_gridcells_config"]

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "neuro"
PRESETS = {"cpu": ("gridcells.yaml",), "paper": ("gridcells.yaml", "gridcells_paper.yaml")}
MODELS = ("banino", "sorscher")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class ArenaConfig:
    """The box and Raudies & Hasselmo's motion model (neuro/gridcells/trajectories.py)."""

    box_m: float = 2.2
    dt_s: float = 0.02
    speed_scale_m_s: float = 0.8168
    turn_sd_rad_s: float = 11.52
    border_m: float = 0.03


@dataclass
class BaninoConfig:
    """Banino et al. 2018: LSTM → linear bottleneck with dropout → place and head-direction softmax readouts."""

    lstm_units: int = 128
    bottleneck_units: int = 256
    dropout: float = 0.5
    place_cells: int = 256
    place_sigma_m: float = 0.01
    hd_cells: int = 12
    hd_concentration: float = 20.0
    weight_decay: float = 1e-5
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    grad_clip_value: float = 0.0
    batch_size: int = 10
    sequence_steps: int = 100
    train_steps: int = 10_000


@dataclass
class SorscherConfig:
    """Sorscher et al. 2019/2023: vanilla RNN, ReLU (nonnegative) units, difference-of-Gaussians place cells."""

    hidden_units: int = 256
    place_cells: int = 256
    place_sigma_m: float = 0.12
    dog: bool = True
    surround_scale: float = 2.0
    weight_decay: float = 1e-4
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 100
    sequence_steps: int = 20
    train_steps: int = 10_000


@dataclass
class AnalysisConfig:
    """Rate maps, gridness, the shuffle null and decoding (neuro/gridcells/analysis.py, gridness.py)."""

    bins: int = 20
    test_trajectories: int = 500
    test_steps: int = 100
    num_shuffles: int = 100
    shuffle_percentile: float = 95.0
    top_units: int = 16
    decode_k: int = 3


@dataclass
class PatternConfig:
    """Sorscher's pattern formation against the place-cell covariance (neuro/gridcells/pattern.py)."""

    bins: int = 48
    place_sigma_m: float = 0.08
    surround_scale: float = 2.0
    num_patterns: int = 8
    iterations: int = 1000
    step_size: float = 1.0


@dataclass
class NavigationConfig:
    """Vector navigation read-out (neuro/gridcells/navigation.py): goal direction and distance from two codes."""

    train_pairs: int = 20_000
    test_pairs: int = 2_000
    hidden_units: int = 256
    train_steps: int = 3_000
    batch_size: int = 256
    learning_rate: float = 1e-3


@dataclass
class GridcellsConfig:
    seed: int = 0
    models: list[str] = field(default_factory=lambda: list(MODELS))
    arena: ArenaConfig = field(default_factory=ArenaConfig)
    banino: BaninoConfig = field(default_factory=BaninoConfig)
    sorscher: SorscherConfig = field(default_factory=SorscherConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    pattern: PatternConfig = field(default_factory=PatternConfig)
    navigation: NavigationConfig = field(default_factory=NavigationConfig)
    log_every_steps: int = 250
    checkpoint_every_steps: int = 2000
    torch_threads: int = 1
    run_dir: str = ""
    dpi: int = 100


def _checks(cfg: GridcellsConfig) -> list[tuple[str, bool, str]]:
    b, s, a, p = cfg.banino, cfg.sorscher, cfg.analysis, cfg.pattern
    positive = [f"arena.{k}" for k in ("box_m", "dt_s", "speed_scale_m_s", "turn_sd_rad_s")] + [
        f"banino.{k}" for k in ("lstm_units", "bottleneck_units", "place_cells", "place_sigma_m", "hd_cells",
                                "hd_concentration", "learning_rate", "batch_size", "sequence_steps", "train_steps")
    ] + [f"sorscher.{k}" for k in ("hidden_units", "place_cells", "place_sigma_m", "learning_rate", "batch_size",
                                   "sequence_steps", "train_steps")] + [
        f"analysis.{k}" for k in ("test_trajectories", "test_steps", "num_shuffles", "top_units", "decode_k")
    ] + [f"pattern.{k}" for k in ("place_sigma_m", "num_patterns", "iterations", "step_size")] + [
        f"navigation.{k}" for k in ("train_pairs", "test_pairs", "hidden_units", "train_steps", "batch_size",
                                    "learning_rate")] + ["log_every_steps", "checkpoint_every_steps", "torch_threads"]
    values = OmegaConf.structured(cfg)
    checks = [(key, OmegaConf.select(values, key) > 0, "> 0") for key in positive]
    checks += [
        ("models", len(cfg.models) > 0 and set(cfg.models) <= set(MODELS), f"a non-empty subset of {list(MODELS)}"),
        ("banino.dropout", 0 <= b.dropout < 1, "in [0, 1)"),
        ("banino.optimizer", b.optimizer in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"),
        ("sorscher.optimizer", s.optimizer in OPTIMIZERS, f"one of {list(OPTIMIZERS)}"),
        ("banino.weight_decay", b.weight_decay >= 0, ">= 0"),
        ("banino.grad_clip_value", b.grad_clip_value >= 0, ">= 0 (0: no clipping)"),
        ("sorscher.weight_decay", s.weight_decay >= 0, ">= 0"),
        ("sorscher.surround_scale", s.surround_scale > 1, "> 1"),
        ("pattern.surround_scale", p.surround_scale > 1, "> 1"),
        ("arena.border_m", 0 <= cfg.arena.border_m < cfg.arena.box_m / 2, "in [0, box_m/2)"),
        ("analysis.bins", a.bins >= 8, ">= 8"),
        ("pattern.bins", p.bins >= 8, ">= 8"),
        ("analysis.shuffle_percentile", 0 < a.shuffle_percentile < 100, "in (0, 100)"),
    ]
    return checks


def load_gridcells_config(overrides: list[str] | None = None, preset: str = "cpu") -> GridcellsConfig:
    """The typed config of `preset` ("cpu": the default size; "paper": the papers' sizes) with `key=value` overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {sorted(PRESETS)}")
    layers = [OmegaConf.load(CONFIG_DIR / name) for name in PRESETS[preset]]
    merged = OmegaConf.merge(OmegaConf.structured(GridcellsConfig), *layers,
                             OmegaConf.from_dotlist(list(overrides or [])))
    cfg: GridcellsConfig = OmegaConf.to_object(merged)
    for key, holds, valid in _checks(cfg):
        if not holds:
            raise ValueError(f"{key} must be {valid}; got {OmegaConf.select(merged, key)}")
    return cfg
