"""A small MDP with exactly known return distributions, and the batches and training loop that learn it.

The MDP: a chain s0 -> s1 -> s2 -> end with γ = 0.9 and two actions that do not change the transition.
The "bad" action of each state (1 in s0 and s2, 0 in s1) draws r ~ R(s) − 3, the other r ~ R(s), so the
greedy action alternates along the chain (a target that reads a fixed action instead of a* is caught) and

    Z(s2, a) = R(s2) − 3·bad(s2, a)      (a one-step bandit: reward 0 w.p. .5, 10 w.p. .3, −5 w.p. .2)
    Z(s, a)  = R(s) − 3·bad(s, a) + γ Z(s + 1, a*)      (s0, s1: bootstrapped through the target net)

The exact distributions are enumerated; batches of (s, a, r, d, s') are sampled directly (no env, no replay,
rewards unclipped) and fed to `Agent.update`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents import Agent, ImplicitQuantileHead, build_agent
from agents.config import HEAD_CONFIGS, AgentConfig, OptimConfig
from agents.taus import midpoint_taus
from replay.buffer import Batch

GAMMA = 0.9
BAD_ACTION = (1, 0, 1)  # per state
BAD_ACTION_SHIFT = -3.0
REWARDS = (  # R(s) of the good action: (values, probabilities)
    (np.array([0.0, 2.0]), np.array([0.5, 0.5])),
    (np.array([-1.0, 3.0]), np.array([0.7, 0.3])),
    (np.array([0.0, 10.0, -5.0]), np.array([0.5, 0.3, 0.2])),
)
NUM_STATES, NUM_ACTIONS = 3, 2


def exact_distribution(state: int, action: int) -> tuple[np.ndarray, np.ndarray]:
    """Z(state, action) by enumerating the rewards of the rest of the chain (greedy actions after)."""
    values, probs = np.zeros(1), np.ones(1)
    for depth, s in enumerate(range(state, NUM_STATES)):
        r_values, r_probs = REWARDS[s]
        if depth == 0 and action == BAD_ACTION[s]:
            r_values = r_values + BAD_ACTION_SHIFT
        values = (values[:, None] + GAMMA**depth * r_values[None, :]).ravel()
        probs = (probs[:, None] * r_probs[None, :]).ravel()
    return values, probs


def sample_batch(batch_size: int, gen: torch.Generator) -> Batch:
    """B transitions with uniform states and actions; obs are one-hot states [B, 1, 3], rewards raw."""
    state = torch.randint(NUM_STATES, (batch_size,), generator=gen)
    action = torch.randint(NUM_ACTIONS, (batch_size,), generator=gen)
    reward = torch.empty(batch_size)
    for s, (values, probs) in enumerate(REWARDS):
        rows = state == s
        pick = torch.multinomial(torch.as_tensor(probs), int(rows.sum()), replacement=True, generator=gen)
        reward[rows] = torch.as_tensor(values, dtype=torch.float32)[pick]
    reward += BAD_ACTION_SHIFT * (action == torch.tensor(BAD_ACTION)[state])
    eye = torch.eye(NUM_STATES)
    return Batch(
        obs=eye[state][:, None, :],
        action=action,
        reward=reward,
        discount=torch.where(state == NUM_STATES - 1, 0.0, GAMMA),  # s2 terminates: no bootstrap
        next_obs=eye[(state + 1).clamp(max=NUM_STATES - 1)][:, None, :],
        weight=torch.ones(batch_size),
        index=torch.arange(batch_size),
    )


def learned_distribution(agent: Agent, state: int, action: int) -> tuple[np.ndarray, np.ndarray]:
    """Atoms (in the head's τ order) and weights of the online Z(state, action).

    IQN is read on a fixed grid of 1000 midpoint fractions; the others from their own forward.
    """
    obs = torch.eye(NUM_STATES)[state][None, None, :]
    taus = None
    if isinstance(agent.head, ImplicitQuantileHead):
        taus = midpoint_taus(1000)[None, :]
    with torch.no_grad():
        dist = agent.online(obs, taus)
    values = dist.values[0, action].double().numpy()
    probs = dist.probs.expand_as(dist.values)[0, action].double().numpy()
    return values, probs


def train(head_overrides: dict[str, Any], num_updates: int = 3000, seed: int = 0) -> Agent:
    """Adam 2e-3 (x0.1 for the last 30%), batch 64, target sync every 100 updates."""
    cfg = AgentConfig(
        torso="mlp",
        mlp_hidden=[64],
        head=HEAD_CONFIGS[head_overrides["kind"]](hidden=64, **head_overrides),
        optim=OptimConfig(name="adam", lr=2e-3, eps=1e-6, max_grad_norm=10.0),
    )
    agent = build_agent(cfg, (1, NUM_STATES), NUM_ACTIONS, "cpu", seed=seed)
    gen = torch.Generator().manual_seed(seed)
    for update in range(num_updates):
        if update == int(0.7 * num_updates):
            for optimizer in agent.optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] *= 0.1
        agent.update(sample_batch(64, gen))
        if update % 100 == 99:
            agent.sync_target()
    return agent
