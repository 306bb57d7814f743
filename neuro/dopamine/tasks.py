"""The two Pavlovian tasks of Dabney et al. 2020 (Nature, "A distributional code for value in
dopamine-based reinforcement learning") as reward distributions.

- Variable magnitude (their Fig. 2): one of 7 water magnitudes, 0.1, 0.3, 1.2, 2.5, 5, 10 and 20 µl.
  The probabilities are the empirical frequencies of the magnitudes in the paper's recordings
  (0.066, 0.091, 0.148, 0.155, 0.312, 0.151, 0.077), the numbers the authors' released decoding code
  calls the "empirical" juice distribution. We use them, rather than uniform, so that the decoded
  distribution is the skewed, multi-modal one the paper decodes (its Fig. 5), whose mass at 5 µl and
  long tail to 20 µl make the difference between a mean and a distributional code visible.
- Variable probability (their Fig. 4): three cues predicting a fixed reward with probability 10%, 50%
  and 90%. The reward size is 1 (arbitrary units): every analysis of this task (where the 50% cue's
  response falls between the 10% and 90% cues' responses) is invariant to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "RewardDistribution",
    "VARIABLE_MAGNITUDE",
    "VARIABLE_PROBABILITY_CUES",
    "PROBABILITY_TASK_REWARD",
    "variable_probability",
]


@dataclass(frozen=True, eq=False)
class RewardDistribution:
    """A discrete reward distribution: atoms `values` [K] (sorted, distinct) with `probs` [K] summing to 1."""

    values: np.ndarray
    probs: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        probs = np.asarray(self.probs, dtype=np.float64)
        if values.ndim != 1 or values.shape != probs.shape or values.size == 0:
            raise ValueError(f"values and probs must be equal-length 1-D arrays; got {values.shape}, {probs.shape}")
        if (probs < 0).any() or not np.isclose(probs.sum(), 1.0, atol=1e-9):
            raise ValueError(f"probs must be non-negative and sum to 1; got {probs} (sum {probs.sum()})")
        if (np.diff(values) <= 0).any():
            raise ValueError(f"values must be sorted and distinct; got {values}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "probs", probs / probs.sum())

    @property
    def mean(self) -> float:
        return float(self.values @ self.probs)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...] | None = None) -> np.ndarray | float:
        """Draw rewards with `rng` (one float when `size` is None)."""
        index = rng.choice(self.values.size, size=size, p=self.probs)
        return self.values[index] if size is not None else float(self.values[index])


VARIABLE_MAGNITUDE = RewardDistribution(
    values=np.array([0.1, 0.3, 1.2, 2.5, 5.0, 10.0, 20.0]),  # µl
    probs=np.array([0.066, 0.091, 0.148, 0.155, 0.312, 0.151, 0.077]),
)
"""The variable-magnitude task's reward distribution (µl); see the module docstring for the probabilities."""

VARIABLE_PROBABILITY_CUES = (0.1, 0.5, 0.9)
"""Reward probabilities of the three cues of the variable-probability task."""

PROBABILITY_TASK_REWARD = 1.0
"""Reward size of the variable-probability task (arbitrary units)."""


def variable_probability(probability: float, reward: float = PROBABILITY_TASK_REWARD) -> RewardDistribution:
    """The outcome distribution of a cue that predicts `reward` with `probability` (else nothing)."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1); got {probability}")
    if reward <= 0:
        raise ValueError(f"reward must be > 0; got {reward}")
    return RewardDistribution(values=np.array([0.0, reward]), probs=np.array([1.0 - probability, probability]))
