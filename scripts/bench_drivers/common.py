"""What every end-to-end benchmark driver shares: the game, the env every framework plays, the clock.

Each driver (ours.py, sb3_peer.py, tianshou_peer.py) runs as its own process: ours in the project's
venv, the peers in the benchmark venv (`scripts/bench.py --setup-peers`). This module imports only
numpy, gymnasium and the project's `envs` package, which both venvs can load: the peers' venv does not
install the project, so `scripts/bench.py` runs every driver with the checkout on PYTHONPATH (by hand:
`PYTHONPATH=. .bench-venv/bin/python scripts/bench_drivers/sb3_peer.py --agent dqn`).

The same env for everyone: `AleGymEnv` is one copy of the project's `AtariEnv` (ale-py's C++
preprocessing: frame skip 4, max-pool, 84x84 gray, stack 4, up to 30 no-ops, no sticky actions,
minimal action set, 108k-frame cap) behind the plain `gymnasium.Env` interface that SB3 and Tianshou
wrap in their own vector envs. So the peers pay no Python preprocessing wrappers, and the figure
compares the learners, not the env stacks.

The clock: `LearningClock` is told the agent-step count as training goes; it starts timing once
`warmup_steps + skip_steps` agent steps are done (the first updates of the learning phase are
not timed: allocator and cache warm-up) and reports `done` after `measure_seconds`. A driver prints
one JSON line (`emit`) with `steps_per_s` over that window.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from envs.atari import AtariEnv

GAME = "pong"
FRAMES_PER_STEP = 4
RESULT_PREFIX = "BENCH_RESULT "


def make_atari_env(game: str = GAME, num_envs: int = 1, seed: int = 0) -> AtariEnv:
    """The project's Atari env under the dqn_zoo protocol (configs/env/protocol/dqn_zoo.yaml)."""
    return AtariEnv(game, num_envs, sticky_action_prob=0.0, noop_max=30, full_action_space=False,
                    max_episode_frames=108_000, frame_skip=FRAMES_PER_STEP, stack=4, seed=seed)


class AleGymEnv(gym.Env):
    """One `AtariEnv` as a `gymnasium.Env`: obs [4, 84, 84] uint8, Discrete(minimal actions).

    Episodes end on game over (terminated) or the frame cap (truncated); the framework then calls
    `reset`, which resets the emulator (the vector env's own autoreset step is never taken).
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, game: str = GAME, seed: int = 0) -> None:
        self.env = make_atari_env(game, 1, seed)
        self.observation_space = gym.spaces.Box(0, 255, (self.env.stack, *self.env.frame_shape), np.uint8)
        self.action_space = gym.spaces.Discrete(self.env.num_actions)
        self._seed = seed
        self._episodes = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._episodes += 1
        obs = self.env.reset(seed=self._seed + self._episodes if seed is None else seed)
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        out = self.env.step(np.asarray([int(action)], dtype=np.int64))
        return out.obs[0], float(out.reward[0]), bool(out.terminated[0]), bool(out.truncated[0]), {}

    def close(self) -> None:
        self.env.close()


class LearningClock:
    """Times `measure_seconds` of the learning phase, starting after `warmup_steps + skip_steps`."""

    def __init__(self, warmup_steps: int, skip_steps: int, measure_seconds: float) -> None:
        self.start_step = warmup_steps + skip_steps
        self.measure_seconds = measure_seconds
        self.t0: float | None = None
        self.steps0 = 0
        self.t1: float | None = None
        self.steps1 = 0

    def tick(self, agent_steps: int) -> bool:
        """Record the count of agent steps done so far; True once the window is complete."""
        now = time.perf_counter()
        if self.t0 is None:
            if agent_steps >= self.start_step:
                self.t0, self.steps0 = now, agent_steps
            return False
        if self.t1 is None and now - self.t0 >= self.measure_seconds:
            self.t1, self.steps1 = now, agent_steps
        return self.t1 is not None

    @property
    def done(self) -> bool:
        return self.t1 is not None

    def result(self) -> dict[str, float]:
        """{"steps_per_s", "steps", "seconds"} of the timed window (steps_per_s 0 if never complete)."""
        if self.t0 is None or self.t1 is None:
            return {"steps_per_s": 0.0, "steps": 0, "seconds": 0.0}
        steps, seconds = self.steps1 - self.steps0, self.t1 - self.t0
        return {"steps_per_s": steps / seconds, "steps": steps, "seconds": seconds}


def peak_rss_bytes() -> int:
    """Peak resident set size of this process: VmHWM, which starts afresh at exec (getrusage's
    ru_maxrss does not: a child would report its parent's peak); ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(result: dict[str, Any]) -> None:
    """Print the driver's result as one JSON line that `scripts/bench.py` looks for."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def add_common_args(parser: Any) -> None:
    """The arguments every driver takes (bench.py passes the same values to all of them)."""
    parser.add_argument("--agent", required=True)
    parser.add_argument("--game", default=GAME)
    parser.add_argument("--replay-size", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-period-steps", type=int, default=4)
    parser.add_argument("--warmup-steps", type=int, default=1_000)
    parser.add_argument("--skip-steps", type=int, default=40, help="learning steps before timing starts")
    parser.add_argument("--measure-seconds", type=float, default=15.0)
    parser.add_argument("--epsilon", type=float, default=0.01, help="fixed ε of the learning phase")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
