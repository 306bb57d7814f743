"""Every head recovers known return distributions from batches of a small MDP (DQN: the mean).

The MDP: a chain s0 -> s1 -> s2 -> end with γ = 0.9 and two actions that do not change the transition.
The "bad" action of each state (1 in s0 and s2, 0 in s1) draws r ~ R(s) − 3, the other r ~ R(s), so the
greedy action alternates along the chain (a target that reads a fixed action instead of a* is caught) and

    Z(s2, a) = R(s2) − 3·bad(s2, a)      (a one-step bandit: reward 0 w.p. .5, 10 w.p. .3, −5 w.p. .2)
    Z(s, a)  = R(s) − 3·bad(s, a) + γ Z(s + 1, a*)      (s0, s1: bootstrapped through the target net)

The exact distributions are enumerated; batches of (s, a, r, d, s') are sampled directly (no env, no replay,
rewards unclipped) and fed to `Agent.update`. The learned distribution of each (s, a) is compared to the exact
one in 1-Wasserstein distance (CDF integration).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from agents import Agent, ImplicitQuantileHead, build_agent
from agents.config import HEAD_CONFIGS, AgentConfig, OptimConfig
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


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one intra-op thread is ~20x faster than two on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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


def wasserstein1(x: np.ndarray, p: np.ndarray, y: np.ndarray, q: np.ndarray) -> float:
    """W1 = ∫ |F_P(z) − F_Q(z)| dz between two discrete distributions (atoms x, y; weights p, q)."""
    points = np.concatenate([x, y])
    order = np.argsort(points, kind="stable")
    points = points[order]
    weights = np.concatenate([p, -q])[order]  # CDF difference jumps by +p at x, −q at y
    cdf_gap = np.cumsum(weights)[:-1]
    return float(np.sum(np.abs(cdf_gap) * np.diff(points)))


def test_wasserstein1_helper() -> None:
    # point masses: W1 = |a − b|; two-point vs its mean: E|Z − mean|
    assert wasserstein1(np.array([1.0]), np.ones(1), np.array([3.5]), np.ones(1)) == pytest.approx(2.5)
    x, p = np.array([0.0, 10.0, -5.0]), np.array([0.5, 0.3, 0.2])
    assert wasserstein1(x, p, np.array([2.0]), np.ones(1)) == pytest.approx(0.5 * 2 + 0.3 * 8 + 0.2 * 7)
    assert wasserstein1(x, p, x[::-1].copy(), p[::-1].copy()) == pytest.approx(0.0)


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
        taus = ((torch.arange(1000) + 0.5) / 1000)[None, :]
    with torch.no_grad():
        dist = agent.online(obs, taus)
    values = dist.values[0, action].double().numpy()
    probs = dist.probs.expand_as(dist.values)[0, action].double().numpy()
    return values, probs


# head config overrides, the W1 bound on every (s, a), and whether values are quantiles in τ order.
# The quantile heads use κ = 0 (the pure quantile loss, QR-DQN Eq. 8): with κ = 1 the fixed point is
# the Huber quantile, which on this MDP's atoms 5-15 apart sits up to ~0.85 inside the true quantile
# (measured W1 0.4-0.7); "qrdqn_kappa1" runs the paper's κ = 1 against a bound that allows for it.
# For scale: the point mass at the mean (what DQN learns) is at W1 4.1-4.8 from every Z(s, a).
AGENTS: dict[str, tuple[dict[str, Any], float | None, bool]] = {
    "dqn": ({"kind": "expected_value", "kappa": 100.0}, None, False),  # κ=100: squared loss -> the mean
    "c51": ({"kind": "categorical", "num_atoms": 61, "v_min": -15.0, "v_max": 15.0}, 0.4, False),
    "qrdqn": ({"kind": "quantile", "num_quantiles": 20, "kappa": 0.0}, 0.3, True),
    "qrdqn_kappa1": ({"kind": "quantile", "num_quantiles": 20, "kappa": 1.0}, 1.0, True),
    "iqn": (
        {
            "kind": "implicit_quantile",
            "kappa": 0.0,
            "num_cosines": 32,
            "num_online_taus": 32,
            "num_target_taus": 32,
            "num_act_taus": 16,
        },
        0.35,
        True,
    ),
    # fraction lr small enough that N = 20 fractions stay near uniform (see the module docstring)
    "fqf": ({"kind": "fraction_quantile", "num_fractions": 20, "kappa": 0.0, "fraction_lr": 1e-5}, 0.45, True),
}


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


@pytest.mark.slow
@pytest.mark.parametrize("name", list(AGENTS))
def test_learns_return_distribution(name: str) -> None:
    overrides, bound, quantiles_in_order = AGENTS[name]
    agent = train(overrides)
    report = {}
    for state, action in itertools.product(range(NUM_STATES), range(NUM_ACTIONS)):
        x, p = exact_distribution(state, action)
        y, q = learned_distribution(agent, state, action)
        report[state, action] = (round(wasserstein1(x, p, y, q), 3), round(float(y @ q - x @ p), 3))
        if quantiles_in_order:  # a sign slip in the quantile loss would learn them in 1 − τ order
            assert (np.diff(y) > -0.2).all(), (state, action, y)
    for (state, action), (w1, mean_error) in report.items():
        assert abs(mean_error) < 0.25, (name, state, action, report)
        if bound is not None:
            assert w1 < bound, (name, state, action, report)
