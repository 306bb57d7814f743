"""The compiled paths compute what the eager ones do: a `torch.compile`d update (or optimizer step) against
the eager one on the same batch. (The sorted quantile Huber loss is checked against its pairwise definition
in test_losses.py.)"""

from __future__ import annotations

import copy

import pytest
import torch

from agents import GROUP_OPTIMIZERS, Agent, build_agent
from agents.config import (
    AgentConfig,
    CategoricalHeadConfig,
    ExpectedValueHeadConfig,
    FractionQuantileHeadConfig,
    HeadConfig,
    ImplicitQuantileHeadConfig,
    OptimConfig,
    QuantileHeadConfig,
)
from replay.buffer import Batch


def _small_agent_config(name: str, head: HeadConfig, double_q: bool = False) -> AgentConfig:
    """An agent on 4-dim observations (MLP torso): the same update code path as Atari, compiled in seconds."""
    return AgentConfig(name=name, torso="mlp", mlp_hidden=[32], head=head, double_q=double_q,
                       optim=OptimConfig(name="adam", lr=1e-3, eps=1e-4))


SMALL_HEADS = {
    "dqn": ExpectedValueHeadConfig(hidden=16),
    "c51": CategoricalHeadConfig(hidden=16, num_atoms=11),
    "qrdqn": QuantileHeadConfig(hidden=16, num_quantiles=9),
    "iqn": ImplicitQuantileHeadConfig(hidden=16, num_cosines=8, num_online_taus=6, num_target_taus=5,
                                      num_act_taus=4),
    "fqf": FractionQuantileHeadConfig(hidden=16, num_fractions=6, num_cosines=8, fraction_lr=1e-3,
                                      entropy_coef=0.01),
}


def _batch(batch_size: int = 16, num_actions: int = 3, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        obs=torch.randn(batch_size, 1, 4, generator=g),
        action=torch.randint(num_actions, (batch_size,), generator=g),
        reward=torch.randn(batch_size, generator=g),
        discount=torch.full((batch_size,), 0.99),
        next_obs=torch.randn(batch_size, 1, 4, generator=g),
        weight=torch.rand(batch_size, generator=g) + 0.5,
        index=torch.arange(batch_size),
    )


def _assert_same_updates(cfg: AgentConfig, backend: str, updates: int = 2, mode: str = "update") -> None:
    eager = build_agent(cfg, (1, 4), 3, "cpu", seed=3)
    specs = {group: GROUP_OPTIMIZERS[group](cfg) for group in eager.optimizers}
    compiled = Agent(copy.deepcopy(eager.online), optimizers=specs, double_q=cfg.double_q, seed=3, compile=mode,
                     compile_backend=backend)
    for step in range(updates):
        batch = _batch(seed=step)
        expected = eager.update(batch)
        got = compiled.update(batch)
        assert set(got) == set(expected)
        for key in expected:
            torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6, msg=f"{cfg.name} {key}")
    for (name, p_eager), p_compiled in zip(eager.online.named_parameters(), compiled.online.parameters(), strict=True):
        torch.testing.assert_close(p_compiled, p_eager, rtol=1e-5, atol=1e-6, msg=f"{cfg.name} {name}")


@pytest.mark.parametrize("name", list(SMALL_HEADS))
def test_compiled_update_equals_eager(name: str) -> None:
    """aot_eager traces the same graphs (forward and the AOTAutograd backward) that inductor compiles."""
    torch._dynamo.reset()
    _assert_same_updates(_small_agent_config(name, SMALL_HEADS[name], double_q=name == "iqn"), "aot_eager")


@pytest.mark.slow
def test_inductor_compiled_update_equals_eager() -> None:
    """The real backend (C++ code generation), on the head with the most moving parts."""
    torch._dynamo.reset()
    _assert_same_updates(_small_agent_config("fqf", SMALL_HEADS["fqf"]), "inductor")


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["rmsprop", "adam"])
def test_inductor_compiled_optimizer_equals_eager(optimizer: str) -> None:
    """agent.compile=optimizer: centered RMSprop (DQN's; torch has no fused kernel) and fused Adam,
    stepped by inductor's generated loop for several updates, match the eager steps."""
    torch._dynamo.reset()
    cfg = _small_agent_config("dqn", SMALL_HEADS["dqn"])
    cfg.optim = OptimConfig(name=optimizer, lr=1e-3, eps=1e-4 if optimizer == "adam" else 1e-2)
    _assert_same_updates(cfg, "inductor", updates=4, mode="optimizer")


def test_compiled_optimizer_resumes_from_a_checkpoint() -> None:
    """A compiled step keeps working on the state tensors `load_state_dict` puts in place."""
    torch._dynamo.reset()
    cfg = _small_agent_config("fqf", SMALL_HEADS["fqf"])
    reference = build_agent(cfg, (1, 4), 3, "cpu", seed=3)
    specs = {group: GROUP_OPTIMIZERS[group](cfg) for group in reference.optimizers}
    compiled = Agent(copy.deepcopy(reference.online), optimizers=specs, seed=3, compile="optimizer",
                     compile_backend="aot_eager")
    compiled.update(_batch(seed=9))  # compiled against its own state; the checkpoint then replaces it
    reference.update(_batch(seed=0))
    compiled.load_state_dict(copy.deepcopy(reference.state_dict()))
    for step in range(1, 3):
        expected, got = reference.update(_batch(seed=step)), compiled.update(_batch(seed=step))
        torch.testing.assert_close(got["loss"], expected["loss"], rtol=1e-5, atol=1e-6)
    for p_reference, p_compiled in zip(reference.online.parameters(), compiled.online.parameters(), strict=True):
        torch.testing.assert_close(p_compiled, p_reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["none", "optimizer", "update"])
def test_compile_switch_reaches_the_agent(mode: str) -> None:
    cfg = copy.deepcopy(_small_agent_config("dqn", SMALL_HEADS["dqn"]))
    cfg.compile = mode
    assert build_agent(cfg, (1, 4), 3, "cpu").compile_mode == mode


def test_unknown_compile_mode_is_rejected_with_the_choices() -> None:
    cfg = _small_agent_config("dqn", SMALL_HEADS["dqn"])
    network = build_agent(cfg, (1, 4), 3, "cpu").online
    with pytest.raises(ValueError, match="unknown compile mode 'true'; valid: none, optimizer, update, graph"):
        Agent(network, optimizers={"main": GROUP_OPTIMIZERS["main"](cfg)}, compile="true")
