"""Does a run's final greedy policy act as the run acted while training? (`analysis/policy_agreement.py`)

    python scripts/policy_agreement.py runs/minatar_rr/c51/freeway/seed0 --lasts 1000,10000,100000 \\
        --classes "up=2;down=4;stay=0,1,3,5"

Loads the run's newest checkpoint (network and replay), plays the network greedily on every stored observation
and prints, for the last N stored transitions, how often its action equals the action taken there, overall and
by action class (actions that do the same thing on a game go in one class). Training returns exceed a greedy
evaluation's when the policy that earned them changed from update to update; this says by how much it did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from agents import build_agent
from analysis.policy_agreement import agreement_by_age, taken_and_greedy_actions
from envs import build_env
from replay import build_replay
from training.checkpoint import latest_checkpoint, load_checkpoint
from training.scoring import load_run_config


def parse_classes(spec: str) -> dict[str, list[int]]:
    """"up=2;down=4;stay=0,1,3,5" -> {"up": [2], "down": [4], "stay": [0, 1, 3, 5]}."""
    classes = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, actions = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"class {part!r}: expected NAME=ACTION[,ACTION...]")
        classes[name.strip()] = [int(a) for a in actions.split(",")]
    return classes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--lasts", default="1000,10000,100000", help="trailing windows, in stored transitions")
    parser.add_argument("--classes", default="", help='action classes, e.g. "up=2;down=4;stay=0,1,3,5"')
    args = parser.parse_args(argv)
    try:
        lasts = [int(x) for x in args.lasts.split(",")]
        classes = parse_classes(args.classes)
        cfg = load_run_config(args.run_dir)
        checkpoint = latest_checkpoint(args.run_dir)
        if checkpoint is None:
            raise FileNotFoundError(f"{args.run_dir} has no complete checkpoint")
    except (ValueError, FileNotFoundError) as error:
        print(f"policy_agreement: {error}", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    env = build_env(cfg.env, seed=cfg.seed)
    try:
        agent = build_agent(cfg.agent, (env.stack, *env.frame_shape), env.num_actions, "cpu", seed=cfg.seed)
        replay = build_replay(cfg.replay, num_envs=env.num_envs, frame_shape=env.frame_shape,
                              frame_dtype=env.frame_dtype, stack=env.stack, n_step=cfg.agent.n_step,
                              gamma=cfg.agent.gamma, reward_clip=cfg.agent.reward_clip, batch_size=1,
                              device="cpu", seed=cfg.seed)
    finally:
        env.close()
    parts = load_checkpoint(checkpoint, parts=["agent", "replay"])
    agent.load_state_dict(parts["agent"])
    replay.load_state_dict(parts["replay"])
    taken, greedy = taken_and_greedy_actions(replay, agent)
    lasts = [min(n, taken.shape[0]) for n in lasts]
    try:
        rows = agreement_by_age(taken, greedy, lasts, classes or None)
    except ValueError as error:
        print(f"policy_agreement: {error}", file=sys.stderr)
        return 2
    print(f"{args.run_dir} ({checkpoint.name}, {taken.shape[0]} stored transitions)")
    for row in rows:
        line = f"  last {row.steps:>7} steps: same action {row.agree:.2f}"
        if classes:
            line += f", same class {row.agree_class:.2f}; taken " + " ".join(
                f"{k} {v:.2f}" for k, v in row.taken_shares.items()) + ", final greedy " + " ".join(
                f"{k} {v:.2f}" for k, v in row.greedy_shares.items())
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
