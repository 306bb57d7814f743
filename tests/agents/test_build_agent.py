"""agents.build_agent: registries, validation, seeding, config -> explicit arguments."""

import inspect
from dataclasses import fields

import pytest
import torch

from agents import HEADS, build_agent, build_head
from agents.config import (
    HEAD_CONFIGS,
    AgentConfig,
    CategoricalHeadConfig,
    ExpectedValueHeadConfig,
    ExpectileHeadConfig,
    FractionQuantileHeadConfig,
    HeadConfig,
    ImplicitQuantileHeadConfig,
    OptimConfig,
    QuantileHeadConfig,
)
from agents.heads import ExpectedValueHead
from agents.torsos import MLP, NatureCNN


def cartpole_cfg(**kwargs) -> AgentConfig:
    return AgentConfig(torso="mlp", mlp_hidden=[32, 32], head=ExpectedValueHeadConfig(hidden=16), **kwargs)


def test_unknown_head_lists_valid_choices() -> None:
    cfg = AgentConfig(head=HeadConfig(kind="nope"))
    with pytest.raises(ValueError, match=r"unknown head 'nope'; valid: .*expected_value"):
        build_agent(cfg, (4, 84, 84), 6, "cpu")
    with pytest.raises(ValueError, match=r"unknown head 'nope'; valid: categorical, expected_value"):
        HeadConfig(kind="nope").validate()


def test_every_head_kind_has_one_schema_and_one_head_class() -> None:
    assert set(HEAD_CONFIGS) == set(HEADS)
    for kind, schema in HEAD_CONFIGS.items():
        assert schema().kind == kind == schema.KIND
        schema().validate()


@pytest.mark.parametrize("kind", sorted(HEAD_CONFIGS))
def test_head_kwargs_are_the_constructor_arguments(kind: str) -> None:
    """Every schema key but `kind` and the optimizer's reaches the head's constructor, and nothing else."""
    schema = HEAD_CONFIGS[kind]
    parameters = set(inspect.signature(HEADS[kind].__init__).parameters) - {"self", "in_features", "num_actions"}
    kwargs = schema().head_kwargs()
    assert set(kwargs) <= parameters
    assert set(kwargs) | {"kind", *schema.OPTIMIZER_KEYS} == {f.name for f in fields(schema)}
    head = build_head(schema(hidden=8), in_features=6, num_actions=3, dueling=False)
    assert isinstance(head, HEADS[kind])


def test_fqf_takes_num_fractions_and_its_optimizer_keys_stay_out_of_the_head() -> None:
    cfg = FractionQuantileHeadConfig(num_fractions=8, fraction_lr=1e-3)
    assert cfg.head_kwargs()["num_fractions"] == 8
    assert "fraction_lr" not in cfg.head_kwargs() and "num_quantiles" not in cfg.head_kwargs()
    agent = build_agent(AgentConfig(torso="mlp", head=cfg), (1, 4), 2, "cpu")
    assert agent.optimizers["fraction"].param_groups[0]["lr"] == 1e-3


BAD_HEADS = [
    (ExpectedValueHeadConfig(kappa=0.0), "agent.head.kappa must be > 0 (the Huber threshold), got 0.0"),
    (CategoricalHeadConfig(num_atoms=1), "agent.head.num_atoms must be >= 2, got 1"),
    (CategoricalHeadConfig(v_min=1.0, v_max=1.0), "agent.head.v_min (1.0) must be < agent.head.v_max (1.0)"),
    (QuantileHeadConfig(num_quantiles=0), "agent.head.num_quantiles must be >= 1, got 0"),
    (QuantileHeadConfig(kappa=-1.0), "agent.head.kappa must be >= 0"),
    (ImplicitQuantileHeadConfig(num_act_taus=0), "agent.head.num_act_taus must be >= 1, got 0"),
    (FractionQuantileHeadConfig(num_fractions=1), "agent.head.num_fractions must be >= 2, got 1"),
    (FractionQuantileHeadConfig(fraction_lr=0.0), "agent.head.fraction_lr must be > 0, got 0.0"),
    (ExpectileHeadConfig(num_expectiles=4), "agent.head.num_expectiles must be odd and >= 1"),
    (HeadConfig(hidden=16), "agent.head.kind: unknown head ''"),
    (QuantileHeadConfig(kind="categorical"), "'categorical' does not match this agent's head schema 'quantile'"),
    (QuantileHeadConfig(hidden=-1), "agent.head.hidden must be >= 0 (0 = no hidden layer: one Linear after the torso), "
                                    "got -1"),
    (ExpectedValueHeadConfig(loss="l1"), "agent.head.loss must be one of huber, mse, got l1"),
]


@pytest.mark.parametrize(("head", "message"), BAD_HEADS, ids=lambda v: v if isinstance(v, str) else None)
def test_each_head_schema_validates_its_own_values(head: HeadConfig, message: str) -> None:
    with pytest.raises(ValueError) as error:
        head.validate()
    assert message in str(error.value)


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
