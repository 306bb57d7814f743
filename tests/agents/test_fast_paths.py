"""The fast paths compute what the plain ones do: the sorted quantile Huber loss against the pairwise
definition, and a `torch.compile`d update against the eager one on the same batch."""

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
from agents.losses import quantile_huber_loss, quantile_huber_loss_pairwise, quantile_huber_sums
from replay.buffer import Batch


def _loss_and_grad(fn, predictions, targets, taus, kappa, weights):  # noqa: ANN001, ANN202
    p = predictions.clone().requires_grad_()
    loss = fn(p, targets, taus, kappa, weights)
    (grad,) = torch.autograd.grad((loss * torch.linspace(0.5, 1.5, loss.shape[0])).sum(), p)
    return loss.detach(), grad


@pytest.mark.parametrize("kappa", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_sorted_quantile_huber_equals_pairwise(kappa: float, weighted: bool) -> None:
    """Loss and gradient agree, with tied targets and targets exactly on p, p ± κ."""
    g = torch.Generator().manual_seed(int(kappa * 10) + weighted)
    batch, n, m = 6, 23, 17
    predictions = torch.randn(batch, n, generator=g) * 3
    targets = torch.randn(batch, m, generator=g) * 3 + 1
    targets[:, :4] = targets[:, 4:8]  # ties among targets
    targets[0, :3] = predictions[0, :3]  # u = 0
    targets[1, :2] = predictions[1, :2] + kappa  # u = κ
    targets[2, :2] = predictions[2, :2] - kappa  # u = −κ
    taus = torch.rand(batch, n, generator=g)
    weights = torch.rand(batch, m, generator=g).softmax(-1) if weighted else None
    fast_loss, fast_grad = _loss_and_grad(quantile_huber_loss, predictions, targets, taus, kappa, weights)
    ref_loss, ref_grad = _loss_and_grad(quantile_huber_loss_pairwise, predictions, targets, taus, kappa, weights)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-5, atol=1e-6)


def test_sorted_quantile_huber_qrdqn_shapes_far_from_zero() -> None:
    """QR-DQN's shapes (N = M = 200, shared [1, N] taus) with returns near 1000, where a float32
    expansion of (t − p)² would lose the quadratic ranges."""
    g = torch.Generator().manual_seed(7)
    predictions = 1000 + torch.randn(32, 200, generator=g)
    targets = 1000 + torch.randn(32, 200, generator=g)
    taus = ((2 * torch.arange(200) + 1) / 400.0)[None, :]
    fast_loss, fast_grad = _loss_and_grad(quantile_huber_loss, predictions, targets, taus, 1.0, None)
    ref_loss, ref_grad = _loss_and_grad(quantile_huber_loss_pairwise, predictions, targets, taus, 1.0, None)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(fast_grad, ref_grad, rtol=1e-4, atol=1e-6)


def test_quantile_huber_sums_hand_computed() -> None:
    """One prediction p = 0 at τ = 0.25, κ = 1, targets −3, −0.5, 0.5, 2 (one in each range, weight 1/4):
    ρ = 0.75·(3 − 0.5) + 0.75·0.125 + 0.25·0.125 + 0.25·(2 − 0.5) = 2.375, mean over targets 0.59375."""
    loss, grad = quantile_huber_sums(torch.zeros(1, 1), torch.tensor([[-3.0, -0.5, 0.5, 2.0]]),
                                     torch.tensor([[0.25]]), 1.0)
    assert loss.item() == pytest.approx(0.59375)
    # dρ/dp: u < −κ: (1 − τ); −κ ≤ u < 0: −(1 − τ)u/κ; 0 ≤ u ≤ κ: −τ u/κ; u > κ: −τ.
    assert grad.item() == pytest.approx((0.75 - 0.75 * -0.5 - 0.25 * 0.5 - 0.25) / 4)


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
    with pytest.raises(ValueError, match="unknown compile mode 'true'; valid: none, optimizer, update"):
        Agent(network, optimizers={"main": GROUP_OPTIMIZERS["main"](cfg)}, compile="true")
