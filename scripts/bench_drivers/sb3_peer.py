"""End-to-end agent steps/s of Stable-Baselines3 DQN and sb3-contrib QR-DQN (runs in the benchmark venv).

    .bench-venv/bin/python scripts/bench_drivers/sb3_peer.py --agent dqn|qrdqn [--measure-seconds 15]

Their own `CnnPolicy` (the Nature CNN: three convs, Linear 3136 -> 512, a linear output), batch 32,
one gradient step per 4 env steps (`train_freq=4`), replay of `--replay-size` transitions, 1 env of
`common.AleGymEnv`, ε fixed at `--epsilon`, learning after `--warmup-steps`; the paper's optimizer
settings where SB3 exposes them (Adam; DQN: lr 1e-4, SB3's default; QR-DQN: lr 5e-5, eps 0.01/32,
200 quantiles). A callback counts env steps and stops training once the window is timed.
"""

from __future__ import annotations

import argparse

import torch
from common import AleGymEnv, LearningClock, add_common_args, emit, peak_rss_bytes
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv


class _Clock(BaseCallback):
    def __init__(self, clock: LearningClock) -> None:
        super().__init__()
        self.clock = clock

    def _on_step(self) -> bool:
        return not self.clock.tick(self.num_timesteps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env = DummyVecEnv([lambda: AleGymEnv(args.game, args.seed)])
    common = dict(
        buffer_size=args.replay_size, learning_starts=args.warmup_steps, batch_size=args.batch_size,
        train_freq=args.train_period_steps, gradient_steps=1, target_update_interval=10_000,
        exploration_initial_eps=args.epsilon, exploration_final_eps=args.epsilon, gamma=0.99,
        device="cpu", seed=args.seed, verbose=0,
    )
    if args.agent == "dqn":
        from stable_baselines3 import DQN

        model = DQN("CnnPolicy", env, learning_rate=1e-4, optimize_memory_usage=False, **common)
        name = "SB3 DQN"
    elif args.agent == "qrdqn":
        from sb3_contrib import QRDQN

        model = QRDQN("CnnPolicy", env, learning_rate=5e-5, optimize_memory_usage=False,
                      policy_kwargs={"n_quantiles": 200, "optimizer_kwargs": {"eps": 0.01 / 32}}, **common)
        name = "sb3-contrib QR-DQN"
    else:
        raise SystemExit(f"unknown agent '{args.agent}'; valid: dqn, qrdqn")
    clock = LearningClock(args.warmup_steps, args.skip_steps, args.measure_seconds)
    model.learn(total_timesteps=10**9, callback=_Clock(clock))
    emit({"framework": name, "agent": args.agent, **clock.result(), "peak_rss_bytes": peak_rss_bytes()})


if __name__ == "__main__":
    main()
