"""Benchmark of the replay buffer at Atari scale (not a test).

Allocates a real 1M-transition Atari buffer (84x84 uint8 frames, stack 4) on the CPU, fills it
through `add` with random frames and random episode ends (NEXT_STEP autoreset protocol), and prints
its memory and the median time of `sample()` for batch 32 and 256, n = 3 and n = 1, uniform and
prioritized (with `update_priorities`). One buffer is alive at a time (each is ~7.1 GB).

    python scripts/bench_replay.py                      # 1M transitions, 8 envs, 1 torch thread
    python scripts/bench_replay.py --capacity 100000    # quick look
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replay import ReplayBuffer, ReplayConfig, build_replay  # noqa: E402


def rss_bytes() -> int:
    """Resident set size of this process (Linux), 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def fill(buf: ReplayBuffer, num_envs: int, seed: int) -> float:
    """Write capacity transitions the way the trainer does; returns seconds per add."""
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, 256, (16, num_envs, 84, 84), dtype=np.uint8)  # frames cycle through a pool
    steps = buf.capacity_per_env
    term = rng.random((steps, num_envs)) < 1 / 800  # episodes of ~500 agent steps
    trunc = rng.random((steps, num_envs)) < 1 / 2000
    reward = rng.choice(np.array([0.0, 0.0, 0.0, 1.0, -1.0, 4.0], np.float32), (steps, num_envs))
    action = rng.integers(0, 18, (steps, num_envs))
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


def time_calls(fn, calls: int, warmup: int) -> tuple[float, float]:
    """Median and 90th percentile of `fn()` in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.9 * len(times))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads, as in a run")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), capacity {args.capacity:,} transitions, "
          f"{args.num_envs} envs, frames 84x84 uint8, stack 4, CPU")

    rows = []
    for kind, n_step in (("uniform", 3), ("uniform", 1), ("prioritized", 3)):
        rss_before = rss_bytes()
        buf = build_replay(
            ReplayConfig(kind=kind, capacity=args.capacity), num_envs=args.num_envs, frame_shape=(84, 84),
            frame_dtype=np.uint8, stack=4, n_step=n_step, gamma=0.99, reward_clip=1.0, batch_size=32,
            device="cpu", seed=0,
        )
        add_s = fill(buf, args.num_envs, seed=n_step)
        tensors = buf.storage_tensors()
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        print(f"\n[{kind}, n={n_step}] {len(buf):,} rows, {buf.num_valid():,} valid; add(): "
              f"{add_s * 1e6:.0f} us per vector step of {args.num_envs} envs")
        print(f"  storage {total:,} bytes = {total / 1e9:.3f} GB ({total / 2**30:.3f} GiB), "
              f"{total / len(buf):.1f} bytes per transition; process RSS grew "
              f"{(rss_bytes() - rss_before) / 1e9:.2f} GB")
        if kind == "uniform" and n_step == 3:
            for name, t in tensors.items():
                print(f"    {name:<11} {tuple(t.shape)} {str(t.dtype):<13} {t.numel() * t.element_size():>14,} B")
        for batch_size in (32, 256):
            buf.set_batch_size(batch_size)
            sampler = buf.sample
            median, p90 = time_calls(sampler, args.calls, args.warmup)
            rows.append((kind, n_step, batch_size, median, p90))
            print(f"  sample() B={batch_size:<3}: median {median:.3f} ms, p90 {p90:.3f} ms")
            if kind == "prioritized":
                prio = torch.rand(batch_size)

                def sample_and_update(buf=buf, prio=prio):
                    batch = buf.sample()
                    buf.update_priorities(batch.index, prio)

                median, p90 = time_calls(sample_and_update, args.calls, args.warmup)
                print(f"  sample()+update_priorities() B={batch_size:<3}: median {median:.3f} ms, "
                      f"p90 {p90:.3f} ms")
        del buf, tensors
        gc.collect()

    print("\nsummary (median ms): " + ", ".join(f"{k} n={n} B={b}: {m:.3f}" for k, n, b, m, _ in rows))


if __name__ == "__main__":
    main()
