"""agents.build_agent: registries, validation, seeding, config -> explicit arguments."""

import pytest
import torch

from agents import HEADS, build_agent
from agents.config import AgentConfig, HeadConfig, OptimConfig
from agents.heads import ExpectedValueHead
from agents.torsos import MLP, NatureCNN


def cartpole_cfg(**kwargs) -> AgentConfig:
    return AgentConfig(torso="mlp", mlp_hidden=[32, 32], head=HeadConfig(hidden=16), **kwargs)


def test_unknown_head_lists_valid_choices() -> None:
    cfg = AgentConfig(head=HeadConfig(kind="nope"))
    with pytest.raises(ValueError, match=r"unknown head 'nope'; valid: .*expected_value"):
        build_agent(cfg, (4, 84, 84), 6, "cpu")


def test_unknown_torso_and_optimizer_list_valid_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown torso 'resnet'; valid: minatar_cnn, minatar_rr_cnn, mlp, nature"):
        build_agent(AgentConfig(torso="resnet"), (4, 84, 84), 6, "cpu")
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgd'; valid: adam, rmsprop"):
        build_agent(AgentConfig(optim=OptimConfig(name="sgd")), (4, 84, 84), 6, "cpu")
    with pytest.raises(ValueError, match=r"needs obs_shape \(S, H, W\)"):
        build_agent(AgentConfig(), (1, 4), 2, "cpu")


def test_registry_holds_expected_value() -> None:
    assert "expected_value" in HEADS


def test_nature_cnn_dqn_build() -> None:
    agent = build_agent(AgentConfig(dueling=True, double_q=True), (4, 84, 84), 6, "cpu", seed=0)
    assert isinstance(agent.online.torso, NatureCNN) and agent.online.torso.out_features == 3136
    assert isinstance(agent.head, ExpectedValueHead) and agent.head.net.value_stream is not None
    assert agent.head.net.action_stream[0].out_features == 512
    assert agent.double_q
    opt = agent.optimizers["main"]
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["eps"] == 3.125e-4
    n_params = sum(len(g["params"]) for g in opt.param_groups)
    assert n_params == len(list(agent.online.parameters()))  # torso + head in "main"
    obs = torch.randint(0, 256, (2, 4, 84, 84), dtype=torch.uint8)
    assert agent.online(obs).values.shape == (2, 6, 1)


def test_mlp_rmsprop_build() -> None:
    optim = OptimConfig(name="rmsprop", lr=2.5e-4, eps=0.01, alpha=0.95, centered=True)
    agent = build_agent(cartpole_cfg(optim=optim), (1, 4), 2, "cpu")
    assert isinstance(agent.online.torso, MLP) and agent.online.torso.out_features == 32
    opt = agent.optimizers["main"]
    assert isinstance(opt, torch.optim.RMSprop)
    assert (opt.defaults["alpha"], opt.defaults["eps"], opt.defaults["centered"]) == (0.95, 0.01, True)
    assert agent.act(torch.randn(5, 1, 4), 0.0).shape == (5,)


def test_same_seed_identical_different_seed_differs_global_rng_untouched() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    a = build_agent(cartpole_cfg(), (1, 4), 2, "cpu", seed=5)
    b = build_agent(cartpole_cfg(), (1, 4), 2, "cpu", seed=5)
    c = build_agent(cartpole_cfg(), (1, 4), 2, "cpu", seed=6)
    assert torch.equal(torch.rand(3), expected_next)  # build_agent forks the global RNG
    for p, q in zip(a.online.parameters(), b.online.parameters(), strict=True):
        assert torch.equal(p, q)
    assert any(
        not torch.equal(p, q) for p, q in zip(a.online.parameters(), c.online.parameters(), strict=True)
    )
    obs = torch.randn(64, 1, 4)
    assert torch.equal(a.act(obs, 0.5), b.act(obs, 0.5))
