"""agents/taus.py: the midpoint fractions, and the agent's seeded τ stream (equal seeds, resume)."""

from __future__ import annotations

import pytest
import torch

from agents import build_agent
from agents.config import AgentConfig, ImplicitQuantileHeadConfig, QuantileHeadConfig
from agents.taus import TauSampler, midpoint_taus


def test_midpoint_taus_by_hand() -> None:
    torch.testing.assert_close(midpoint_taus(4), torch.tensor([0.125, 0.375, 0.625, 0.875]))
    torch.testing.assert_close(midpoint_taus(1), torch.tensor([0.5]))
    assert midpoint_taus(3, torch.float64)[0].item() == 1 / 6
    with pytest.raises(ValueError, match="num_taus must be >= 1; got 0"):
        midpoint_taus(0)


def test_sampler_is_uniform_and_seeded() -> None:
    taus = TauSampler(3, "cpu").sample(1000, 64)
    assert taus.shape == (1000, 64) and taus.min() >= 0 and taus.max() < 1
    assert abs(float(taus.mean()) - 0.5) < 0.01
    first = TauSampler(3, "cpu").sample(2, 5)
    assert torch.equal(first, TauSampler(3, "cpu").sample(2, 5))
    assert not torch.equal(first, TauSampler(4, "cpu").sample(2, 5))


def test_sampler_stream_is_not_the_exploration_stream() -> None:
    """The agent seeds its exploration generator with the same seed: the τ stream must differ from it."""
    exploration = torch.rand(8, generator=torch.Generator().manual_seed(5))
    assert not torch.equal(TauSampler(5, "cpu").sample(1, 8)[0], exploration)


def test_sampler_state_round_trip_continues_the_stream() -> None:
    sampler = TauSampler(5, "cpu")
    sampler.sample(3, 4)
    state = sampler.state_dict()
    expected = sampler.sample(3, 4)
    restored = TauSampler(99, "cpu")
    restored.load_state_dict(state)
    assert torch.equal(restored.sample(3, 4), expected)


def _iqn_config() -> AgentConfig:
    return AgentConfig(torso="mlp", mlp_hidden=[8], head=ImplicitQuantileHeadConfig(hidden=8, num_cosines=4))


def test_build_agent_seeds_the_tau_stream() -> None:
    taus = [build_agent(_iqn_config(), (1, 4), 2, "cpu", seed=s)._taus(2, "act") for s in (0, 0, 1)]
    assert taus[0].shape == (2, 32)
    assert torch.equal(taus[0], taus[1]) and not torch.equal(taus[0], taus[2])


def test_agent_state_carries_the_tau_stream() -> None:
    agent = build_agent(_iqn_config(), (1, 4), 2, "cpu", seed=0)
    agent.act(torch.randn(3, 1, 4), epsilon=0.0)  # draws K fractions
    state = agent.state_dict()
    assert "tau_sampler" in state and not any("extra_state" in key for key in state["online"])
    expected = agent._taus(3, "online")
    restored = build_agent(_iqn_config(), (1, 4), 2, "cpu", seed=7)
    restored.load_state_dict(state)
    assert torch.equal(restored._taus(3, "online"), expected)


def test_heads_without_sampled_fractions_draw_nothing() -> None:
    cfg = AgentConfig(torso="mlp", mlp_hidden=[8], head=QuantileHeadConfig(hidden=8, num_quantiles=5))
    agent = build_agent(cfg, (1, 4), 2, "cpu", seed=0)
    before = agent.tau_sampler.state_dict()["generator"].clone()
    assert agent._taus(3, "online") is None
    agent.act(torch.randn(3, 1, 4), epsilon=0.0)
    assert torch.equal(agent.tau_sampler.state_dict()["generator"], before)
