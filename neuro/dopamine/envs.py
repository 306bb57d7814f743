"""The two Pavlovian tasks as gymnasium environments, so that every agent of the framework trains on them.

Registered on import of this module; `python train.py experiment=variable_magnitude agent=expectile` reaches them
through gymnasium's "module:EnvId" form (`env.gym_id: "neuro.dopamine.envs:neuro/VariableMagnitude-v0"`), which
imports this module before looking the id up.

An episode is one trial: the cue (phase 0), `num_steps - 1` further steps of the trace period, and the
reward, delivered on the transition out of the last phase, which ends the episode (terminated). The
animal does not act: the action space has a single action. Observations are one-hot codes of the phase
(and, in the probability task, of the cue), so a network's prediction at the last phase is its
prediction of the reward itself, with nothing discounted.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from neuro.dopamine.tasks import (
    PROBABILITY_TASK_REWARD,
    VARIABLE_MAGNITUDE,
    VARIABLE_PROBABILITY_CUES,
    RewardDistribution,
    variable_probability,
)

__all__ = ["VARIABLE_MAGNITUDE_ID", "VARIABLE_PROBABILITY_ID", "VariableMagnitudeEnv", "VariableProbabilityEnv"]

VARIABLE_MAGNITUDE_ID = "neuro/VariableMagnitude-v0"
VARIABLE_PROBABILITY_ID = "neuro/VariableProbability-v0"


class _TrialEnv(gym.Env):
    """A trial of `num_steps` phases whose last transition pays a reward drawn from the trial's distribution."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, num_steps: int, num_cues: int) -> None:
        if num_steps < 1:
            raise ValueError(f"num_steps must be >= 1; got {num_steps}")
        self.num_steps = num_steps
        self.num_cues = num_cues
        self.action_space = gym.spaces.Discrete(1)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (num_cues + num_steps,), dtype=np.float32)
        self._phase = 0
        self._cue = 0

    @property
    def reward_phase(self) -> int:
        """The phase whose transition delivers the reward (the last one)."""
        return self.num_steps - 1

    def observation(self, phase: int, cue: int = 0) -> np.ndarray:
        """The observation at `phase` of a trial with `cue` (one-hot cue, then one-hot phase) [C + num_steps]."""
        if not 0 <= phase < self.num_steps or not 0 <= cue < max(self.num_cues, 1):
            raise ValueError(f"phase must be in [0, {self.num_steps}) and cue in [0, {max(self.num_cues, 1)}); "
                             f"got phase {phase}, cue {cue}")
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        if self.num_cues:
            obs[cue] = 1.0
        obs[self.num_cues + phase] = 1.0
        return obs

    def trial_distribution(self, cue: int) -> RewardDistribution:
        raise NotImplementedError

    def _draw_cue(self) -> int:
        return 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._phase = 0
        self._cue = self._draw_cue()
        return self.observation(0, self._cue), {"cue": self._cue}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be 0 (the only action); got {action}")
        if self._phase >= self.num_steps:
            raise RuntimeError("the trial is over; call reset()")
        last = self._phase == self.reward_phase
        reward = self.trial_distribution(self._cue).sample(self.np_random) if last else 0.0
        self._phase += 1
        if last:  # the trial is over: an all-zero observation (never bootstrapped from: terminated)
            obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        else:
            obs = self.observation(self._phase, self._cue)
        return obs, float(reward), last, False, {"cue": self._cue}


class VariableMagnitudeEnv(_TrialEnv):
    """Variable-magnitude task (Dabney et al. 2020, Fig. 2): one cue, then one of 7 magnitudes (µl).

    Observation: one-hot phase [num_steps]. `distribution` is `neuro.dopamine.tasks.VARIABLE_MAGNITUDE` unless given.
    """

    def __init__(self, num_steps: int = 2, distribution: RewardDistribution = VARIABLE_MAGNITUDE) -> None:
        super().__init__(num_steps, num_cues=0)
        self.distribution = distribution

    def trial_distribution(self, cue: int = 0) -> RewardDistribution:
        return self.distribution


class VariableProbabilityEnv(_TrialEnv):
    """Variable-probability task (Dabney et al. 2020, Fig. 4): a cue, drawn uniformly each trial, predicts
    a reward of `reward` with its probability (10%, 50%, 90%).

    Observation: one-hot cue [3] then one-hot phase [num_steps].
    """

    def __init__(
        self,
        num_steps: int = 2,
        probabilities: tuple[float, ...] = VARIABLE_PROBABILITY_CUES,
        reward: float = PROBABILITY_TASK_REWARD,
    ) -> None:
        super().__init__(num_steps, num_cues=len(probabilities))
        self.probabilities = tuple(float(p) for p in probabilities)
        self.distributions = [variable_probability(p, reward) for p in self.probabilities]

    def trial_distribution(self, cue: int) -> RewardDistribution:
        return self.distributions[cue]

    def _draw_cue(self) -> int:
        return int(self.np_random.integers(self.num_cues))


def _register() -> None:
    """Register both ids once (re-importing this module must not re-register)."""
    for env_id, entry_point in (
        (VARIABLE_MAGNITUDE_ID, "neuro.dopamine.envs:VariableMagnitudeEnv"),
        (VARIABLE_PROBABILITY_ID, "neuro.dopamine.envs:VariableProbabilityEnv"),
    ):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)


_register()
