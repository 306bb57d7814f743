"""Typed schema of `configs/neuro/replay.yaml`, the settings of `scripts/hippocampal_replay.py`.

`load_replay_config(overrides)` merges the YAML into these dataclasses and applies `key=value` overrides, so an
unknown key, a wrong type or a bad value fails before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from neuro.replay.strategies import STRATEGIES

__all__ = ["DynaConfig", "MattarDawConfig", "RewardChangeConfig", "LiuConfig", "ReplayStudyConfig", "CONFIG_PATH",
           "load_replay_config"]

LEARNING_POLICIES = ("greedy", "softmax")
CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "neuro" / "replay.yaml"


@dataclass
class DynaConfig:
    """Sutton & Barto Fig. 8.2: Dyna-Q on the Dyna maze."""

    planning_steps: list[int] = field(default_factory=lambda: [0, 5, 50])
    num_runs: int = 30
    num_episodes: int = 50
    alpha: float = 0.1
    gamma: float = 0.95
    epsilon: float = 0.1
    criterion_steps: float = 20.0


@dataclass
class MattarDawConfig:
    """Mattar & Daw Fig. 1 (learning) and Fig. 3 (forward vs reverse events) on the open maze."""

    strategies: list[str] = field(default_factory=lambda: list(STRATEGIES))
    num_simulations: int = 100
    evb_simulations: int = 100
    num_simulations_other: int = 10
    event_simulations: int = 100
    num_episodes: int = 50
    learning_policy: str = "greedy"
    learning_random_start: bool = True
    alpha: float = 1.0
    gamma: float = 0.9
    beta: float = 5.0
    backups: int = 20
    reward_sd: float = 0.1
    min_gain: float = 1e-10
    min_event_length: int = 5
    num_shuffles: int = 500
    rollout_length: int = 20


@dataclass
class RewardChangeConfig:
    """Mattar & Daw Fig. 5: reverse replay after a reward increase vs a decrease, on the linear track."""

    track_length: int = 10
    episodes_before: int = 20
    episodes_after: int = 10
    scales: list[float] = field(default_factory=lambda: [1.0, 4.0, 0.0])
    num_simulations: int = 8


@dataclass
class LiuConfig:
    """Movie vs imagination replay on Liu et al.'s (2019) structure task, measured by TDLM."""

    rule_trials: int = 10
    slip: float = 0.1
    num_events: int = 100
    num_bins: int = 6000
    lag_bins: int = 4
    amplitude: float = 1.0
    noise_sd: float = 0.3
    max_lag: int = 10
    num_permutations: int = 200
    rewarded_role: int = 3


@dataclass
class ReplayStudyConfig:
    seed: int = 0
    dyna: DynaConfig = field(default_factory=DynaConfig)
    mattar_daw: MattarDawConfig = field(default_factory=MattarDawConfig)
    reward_change: RewardChangeConfig = field(default_factory=RewardChangeConfig)
    liu: LiuConfig = field(default_factory=LiuConfig)
    dpi: int = 100


def load_replay_config(overrides: list[str] | None = None, path: Path = CONFIG_PATH) -> ReplayStudyConfig:
    """The typed config from `path` with `key=value` overrides (e.g. ["dyna.num_runs=5"])."""
    schema = OmegaConf.structured(ReplayStudyConfig)
    merged = OmegaConf.merge(schema, OmegaConf.load(path), OmegaConf.from_dotlist(list(overrides or [])))
    cfg: ReplayStudyConfig = OmegaConf.to_object(merged)
    d, m, rc, liu = cfg.dyna, cfg.mattar_daw, cfg.reward_change, cfg.liu
    bad_strategies = [s for s in m.strategies if s not in STRATEGIES]
    checks = [  # (key, holds, what it must be)
        ("dyna.planning_steps", len(d.planning_steps) > 0 and min(d.planning_steps) >= 0, "a non-empty list of >= 0"),
        ("dyna.num_runs", d.num_runs >= 1, ">= 1"),
        ("dyna.num_episodes", d.num_episodes >= 2, ">= 2"),
        ("dyna.alpha", 0 < d.alpha <= 1, "in (0, 1]"),
        ("dyna.gamma", 0 <= d.gamma < 1, "in [0, 1)"),
        ("dyna.epsilon", 0 <= d.epsilon <= 1, "in [0, 1]"),
        ("dyna.criterion_steps", d.criterion_steps >= 14, ">= 14 (the shortest path)"),
        ("mattar_daw.strategies", not bad_strategies and len(m.strategies) > 0,
         f"a non-empty list of {', '.join(STRATEGIES)} (unknown: {bad_strategies})"),
        ("mattar_daw.num_simulations", m.num_simulations >= 1, ">= 1"),
        ("mattar_daw.evb_simulations", m.evb_simulations >= 1, ">= 1"),
        ("mattar_daw.num_simulations_other", m.num_simulations_other >= 1, ">= 1"),
        ("mattar_daw.event_simulations", m.event_simulations >= 1, ">= 1"),
        ("mattar_daw.learning_policy", m.learning_policy in LEARNING_POLICIES,
         f"one of {', '.join(LEARNING_POLICIES)}"),
        ("mattar_daw.num_shuffles", m.num_shuffles >= 40, ">= 40"),
        ("mattar_daw.num_episodes", m.num_episodes >= 2, ">= 2"),
        ("mattar_daw.alpha", 0 < m.alpha <= 1, "in (0, 1]"),
        ("mattar_daw.gamma", 0 <= m.gamma < 1, "in [0, 1)"),
        ("mattar_daw.beta", m.beta >= 0, ">= 0"),
        ("mattar_daw.backups", m.backups >= 1, ">= 1"),
        ("mattar_daw.reward_sd", m.reward_sd >= 0, ">= 0"),
        ("mattar_daw.min_gain", m.min_gain >= 0, ">= 0"),
        ("mattar_daw.min_event_length", m.min_event_length >= 2, ">= 2"),
        ("mattar_daw.rollout_length", m.rollout_length >= 1, ">= 1"),
        ("reward_change.track_length", rc.track_length >= 3, ">= 3"),
        ("reward_change.episodes_before", rc.episodes_before >= 2, ">= 2"),
        ("reward_change.episodes_after", rc.episodes_after >= 1, ">= 1"),
        ("reward_change.scales", len(rc.scales) > 0 and min(rc.scales) >= 0, "a non-empty list of >= 0"),
        ("reward_change.num_simulations", rc.num_simulations >= 1, ">= 1"),
        ("liu.rule_trials", liu.rule_trials >= 1, ">= 1"),
        ("liu.slip", 0 <= liu.slip < 1, "in [0, 1)"),
        ("liu.num_events", liu.num_events >= 1, ">= 1"),
        ("liu.lag_bins", liu.lag_bins >= 1, ">= 1"),
        ("liu.max_lag", liu.lag_bins <= liu.max_lag, f">= liu.lag_bins ({liu.lag_bins})"),
        ("liu.num_bins", liu.num_bins >= liu.num_events * 4 * (liu.lag_bins + 1), ">= num_events * 4 * (lag_bins + 1)"),
        ("liu.noise_sd", liu.noise_sd > 0, "> 0"),
        ("liu.num_permutations", liu.num_permutations >= 20, ">= 20"),
        ("liu.rewarded_role", 0 <= liu.rewarded_role < 8, "a role in 0..7"),
    ]
    for key, holds, valid in checks:
        if not holds:
            raise ValueError(f"{key} must be {valid}; got {OmegaConf.select(merged, key)}")
    return cfg
