"""Replay at Atari scale and the peak memory of a run that holds it (runs in the project's venv).

    python scripts/bench_drivers/replay_memory.py [--capacity 1000000] [--num-envs 8] [--agent dqn]

In a fresh process (so the peak RSS is this run's alone): build the agent, then the uniform replay
of `--capacity` transitions with 3-step returns (the costlier sample), fill it through `add` with
random frames and episode ends the way the trainer writes (a whole vector step per call), then time
`sample()` at batch 32 and the agent's update on batches sampled from it. Reports the storage bytes,
the add and sample times, the update time, and the process's peak RSS against the storage: the
"peak memory of a 1M-buffer run ≤ 1.3× the buffer" target (scripts/bench_report.py).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from common import emit, peak_rss_bytes

from agents import build_agent
from replay import ReplayBuffer, ReplayConfig, build_replay
from training.allocator import keep_freed_memory
from training.config import train_config

NUM_ACTIONS = 6


def fill(buf: ReplayBuffer, num_envs: int, seed: int) -> float:
    """Write capacity transitions (random frames, ~500-step episodes, autoreset rows); seconds per add."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, (16, num_envs, 84, 84), dtype=np.uint8)  # frames cycle through a pool
    steps = buf.capacity_per_env
    term = rng.random((steps, num_envs)) < 1 / 800
    trunc = rng.random((steps, num_envs)) < 1 / 2000
    reward = rng.choice(np.array([0.0, 0.0, 0.0, 1.0, -1.0, 4.0], np.float32), (steps, num_envs))
    action = rng.integers(0, NUM_ACTIONS, (steps, num_envs))
    first = np.ones(num_envs, bool)
    prev_end = np.zeros(num_envs, bool)
    start = time.perf_counter()
    for t in range(steps):
        # An autoreset step (its obs is final) has reward 0 and no flags; the obs after it is first.
        term[t] &= ~prev_end
        trunc[t] &= ~prev_end & ~term[t]
        reward[t][prev_end] = 0.0
        buf.add(pool[t % 16], first, action[t], reward[t], term[t], trunc[t])
        first, prev_end = prev_end, term[t] | trunc[t]
    return (time.perf_counter() - start) / steps


def median_ms(fn, calls: int, warmup: int) -> float:  # noqa: ANN001
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--agent", default="dqn")
    parser.add_argument("--sample-calls", type=int, default=500)
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # the trainer's malloc settings, so the peak is a training process's
    cfg = train_config([f"agent={args.agent}"])
    agent = build_agent(cfg.agent, (4, 84, 84), NUM_ACTIONS, torch.device("cpu"), seed=0)
    baseline = peak_rss_bytes()
    buf = build_replay(ReplayConfig(kind="uniform", capacity=args.capacity), num_envs=args.num_envs,
                       frame_shape=(84, 84), frame_dtype=np.uint8, stack=4, n_step=3, gamma=0.99, reward_clip=1.0,
                       batch_size=32, device="cpu", seed=0)
    add_s = fill(buf, args.num_envs, seed=1)
    storage = buf.nbytes()  # the storage tensors and the host mirrors of the flags
    sample_ms = median_ms(buf.sample, args.sample_calls, warmup=50)
    update_ms = median_ms(lambda: agent.update(buf.sample()), args.updates, warmup=3)
    peak = peak_rss_bytes()
    emit({"capacity": args.capacity, "transitions": len(buf), "num_envs": args.num_envs,
          "storage_bytes": storage, "bytes_per_transition": storage / len(buf), "add_ms": add_s * 1e3,
          "sample_ms": sample_ms, "update_ms": update_ms, "agent": args.agent, "baseline_rss_bytes": baseline,
          "peak_rss_bytes": peak, "peak_over_storage": peak / storage})


if __name__ == "__main__":
    main()
