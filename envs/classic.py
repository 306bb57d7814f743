"""Classic-control envs (CartPole etc.) behind the same `VectorEnv` contract, for fast CI tests.

gymnasium `SyncVectorEnv` in NEXT_STEP autoreset mode: the step after an episode end ignores its
action and returns the reset observation with reward 0 and terminated = truncated = False (`first`).
A vector observation of size D becomes obs [E, 1, D] float32 (stack 1, one "frame" per step).
"""

from __future__ import annotations

import difflib
import importlib
import pickle
from typing import Any

import gymnasium as gym
import numpy as np

from .base import SteppedInCallerThread, VecStep, check_actions, env_seeds


class ClassicEnv(SteppedInCallerThread):
    """`num_envs` copies of a gymnasium env with a discrete action space as a `VectorEnv`."""

    def __init__(
        self,
        env_id: str = "CartPole-v1",
        num_envs: int = 1,
        name: str = "cartpole",
        seed: int | None = None,
        *,
        max_episode_steps: int | None = None,
    ) -> None:
        """env_id: gymnasium id, or gymnasium's "module:EnvId" form, which imports `module` first so that
        it can register the id (e.g. "neuro.dopamine.envs:neuro/VariableMagnitude-v0"); name: short name for run
        dirs/logs; seed: used by the first unseeded `reset()`; max_episode_steps: overrides the registered
        time limit (truncation), None keeps it.
        """
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        module, _, registered_id = env_id.rpartition(":")
        if module:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as error:
                raise ValueError(f"gymnasium env '{env_id}' names module '{module}', which cannot be imported "
                                 f"({error}); give the module that registers '{registered_id}'") from error
        if registered_id not in gym.registry:
            close = difflib.get_close_matches(registered_id, gym.registry, n=3, cutoff=0.6)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(f"unknown gymnasium env '{env_id}'{hint}")
        kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
        self._env = gym.vector.SyncVectorEnv(
            [lambda: gym.make(env_id, **kwargs) for _ in range(num_envs)],
            autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP,
        )
        if not isinstance(self._env.single_action_space, gym.spaces.Discrete):
            self._env.close()
            raise ValueError(f"'{env_id}' needs a Discrete action space, has {self._env.single_action_space}")

        self.name = name
        self.num_envs = num_envs
        self.num_actions = int(self._env.single_action_space.n)
        self.frame_shape = tuple(self._env.single_observation_space.shape)
        self.frame_dtype = np.dtype(np.float32)
        self.stack = 1
        self.frames_per_step = 1
        self._env_id = env_id
        self._max_episode_steps = self._env.envs[0].spec.max_episode_steps
        self._seed = seed  # consumed by the first unseeded reset
        self._init_seed = seed
        self._done = np.zeros(num_envs, dtype=bool)  # did the last obs end an episode?
        self._pending: np.ndarray | None = None  # actions of a step_async not yet run by step_wait

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs; obs [E, 1, D] float32."""
        if seed is None:
            seed, self._seed = self._seed, None
        seeds = None if seed is None else [int(s) for s in env_seeds(seed, self.num_envs)]
        obs, _ = self._env.reset(seed=seeds)
        self._done = np.zeros(self.num_envs, dtype=bool)
        return obs.astype(np.float32)[:, None]

    def step(self, actions: np.ndarray) -> VecStep:
        """Apply actions [E] int."""
        actions = check_actions(actions, self.num_envs, self.num_actions)
        obs, reward, terminated, truncated, _ = self._env.step(actions)
        first = self._done
        self._done = terminated | truncated
        return VecStep(
            obs=obs.astype(np.float32)[:, None],
            reward=reward.astype(np.float32),
            terminated=terminated.astype(bool),
            truncated=truncated.astype(bool),
            first=first,
            lives=None,
        )

    def state_dict(self) -> dict[str, Any]:
        """The whole mid-episode state (every sub-env pickled with its RNG and time limit, and the
        autoreset flags), so that a resumed run continues the same episodes step for step."""
        return {
            "envs": pickle.dumps(self._env.envs),
            "autoreset": self._env._autoreset_envs.copy(),
            "done": self._done.copy(),
            "seed": self._seed,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()`; the next `step` continues exactly where the saved env was."""
        envs = pickle.loads(state["envs"])
        if len(envs) != self.num_envs:
            raise ValueError(f"env state holds {len(envs)} envs, this env has {self.num_envs}")
        for env in self._env.envs:
            env.close()
        self._env.envs = envs
        self._env._autoreset_envs = np.asarray(state["autoreset"], dtype=bool).copy()
        self._done = np.asarray(state["done"], dtype=bool).copy()
        self._seed = state["seed"]

    def options(self) -> dict:
        """The pinned options, for logging."""
        return {
            "name": self.name,
            "env_id": self._env_id,
            "num_envs": self.num_envs,
            "max_episode_steps": self._max_episode_steps,
            "autoreset_mode": "NextStep",
            "seed": self._init_seed,
        }

    def close(self) -> None:
        """Close the sub-envs."""
        self._env.close()
