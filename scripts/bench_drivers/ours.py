"""End-to-end agent steps/s of our trainer in its learning phase (runs in the project's venv).

    python scripts/bench_drivers/ours.py --agent dqn|c51|qrdqn|iqn|fqf [--num-envs 1] [--device cpu]

Runs the real `training.loop.Trainer` (what `train.py agent=<name> env.game=pong` runs: acting,
env, replay writes, sampling, updates, target syncs, logging) with the paper settings of
`configs/agent/<name>.yaml`, except: ε fixed at `--epsilon`, learning after `--warmup-steps`,
`replay.capacity=--replay-size`, no evaluation or checkpoint inside the window. The clock reads the
trainer's agent-step counter at each vector step; once the window is timed the loop is stopped, the
same agent times back-to-back updates from the run's own replay (the update-only cost the
end-to-end rate is compared with: same process, same data, minutes apart at most), and the driver
prints both and ends the process at once (`os._exit`: the run dir under `--workdir` is scratch).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import torch
from common import FRAMES_PER_STEP, GAME, LearningClock, add_common_args, emit, peak_rss_bytes

from training.config import train_config
from training.loop import Trainer


def overrides(args: argparse.Namespace, workdir: str) -> list[str]:
    """The Hydra overrides of the benchmark run."""
    never = 10**12
    return [
        f"agent={args.agent}", "env=atari", f"env.game={args.game}", f"env.num_envs={args.num_envs}",
        f"replay.capacity={args.replay_size}", f"agent.batch_size={args.batch_size}",
        f"agent.train_period_steps={args.train_period_steps}", f"agent.warmup_steps={args.warmup_steps}",
        f"agent.epsilon.start={args.epsilon}", f"agent.epsilon.end={args.epsilon}",
        f"trainer.total_frames={never}", f"trainer.eval_period_frames={never}",
        f"trainer.checkpoint_period_frames={never}", f"trainer.torch_threads={args.threads}",
        f"trainer.device={args.device}", "trainer.progress=false", f"seed={args.seed}", f"runs_root={workdir}",
        *args.override,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--num-envs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default=None, help="scratch dir for the run dir (default: a new temp dir)")
    parser.add_argument("--update-seconds", type=float, default=4.0,
                        help="then time back-to-back updates for this long (at least 5)")
    parser.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides, e.g. agent.compile=optimizer")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-ours-")
    trainer = Trainer(train_config(overrides(args, workdir)))
    clock = LearningClock(args.warmup_steps, args.skip_steps, args.measure_seconds)
    step_async = trainer.env.step_async

    def step_async_until_timed(actions: Any) -> None:
        if clock.tick(trainer.counters.agent_steps):
            raise WindowDone
        step_async(actions)

    trainer.env.step_async = step_async_until_timed  # the clock reads the counter once per vector step
    try:
        trainer.train()
    except WindowDone:
        pass
    else:
        raise SystemExit("the trainer stopped before the timing window was complete")
    result = clock.result()
    update_ms = back_to_back_update_ms(trainer, args.update_seconds)
    emit({"framework": "ours", "agent": args.agent, "game": args.game or GAME, "num_envs": args.num_envs,
          "device": args.device, **result, "frames_per_s": result["steps_per_s"] * FRAMES_PER_STEP,
          "peak_rss_bytes": peak_rss_bytes(), "update_ms": update_ms})
    os._exit(0)


class WindowDone(Exception):  # noqa: N818 (a signal to stop the loop, not an error)
    """Raised from inside the loop once the timing window is complete."""


def back_to_back_update_ms(trainer: Trainer, seconds: float) -> float:
    """Median ms of sample + update, back to back, from the run's own replay and agent (the loop's
    update-only cost, measured in the same process right after the window)."""
    sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
    times: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        t0 = time.perf_counter()
        trainer.agent.update(trainer.replay.sample())
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


if __name__ == "__main__":
    main()
