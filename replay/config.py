"""Typed schema of the replay config group (`configs/replay/*.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReplayConfig:
    """`capacity` counts transitions over all envs. Prioritized keys are ignored by `uniform`."""

    kind: str = "uniform"
    capacity: int = 1_000_000
    alpha: float = 0.5
    beta_start: float = 0.4
    beta_end: float = 1.0
    beta_anneal_steps: int = 50_000_000
    priority_eps: float = 1.0e-6
