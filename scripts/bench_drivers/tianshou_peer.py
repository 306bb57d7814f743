"""End-to-end agent steps/s of Tianshou 2.0.1's C51, QR-DQN, IQN and FQF (runs in the benchmark venv).

    .bench-venv/bin/python scripts/bench_drivers/tianshou_peer.py --agent c51|qrdqn|iqn|fqf

Tianshou's own Atari env builder fails with numpy 2.4, so the env is `common.AleGymEnv` in a
`DummyVectorEnv`, handed to Tianshou's `Collector`. The network is the Nature CNN (as Tianshou's
examples/atari/atari_network.py: three convs, then Linear 3136 -> 512 -> outputs for C51/QR-DQN, or
Tianshou's own `ImplicitQuantileNetwork` / `FullQuantileFunction` with hidden 512 and 64 cosines on
the 3136 conv features for IQN/FQF). Paper sample sizes: C51 51 atoms, QR-DQN 200 quantiles, IQN
N = N' = 64 and K = 32, FQF 32 fractions (fraction net RMSProp lr 2.5e-9, entropy 0.001); Adam
with the papers' lr and eps 0.01/32; n = 1; target sync every 2,500 updates (= 10k agent steps).
The replay is Tianshou's frame-saving Atari setup of its examples (`save_only_last_obs`,
`stack_num=4`, `ignore_obs_next`). Tianshou's `OffPolicyTrainer` runs it: 4 env steps collected, then
one gradient step on a batch of 32; its `training_fn` hook feeds the clock, which ends the run.
"""

from __future__ import annotations

import argparse
import contextlib

import numpy as np
import torch
from common import AleGymEnv, LearningClock, add_common_args, emit, peak_rss_bytes
from tianshou.algorithm.optim import AdamOptimizerFactory, RMSpropOptimizerFactory
from tianshou.data import Collector, VectorReplayBuffer
from tianshou.env import DummyVectorEnv
from tianshou.trainer import OffPolicyTrainerParams
from tianshou.utils.net.common import ModuleWithVectorOutput
from torch import nn

ADAM_EPS = 0.01 / 32


class NatureConvs(ModuleWithVectorOutput):
    """obs [B, 4, 84, 84] (uint8 array or tensor) -> conv features [B, 3136], optionally -> Linear head."""

    def __init__(self, out_features: int | None = None, atoms: int = 0, softmax: bool = False) -> None:
        super().__init__(out_features or 3136)
        self.convs = nn.Sequential(
            nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1), nn.ReLU(), nn.Flatten(),
        )
        self.head = None if out_features is None else nn.Sequential(
            nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, out_features))
        self.atoms, self.softmax = atoms, softmax

    def forward(self, obs, state=None, info=None):  # noqa: ANN001, ANN201  (Tianshou's signature)
        x = torch.as_tensor(obs, dtype=torch.float32) / 255.0
        x = self.convs(x)
        if self.head is None:
            return x, state
        x = self.head(x)
        if self.atoms:
            x = x.view(x.shape[0], -1, self.atoms)
            if self.softmax:
                x = x.softmax(-1)
        return x, state


def build(agent: str, action_space, eps: float):  # noqa: ANN001, ANN201
    """Tianshou's algorithm object for `agent` with the paper settings."""
    num_actions = int(action_space.n)
    if agent == "c51":
        from tianshou.algorithm.modelfree.c51 import C51, C51Policy

        policy = C51Policy(model=NatureConvs(num_actions * 51, atoms=51, softmax=True), action_space=action_space,
                           num_atoms=51, v_min=-10.0, v_max=10.0, eps_training=eps)
        return C51(policy=policy, optim=AdamOptimizerFactory(lr=2.5e-4, eps=ADAM_EPS), gamma=0.99,
                   n_step_return_horizon=1, target_update_freq=2_500)
    if agent == "qrdqn":
        from tianshou.algorithm.modelfree.qrdqn import QRDQN, QRDQNPolicy

        policy = QRDQNPolicy(model=NatureConvs(num_actions * 200, atoms=200), action_space=action_space,
                             eps_training=eps)
        return QRDQN(policy=policy, optim=AdamOptimizerFactory(lr=5e-5, eps=ADAM_EPS), gamma=0.99,
                     num_quantiles=200, n_step_return_horizon=1, target_update_freq=2_500)
    if agent == "iqn":
        from tianshou.algorithm.modelfree.iqn import IQN, IQNPolicy
        from tianshou.utils.net.discrete import ImplicitQuantileNetwork

        net = ImplicitQuantileNetwork(preprocess_net=NatureConvs(), action_shape=num_actions, hidden_sizes=[512],
                                      num_cosines=64)
        policy = IQNPolicy(model=net, action_space=action_space, sample_size=32, online_sample_size=64,
                           target_sample_size=64, eps_training=eps)
        return IQN(policy=policy, optim=AdamOptimizerFactory(lr=5e-5, eps=ADAM_EPS), gamma=0.99,
                   n_step_return_horizon=1, target_update_freq=2_500)
    if agent == "fqf":
        from tianshou.algorithm.modelfree.fqf import FQF, FQFPolicy
        from tianshou.utils.net.discrete import FractionProposalNetwork, FullQuantileFunction

        net = FullQuantileFunction(preprocess_net=NatureConvs(), action_shape=num_actions, hidden_sizes=[512],
                                   num_cosines=64)
        policy = FQFPolicy(model=net, fraction_model=FractionProposalNetwork(32, net.input_dim),
                           action_space=action_space, eps_training=eps)
        return FQF(policy=policy, optim=AdamOptimizerFactory(lr=5e-5, eps=ADAM_EPS),
                   fraction_optim=RMSpropOptimizerFactory(lr=2.5e-9), gamma=0.99, num_fractions=32,
                   ent_coef=0.001, n_step_return_horizon=1, target_update_freq=2_500)
    raise SystemExit(f"unknown agent '{agent}'; valid: c51, qrdqn, iqn, fqf")


class _StopError(Exception):
    """Raised from the training hook once the window is timed: ends Tianshou's trainer."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    env = DummyVectorEnv([lambda: AleGymEnv(args.game, args.seed)])
    algorithm = build(args.agent, env.action_space[0], args.epsilon)
    buffer = VectorReplayBuffer(args.replay_size, 1, ignore_obs_next=True, save_only_last_obs=True, stack_num=4)
    collector = Collector(algorithm, env, buffer, exploration_noise=True)
    collector.reset()
    collector.collect(n_step=args.warmup_steps, random=True)
    clock = LearningClock(0, args.skip_steps, args.measure_seconds)

    def training_fn(epoch: int, env_step: int) -> None:
        if clock.tick(env_step):
            raise _StopError

    params = OffPolicyTrainerParams(
        training_collector=collector, test_collector=None, max_epochs=1, epoch_num_steps=10**9,
        collection_step_num_env_steps=args.train_period_steps, update_step_num_gradient_steps_per_sample=
        1.0 / args.train_period_steps, batch_size=args.batch_size, training_fn=training_fn, verbose=False,
        show_progress=False, test_in_training=False,
    )
    with contextlib.suppress(_StopError):
        algorithm.run_training(params)
    emit({"framework": f"Tianshou {args.agent.upper()}", "agent": args.agent, **clock.result(),
          "peak_rss_bytes": peak_rss_bytes()})


if __name__ == "__main__":
    main()
