"""The vector-env contract every env in `envs/` implements.

Observations are always `[E, S, *frame_shape]` (E envs, S stacked frames, newest frame `obs[:, -1]`);
reset stacks are zero padded (`[0, 0, 0, f]`). Autoreset follows gymnasium's NEXT_STEP mode: the step
after an episode end ignores its action and returns the new episode's reset observation with
`first=True`, reward 0 and terminated = truncated = False. That step is not a transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class VecStep:
    """One vector step of E envs: the observation after the step and the outcome of the transition."""

    obs: np.ndarray  # [E, S, *frame_shape] the observation after this step
    reward: np.ndarray  # [E] float32, RAW reward of the transition into obs (0 on a reset step)
    terminated: np.ndarray  # [E] bool, obs is terminal (game over): no bootstrap
    truncated: np.ndarray  # [E] bool, obs ended by a time/frame limit: bootstrap
    first: np.ndarray  # [E] bool, obs starts a new episode (this step was an autoreset:
    #   its action was ignored, reward 0, terminated=truncated=False)
    lives: np.ndarray | None  # [E] int (Atari) or None


@runtime_checkable
class VectorEnv(Protocol):
    """E environments stepped together with NEXT_STEP autoreset; see the module docstring."""

    num_envs: int
    num_actions: int
    frame_shape: tuple[int, ...]
    frame_dtype: np.dtype
    stack: int  # S: 4 for Atari, 1 for classic control and MinAtar
    frames_per_step: int  # emulator frames per agent step: 4 for Atari, 1 for classic and MinAtar
    name: str  # game name ("pong", MinAtar's "breakout") or env name ("cartpole")

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset every env; returns obs [E, S, *frame_shape], all of which start an episode."""
        ...

    def step(self, actions: np.ndarray) -> VecStep:
        """Apply actions [E] (int) and return the outcome (NEXT_STEP autoreset semantics)."""
        ...

    def step_async(self, actions: np.ndarray) -> None:
        """Start `step(actions)`; ale-py's C++ worker threads run it while the caller goes on (the
        trainer updates meanwhile), classic-control envs run it in `step_wait`. Invalid actions raise
        here, before anything starts."""
        ...

    def step_wait(self) -> VecStep:
        """The outcome of the step started by `step_async` (blocks until it is done)."""
        ...

    def options(self) -> dict:
        """Every pinned option, for logging at startup."""
        ...

    def close(self) -> None:
        """Release the emulators/threads."""
        ...


def env_state(env: VectorEnv) -> dict | None:
    """The env's mid-episode state for a checkpoint, or None when it cannot save one.

    Classic-control and MinAtar envs pickle their games; ale-py's vector env exposes no state, so an Atari run
    resumed from a checkpoint starts fresh episodes (README: "Resuming").
    """
    state_dict = getattr(env, "state_dict", None)
    return state_dict() if state_dict is not None else None


def env_seeds(seed: int, num_envs: int) -> np.ndarray:
    """Per-env seeds [E] int64 in [0, 2**31) derived from one run seed via `np.random.SeedSequence`.

    Why not `seed, seed+1, ...` (what ale-py and gymnasium do for an int seed): runs with seeds 0 and 1
    would then share E-1 of their E env streams. int32 range because ale-py rejects larger seeds.
    """
    state = np.random.SeedSequence(seed).generate_state(num_envs, dtype=np.uint32)
    return (state >> 1).astype(np.int64)


def check_actions(actions: np.ndarray, num_envs: int, num_actions: int) -> np.ndarray:
    """Actions as int64 [E], each in [0, num_actions); anything else raises ValueError.

    Why: ale-py 0.12.1's vector env deadlocks (never returns) on an out-of-range action.
    """
    actions = np.asarray(actions, dtype=np.int64).reshape(num_envs)
    if actions.min() < 0 or actions.max() >= num_actions:
        raise ValueError(f"actions must be in [0, {num_actions}), got {actions}")
    return actions


class SteppedInCallerThread:
    """`step_async`/`step_wait` for envs that step in the caller's thread: `step_async` checks and keeps
    the actions, `step_wait` runs the subclass's `step` on them. Needs `num_envs`, `num_actions`, `step`."""

    _pending: np.ndarray | None = None

    def step_async(self, actions: np.ndarray) -> None:
        """Remember actions [E] for `step_wait`."""
        if self._pending is not None:
            raise RuntimeError("step_async called twice without step_wait")
        self._pending = check_actions(actions, self.num_envs, self.num_actions)

    def step_wait(self) -> VecStep:
        """Run the step `step_async` started."""
        if self._pending is None:
            raise RuntimeError("step_wait called without step_async")
        actions, self._pending = self._pending, None
        return self.step(actions)
