"""Atari through ale-py's C++ vector env (threads, frame skip, max-pool, 84x84 gray, frame stack).

Every option of `ale_py.vector_env.AtariVectorEnv` is pinned here, because its defaults differ from
`ALE/*-v5` (sticky actions 0.0 vs 0.25) and it clips rewards and presses FIRE on reset unless told not
to. Rewards are raw (the learner clips); life loss is not an episode end.

Facts of ale-py 0.12.1 this wrapper relies on (pinned by tests/envs/test_atari_env.py):
- a reset stack is zero padded, frames `[0, 0, 0, f]`;
- NEXT_STEP autoreset: the step after an episode end ignores its action and returns the new episode's
  reset stack with reward 0 and terminated = truncated = False; we mark it `first`;
- `max_episode_frames` counts emulator frames after the no-op starts (so `episode_frame_number` at the
  cut is noops + cap); the last agent step is shortened to land exactly on the cap, and it gives
  truncated = True, terminated = False;
- `reset(seed=array)` makes runs reproducible (noops, sticky actions and the game's own randomness);
  `reset(seed=None)` continues each env's RNG stream; seeds must fit in int32;
- an out-of-range action makes `step` hang forever, so `step` checks the range first;
- `full_action_space=True` gives 18 actions for every game but skiing, which gets 9 (no fire button).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ale_py.vector_env import AtariVectorEnv

from .base import VecStep, check_actions, env_seeds
from .games import get_game

FRAME_SIZE = 84


class AtariEnv:
    """`num_envs` copies of one game as a `VectorEnv`: obs [E, stack, 84, 84] uint8."""

    def __init__(
        self,
        game: str,
        num_envs: int,
        *,
        sticky_action_prob: float,
        noop_max: int,
        full_action_space: bool,
        max_episode_frames: int,
        frame_skip: int = 4,
        stack: int = 4,
        num_threads: int = 0,
        seed: int | None = None,
    ) -> None:
        """Validate everything first, then build the emulators.

        sticky_action_prob: probability that the emulator repeats the previous action on a frame
        (Machado et al. 2018: 0.25). noop_max: up to this many no-op frames at each reset (0 = none).
        max_episode_frames: truncation cap in emulator frames (108000 = 30 min). num_threads: ALE worker
        threads (0 = ale-py's choice). seed: used by the first `reset()` that is given no seed.
        """
        self._game = get_game(game)  # unknown names fail here, before any emulator is built
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if not 0.0 <= sticky_action_prob <= 1.0:
            raise ValueError(f"sticky_action_prob must be in [0, 1], got {sticky_action_prob}")
        if noop_max < 0:
            raise ValueError(f"noop_max must be >= 0, got {noop_max}")
        if max_episode_frames < 1:
            raise ValueError(f"max_episode_frames must be >= 1, got {max_episode_frames}")
        if frame_skip < 1 or stack < 1:
            raise ValueError(f"frame_skip and stack must be >= 1, got {frame_skip} and {stack}")
        if num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {num_threads}")

        self._options: dict[str, Any] = {
            "game": self._game.rom_id,
            "num_envs": num_envs,
            "batch_size": 0,  # synchronous: every step returns all envs, in env order
            "num_threads": num_threads,
            "thread_affinity_offset": -1,
            "max_num_frames_per_episode": max_episode_frames,
            "repeat_action_probability": sticky_action_prob,
            "full_action_space": full_action_space,
            "continuous": False,
            "continuous_action_threshold": 0.5,
            "autoreset_mode": "NextStep",
            "img_height": FRAME_SIZE,
            "img_width": FRAME_SIZE,
            "grayscale": True,
            "stack_num": stack,
            "frameskip": frame_skip,
            "maxpool": True,
            "noop_max": noop_max,
            "episodic_life": False,
            "life_loss_info": False,
            "reward_clipping": False,
            "use_fire_reset": False,
        }
        self._env = AtariVectorEnv(**self._options)

        self.name = self._game.name
        self.num_envs = num_envs
        self.num_actions = int(self._env.single_action_space.n)
        self.frame_shape = (FRAME_SIZE, FRAME_SIZE)
        self.frame_dtype = np.dtype(np.uint8)
        self.stack = stack
        self.frames_per_step = frame_skip
        self._seed = seed  # consumed by the first unseeded reset
        self._init_seed = seed
        self._done = np.zeros(num_envs, dtype=bool)  # did the last obs end an episode?
        self._env_order = np.arange(num_envs)
        self._pending = False  # a step_async not yet collected by step_wait

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs; obs [E, S, 84, 84] uint8 (zero-padded stacks). See the module docstring."""
        if seed is None:
            seed, self._seed = self._seed, None
        seeds = None if seed is None else env_seeds(seed, self.num_envs)
        obs, info = self._env.reset(seed=seeds)
        self._check_order(info)
        self._done = np.zeros(self.num_envs, dtype=bool)
        return obs

    def step(self, actions: np.ndarray) -> VecStep:
        """Apply actions [E] (indices into the minimal or full action set; out of range -> ValueError)."""
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions: np.ndarray) -> None:
        """Hand actions [E] to ale-py's worker threads and return at once (`step_wait` collects)."""
        if self._pending:
            raise RuntimeError("step_async called twice without step_wait")
        self._env.send(check_actions(actions, self.num_envs, self.num_actions))
        self._pending = True

    def step_wait(self) -> VecStep:
        """Wait for the step `step_async` started; its outcome."""
        if not self._pending:
            raise RuntimeError("step_wait called without step_async")
        obs, reward, terminated, truncated, info = self._env.recv()
        self._pending = False
        self._check_order(info)
        first = self._done
        self._done = terminated | truncated
        return VecStep(
            obs=obs,
            reward=reward.astype(np.float32),
            terminated=terminated,
            truncated=truncated,
            first=first,
            lives=info["lives"],
        )

    def _check_order(self, info: dict) -> None:
        """Synchronous mode returns envs in order; fail loudly if a future ale-py changes that."""
        if not np.array_equal(info["env_id"], self._env_order):
            raise RuntimeError(f"ale-py returned envs out of order: {info['env_id']}")

    def options(self) -> dict:
        """Every option passed to `AtariVectorEnv`, plus the registry name, for logging."""
        return {"name": self.name, **self._options, "seed": self._init_seed}

    def close(self) -> None:
        """Stop the ALE worker threads."""
        self._env.close()
