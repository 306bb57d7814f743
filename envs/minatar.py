"""MinAtar (Young & Tian 2019) through the `minatar` package, behind the same `VectorEnv` contract.

Five 10x10 games whose frames are binary channels: `minatar.Environment.state()` is [10, 10, C] bool,
here transposed to channels-first and stored as uint8, obs [E, 1, C, 10, 10] (stack 1: MinAtar's
agents see one frame). There is no frame skip: one frame is one agent step (`frames_per_step = 1`).

The package's own defaults are kept (`minatar.Environment`): sticky actions 0.1 (the wrapper repeats
the previous action with that probability, drawn from the env's RandomState), difficulty ramping on,
and all 6 actions unless `minimal_action_set`. Rewards are raw.

Episode ends: MinAtar's `terminal` is a game over, so it is `terminated` (no bootstrap). There is no
time limit, as in Young & Tian's `examples/dqn.py` (an episode runs until `terminal`), Dopamine's
`labs/environments/minatar/*.gin` and Revisiting Rainbow's configs (`Runner.max_steps_per_episode =
100000000`); Freeway's 2500-frame clock is part of the game and ends it with `terminal` like any game
over. `truncated` is therefore always False.

Autoreset is gymnasium's NEXT_STEP mode (see `base.py`): the step after an episode end ignores its
action, resets that game and returns its first frame with `first=True`, reward 0 and terminated =
truncated = False. The game's own `reset()` keeps the sticky-action memory (`last_action`) across
episodes, as the package does; a seeded `reset` builds fresh games.

Seeds: `reset(seed)` gives env i the seed `env_seeds(seed, E)[i]`, one `numpy.random.RandomState` that
both the sticky actions and the game's own randomness draw from (`Environment.seed`). The whole state
(game objects and their RandomState) pickles, so `state_dict` saves it mid-episode and a resumed run
continues the same trajectory step for step.

The package imports matplotlib and seaborn (for its display) when it is first imported, ~2 s of CPU:
it is imported when a `MinAtarEnv` is built, never by `import envs`.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import pickle
from typing import Any

import numpy as np

from .base import SteppedInCallerThread, VecStep, check_actions, env_seeds

GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
FRAME_SIZE = 10


def check_game(name: str) -> str:
    """`name` if it is a MinAtar game; otherwise ValueError naming it, the close matches and the valid games."""
    if name in GAMES:
        return name
    close = difflib.get_close_matches(name, GAMES, n=3, cutoff=0.6)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown MinAtar game '{name}'{hint} (valid: {', '.join(GAMES)})")


def minatar_version() -> str:
    """The installed `minatar` package's version (Seaquest's rules changed in 1.0.11, so runs record it)."""
    return importlib.metadata.version("minatar")


class MinAtarEnv(SteppedInCallerThread):
    """`num_envs` copies of one MinAtar game as a `VectorEnv`: obs [E, 1, C, 10, 10] uint8 (0 or 1)."""

    def __init__(
        self,
        game: str,
        num_envs: int = 1,
        *,
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
        minimal_action_set: bool = False,
        seed: int | None = None,
    ) -> None:
        """Validate everything first, then build the games.

        sticky_action_prob: probability that a step repeats the previous action (MinAtar's default 0.1).
        difficulty_ramping: the games speed up as an episode goes on (MinAtar's default on).
        minimal_action_set: play only the game's distinct actions (3 to 6) instead of all 6.
        seed: used by the first `reset()` that is given no seed.
        """
        check_game(game)
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if not 0.0 <= sticky_action_prob <= 1.0:
            raise ValueError(f"sticky_action_prob must be in [0, 1], got {sticky_action_prob}")
        from minatar import Environment  # imports matplotlib and seaborn: only when a MinAtar env is built

        self._environment_class = Environment
        self.name = game
        self.num_envs = num_envs
        self._sticky_action_prob = float(sticky_action_prob)
        self._difficulty_ramping = bool(difficulty_ramping)
        self._minimal_action_set = bool(minimal_action_set)
        self._games = self._make_games()
        channels = self._games[0].state_shape()[2]
        all_actions = list(range(self._games[0].num_actions()))
        self._action_set = np.asarray(
            self._games[0].minimal_action_set() if minimal_action_set else all_actions, dtype=np.int64
        )
        self.num_actions = len(self._action_set)
        self.frame_shape = (channels, FRAME_SIZE, FRAME_SIZE)
        self.frame_dtype = np.dtype(np.uint8)
        self.stack = 1
        self.frames_per_step = 1
        self._seed = seed  # consumed by the first unseeded reset
        self._init_seed = seed
        self._done = np.zeros(num_envs, dtype=bool)  # did the last obs end an episode?
        self._pending: np.ndarray | None = None  # actions of a step_async not yet run by step_wait

    def _make_games(self) -> list:
        return [
            self._environment_class(
                self.name, sticky_action_prob=self._sticky_action_prob, difficulty_ramping=self._difficulty_ramping
            )
            for _ in range(self.num_envs)
        ]

    def _frames(self) -> np.ndarray:
        """Every game's current frame, [E, 1, C, 10, 10] uint8 (a new array: callers may keep it)."""
        frames = np.empty((self.num_envs, *self.frame_shape), dtype=np.uint8)
        for frame, game in zip(frames, self._games, strict=True):
            frame[...] = game.state().transpose(2, 0, 1)  # [10, 10, C] bool -> [C, 10, 10]
        return frames[:, None]

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Reset all envs; obs [E, 1, C, 10, 10] uint8. A seed rebuilds the games with per-env seeds."""
        if seed is None:
            seed, self._seed = self._seed, None
        if seed is not None:
            self._games = self._make_games()
            for game, game_seed in zip(self._games, env_seeds(seed, self.num_envs), strict=True):
                game.seed(int(game_seed))
        for game in self._games:
            game.reset()
        self._done = np.zeros(self.num_envs, dtype=bool)
        return self._frames()

    def step(self, actions: np.ndarray) -> VecStep:
        """Apply actions [E] (indices into the action set); an env whose last obs ended an episode resets."""
        actions = self._action_set[check_actions(actions, self.num_envs, self.num_actions)]
        reward = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        first = self._done
        for i, game in enumerate(self._games):
            if first[i]:
                game.reset()
            else:
                reward[i], terminated[i] = game.act(int(actions[i]))
        self._done = terminated.copy()
        return VecStep(
            obs=self._frames(),
            reward=reward,
            terminated=terminated,
            truncated=np.zeros(self.num_envs, dtype=bool),
            first=first,
            lives=None,
        )

    def state_dict(self) -> dict[str, Any]:
        """The whole mid-episode state (every game pickled with its RandomState and sticky-action memory,
        and the autoreset flags), so that a resumed run continues the same episodes step for step."""
        return {
            "games": pickle.dumps(self._games),
            "done": self._done.copy(),
            "seed": self._seed,
            "minatar_version": minatar_version(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()`; the next `step` continues exactly where the saved env was.

        The games are pickled objects of the package's classes: under another `minatar` version they would
        continue with other rules, so a version mismatch fails naming both.
        """
        if state["minatar_version"] != minatar_version():
            raise ValueError(f"env state was saved with minatar {state['minatar_version']}, "
                             f"minatar {minatar_version()} is installed; install that version to resume exactly")
        games = pickle.loads(state["games"])
        if len(games) != self.num_envs:
            raise ValueError(f"env state holds {len(games)} envs, this env has {self.num_envs}")
        if games[0].game_name() != self.name:
            raise ValueError(f"env state is of MinAtar game '{games[0].game_name()}', this env plays '{self.name}'")
        self._games = games
        self._done = np.asarray(state["done"], dtype=bool).copy()
        self._seed = state["seed"]

    def options(self) -> dict:
        """The pinned options and the package version, for logging."""
        return {
            "name": self.name,
            "minatar_version": minatar_version(),
            "num_envs": self.num_envs,
            "sticky_action_prob": self._sticky_action_prob,
            "difficulty_ramping": self._difficulty_ramping,
            "minimal_action_set": self._minimal_action_set,
            "num_actions": self.num_actions,
            "frame_shape": list(self.frame_shape),
            "frames_per_step": self.frames_per_step,
            "max_episode_steps": None,
            "autoreset_mode": "NextStep",
            "seed": self._init_seed,
        }

    def close(self) -> None:
        """Nothing to release (the games are plain Python objects)."""
