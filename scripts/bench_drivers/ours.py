"""End-to-end agent steps/s of our trainer in its learning phase (runs in the project's venv).

    python scripts/bench_drivers/ours.py --agent dqn|c51|qrdqn|iqn|fqf [--num-envs 1] [--device cpu]

Runs the real `training.loop.Trainer` (what `train.py agent=<name> env.game=pong` runs: acting,
env, replay writes, sampling, updates, target syncs, logging) with the paper settings of
`configs/agent/<name>.yaml`, except: ε fixed at `--epsilon`, learning after `--warmup-steps`,
`replay.capacity=--replay-size`, no evaluation or checkpoint inside the window. A watcher thread
reads the trainer's agent-step counter; once the window is timed it prints the result and ends the
process at once (`os._exit`: the run dir under `--workdir` is scratch, the caller removes it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

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
    parser.add_argument("--override", nargs="*", default=[], help="extra Hydra overrides, e.g. agent.compile=true")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-ours-")
    trainer = Trainer(train_config(overrides(args, workdir)))
    clock = LearningClock(args.warmup_steps, args.skip_steps, args.measure_seconds)

    def watch() -> None:
        while not clock.tick(trainer.counters.agent_steps):
            time.sleep(0.002)
        result = clock.result()
        emit({"framework": "ours", "agent": args.agent, "game": args.game or GAME, "num_envs": args.num_envs,
              "device": args.device, **result, "frames_per_s": result["steps_per_s"] * FRAMES_PER_STEP,
              "peak_rss_bytes": peak_rss_bytes()})
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    trainer.train()
    raise SystemExit("the trainer stopped before the timing window was complete")


if __name__ == "__main__":
    main()
