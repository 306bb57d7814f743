"""Update time per agent (batch 32, Nature CNN, Atari shapes) and acting time per vector step.

    python scripts/bench_agents.py [--threads 2] [--updates 30] [--envs 1 8]

Builds each agent exactly as `train.py agent=<name>` would and times `update` on a replay batch of
random frames, and `act` on a vector of observations, interleaving agents round by round so machine
drift spreads evenly. Prints medians (and the spread as min–max). A script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents import build_agent  # noqa: E402
from replay import build_replay  # noqa: E402
from training.config import train_config  # noqa: E402

AGENTS = ["dqn", "c51", "qrdqn", "iqn", "fqf"]
NUM_ACTIONS = 6  # Pong / Breakout-sized minimal action sets (Breakout has 4, Pong 6)


def filled_replay(cfg, batch_size: int):
    replay = build_replay(cfg.replay, num_envs=1, frame_shape=(84, 84), frame_dtype=torch.uint8, stack=4,
                          n_step=cfg.agent.n_step, gamma=cfg.agent.gamma, reward_clip=cfg.agent.reward_clip,
                          batch_size=batch_size, device=torch.device("cpu"), seed=0)
    rng = np.random.default_rng(0)
    for t in range(2_000):
        replay.add(rng.integers(0, 256, size=(1, 84, 84), dtype=np.uint8), np.array([t % 500 == 0]),
                   rng.integers(0, NUM_ACTIONS, size=1), rng.normal(size=1).astype(np.float32),
                   np.array([False]), np.array([False]))
    return replay


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--updates", type=int, default=30, help="timed updates per agent (after 3 warm-up)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--agents", nargs="+", default=AGENTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU, {args.threads} threads, batch 32, Nature CNN, {NUM_ACTIONS} actions")
    setups = {}
    for name in args.agents:
        cfg = train_config([f"agent={name}", "replay.capacity=10000"])
        agent = build_agent(cfg.agent, (4, 84, 84), NUM_ACTIONS, torch.device("cpu"), seed=0)
        replay = filled_replay(cfg, cfg.agent.batch_size)
        for _ in range(3):
            agent.update(replay.sample())
        setups[name] = (agent, replay)
    update_ms: dict[str, list[float]] = {name: [] for name in setups}
    act_ms: dict[tuple[str, int], list[float]] = {}
    per_round = max(1, args.updates // args.rounds)
    for _ in range(args.rounds):
        for name, (agent, replay) in setups.items():
            update_ms[name] += timed(lambda a=agent, r=replay: a.update(r.sample()), per_round)
            for num_envs in args.envs:
                obs = torch.randint(0, 256, (num_envs, 4, 84, 84), dtype=torch.uint8)
                act_ms.setdefault((name, num_envs), []).extend(timed(lambda a=agent, o=obs: a.act(o, 0.01), 20))
    header = "| agent | update ms (median, min–max) | " + " | ".join(f"act ms, {e} envs" for e in args.envs) + " |"
    print(header)
    print("|" + "---|" * (2 + len(args.envs)))
    for name in setups:
        u = update_ms[name]
        acts = " | ".join(f"{statistics.median(act_ms[(name, e)]):.2f}" for e in args.envs)
        print(f"| {name} | {statistics.median(u):.1f} ({min(u):.1f}–{max(u):.1f}) | {acts} |")


if __name__ == "__main__":
    main()
