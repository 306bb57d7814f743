"""configs/agent/{c51,qrdqn,iqn,fqf}.yaml: paper values, each head's own schema, and each builds an agent
that can update."""

from __future__ import annotations

import pytest
import torch

from agents import CategoricalHead, FractionQuantileHead, ImplicitQuantileHead, QuantileHead, build_agent
from agents.config import (
    CategoricalHeadConfig,
    FractionQuantileHeadConfig,
    ImplicitQuantileHeadConfig,
    QuantileHeadConfig,
)
from replay.buffer import Batch
from tests.conftest import train_config

HEAD_TYPES = {
    "c51": CategoricalHead,
    "qrdqn": QuantileHead,
    "iqn": ImplicitQuantileHead,
    "fqf": FractionQuantileHead,
}
HEAD_SCHEMAS = {
    "c51": CategoricalHeadConfig,
    "qrdqn": QuantileHeadConfig,
    "iqn": ImplicitQuantileHeadConfig,
    "fqf": FractionQuantileHeadConfig,
}


def test_paper_values() -> None:
    c51, qrdqn, iqn, fqf = (train_config([f"agent={name}"]).agent for name in HEAD_TYPES)
    assert (c51.head.num_atoms, c51.head.v_min, c51.head.v_max, c51.optim.lr) == (51, -10.0, 10.0, 2.5e-4)
    assert (qrdqn.head.num_quantiles, qrdqn.head.kappa, qrdqn.optim.lr) == (200, 1.0, 5e-5)
    assert (iqn.head.num_online_taus, iqn.head.num_target_taus, iqn.head.num_act_taus) == (64, 64, 32)
    assert (iqn.head.num_cosines, iqn.optim.lr) == (64, 5e-5)
    assert (fqf.head.num_fractions, fqf.head.fraction_lr, fqf.head.entropy_coef, fqf.optim.lr) == (
        32,
        2.5e-9,
        0.001,
        5e-5,
    )
    for agent in (c51, qrdqn, iqn, fqf):
        assert agent.optim.name == "adam" and agent.optim.eps == pytest.approx(0.01 / 32)
        assert (agent.gamma, agent.batch_size, agent.n_step, agent.eval_epsilon) == (0.99, 32, 1, 0.001)
        assert (agent.epsilon.end, agent.epsilon.decay_steps) == (0.01, 250_000)
        assert agent.target_update_period_steps == 10_000  # agent steps = 40k frames


@pytest.mark.parametrize("name", list(HEAD_TYPES))
def test_agent_file_types_its_head_with_that_heads_schema(name: str) -> None:
    assert type(train_config([f"agent={name}"]).agent.head) is HEAD_SCHEMAS[name]


@pytest.mark.parametrize("name", list(HEAD_TYPES))
def test_atari_config_builds_and_updates(name: str) -> None:
    cfg = train_config([f"agent={name}"]).agent
    agent = build_agent(cfg, (4, 84, 84), 6, "cpu", seed=0)
    assert isinstance(agent.head, HEAD_TYPES[name])
    if name == "fqf":
        fraction_optimizer = agent.optimizers["fraction"]
        assert isinstance(fraction_optimizer, torch.optim.RMSprop)
        assert fraction_optimizer.param_groups[0]["lr"] == 2.5e-9
    gen = torch.Generator().manual_seed(0)
    batch_size = 4
    batch = Batch(
        obs=torch.randint(0, 256, (batch_size, 4, 84, 84), dtype=torch.uint8, generator=gen),
        action=torch.randint(6, (batch_size,), generator=gen),
        reward=torch.tensor([0.0, 1.0, -1.0, 0.0]),
        discount=torch.tensor([0.99, 0.99, 0.0, 0.99]),
        next_obs=torch.randint(0, 256, (batch_size, 4, 84, 84), dtype=torch.uint8, generator=gen),
        weight=torch.ones(batch_size),
        index=torch.arange(batch_size),
    )
    metrics = agent.update(batch)
    assert all(torch.isfinite(value).all() for value in metrics.values())
    assert metrics["priorities"].shape == (batch_size,)
    assert agent.act(batch.obs, epsilon=0.0).shape == (batch_size,)


@pytest.mark.parametrize("name", list(HEAD_TYPES))
def test_cartpole_config_builds(name: str) -> None:
    cfg = train_config([f"agent={name}", "experiment=cartpole"]).agent
    agent = build_agent(cfg, (1, 4), 2, "cpu", seed=0)
    assert isinstance(agent.head, HEAD_TYPES[name])
    obs = torch.randn(3, 1, 4)
    assert agent.act(obs, epsilon=0.0).shape == (3,)
