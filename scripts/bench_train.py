"""Frames per second of the quickstart run in its learning phase, for 1 and 4 envs.

    python scripts/bench_train.py [--frames 60000] [--envs 1 4]

Runs the real trainer (in a temporary run dir) past the warm-up and reports the median of the
`perf/frames_per_s` records logged after learning started. A script, not a test: machines are noisy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.config import train_config  # noqa: E402
from training.logging import read_metrics  # noqa: E402
from training.loop import run  # noqa: E402


def measure(num_envs: int, frames: int, warmup_steps: int, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = train_config([
            "experiment=quickstart", f"env.num_envs={num_envs}", f"trainer.total_frames={frames}",
            f"agent.warmup_steps={warmup_steps}", f"trainer.eval_period_frames={frames * 10}",
            "trainer.log_period_frames=4000", f"trainer.checkpoint_period_frames={frames * 10}",
            f"trainer.torch_threads={threads}", "trainer.progress=false", f"runs_root={tmp}",
            "logger.tensorboard=false",
        ])
        run(cfg)
        records = read_metrics(Path(cfg.run_dir))
    learning_frames = warmup_steps * 4 + 4000
    fps = [r["perf/frames_per_s"] for r in records if "perf/frames_per_s" in r and r["frames"] > learning_frames]
    ups = [r["perf/updates_per_s"] for r in records if "perf/updates_per_s" in r and r["frames"] > learning_frames]
    return {"frames_per_s": float(np.median(fps)), "updates_per_s": float(np.median(ups)), "records": len(fps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60_000)
    parser.add_argument("--warmup-steps", type=int, default=2_000)
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, quickstart (DQN, Breakout), learning phase")
    for num_envs in args.envs:
        result = measure(num_envs, args.frames, args.warmup_steps, args.threads)
        print(f"envs={num_envs}: {result['frames_per_s']:.0f} frames/s, {result['updates_per_s']:.1f} updates/s "
              f"(median of {result['records']} log windows)")


if __name__ == "__main__":
    main()
