"""The meta-RL tasks as gymnasium envs: each episode (`reset`) draws a fresh task of its family.

- `BanditEnv`: two-armed Bernoulli bandit, 100 trials an episode (Wang et al. 2016, arXiv 1611.05763,
  §3.1): independent arms (p₁, p₂ ~ U[0, 1] each) or dependent arms (p₁ ~ U[0, 1], p₂ = 1 − p₁).
- `TwoStepEnv`: the two-step task as Wang et al. 2018 (Nat. Neurosci., Methods) use it, after Daw et al.
  2011: a first-stage choice leads to one of two second-stage states with probability 0.8 (common) or
  0.2 (uncommon); one second-stage state pays 1 with probability 0.9, the other with 0.1, and the two
  swap at a reversal that happens after any trial with probability 0.025.
- `HarlowEnv`: Harlow's learning-set task in abstract form (Wang et al. 2018, Fig. 6): each episode draws
  two new objects (random binary images of `image_bits` pixels, so the set is 2^bits large), one of
  which is rewarded throughout the episode's six trials; their left/right positions are redrawn every
  trial, and each trial starts with a fixation step that shows the object chosen on the trial before,
  as the outcome arrives (Harlow's monkeys displace the object they chose to find the food under it;
  Wang et al.'s agent chooses by fixating the image, so that image fills its view as the reward comes).

Every env's observation starts with the one-hot trial step within the trial, then the task's own cues; the
agent (neuro/metarl/agent.py) adds the previous action and reward itself. `info` carries what the analyses
need (the arm probabilities, the transition, the rewarded object's side). Registered on import as
`neuro/MetaBandit-v0`, `neuro/TwoStep-v0` and `neuro/Harlow-v0`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["BANDIT_ID", "TWO_STEP_ID", "HARLOW_ID", "ARM_STRUCTURES", "BanditEnv", "TwoStepEnv", "HarlowEnv",
           "TASKS", "make_task_env"]

BANDIT_ID = "neuro/MetaBandit-v0"
TWO_STEP_ID = "neuro/TwoStep-v0"
HARLOW_ID = "neuro/Harlow-v0"
ARM_STRUCTURES = ("independent", "dependent")


def arm_probabilities(structure: str, rng: np.random.Generator) -> np.ndarray:
    """A fresh pair of arm reward probabilities [2] for `structure` ("independent": both U[0, 1];
    "dependent": p₁ ~ U[0, 1], p₂ = 1 − p₁)."""
    if structure == "independent":
        return rng.uniform(0.0, 1.0, 2)
    if structure == "dependent":
        p = rng.uniform(0.0, 1.0)
        return np.array([p, 1.0 - p])
    raise ValueError(f"unknown arm structure {structure!r}; valid: {', '.join(ARM_STRUCTURES)}")


class _EpisodeEnv(gym.Env):
    """Shared plumbing: a fixed number of steps per episode, checked actions, step counting."""

    metadata: dict[str, Any] = {"render_modes": []}
    steps_per_trial: int = 1

    def __init__(self, num_trials: int, num_actions: int, cue_size: int) -> None:
        if num_trials < 1:
            raise ValueError(f"num_trials must be >= 1; got {num_trials}")
        self.num_trials = num_trials
        self.action_space = gym.spaces.Discrete(num_actions)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.steps_per_trial + cue_size,), dtype=np.float32)
        self._step = 0

    @property
    def episode_steps(self) -> int:
        return self.num_trials * self.steps_per_trial

    def _observation(self, cue: np.ndarray) -> np.ndarray:
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        obs[self._step % self.steps_per_trial] = 1.0
        obs[self.steps_per_trial:] = cue
        return obs

    def _check(self, action: Any) -> int:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in [0, {self.action_space.n}); got {action}")
        if self._step >= self.episode_steps:
            raise RuntimeError("the episode is over; call reset()")
        return int(action)


class BanditEnv(_EpisodeEnv):
    """Two-armed Bernoulli bandit: action a pays 1 with probability p_a. One step per trial; no cues.

    Observation: [1] (the trial step, always 0). info: `probs` [2], `regret` (p_max − p_a of this pull).
    """

    def __init__(self, structure: str = "independent", num_trials: int = 100) -> None:
        if structure not in ARM_STRUCTURES:
            raise ValueError(f"unknown arm structure {structure!r}; valid: {', '.join(ARM_STRUCTURES)}")
        super().__init__(num_trials, num_actions=2, cue_size=0)
        self.structure = structure
        self.probs = np.full(2, 0.5)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._step = 0
        self.probs = arm_probabilities(self.structure, self.np_random)
        return self._observation(np.zeros(0)), {"probs": self.probs.copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = self._check(action)
        reward = float(self.np_random.random() < self.probs[a])
        info = {"probs": self.probs.copy(), "regret": float(self.probs.max() - self.probs[a])}
        self._step += 1
        return self._observation(np.zeros(0)), reward, self._step >= self.episode_steps, False, info


class TwoStepEnv(_EpisodeEnv):
    """The two-step task (Daw et al. 2011 structure, Wang et al. 2018 parameters), two steps per trial.

    Step 0 (stage 1): action a ∈ {0, 1} leads to second-stage state a (common, `common_prob`) or 1 − a.
    Step 1 (stage 2): the state is shown; the action is not used (each second-stage state has one
    outcome); the step pays 1 with probability `high_prob` in the rewarded state and `low_prob` in the
    other. After each trial the rewarded state swaps with probability `reversal_prob`.
    Observation: [2 trial steps | 3 states: stage 1, state A, state B].
    info at stage 2: `state`, `common` (bool), `rewarded_state`; at every step `rewarded_state`.
    """

    steps_per_trial = 2

    def __init__(self, num_trials: int = 100, common_prob: float = 0.8, high_prob: float = 0.9,
                 low_prob: float = 0.1, reversal_prob: float = 0.025) -> None:
        for name, value in (("common_prob", common_prob), ("high_prob", high_prob), ("low_prob", low_prob),
                            ("reversal_prob", reversal_prob)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]; got {value}")
        super().__init__(num_trials, num_actions=2, cue_size=3)
        self.common_prob, self.high_prob, self.low_prob = common_prob, high_prob, low_prob
        self.reversal_prob = reversal_prob
        self.rewarded_state = 0
        self._state = 0

    def _cue(self) -> np.ndarray:
        cue = np.zeros(3)
        cue[0 if self._step % 2 == 0 else 1 + self._state] = 1.0
        return cue

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._step = 0
        self.rewarded_state = int(self.np_random.integers(2))
        return self._observation(self._cue()), {"rewarded_state": self.rewarded_state}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = self._check(action)
        info: dict[str, Any] = {}
        reward = 0.0
        if self._step % 2 == 0:
            common = bool(self.np_random.random() < self.common_prob)
            self._state = a if common else 1 - a
            info.update(state=self._state, common=common)
        else:
            p = self.high_prob if self._state == self.rewarded_state else self.low_prob
            reward = float(self.np_random.random() < p)
            info.update(state=self._state, reward_prob=p)
            if self.np_random.random() < self.reversal_prob:
                self.rewarded_state = 1 - self.rewarded_state
                info["reversal"] = True
        info["rewarded_state"] = self.rewarded_state
        self._step += 1
        return self._observation(self._cue()), reward, self._step >= self.episode_steps, False, info


class HarlowEnv(_EpisodeEnv):
    """Harlow's learning-set task, abstract form: two new random binary images an episode, six trials.

    Step 0 (fixation): the fixation cue and the object chosen on the previous trial (the feedback; zeros
    before the episode's first choice); the action is not used; reward 0.
    Step 1 (choice): both images are shown, [left | right]; action 0 picks left, 1 picks right; picking the
    episode's rewarded object pays `reward`, the other −`reward` (Wang et al. 2018 use ±1). Positions
    are redrawn each trial. The two images are distinct; the rewarded one is drawn at random.
    Observation: [2 trial steps | fixation flag | left image | right image | chosen image] (images: bits).
    The feedback lets the previous reward name the rewarded object by itself (the chosen one if it paid,
    the other if not); with a left/right action alone, the agent would have to hold both images through
    the choice and gate them by the conjunction of action and reward, an XOR no single LSTM step computes.
    info at the choice step: `correct_action`, `correct` (bool).
    """

    steps_per_trial = 2

    def __init__(self, num_trials: int = 6, image_bits: int = 8, reward: float = 1.0) -> None:
        if image_bits < 1:
            raise ValueError(f"image_bits must be >= 1; got {image_bits}")
        super().__init__(num_trials, num_actions=2, cue_size=1 + 3 * image_bits)
        self.image_bits, self.reward = image_bits, reward
        self.objects = np.zeros((2, image_bits))  # row 0: the rewarded object
        self.rewarded_side = 0
        self.chosen = np.zeros(image_bits)  # the object chosen on the last trial; zeros before the first choice

    def _cue(self) -> np.ndarray:
        cue = np.zeros(1 + 3 * self.image_bits)
        if self._step % 2 == 0:
            cue[0] = 1.0
            cue[1 + 2 * self.image_bits:] = self.chosen
        else:
            left, right = (0, 1) if self.rewarded_side == 0 else (1, 0)
            cue[1:1 + 2 * self.image_bits] = np.concatenate([self.objects[left], self.objects[right]])
        return cue

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._step = 0
        while True:
            self.objects = self.np_random.integers(0, 2, (2, self.image_bits)).astype(np.float64)
            if (self.objects[0] != self.objects[1]).any():
                break
        self.chosen = np.zeros(self.image_bits)
        return self._observation(self._cue()), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        a = self._check(action)
        info: dict[str, Any] = {}
        reward = 0.0
        if self._step % 2 == 1:
            correct = a == self.rewarded_side
            reward = self.reward if correct else -self.reward
            self.chosen = self.objects[0 if correct else 1].copy()
            info.update(correct_action=self.rewarded_side, correct=correct)
        self._step += 1
        if self._step % 2 == 1:  # entering a choice step: redraw the positions
            self.rewarded_side = int(self.np_random.integers(2))
        return self._observation(self._cue()), reward, self._step >= self.episode_steps, False, info


TASKS = ("bandit", "two_step", "harlow")


def make_task_env(task: str, **kwargs: Any) -> gym.Env:
    """The env of `task` (one of TASKS) with its keyword arguments."""
    makers = {"bandit": BanditEnv, "two_step": TwoStepEnv, "harlow": HarlowEnv}
    if task not in makers:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    return makers[task](**kwargs)


def _register() -> None:
    for env_id, entry_point in ((BANDIT_ID, "neuro.metarl.envs:BanditEnv"),
                                (TWO_STEP_ID, "neuro.metarl.envs:TwoStepEnv"),
                                (HARLOW_ID, "neuro.metarl.envs:HarlowEnv")):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)


_register()
